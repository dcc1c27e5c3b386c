// Package arifanout pushes Roomwire's availability, restrictions and rates
// to every channel connector that takes them (connectors.ARIPusher).
//
// Each channel has its own router consumer of roomwire.availability.events
// (ari.<channel>), in its own consumer group and behind the channel's
// circuit breaker, so a channel that fails never holds back another, and
// its undelivered changes are where every other undelivered message is: in
// flight, parked or dead-lettered (a channel's permanent refusal is a dead
// letter with the channel's words, replayable once fixed).
//
// The consumer pushes a property's current values for what an event
// touched, read from the store when the event is handled, mapped to the
// channel's codes, and remembers what the channel acknowledged. That is how
// changes coalesce per channel, room type, rate plan and night without a
// window: a consumer that falls behind a burst pushes the burst's outcome
// with its first event, and the later events find nothing new to send. A
// consumer that keeps up pushes each change, close-outs included, as soon
// as it is committed. Pushes set values, so repeating one is harmless.
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

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/router"
)

// Config configures the fan-out. Zero values take defaults.
type Config struct {
	// MaxNights bounds the nights one event may touch. Default 1098 (three years).
	MaxNights int
	// Remember bounds how many acknowledged values (per property, room
	// type, rate plan and night) each channel's consumer keeps to skip
	// sending them again. Default 500,000; past it the memory starts over,
	// which costs only pushes of unchanged values.
	Remember int
	// Rules returns a channel's availability rules at a property, applied
	// to what the channel is told. Nil: no rules.
	Rules func(ctx context.Context, channel, property string) (canonical.ChannelRules, error)
}

func (c *Config) setDefaults() {
	if c.MaxNights <= 0 {
		c.MaxNights = 3 * 366
	}
	if c.Remember <= 0 {
		c.Remember = 500_000
	}
}

// restrictions is the value of a night's restrictions: all of them.
type restrictions = canonical.Restrictions

// ConsumerName returns the consumer (and consumer group) name of a channel.
func ConsumerName(channel string) string { return "ari." + channel }

// Fanout pushes ARI to channels.
type Fanout struct {
	cfg      Config
	store    *reservations.Store
	mappings *connectors.Mappings
	logger   *slog.Logger

	mu       sync.Mutex
	channels map[string]*channel
}

type channel struct {
	pusher connectors.ARIPusher

	mu     sync.Mutex
	pushed map[nightKey]string // what the channel acknowledged, as JSON
	stats  Stats
}

// nightKey names one value of one night.
type nightKey struct {
	property, kind, roomType, ratePlan string
	night                              canonical.Date
}

// Stats count one channel's pushes.
type Stats struct {
	Pushes    int64     `json:"pushes"`
	Failures  int64     `json:"failures"`  // retryable failures: the router retries or parks
	Refused   int64     `json:"refused"`   // permanent refusals: dead-lettered
	Coalesced int64     `json:"coalesced"` // events with nothing new for the channel
	LastPush  time.Time `json:"last_push"`
	LastErr   string    `json:"last_error,omitempty"`
}

// New returns a fan-out reading the reservation store, mapping codes with
// mappings.
func New(cfg Config, store *reservations.Store, mappings *connectors.Mappings, logger *slog.Logger) *Fanout {
	cfg.setDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Fanout{cfg: cfg, store: store, mappings: mappings, logger: logger.With("component", "ari-fanout"),
		channels: map[string]*channel{}}
}

// AddChannel adds a channel connector. Add every channel before AddConsumers.
func (f *Fanout) AddChannel(p connectors.ARIPusher) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := f.channels[p.Name()]; dup {
		return fmt.Errorf("arifanout: channel %s added twice", p.Name())
	}
	f.channels[p.Name()] = &channel{pusher: p, pushed: map[nightKey]string{}}
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
	for n, ch := range f.channels {
		ch.mu.Lock()
		out[n] = ch.stats
		ch.mu.Unlock()
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
		return f.Deliver(msg.Context(), name, e)
	}
}

// Deliver pushes to channel name the current values of what e changed,
// leaving out what the channel has already acknowledged. Its error is
// classified for the router: a channel's refusal is permanent, a failure to
// reach it retryable.
func (f *Fanout) Deliver(ctx context.Context, name string, e canonical.Event) error {
	if !e.Type.IsARI() || e.ARI == nil || (e.ARI.Channel != "" && e.ARI.Channel != name) {
		return nil
	}
	f.mu.Lock()
	ch, ok := f.channels[name]
	f.mu.Unlock()
	if !ok {
		return router.Permanent(fmt.Errorf("arifanout: no channel %s", name))
	}
	u := *e.ARI
	if u.PropertyID == "" {
		u.PropertyID = e.PropertyID
	}
	rows, err := f.current(ctx, u)
	if err == nil {
		rows, err = f.applyRules(ctx, name, u.PropertyID, rows)
	}
	if err != nil {
		return err
	}
	fresh := ch.unsent(u.PropertyID, rows)
	if len(fresh) == 0 {
		ch.count(func(s *Stats) { s.Coalesced++ })
		return nil
	}
	out, err := toUpdate(u.PropertyID, fresh)
	if err != nil {
		return router.Permanent(err)
	}
	err = f.push(ctx, ch.pusher, out)
	switch {
	case err == nil:
		ch.acknowledged(u.PropertyID, fresh, f.cfg.Remember)
		ch.count(func(s *Stats) { s.Pushes++; s.LastPush = time.Now(); s.LastErr = "" })
		f.logger.DebugContext(ctx, "ARI pushed", "channel", name, "property", u.PropertyID, "event_id", e.ID, "nights", len(fresh))
		return nil
	case connectors.IsRetryable(err):
		ch.count(func(s *Stats) { s.Failures++; s.LastErr = connectors.SafeText(err.Error(), 300) })
		return fmt.Errorf("arifanout: push to %s: %w", name, err)
	default:
		ch.count(func(s *Stats) { s.Refused++; s.LastErr = connectors.SafeText(err.Error(), 300) })
		return fmt.Errorf("arifanout: %s refused the update: %w", name, err)
	}
}

// current returns, night by night, the values of what u touches: the
// store's availability, restrictions and rates as they are now (later
// changes included, which is what coalesces a burst).
func (f *Fanout) current(ctx context.Context, u canonical.ARIUpdate) ([]pendingRow, error) {
	span := func(kind string, from, to canonical.Date) error {
		if to.Before(from) || from.DaysUntil(to) >= f.cfg.MaxNights {
			return router.Permanentf("arifanout: %s of %s from %s to %s: not a range of at most %d nights", kind, u.PropertyID, from, to, f.cfg.MaxNights)
		}
		return nil
	}
	var q reservations.ARIQuery
	for _, a := range u.Availability {
		if err := span("availability", a.From, a.To); err != nil {
			return nil, err
		}
		q.Availability = append(q.Availability, reservations.ARIRange{RoomType: a.RoomType, From: a.From, To: a.To})
	}
	for _, r := range u.Rates {
		if err := span("rates", r.From, r.To); err != nil {
			return nil, err
		}
		q.Rates = append(q.Rates, reservations.ARIRange{RoomType: r.RoomType, RatePlan: r.RatePlan, From: r.From, To: r.To})
	}
	for _, r := range u.Restrictions {
		if err := span("restrictions", r.From, r.To); err != nil {
			return nil, err
		}
		q.Restrictions = append(q.Restrictions, reservations.ARIRange{RoomType: r.RoomType, RatePlan: r.RatePlan, From: r.From, To: r.To})
	}
	rows, err := snapshot(ctx, f.store, u.PropertyID, q)
	if errors.Is(err, reservations.ErrNotFound) {
		return nil, nil // no such property any more: nothing to tell
	}
	if err != nil {
		return nil, fmt.Errorf("arifanout: current values of %s: %w", u.PropertyID, err) // retryable: the store
	}
	return rows, nil
}

// applyRules limits the availability rows by the channel's availability
// rules at the property, so that what is remembered as acknowledged is what
// the channel was told.
func (f *Fanout) applyRules(ctx context.Context, name, property string, rows []pendingRow) ([]pendingRow, error) {
	if f.cfg.Rules == nil {
		return rows, nil
	}
	rules, err := f.cfg.Rules(ctx, name, property)
	if err != nil || len(rules) == 0 {
		return rows, err // retryable: the store
	}
	for i, r := range rows {
		if r.kind != "availability" {
			continue
		}
		var n int
		if err := json.Unmarshal(r.value, &n); err != nil {
			return nil, router.Permanent(err)
		}
		rows[i].value, _ = json.Marshal(rules.Available(r.roomType, n))
	}
	return rows, nil
}

// unsent returns the rows whose value the channel has not acknowledged.
func (ch *channel) unsent(property string, rows []pendingRow) []pendingRow {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	var out []pendingRow
	for _, r := range rows {
		if v, ok := ch.pushed[r.key(property)]; !ok || v != string(r.value) {
			out = append(out, r)
		}
	}
	return out
}

// acknowledged remembers rows as the channel's values, within limit.
func (ch *channel) acknowledged(property string, rows []pendingRow, limit int) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if len(ch.pushed)+len(rows) > limit {
		clear(ch.pushed)
	}
	for _, r := range rows {
		ch.pushed[r.key(property)] = string(r.value)
	}
}

func (ch *channel) count(fn func(*Stats)) {
	ch.mu.Lock()
	fn(&ch.stats)
	ch.mu.Unlock()
}

type pendingRow struct {
	kind, roomType, ratePlan string
	night                    canonical.Date
	value                    json.RawMessage
}

func (r pendingRow) key(property string) nightKey {
	return nightKey{property: property, kind: r.kind, roomType: r.roomType, ratePlan: r.ratePlan, night: r.night}
}

// push maps u to the channel's codes and pushes it. A property the channel
// does not list, and room types and rate plans it does not sell, are skipped.
func (f *Fanout) push(ctx context.Context, p connectors.ARIPusher, u canonical.ARIUpdate) error {
	set, err := f.mappings.Set(ctx, p.Name())
	if err != nil {
		return connectors.Retryable(err)
	}
	out, skipped, err := connectors.ARIToPartner(set, u)
	if errors.Is(err, connectors.ErrPropertyNotListed) {
		return nil
	}
	if skipped > 0 {
		f.logger.DebugContext(ctx, "ARI entries the channel does not sell were skipped", "channel", p.Name(), "property", u.PropertyID, "skipped", skipped)
	}
	if out.Empty() {
		return nil
	}
	return p.PushARI(ctx, out)
}

// toUpdate turns rows (in any order) into runs of nights with the same value.
func toUpdate(property string, rows []pendingRow) (canonical.ARIUpdate, error) {
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		if a.roomType != b.roomType {
			return a.roomType < b.roomType
		}
		if a.ratePlan != b.ratePlan {
			return a.ratePlan < b.ratePlan
		}
		return a.night.Before(b.night)
	})
	u := canonical.ARIUpdate{PropertyID: property}
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].kind == rows[i].kind && rows[j].roomType == rows[i].roomType && rows[j].ratePlan == rows[i].ratePlan &&
			rows[j].night == rows[j-1].night.AddDays(1) && string(rows[j].value) == string(rows[i].value) {
			j++
		}
		r, from, to := rows[i], rows[i].night, rows[j-1].night
		var err error
		switch r.kind {
		case "availability":
			var n int
			err = json.Unmarshal(r.value, &n)
			u.Availability = append(u.Availability, canonical.AvailabilityUpdate{RoomType: r.roomType, From: from, To: to, Available: n})
		case "restrictions":
			var x restrictions
			err = json.Unmarshal(r.value, &x)
			u.Restrictions = append(u.Restrictions, x.Update(r.roomType, r.ratePlan, from, to))
		case "rate":
			var x canonical.Rate
			err = json.Unmarshal(r.value, &x)
			u.Rates = append(u.Rates, canonical.RateUpdate{RoomType: r.roomType, RatePlan: r.ratePlan, From: from, To: to, Rate: x})
		}
		if err != nil {
			return u, fmt.Errorf("arifanout: %s of %s: %w", r.kind, property, err)
		}
		i = j
	}
	return u, nil
}
