package connectors

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// partnerCalls times every call a connector makes to its partner through
// Client (one attempt: retries and breakers are the router's):
//
//	roomwire_partner_call_duration_seconds{connector,operation,outcome}
//
// operation is the method and route template ("POST /booking/v1/bookings");
// outcome is ok, refused (the partner said no: a permanent 4xx), failed
// (5xx, 429, timeouts, unreachable: worth retrying) or cancelled. The histogram's _count is the number of calls.
var partnerCalls = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "roomwire_partner_call_duration_seconds",
	Help:    "Time of a call to a partner's API, by connector, operation and outcome (ok, refused, failed, cancelled).",
	Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
}, []string{"connector", "operation", "outcome"})

// MetricsCollectors returns the SDK's metrics, for the registry /metrics
// serves. The same collectors may be registered on several registries.
func MetricsCollectors() []prometheus.Collector {
	return []prometheus.Collector{partnerCalls}
}

func observePartnerCall(connector, operation, outcome string, start time.Time) {
	partnerCalls.WithLabelValues(connector, operation, outcome).Observe(time.Since(start).Seconds())
}

func callOutcome(ctx context.Context, err error) string {
	switch {
	case err == nil:
		return "ok"
	case ctx.Err() != nil:
		return "cancelled"
	case ClassOf(err) == ClassRetryable:
		return "failed"
	}
	return "refused"
}
