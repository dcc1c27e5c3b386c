package router

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
)

// DeliveryState says where one consumer's messages are: the answer to "where
// is my message?" for a partner that has not heard of something. Every
// undelivered message is in one of its counts.
type DeliveryState struct {
	Consumer  string `json:"consumer"`
	Connector string `json:"connector,omitempty"`
	Topic     string `json:"topic"`
	Group     string `json:"group"`
	// Breaker is the state of the partner's circuit breaker (closed,
	// half-open, open), when the consumer has one breaker for its partner.
	Breaker string `json:"breaker,omitempty"`
	// InFlight is how many messages this process is handling now.
	InFlight int64 `json:"in_flight"`
	// Lag is how many records wait on Kafka for the consumer group; -1 when
	// the broker could not say.
	Lag int64 `json:"lag"`
	// Parked messages wait behind an open breaker, in PostgreSQL.
	Parked         int64      `json:"parked"`
	OldestParkedAt *time.Time `json:"oldest_parked_at,omitempty"`
	// DeadLetters wait for an operator (status dead or replaying).
	DeadLetters int64 `json:"dead_letters"`
	// LastDeliveredAt is when this process last had a message acknowledged
	// by the partner, and LastDeliverySeconds how long after its commit.
	LastDeliveredAt     *time.Time `json:"last_delivered_at,omitempty"`
	LastDeliverySeconds *float64   `json:"last_delivery_seconds,omitempty"`
}

// Deliveries returns the delivery state of every consumer, by name.
func (b *Backbone) Deliveries(ctx context.Context) ([]DeliveryState, error) {
	b.mu.Lock()
	consumers := make([]*consumer, 0, len(b.consumers))
	for _, c := range b.consumers {
		consumers = append(consumers, c)
	}
	b.mu.Unlock()
	sort.Slice(consumers, func(i, j int) bool { return consumers[i].name < consumers[j].name })

	type parked struct {
		n      int64
		oldest time.Time
	}
	parkedBy := map[string]parked{}
	deadBy := map[string]int64{}
	batch := &pgx.Batch{}
	batch.Queue(`SELECT consumer, count(*), min(parked_at) FROM parked_messages GROUP BY consumer`).Query(func(rows pgx.Rows) error {
		var c string
		var p parked
		_, err := pgx.ForEachRow(rows, []any{&c, &p.n, &p.oldest}, func() error { parkedBy[c] = p; return nil })
		return err
	})
	batch.Queue(`SELECT consumer, count(*) FROM dead_letters WHERE status IN ('dead', 'replaying') GROUP BY consumer`).Query(func(rows pgx.Rows) error {
		var c string
		var n int64
		_, err := pgx.ForEachRow(rows, []any{&c, &n}, func() error { deadBy[c] = n; return nil })
		return err
	})
	if err := b.pool.SendBatch(ctx, batch).Close(); err != nil {
		return nil, fmt.Errorf("router: deliveries: %w", err)
	}
	groups := make([]string, len(consumers))
	for i, c := range consumers {
		groups[i] = c.group
	}
	lagBy := map[string]int64{}
	if len(groups) > 0 {
		if lags, err := b.admin.Lag(ctx, groups...); err == nil {
			for _, g := range lags.Sorted() {
				if g.Error() != nil {
					lagBy[g.Group] = -1
					continue
				}
				lagBy[g.Group] = g.Lag.Total()
			}
		} else {
			for _, g := range groups {
				lagBy[g] = -1
			}
		}
	}

	out := make([]DeliveryState, 0, len(consumers))
	for _, c := range consumers {
		s := DeliveryState{Consumer: c.name, Connector: c.connector, Topic: c.topic, Group: c.group,
			InFlight: c.inFlight.Load(), Lag: lagBy[c.group], Parked: parkedBy[c.name].n, DeadLetters: deadBy[c.name]}
		if p := parkedBy[c.name]; p.n > 0 {
			s.OldestParkedAt = &p.oldest
		}
		if c.breakerName != "" {
			s.Breaker = b.breakers.State(c.breakerName)
		}
		if at := c.lastDelivered.Load(); at != 0 {
			t := time.Unix(0, at).UTC()
			s.LastDeliveredAt = &t
			if age := math.Float64frombits(c.lastDeliveryAge.Load()); !math.IsNaN(age) {
				s.LastDeliverySeconds = &age
			}
		}
		out = append(out, s)
	}
	return out, nil
}
