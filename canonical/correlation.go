package canonical

import "context"

type correlationKey struct{}

// WithCorrelationID returns ctx carrying id, the correlation id that follows one
// request from the partner that sent it, through Kafka, to every partner call it
// causes and every log line about it.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey{}, id)
}

// CorrelationID returns the correlation id carried by ctx, or "".
func CorrelationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey{}).(string)
	return id
}
