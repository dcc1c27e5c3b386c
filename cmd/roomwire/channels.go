package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/roomwire/roomwire/router"
)

// consumerHealth is how one consumer of the backbone, and the connector it
// calls, is doing: what GET /v1/ops/channels answers for each.
type consumerHealth struct {
	Consumer  string `json:"consumer"`
	Connector string `json:"connector"` // empty for Roomwire's own consumers
	Topic     string `json:"topic,omitempty"`
	// Breaker is the connector's circuit breaker: closed, half-open or open.
	Breaker        string     `json:"breaker"`
	Parked         int64      `json:"parked"`
	Pending        int64      `json:"pending"` // records not yet consumed (consumer lag)
	InFlight       *int64     `json:"in_flight,omitempty"`
	DeadLetters    int        `json:"dead_letters"`
	LastDelivered  *time.Time `json:"last_delivered_at"`
	DeliveryAge    *float64   `json:"delivery_age_seconds,omitempty"` // commit to acknowledgement of the last message
	ARILag         *float64   `json:"ari_lag_seconds,omitempty"`      // the same, for an ARI channel
	LastPush       *time.Time `json:"last_push_at,omitempty"`         // last successful ARI push
	RecentRefusals []refusal  `json:"recent_refusals"`
}

// refusal is a message a consumer gave up on: the newest dead letters.
type refusal struct {
	DeadLetterID int64     `json:"dead_letter_id"`
	At           time.Time `json:"at"`
	Reason       string    `json:"reason"`
	Error        string    `json:"error"`
}

// channelsHandler serves GET /v1/ops/channels: the health of every consumer,
// from the backbone's metrics, its dead letters and the message timeline.
func (h *hub) channelsHandler(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	gauges := h.gatherGauges()
	delivered, err := h.lastDelivered(ctx)
	if err != nil {
		h.logger.ErrorContext(ctx, "channel health: last deliveries", "error", err)
	}
	var pushes map[string]time.Time
	if h.fanout != nil {
		pushes = map[string]time.Time{}
		for name, s := range h.fanout.Stats() {
			if !s.LastPush.IsZero() {
				pushes[name] = s.LastPush
			}
		}
	}
	out := []consumerHealth{}
	for _, name := range h.backbone.Consumers() {
		c := consumerHealth{Consumer: name, Connector: connectorOf(name), RecentRefusals: []refusal{}}
		if c.Connector != "" {
			c.Breaker = h.backbone.Breakers().State(c.Connector)
		}
		c.Parked = int64(gauges.value("roomwire_parked_messages", "consumer", name))
		c.Pending = int64(gauges.sum("roomwire_consumer_lag", "group", h.backbone.ConsumerGroup(name)))
		if v, ok := gauges.lookup("roomwire_consumer_in_flight", "consumer", name); ok {
			n := int64(v)
			c.InFlight = &n
		}
		if v, ok := gauges.lookup("roomwire_delivery_last_age_seconds", "consumer", name); ok {
			c.DeliveryAge = &v
			if strings.HasPrefix(name, "ari.") {
				c.ARILag = &v
			}
		}
		if t, ok := delivered[name]; ok {
			c.LastDelivered = &t
		}
		if t, ok := pushes[c.Connector]; ok && strings.HasPrefix(name, "ari.") {
			c.LastPush = &t
		}
		letters, err := h.backbone.DeadLetters().List(ctx, router.DeadLetterFilter{Consumer: name, Status: "dead", Limit: 1000})
		if err != nil {
			h.logger.ErrorContext(ctx, "channel health: dead letters", "consumer", name, "error", err)
		}
		c.DeadLetters = len(letters)
		for i := len(letters) - 1; i >= 0 && len(c.RecentRefusals) < 3; i-- {
			dl := letters[i]
			c.RecentRefusals = append(c.RecentRefusals, refusal{DeadLetterID: dl.ID, At: dl.LastFailedAt, Reason: dl.Reason, Error: dl.Error})
		}
		if c.Topic == "" && len(letters) > 0 {
			c.Topic = letters[0].OriginalTopic
		}
		out = append(out, c)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(struct {
		GeneratedAt time.Time        `json:"generated_at"`
		Consumers   []consumerHealth `json:"consumers"`
	}{time.Now().UTC(), out})
}

// connectorOf names the connector a consumer calls, from the consumer names
// the hub gives: outbound.<connector>, payments.<connector>,
// inbound.<connector> and ari.<channel>.
func connectorOf(consumer string) string {
	kind, name, ok := strings.Cut(consumer, ".")
	if !ok {
		return ""
	}
	switch kind {
	case "outbound", "payments", "inbound", "ari":
		return name
	}
	return ""
}

// lastDelivered returns when each consumer last handled a message of a
// reservation successfully, over the past week.
func (h *hub) lastDelivered(ctx context.Context) (map[string]time.Time, error) {
	rows, err := h.pool.Query(ctx, `
		SELECT consumer, max(last_at) FROM message_timeline
		WHERE status = 'processed' AND last_at > now() - interval '7 days'
		GROUP BY consumer`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var c string
		var t time.Time
		if err := rows.Scan(&c, &t); err != nil {
			return nil, err
		}
		out[c] = t.UTC()
	}
	return out, rows.Err()
}

// gauges are the hub's metric families, gathered once per request.
type gauges map[string]*dto.MetricFamily

func (h *hub) gatherGauges() gauges {
	families, err := h.metrics.Gather()
	if err != nil {
		h.logger.Warn("channel health: gathering metrics", "error", err)
	}
	g := gauges{}
	for _, f := range families {
		g[f.GetName()] = f
	}
	return g
}

// lookup returns the value of the series of family name whose label is value.
func (g gauges) lookup(name, label, value string) (float64, bool) {
	f, ok := g[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == value {
				return metricValue(m), true
			}
		}
	}
	return 0, false
}

func (g gauges) value(name, label, value string) float64 {
	v, _ := g.lookup(name, label, value)
	return v
}

// sum adds the series of family name whose label is value.
func (g gauges) sum(name, label, value string) float64 {
	var total float64
	if f, ok := g[name]; ok {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					total += metricValue(m)
				}
			}
		}
	}
	return total
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	}
	return 0
}
