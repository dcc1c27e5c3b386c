package canonical

import (
	"context"
	"regexp"
)

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

var correlationPattern = regexp.MustCompile(`^[A-Za-z0-9._:\-]{1,100}$`)

// ValidCorrelationID reports whether a correlation id a caller sent may be
// kept: 1 to 100 letters, digits and . _ : -. Anything else (invalid UTF-8,
// control characters) would make the Kafka record that carries it
// unreadable downstream, so receivers replace it with an id of their own.
func ValidCorrelationID(id string) bool { return correlationPattern.MatchString(id) }
