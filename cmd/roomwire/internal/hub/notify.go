package hub

import (
	"github.com/roomwire/roomwire/connectors/notify"
)

// notifyConfig translates the notifications section of the configuration.
func notifyConfig(h *Hub) notify.Config {
	n := h.cfg.Notifications
	return notify.Config{
		DefaultLanguage: n.DefaultLanguage,
		Retention:       n.Retention,
		Webhooks: notify.WebhooksConfig{
			Targets:              notify.TargetPolicy{AllowPrivate: n.Webhooks.AllowPrivateTargets, AllowHTTP: n.Webhooks.AllowHTTP},
			Timeout:              n.Webhooks.Timeout,
			DisableAfterFailures: n.Webhooks.DisableAfterFailures,
			DisableAfter:         n.Webhooks.DisableAfter,
			UnhealthyAfter:       n.Webhooks.UnhealthyAfter,
		},
		Email: notify.EmailConfig{
			Host: n.Email.Host, Port: n.Email.Port, Username: n.Email.Username, Password: n.Email.Password,
			StartTLS: n.Email.StartTLS, CAFile: n.Email.CAFile, InsecureSkipVerify: n.Email.InsecureSkipVerify,
			From: n.Email.From, Timeout: n.Email.Timeout,
		},
		SMS: notify.SMSConfig{Provider: n.SMS.Provider, URL: n.SMS.URL, Token: n.SMS.Token},
	}
}

// startNotifications adds webhooks, e-mail and SMS to the backbone and
// their endpoints to the API.
func (h *Hub) startNotifications() error {
	n, err := notify.New(notifyConfig(h), h.store, h.Pool, h.logger)
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
