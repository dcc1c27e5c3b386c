package hub

import (
	"github.com/roomwire/roomwire/connectors/notify"
)

// startNotifications adds webhooks, e-mail and SMS to the backbone and
// their endpoints to the API.
func (h *Hub) startNotifications() error {
	n, err := notify.New(h.cfg.Notifications, h.deliveryStore, h.deliveryPool, h.logger)
	if err != nil {
		return err
	}
	if err := n.AddConsumers(h.Backbone); err != nil {
		return err
	}
	n.Mount(h.API)
	h.notify = n
	h.runners = append(h.runners, runner{"notifications", n.Run})
	return nil
}
