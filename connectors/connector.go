// Package connectors is Roomwire's connector SDK: the small interfaces a
// partner connector implements, the registry connectors add themselves to,
// the shared HTTP client (retries, Retry-After, circuit breakers, redacted
// logs), the error classes the router acts on, the code mappings between
// partner and Roomwire codes, and the partner-id links. Each partner lives in
// its own package below (apaleo, ...), registers itself in init, and proves
// itself with the conformance suite in connectors/conformance.
//
// The flow: an inbound connector turns a partner message into a
// canonical.ChannelBooking or canonical.ARIUpdate that still carries the
// partner's codes, and hands it to a Sink, which makes it durable on Kafka.
// The inbound applier (connectors/inbound) maps the codes with the connector's
// mappings and applies the result to the reservation store. An outbound
// connector receives canonical events and calls its partner, mapping Roomwire
// codes to the partner's. Unmapped codes fail with the unmapped class, so the
// message waits in the dead-letter topic until the mapping exists.
package connectors

import (
	"context"
	"net/http"

	"github.com/roomwire/roomwire/canonical"
)

// Connector is a configured partner connector. A connector also implements
// one or more of WebhookReceiver, Puller and Outbound, as its capabilities say.
type Connector interface {
	// Name is the registered name, e.g. "apaleo".
	Name() string
}

// Sink is what the hub gives inbound connectors. Both methods return only
// once the message is durable (on Kafka, or committed in PostgreSQL), so a
// connector may acknowledge its partner when they return nil.
type Sink interface {
	// Deliver hands over a booking, still in the partner's codes.
	Deliver(ctx context.Context, b canonical.ChannelBooking) error
	// DeliverARI hands over availability or rates, still in the partner's codes.
	DeliverARI(ctx context.Context, u canonical.ARIUpdate) error
}

// WebhookReceiver is an inbound connector the partner calls. The hub mounts
// its handler under /v1/connectors/<name>/ with that prefix stripped; the
// handler authenticates the partner itself.
type WebhookReceiver interface {
	Connector
	Webhook(sink Sink) http.Handler
}

// Puller is an inbound connector that fetches from its partner. Run blocks
// until ctx ends, and returns nil then.
type Puller interface {
	Connector
	Run(ctx context.Context, sink Sink) error
}

// Outbound is a connector that tells its partner about Roomwire's events. It
// returns nil when the event needs nothing from the partner, and a classified
// error otherwise (see ClassOf). HandleEvent must be idempotent: Kafka
// delivers at least once.
type Outbound interface {
	Connector
	HandleEvent(ctx context.Context, e canonical.Event) error
}

// Closer is implemented by connectors that hold resources to release.
type Closer interface {
	Close() error
}

// Message is one partner message translated to canonical form: exactly one of
// Booking and ARI is set. Codes are still the partner's.
type Message struct {
	Booking *canonical.ChannelBooking `json:"booking,omitempty"`
	ARI     *canonical.ARIUpdate      `json:"ari,omitempty"`
}

// Translator converts a partner's messages to and from canonical form, with
// no I/O and no configuration. `roomwire translate` and the conformance suite
// use it; connectors use it for every message they receive and send.
type Translator interface {
	// ToCanonical parses one partner message. Its errors say what is wrong
	// and where, and are permanent.
	ToCanonical(data []byte) (Message, error)
	// FromCanonical renders a reservation (in the partner's codes) in the
	// partner's own format.
	FromCanonical(r *canonical.Reservation) ([]byte, error)
}
