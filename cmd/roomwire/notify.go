package main

import (
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/inbound"
	"github.com/roomwire/roomwire/connectors/notify"
	"github.com/roomwire/roomwire/router"
)

// notifyConfig translates the notifications section of the configuration.
func notifyConfig(h *hub) notify.Config {
	n := h.cfg.Notifications
	return notify.Config{
		DefaultLanguage: n.DefaultLanguage,
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
// their endpoints to the API. Dead letters of every topic a partner's
// messages travel on become delivery.failed and booking.unmapped events.
func (h *hub) startNotifications() error {
	n, err := notify.New(notifyConfig(h), h.store, h.pool, h.logger)
	if err != nil {
		return err
	}
	topics := []string{router.TopicReservationEvents, router.TopicAvailabilityEvents}
	for name := range h.connectors {
		if spec, ok := connectors.Lookup(name); ok && (spec.Has(connectors.CapReservationsInbound) || spec.Has(connectors.CapARIInbound)) {
			topics = append(topics, inbound.Topic(name))
		}
	}
	if err := n.AddConsumers(h.backbone, topics); err != nil {
		return err
	}
	n.Mount(h.api)
	h.notify = n
	h.runners = append(h.runners, runner{"channel health", n.Run})
	return nil
}
