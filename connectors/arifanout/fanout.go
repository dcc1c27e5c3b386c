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
//
// Events of other nights coalesce too: the consumer reads its lane's
// look-ahead (router.WaitingInLane), the property's events already read
// from Kafka behind the one it handles, and covers them with the same read
// and push (up to Config.CoalesceEvents events and CoalesceNights nights).
// They were committed before they were published, so the read, made after,
// holds their values. Once the channel acknowledged the push, each of them
// is acknowledged without a read or push of its own when its turn comes; a
// push that fails covers nothing, and the router retries, parks or
// dead-letters the handled event as any other. So a channel that takes
// few requests per second still gets every property's latest values, in
// one push per property and lane run rather than one per event.
package arifanout

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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
	// CoalesceEvents bounds how many events waiting behind the one handled
	// in its property's lane one push also covers. Default 64.
	CoalesceEvents int
	// CoalesceNights bounds the nights (counted per kind, room type and
	// rate plan) one push covering waiting events reads and sends; the
	// handled event's own nights always go. Default 1,000.
	CoalesceNights int
}

func (c *Config) setDefaults() {
	if c.MaxNights <= 0 {
		c.MaxNights = 3 * 366
	}
	if c.Remember <= 0 {
		c.Remember = 500_000
	}
	if c.CoalesceEvents <= 0 {
		c.CoalesceEvents = 64
	}
	if c.CoalesceNights <= 0 {
		c.CoalesceNights = 1000
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
	Covered   int64     `json:"covered"`   // waiting events another's push covered
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
		ctx := msg.Context()
		return f.deliver(ctx, name, e, router.WaitingInLane(ctx, f.cfg.CoalesceEvents))
	}
}

// Deliver pushes to channel name the current values of what e changed,
// leaving out what the channel has already acknowledged. Its error is
// classified for the router: a channel's refusal is permanent, a failure to
// reach it retryable.
func (f *Fanout) Deliver(ctx context.Context, name string, e canonical.Event) error {
	return f.deliver(ctx, name, e, nil)
}

func (f *Fanout) channel(name string) *channel {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.channels[name]
}

// deliver is Deliver covering, besides e, the events of waiting (those
// behind e in its lane) of the same property that fit the bounds: one read
// of the union of their nights after their commits, one push, and, once
// the channel took it, each of them covered (router.CoverWaiting). A push
// that fails covers nothing.
func (f *Fanout) deliver(ctx context.Context, name string, e canonical.Event, waiting []router.WaitingMessage) error {
	u, ok := forChannel(name, e)
	if !ok {
		return nil
	}
	ch := f.channel(name)
	if ch == nil {
		return router.Permanent(fmt.Errorf("arifanout: no channel %s", name))
	}
	want, err := f.ranges(u)
	if err != nil {
		return err
	}
	covers := f.coalesce(name, u.PropertyID, &want, waiting)
	rows, err := f.current(ctx, name, u.PropertyID, want)
	if err != nil {
		return err
	}
	fresh := ch.unsent(u.PropertyID, rows)
	if len(fresh) == 0 {
		f.cover(ctx, ch, covers)
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
		f.cover(ctx, ch, covers)
		ch.count(func(s *Stats) { s.Pushes++; s.LastPush = time.Now(); s.LastErr = "" })
		f.logger.DebugContext(ctx, "ARI pushed", "channel", name, "property", u.PropertyID, "event_id", e.ID, "nights", len(fresh), "covers", len(covers))
		return nil
	case connectors.IsRetryable(err):
		ch.count(func(s *Stats) { s.Failures++; s.LastErr = connectors.SafeText(err.Error(), 300) })
		return fmt.Errorf("arifanout: push to %s: %w", name, err)
	default:
		ch.count(func(s *Stats) { s.Refused++; s.LastErr = connectors.SafeText(err.Error(), 300) })
		return fmt.Errorf("arifanout: %s refused the update: %w", name, err)
	}
}

// forChannel returns the update of e for channel name, with its property,
// or false when e tells the channel nothing.
func forChannel(name string, e canonical.Event) (canonical.ARIUpdate, bool) {
	if !e.Type.IsARI() || e.ARI == nil || (e.ARI.Channel != "" && e.ARI.Channel != name) {
		return canonical.ARIUpdate{}, false
	}
	u := *e.ARI
	if u.PropertyID == "" {
		u.PropertyID = e.PropertyID
	}
	return u, true
}

// coalesce adds to want the ranges of the waiting events of property for
// channel name, as long as the union stays within the bounds, and returns
// the ids of the events it took. An event it cannot read, of another
// property or beyond the bounds is left to be handled on its own.
func (f *Fanout) coalesce(name, property string, want *[]ariRange, waiting []router.WaitingMessage) []string {
	var covers []string
	nights := nightsOf(*want)
	for _, w := range waiting {
		var e canonical.Event
		if connectors.DecodeJSON(w.Payload, &e) != nil {
			continue
		}
		u, ok := forChannel(name, e)
		if !ok || u.PropertyID != property {
			continue
		}
		rs, err := f.ranges(u)
		if err != nil {
			continue
		}
		union := mergeRanges(slices.Concat(*want, rs))
		n := nightsOf(union)
		if n > f.cfg.CoalesceNights && n > nights {
			continue
		}
		*want, nights = union, n
		covers = append(covers, w.UUID)
	}
	return covers
}

// ariRange is one kind of value (availability, restrictions, rate) of a
// room type (all: "") and rate plan (all: "") over the nights From..To.
type ariRange struct {
	kind, roomType, ratePlan string
	from, to                 canonical.Date
}

// ranges returns what u touches, or a permanent error for a range of more
// than MaxNights nights.
func (f *Fanout) ranges(u canonical.ARIUpdate) ([]ariRange, error) {
	var out []ariRange
	add := func(kind, roomType, ratePlan string, from, to canonical.Date) error {
		if to.Before(from) || from.DaysUntil(to) >= f.cfg.MaxNights {
			return router.Permanentf("arifanout: %s of %s from %s to %s: not a range of at most %d nights", kind, u.PropertyID, from, to, f.cfg.MaxNights)
		}
		out = append(out, ariRange{kind: kind, roomType: roomType, ratePlan: ratePlan, from: from, to: to})
		return nil
	}
	for _, a := range u.Availability {
		if err := add("availability", a.RoomType, "", a.From, a.To); err != nil {
			return nil, err
		}
	}
	for _, r := range u.Rates {
		if err := add("rate", r.RoomType, r.RatePlan, r.From, r.To); err != nil {
			return nil, err
		}
	}
	for _, r := range u.Restrictions {
		if err := add("restrictions", r.RoomType, r.RatePlan, r.From, r.To); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// mergeRanges sorts rs and joins the overlapping and adjacent ranges of the
// same kind, room type and rate plan.
func mergeRanges(rs []ariRange) []ariRange {
	slices.SortFunc(rs, func(a, b ariRange) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.roomType, b.roomType), cmp.Compare(a.ratePlan, b.ratePlan),
			a.from.Compare(b.from))
	})
	var out []ariRange
	for _, r := range rs {
		if k := len(out) - 1; k >= 0 && out[k].kind == r.kind && out[k].roomType == r.roomType && out[k].ratePlan == r.ratePlan &&
			!out[k].to.AddDays(1).Before(r.from) {
			if out[k].to.Before(r.to) {
				out[k].to = r.to
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// nightsOf counts the nights of rs, once per range.
func nightsOf(rs []ariRange) int {
	n := 0
	for _, r := range rs {
		n += r.from.DaysUntil(r.to) + 1
	}
	return n
}

// current returns, night by night, the values of what rs touch for
// channel name: the store's availability (limited by the channel's
// availability rules at the property, so that what is remembered as
// acknowledged is what the channel was told), restrictions and rates as
// they are now (later changes included, which is what coalesces a burst),
// read in one round trip.
func (f *Fanout) current(ctx context.Context, name, property string, rs []ariRange) ([]pendingRow, error) {
	q := reservations.ARIQuery{Channel: name}
	for _, r := range rs {
		x := reservations.ARIRange{RoomType: r.roomType, RatePlan: r.ratePlan, From: r.from, To: r.to}
		switch r.kind {
		case "availability":
			q.Availability = append(q.Availability, x)
		case "rate":
			q.Rates = append(q.Rates, x)
		case "restrictions":
			q.Restrictions = append(q.Restrictions, x)
		}
	}
	rows, err := snapshot(ctx, f.store, property, q)
	if errors.Is(err, reservations.ErrNotFound) {
		return nil, nil // no such property any more: nothing to tell
	}
	if err != nil {
		return nil, fmt.Errorf("arifanout: current values of %s: %w", property, err) // retryable: the store
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

// cover tells the router that the events ids, waiting in the lane, need
// no read or push of their own: the channel has their values.
func (f *Fanout) cover(ctx context.Context, ch *channel, ids []string) {
	if len(ids) == 0 {
		return
	}
	router.CoverWaiting(ctx, ids...)
	ch.count(func(s *Stats) { s.Covered += int64(len(ids)) })
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
