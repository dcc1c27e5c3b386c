// Package inbound carries partner messages from inbound connectors into the
// reservation store. Sink publishes what a connector delivers to the Kafka
// topic roomwire.inbound.<connector>, keyed by property; Applier consumes that
// topic, maps the partner's codes to Roomwire's and applies the result with
// the store's idempotent operations. DirectSink applies at once, for tools
// that run without Kafka (the backfill command) and for tests.
package inbound

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/router"
)

// Topic returns the Kafka topic of a connector's inbound messages; the
// backbone names it.
func Topic(connector string) string { return router.InboundTopic(connector) }

// The envelope kinds.
const (
	KindBooking = "booking"
	KindARI     = "ari"
)

// Envelope is the JSON form of one inbound message.
type Envelope struct {
	SchemaVersion int                       `json:"schema_version"`
	Kind          string                    `json:"kind"`
	Connector     string                    `json:"connector"`
	Booking       *canonical.ChannelBooking `json:"booking,omitempty"`
	ARI           *canonical.ARIUpdate      `json:"ari,omitempty"`
}

// PropertyID returns the partner's property code of the message.
func (e *Envelope) PropertyID() string {
	switch {
	case e.Booking != nil:
		return e.Booking.Reservation.PropertyID
	case e.ARI != nil:
		return e.ARI.PropertyID
	}
	return ""
}

// MessageID returns a stable id for the message, a digest of all it says
// (but not of when it was received): a redelivery of the same partner
// message gets the same id, so the router's deduplication drops it, while a
// different body gets another id even under the same partner revision.
func (e *Envelope) MessageID() (string, error) {
	c := *e
	if c.Booking != nil {
		b := *c.Booking
		b.ReceivedAt = time.Time{}
		c.Booking = &b
	}
	key, err := json.Marshal(&c)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(key)
	h := hex.EncodeToString(sum[:16])
	// Shaped as a UUID (version 8, custom), which Watermill and Kafka tools expect.
	return h[0:8] + "-" + h[8:12] + "-8" + h[13:16] + "-" + h[16:20] + "-" + h[20:32], nil
}

// Decode parses an envelope. Bad bytes are a permanent error: the message
// goes to the dead-letter topic instead of blocking its partition.
func Decode(payload []byte) (*Envelope, error) {
	var e Envelope
	if err := connectors.DecodeJSON(payload, &e); err != nil {
		return nil, fmt.Errorf("inbound message: %w", err)
	}
	switch {
	case e.Kind == KindBooking && e.Booking != nil && e.ARI == nil:
	case e.Kind == KindARI && e.ARI != nil && e.Booking == nil:
	default:
		return nil, connectors.Permanent(errors.New(`inbound message: want kind "booking" with a booking, or kind "ari" with an ari update`))
	}
	if e.Connector == "" {
		return nil, connectors.Permanent(errors.New("inbound message: connector is missing"))
	}
	return &e, nil
}
