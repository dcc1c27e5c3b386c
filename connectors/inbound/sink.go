package inbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/router"
)

// Sink is the connectors.Sink the hub gives an inbound connector: it
// publishes to the connector's inbound topic and returns once the publisher
// has the broker's acknowledgement, so the message is durable.
type Sink struct {
	pub       message.Publisher
	connector string
	logger    *slog.Logger
}

var _ connectors.Sink = (*Sink)(nil)

// NewSink returns a sink publishing connector's messages with pub, which must
// be synchronous (the router's Kafka publisher is).
func NewSink(pub message.Publisher, connector string, logger *slog.Logger) *Sink {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Sink{pub: pub, connector: connector, logger: logger.With("connector", connector)}
}

// Deliver publishes a booking.
func (s *Sink) Deliver(ctx context.Context, b canonical.ChannelBooking) error {
	if b.Connector == "" {
		b.Connector = s.connector
	}
	return s.publish(ctx, &Envelope{SchemaVersion: canonical.SchemaVersion, Kind: KindBooking, Connector: s.connector, Booking: &b})
}

// DeliverARI publishes an availability or rates update.
func (s *Sink) DeliverARI(ctx context.Context, u canonical.ARIUpdate) error {
	return s.publish(ctx, &Envelope{SchemaVersion: canonical.SchemaVersion, Kind: KindARI, Connector: s.connector, ARI: &u})
}

func (s *Sink) publish(ctx context.Context, e *Envelope) error {
	msg, err := NewMessage(ctx, e, s.logger)
	if err != nil {
		return err
	}
	if err := s.pub.Publish(Topic(s.connector), msg); err != nil {
		return connectors.Retryable(fmt.Errorf("inbound %s: publish: %w", s.connector, err))
	}
	return nil
}

// NewMessage encodes an envelope as a Watermill message with a stable id,
// the property as partition key and the correlation id of ctx. Card numbers
// and security codes never reach Kafka: any a connector let through is
// masked, and logged as a connector bug.
func NewMessage(ctx context.Context, e *Envelope, logger *slog.Logger) (*message.Message, error) {
	if e.Booking == nil && e.ARI == nil {
		return nil, connectors.Permanent(errors.New("inbound: empty message"))
	}
	if e.Booking != nil {
		if found, err := connectors.GuardBooking(e.Booking, connectors.CardDrop); err != nil {
			return nil, err
		} else if found && logger != nil {
			logger.ErrorContext(ctx, "connector delivered card data; masked before publishing", "connector", e.Connector)
		}
	}
	id, err := e.MessageID()
	if err != nil {
		return nil, connectors.Permanent(fmt.Errorf("inbound %s: %w", e.Connector, err))
	}
	payload, err := json.Marshal(e)
	if err != nil {
		return nil, connectors.Permanent(fmt.Errorf("inbound %s: encode: %w", e.Connector, err))
	}
	if canonical.ContainsCardData(string(payload)) {
		if logger != nil {
			logger.ErrorContext(ctx, "connector delivered a card number; masked before publishing", "message_id", id)
		}
		payload = []byte(connectors.MaskCardNumbers(string(payload)))
	}
	msg := message.NewMessage(id, payload)
	msg.Metadata.Set(router.MetadataPartitionKey, e.PropertyID())
	msg.Metadata.Set(router.MetadataPropertyID, e.PropertyID())
	msg.Metadata.Set(router.MetadataConnector, e.Connector)
	msg.Metadata.Set(router.MetadataKind, e.Kind)
	if c := canonical.CorrelationID(ctx); c != "" {
		msg.Metadata.Set(router.MetadataCorrelationID, c)
	}
	msg.SetContext(ctx)
	return msg, nil
}

// DirectSink applies what a connector delivers at once, without Kafka: the
// message is durable when its transaction commits. The backfill command and
// tests use it.
type DirectSink struct {
	Connector string
	Applier   *Applier
}

var _ connectors.Sink = (*DirectSink)(nil)

// Deliver applies a booking.
func (d *DirectSink) Deliver(ctx context.Context, b canonical.ChannelBooking) error {
	if b.Connector == "" {
		b.Connector = d.Connector
	}
	return d.Applier.Apply(ctx, &Envelope{SchemaVersion: canonical.SchemaVersion, Kind: KindBooking, Connector: d.Connector, Booking: &b})
}

// DeliverARI applies an ARI update.
func (d *DirectSink) DeliverARI(ctx context.Context, u canonical.ARIUpdate) error {
	return d.Applier.Apply(ctx, &Envelope{SchemaVersion: canonical.SchemaVersion, Kind: KindARI, Connector: d.Connector, ARI: &u})
}
