// Package notify tells the people who need to know: signed webhooks to
// integrators' endpoints, e-mail to guests and hotels, and SMS. Every
// notification is a consumer on the event backbone (router), so a message
// not yet delivered is in flight, parked behind its breaker or dead-lettered,
// like any partner's, and a redelivered event sends nothing new.
//
// Consumers:
//
//	notify.webhooks.dispatch   reservation events -> one delivery message per matching subscription
//	notify.webhooks            delivery messages -> a signed POST, breaker per subscription
//	notify.email               reservation events -> guest and hotel e-mail over SMTP
//	notify.sms                 reservation events -> guest SMS
//
// Service.Run turns new dead letters into delivery.failed and
// booking.unmapped, and long breaker outages into channel.unhealthy; those
// go out through notify.webhooks too.
package notify

import (
	"encoding/json"
	"time"

	"github.com/roomwire/roomwire/canonical"
)

// The event types a webhook can subscribe to.
const (
	EventReservationCreated    = string(canonical.EventReservationCreated)
	EventReservationModified   = string(canonical.EventReservationModified)
	EventReservationCancelled  = string(canonical.EventReservationCancelled)
	EventReservationOverbooked = string(canonical.EventReservationOverbooked)
	EventReservationRestricted = string(canonical.EventReservationRestricted)
	// EventDeliveryFailed: a message for a partner was dead-lettered.
	EventDeliveryFailed = "delivery.failed"
	// EventChannelUnhealthy: a partner's messages have waited behind its
	// open circuit breaker for longer than the configured threshold.
	EventChannelUnhealthy = "channel.unhealthy"
	// EventBookingUnmapped: a booking was dead-lettered for a partner code
	// with no mapping; it replays once the mapping exists.
	EventBookingUnmapped = "booking.unmapped"
)

// EventTypes lists every event a webhook can subscribe to.
var EventTypes = []string{
	EventReservationCreated, EventReservationModified, EventReservationCancelled,
	EventReservationOverbooked, EventReservationRestricted,
	EventDeliveryFailed, EventChannelUnhealthy, EventBookingUnmapped,
}

func knownEvent(t string) bool {
	for _, e := range EventTypes {
		if e == t {
			return true
		}
	}
	return false
}

// Notification is the body of a webhook, in the Standard Webhooks shape:
// type, timestamp, data. Its id travels in the webhook-id header.
type Notification struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Timestamp  time.Time       `json:"timestamp"`
	PropertyID string          `json:"property_id,omitempty"`
	Data       json.RawMessage `json:"data"`
}

// DeliveryFailure is the data of delivery.failed and booking.unmapped.
type DeliveryFailure struct {
	MessageID     string `json:"message_id"`
	Consumer      string `json:"consumer"`
	Connector     string `json:"connector,omitempty"`
	Reason        string `json:"reason"`
	Error         string `json:"error"`
	OriginalTopic string `json:"original_topic"`
	EventType     string `json:"event_type,omitempty"`
	ReservationID string `json:"reservation_id,omitempty"`
	Attempts      int    `json:"attempts"`
}

// ChannelHealth is the data of channel.unhealthy.
type ChannelHealth struct {
	Breaker      string    `json:"breaker"`
	ParkedSince  time.Time `json:"parked_since"`
	ParkedCount  int       `json:"parked_messages"`
	ConsumerName string    `json:"consumer"`
}

// reservationData is what a reservation event tells a subscriber: the
// reservation as it stands, without the payment gateway's card token.
func reservationData(r *canonical.Reservation) (json.RawMessage, error) {
	c := r.Clone()
	if c.Guarantee != nil {
		c.Guarantee.CardToken = ""
	}
	return json.Marshal(c)
}
