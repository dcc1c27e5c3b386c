package router

import (
	"context"
	"log/slog"
	"strconv"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/roomwire/roomwire/canonical"
)

type contextKey int

const deliveryKey contextKey = iota

// WithCorrelationID returns ctx carrying correlation id id. It is the same
// context value as canonical.WithCorrelationID, so the store stamps the
// events a handler causes with the id of the message it handles.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return canonical.WithCorrelationID(ctx, id)
}

// CorrelationID returns the correlation id ctx carries, or "". Inside a
// handler it is the id of the message being handled; outbound partner calls
// send it on (e.g. as X-Correlation-ID).
func CorrelationID(ctx context.Context) string { return canonical.CorrelationID(ctx) }

// NewCorrelationID returns a fresh correlation id.
func NewCorrelationID() string { return uuid.NewString() }

// Delivery describes the message a handler is working on. The consumer
// pipeline puts it in the message's context.
type Delivery struct {
	Consumer      string // the consumer (handler) name
	Connector     string // the partner connector, if the consumer has one
	Topic         string
	MessageID     string
	PropertyID    string
	ReservationID string
	ReplayCount   int // > 0 when the message was replayed from a dead letter
}

// DeliveryFrom returns the delivery ctx carries.
func DeliveryFrom(ctx context.Context) (Delivery, bool) {
	d, ok := ctx.Value(deliveryKey).(Delivery)
	return d, ok
}

func withDelivery(ctx context.Context, d Delivery) context.Context {
	return context.WithValue(ctx, deliveryKey, d)
}

// deliveryOf reads the delivery facts from a message's metadata.
func deliveryOf(consumer, connector, topic string, msg *message.Message) Delivery {
	d := Delivery{
		Consumer:      consumer,
		Connector:     connector,
		Topic:         topic,
		MessageID:     msg.UUID,
		PropertyID:    msg.Metadata.Get(MetadataPropertyID),
		ReservationID: msg.Metadata.Get(MetadataReservationID),
	}
	if d.PropertyID == "" {
		d.PropertyID = msg.Metadata.Get(MetadataPartitionKey)
	}
	d.ReplayCount, _ = strconv.Atoi(msg.Metadata.Get(MetadataReplayCount))
	return d
}

// NewMessage returns a message to publish on behalf of the work ctx
// belongs to: keyed by propertyID, carrying ctx's correlation id (a new one
// if ctx has none).
func NewMessage(ctx context.Context, id, propertyID string, payload []byte) *message.Message {
	msg := message.NewMessage(id, payload)
	cid := CorrelationID(ctx)
	if cid == "" {
		cid = NewCorrelationID()
	}
	msg.Metadata.Set(MetadataCorrelationID, cid)
	if propertyID != "" {
		msg.Metadata.Set(MetadataPartitionKey, propertyID)
		msg.Metadata.Set(MetadataPropertyID, propertyID)
	}
	msg.SetContext(ctx)
	return msg
}

// ContextLogHandler adds the correlation id and the delivery (consumer,
// connector, property, message id) found in a record's context to every
// record, so that logger.InfoContext(msg.Context(), ...) inside a handler
// is traceable without passing fields around.
type ContextLogHandler struct{ next slog.Handler }

// NewContextLogHandler wraps next. Wrapping twice is harmless.
func NewContextLogHandler(next slog.Handler) *ContextLogHandler {
	if h, ok := next.(*ContextLogHandler); ok {
		return h
	}
	return &ContextLogHandler{next: next}
}

// Enabled implements slog.Handler.
func (h *ContextLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (h *ContextLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if id := CorrelationID(ctx); id != "" {
			r.AddAttrs(slog.String("correlation_id", id))
		}
		if d, ok := DeliveryFrom(ctx); ok {
			r.AddAttrs(slog.String("consumer", d.Consumer), slog.String("message_id", d.MessageID))
			if d.Connector != "" {
				r.AddAttrs(slog.String("connector", d.Connector))
			}
			if d.PropertyID != "" {
				r.AddAttrs(slog.String("property_id", d.PropertyID))
			}
		}
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *ContextLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &ContextLogHandler{next: h.next.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h *ContextLogHandler) WithGroup(name string) slog.Handler {
	return &ContextLogHandler{next: h.next.WithGroup(name)}
}
