// Package arifanout pushes Roomwire's availability, restrictions and rates
// to every channel connector that takes them (connectors.ARIPusher).
//
// Each channel has its own consumer of roomwire.availability.events, in its
// own consumer group, so a channel that fails never holds back another. The
// consumer does not call the channel: it records the new values in
// ari_pending (one row per channel, property, room type, rate plan and night,
// keeping the latest value) in the same transaction as the router's
// deduplication mark, and wakes the channel's pusher. The pusher sends what
// is due, one property at a time (so each property's changes reach the
// channel in order), mapped to the channel's codes, and removes only what it
// sent. A burst of changes is coalesced for Window; a close-out (no unit
// left) is due at once. Pushes set values, so repeating one is harmless.
package arifanout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/router"
)

// Config configures the fan-out. Zero values take defaults.
type Config struct {
	// Window is how long a change waits for more changes before it is
	// pushed. Default 250ms. A close-out does not wait.
	Window time.Duration
	// PollInterval is how often each pusher looks for due changes when
	// nothing woke it (changes recorded by another process). Default 1s.
	PollInterval time.Duration
	// RetryMin and RetryMax bound the backoff after a failed push. Default 1s and 30s.
	RetryMin, RetryMax time.Duration
	// MaxNights bounds the nights one event may touch. Default 1098 (three years).
	MaxNights int
}

func (c *Config) setDefaults() {
	if c.Window <= 0 {
		c.Window = 250 * time.Millisecond
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.RetryMin <= 0 {
		c.RetryMin = time.Second
	}
	if c.RetryMax < c.RetryMin {
		c.RetryMax = max(30*time.Second, c.RetryMin)
	}
	if c.MaxNights <= 0 {
		c.MaxNights = 3 * 366
	}
}

// restrictions is the pending value of a night's restrictions.
type restrictions struct {
	Closed            bool `json:"closed,omitempty"`
	ClosedToArrival   bool `json:"closed_to_arrival,omitempty"`
	ClosedToDeparture bool `json:"closed_to_departure,omitempty"`
	MinStay           int  `json:"min_stay,omitempty"`
	MaxStay           int  `json:"max_stay,omitempty"`
}

// ConsumerName returns the consumer (and consumer group) name of a channel.
func ConsumerName(channel string) string { return "ari." + channel }

// Fanout pushes ARI to channels.
type Fanout struct {
	cfg      Config
	pool     *pgxpool.Pool
	mappings *connectors.Mappings
	logger   *slog.Logger

	mu       sync.Mutex
	channels map[string]*channel
	stats    map[string]*Stats
}

type channel struct {
	pusher connectors.ARIPusher
	wake   chan struct{}
}

// Stats count one channel's pushes.
type Stats struct {
	Pushes   int64     `json:"pushes"`
	Failures int64     `json:"failures"`
	Dropped  int64     `json:"dropped"` // entries the channel refused for good
	LastPush time.Time `json:"last_push"`
	LastErr  string    `json:"last_error,omitempty"`
}

// New returns a fan-out over the database of pool (migrated), mapping codes
// with mappings.
func New(cfg Config, pool *pgxpool.Pool, mappings *connectors.Mappings, logger *slog.Logger) *Fanout {
	cfg.setDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Fanout{cfg: cfg, pool: pool, mappings: mappings, logger: logger.With("component", "ari-fanout"),
		channels: map[string]*channel{}, stats: map[string]*Stats{}}
}

// AddChannel adds a channel connector. Add every channel before Run.
func (f *Fanout) AddChannel(p connectors.ARIPusher) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := f.channels[p.Name()]; dup {
		return fmt.Errorf("arifanout: channel %s added twice", p.Name())
	}
	f.channels[p.Name()] = &channel{pusher: p, wake: make(chan struct{}, 1)}
	f.stats[p.Name()] = &Stats{}
	return nil
}

// Channels returns the names of the channels, sorted.
func (f *Fanout) Channels() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for n := range f.channels {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Stats returns a copy of each channel's counters.
func (f *Fanout) Stats() map[string]Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]Stats{}
	for n, s := range f.stats {
		out[n] = *s
	}
	return out
}

// AddConsumers adds each channel's consumer of the availability topic to the
// backbone: consumer ari.<channel>, in its own group, behind the channel's
// circuit breaker.
func (f *Fanout) AddConsumers(b *router.Backbone) error {
	for _, name := range f.Channels() {
		if err := b.AddConsumer(ConsumerName(name), canonical.TopicAvailabilityEvents, f.Handler(name), router.WithConnector(name)); err != nil {
			return err
		}
	}
	return nil
}

// Handler returns the consumer of channel's availability events.
func (f *Fanout) Handler(name string) router.HandlerFunc {
	return func(msg *message.Message) error {
		var e canonical.Event
		if err := connectors.DecodeJSON(msg.Payload, &e); err != nil {
			return router.Permanent(fmt.Errorf("arifanout: event: %w", err))
		}
		return f.Record(msg.Context(), name, e)
	}
}

// Record stores an event's availability, restrictions and rates as pending
// for channel, and wakes its pusher. Inside a consumer it marks the message
// processed in the same transaction.
func (f *Fanout) Record(ctx context.Context, name string, e canonical.Event) error {
	if (e.Type != canonical.EventAvailabilityChanged && e.Type != canonical.EventRatesChanged) || e.ARI == nil {
		return nil
	}
	f.mu.Lock()
	ch, ok := f.channels[name]
	f.mu.Unlock()
	if !ok {
		return router.Permanent(fmt.Errorf("arifanout: no channel %s", name))
	}
	u := e.ARI
	property := u.PropertyID
	if property == "" {
		property = e.PropertyID
	}
	b := &pgx.Batch{}
	immediate := false
	queue := func(kind, roomType, ratePlan string, from, to canonical.Date, value any, now bool) error {
		if to.Before(from) || from.DaysUntil(to) >= f.cfg.MaxNights {
			return router.Permanentf("arifanout: %s of %s from %s to %s: not a range of at most %d nights", kind, property, from, to, f.cfg.MaxNights)
		}
		v, err := json.Marshal(value)
		if err != nil {
			return router.Permanent(err)
		}
		wait := f.cfg.Window.Seconds()
		if now {
			wait, immediate = 0, true
		}
		b.Queue(`INSERT INTO ari_pending (channel, property_id, kind, room_type, rate_plan, night, value, seq, due_at)
			SELECT $1, $2, $3, $4, $5, d::date, $6, nextval('ari_pending_seq'), now() + make_interval(secs => $9)
			FROM generate_series($7::date, $8::date, interval '1 day') d
			ON CONFLICT (channel, property_id, kind, room_type, rate_plan, night) DO UPDATE
			SET value = excluded.value, seq = excluded.seq, due_at = least(ari_pending.due_at, excluded.due_at)`,
			name, property, kind, roomType, ratePlan, v, from.Time(), to.Time(), wait)
		return nil
	}
	var err error
	for _, a := range u.Availability {
		err = errors.Join(err, queue("availability", a.RoomType, "", a.From, a.To, a.Available, a.Available <= 0))
	}
	for _, r := range u.Restrictions {
		v := restrictions{Closed: r.Closed, ClosedToArrival: r.ClosedToArrival, ClosedToDeparture: r.ClosedToDeparture, MinStay: r.MinStay, MaxStay: r.MaxStay}
		err = errors.Join(err, queue("restrictions", r.RoomType, r.RatePlan, r.From, r.To, v, false))
	}
	for _, r := range u.Rates {
		err = errors.Join(err, queue("rate", r.RoomType, r.RatePlan, r.From, r.To, r.Price, false))
	}
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if _, ok := router.DeliveryFrom(ctx); ok {
			return router.MarkProcessed(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("arifanout: record %s for %s: %w", e.Type, name, err)
	}
	select {
	case ch.wake <- struct{}{}:
	default:
	}
	f.logger.DebugContext(ctx, "ARI recorded", "channel", name, "property", property, "event_id", e.ID, "close_out", immediate)
	return nil
}
