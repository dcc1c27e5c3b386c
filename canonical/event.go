package canonical

import "time"

// EventType names what happened. The types are stable strings: they appear in
// Kafka headers, dead-letter records and partner idempotency keys.
type EventType string

// The event types.
const (
	EventReservationCreated    EventType = "reservation.created"
	EventReservationModified   EventType = "reservation.modified"
	EventReservationCancelled  EventType = "reservation.cancelled"
	EventReservationOverbooked EventType = "reservation.overbooked"
	// A channel sold a stay its restrictions forbid (flagged restricted).
	EventReservationRestricted EventType = "reservation.restricted"
	EventAvailabilityChanged   EventType = "availability.changed"
	EventRatesChanged          EventType = "rates.changed"
	EventRestrictionsChanged   EventType = "restrictions.changed"

	// Payment events: one operation on a reservation's guarantee at its
	// payment gateway (see Payment).
	EventPaymentAuthorized EventType = "payment.authorized"
	EventPaymentCaptured   EventType = "payment.captured"
	EventPaymentFailed     EventType = "payment.failed"
	EventPaymentVoided     EventType = "payment.voided"
	EventPaymentRefunded   EventType = "payment.refunded"
)

// IsReservation reports whether the event carries a reservation.
func (t EventType) IsReservation() bool {
	switch t {
	case EventReservationCreated, EventReservationModified, EventReservationCancelled, EventReservationOverbooked, EventReservationRestricted:
		return true
	}
	return false
}

// IsARI reports whether the event carries availability, rates or restrictions.
func (t EventType) IsARI() bool {
	switch t {
	case EventAvailabilityChanged, EventRatesChanged, EventRestrictionsChanged:
		return true
	}
	return false
}

// IsPayment reports whether the event carries a payment.
func (t EventType) IsPayment() bool {
	switch t {
	case EventPaymentAuthorized, EventPaymentCaptured, EventPaymentFailed, EventPaymentVoided, EventPaymentRefunded:
		return true
	}
	return false
}

// Event is one fact that other parts of Roomwire and its partners must hear of.
// Exactly one of Reservation, ARI and Payment is set, as Type says.
type Event struct {
	SchemaVersion int       `json:"schema_version"`
	ID            string    `json:"id"` // unique; consumers deduplicate by it
	Type          EventType `json:"type"`
	PropertyID    string    `json:"property_id"`
	OccurredAt    time.Time `json:"occurred_at"`
	CorrelationID string    `json:"correlation_id,omitempty"`

	// Reservation is the reservation as it stands after the change
	// (reservation.* events).
	Reservation *Reservation `json:"reservation,omitempty"`
	// Transition is the status change the event announces, when it
	// announces one (reservation.modified or reservation.cancelled).
	Transition *Transition `json:"transition,omitempty"`
	// ARI is the new availability, rates or restrictions (availability.changed,
	// rates.changed, restrictions.changed).
	ARI *ARIUpdate `json:"ari,omitempty"`
	// Payment is the payment operation and where the payment stands after
	// it (payment.* events). It carries no card data beyond a mask.
	Payment *Payment `json:"payment,omitempty"`
}

// ARIKind says which part of ARI an update carries.
type ARIKind string

// The ARI update kinds.
const (
	ARIAvailability ARIKind = "availability"
	ARIRestrictions ARIKind = "restrictions"
	ARIRates        ARIKind = "rates"
)

// The Kafka topics events are published to. Each carries one property's
// events in order (the partition key is the property id).
const (
	TopicReservationEvents  = "roomwire.reservation.events"
	TopicAvailabilityEvents = "roomwire.availability.events"
	TopicPaymentEvents      = "roomwire.payment.events"
)

// Topic returns the topic events of type t are published to.
func (t EventType) Topic() string {
	switch {
	case t.IsReservation():
		return TopicReservationEvents
	case t.IsPayment():
		return TopicPaymentEvents
	}
	return TopicAvailabilityEvents
}
