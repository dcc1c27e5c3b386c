package router

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the backbone's Prometheus metrics. All are registered on the
// registry given to New (or NewMetrics).
//
//	roomwire_handler_messages_total{consumer,outcome}  messages handled, by outcome:
//	    processed, duplicate, parked, dead_lettered, failed (redelivered),
//	    covered (waiting messages whose work another's handling did)
//	roomwire_handler_duration_seconds{consumer}        time to handle one delivery
//	roomwire_handler_retries_total{consumer}           in-place retries
//	roomwire_dead_lettered_total{consumer,reason}      messages sent to a dead-letter topic
//	roomwire_dead_letters{topic,reason}                dead letters waiting for an operator
//	roomwire_dead_letters_waiting                      all of them, for alerts
//	roomwire_parked_messages{consumer}                 messages parked behind an open breaker
//	roomwire_circuit_breaker_state{breaker}            0 closed, 1 half-open, 2 open
//	roomwire_circuit_breakers_open                     breakers open now, for alerts
//	roomwire_consumer_lag{group,topic,partition}       records not yet consumed
//	roomwire_consumer_lag_messages                     all of them, for alerts
//	roomwire_outbox_backlog                            outbox rows not yet published
//	roomwire_outbox_oldest_age_seconds                 age of the oldest unpublished row
//	roomwire_outbox_published_total                    outbox rows published
//	roomwire_outbox_relay_errors_total                 failed relay batches
//	roomwire_consumer_in_flight{consumer}              messages being handled now
//	roomwire_delivery_latency_seconds{consumer,connector}  commit to partner acknowledgement
//	roomwire_delivery_last_age_seconds{consumer}       that latency for the last message handled:
//	    how far behind its commits a consumer (an ARI channel, the PMS) is
type Metrics struct {
	inFlight        *prometheus.GaugeVec
	deliveryLatency *prometheus.HistogramVec
	lastDeliveryAge *prometheus.GaugeVec
	handlerMessages *prometheus.CounterVec
	handlerDuration *prometheus.HistogramVec
	handlerRetries  *prometheus.CounterVec
	deadLettered    *prometheus.CounterVec
	deadLetters     *prometheus.GaugeVec
	deadLettersAll  prometheus.Gauge
	parked          *prometheus.GaugeVec
	breakerState    *prometheus.GaugeVec
	breakersOpen    prometheus.Gauge
	consumerLag     *prometheus.GaugeVec
	consumerLagAll  prometheus.Gauge
	outboxBacklog   prometheus.Gauge
	outboxOldestAge prometheus.Gauge
	outboxPublished prometheus.Counter
	relayErrors     prometheus.Counter
}

// NewMetrics creates the backbone's metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "roomwire_consumer_in_flight",
			Help: "Messages a consumer is handling now (retries in place included).",
		}, []string{"consumer"}),
		deliveryLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "roomwire_delivery_latency_seconds",
			Help:    "Time from an event's commit in the outbox to its partner's acknowledgement.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2, 5, 10, 30, 60, 300},
		}, []string{"consumer", "connector"}),
		lastDeliveryAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "roomwire_delivery_last_age_seconds",
			Help: "Commit-to-acknowledgement time of the last message a consumer handled: how far behind its commits it runs.",
		}, []string{"consumer"}),
		handlerMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roomwire_handler_messages_total",
			Help: "Messages handled by a consumer, by outcome (processed, duplicate, parked, dead_lettered, failed, covered).",
		}, []string{"consumer", "outcome"}),
		handlerDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "roomwire_handler_duration_seconds",
			Help:    "Time to handle one delivery of a message, retries included.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"consumer"}),
		handlerRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roomwire_handler_retries_total",
			Help: "In-place retries of failed handler attempts.",
		}, []string{"consumer"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roomwire_dead_lettered_total",
			Help: "Messages sent to a dead-letter topic, by reason.",
		}, []string{"consumer", "reason"}),
		deadLetters: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "roomwire_dead_letters",
			Help: "Dead letters waiting for an operator, by original topic and reason.",
		}, []string{"topic", "reason"}),
		// The totals are there from the start, at 0, so alerts and
		// dashboards need no series to appear first.
		deadLettersAll: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roomwire_dead_letters_waiting",
			Help: "Dead letters waiting for an operator, over every topic and reason.",
		}),
		breakersOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roomwire_circuit_breakers_open",
			Help: "Circuit breakers open now: partners whose messages are parked.",
		}),
		consumerLagAll: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roomwire_consumer_lag_messages",
			Help: "Records not yet consumed, over every consumer group and partition.",
		}),
		parked: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "roomwire_parked_messages",
			Help: "Messages parked behind an open circuit breaker.",
		}, []string{"consumer"}),
		breakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "roomwire_circuit_breaker_state",
			Help: "Circuit breaker state per partner: 0 closed, 1 half-open, 2 open.",
		}, []string{"breaker"}),
		consumerLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "roomwire_consumer_lag",
			Help: "Records in a partition not yet consumed by a consumer group.",
		}, []string{"group", "topic", "partition"}),
		outboxBacklog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roomwire_outbox_backlog",
			Help: "Outbox rows not yet published to Kafka.",
		}),
		outboxOldestAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "roomwire_outbox_oldest_age_seconds",
			Help: "Age of the oldest outbox row not yet published (0 when none).",
		}),
		outboxPublished: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roomwire_outbox_published_total",
			Help: "Outbox rows published to Kafka.",
		}),
		relayErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "roomwire_outbox_relay_errors_total",
			Help: "Outbox relay batches that failed and will be retried.",
		}),
	}
	for _, c := range []prometheus.Collector{
		m.handlerMessages, m.handlerDuration, m.handlerRetries, m.deadLettered, m.deadLetters, m.deadLettersAll,
		m.parked, m.breakerState, m.breakersOpen, m.consumerLag, m.consumerLagAll, m.outboxBacklog, m.outboxOldestAge,
		m.outboxPublished, m.relayErrors, m.inFlight, m.deliveryLatency, m.lastDeliveryAge,
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
