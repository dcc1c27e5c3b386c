package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/rig"
	"github.com/roomwire/roomwire/connectors/apaleo"
)

type chaosResponse struct {
	status int
	code   string // problem code
	body   []byte
	err    error // the last transport error when the context ended first
	tries  int
}

func (r chaosResponse) describe() string {
	if r.status == 0 {
		return fmt.Sprintf("no answer after %d tries: %v", r.tries, r.err)
	}
	return fmt.Sprintf("%d %s", r.status, r.code)
}

// call sends a request until it gets an answer that is not a transport
// error or a 5xx, as a client would: the same idempotency key or If-Match
// on every try, so a retry can never apply twice.
func (c *chaosRun) call(ctx context.Context, method, path string, header map[string]string, body []byte) chaosResponse {
	var r chaosResponse
	wait := 50 * time.Millisecond
	for {
		r.tries++
		if r.tries > 1 {
			c.counts.retries.Add(1)
		}
		req, err := http.NewRequestWithContext(ctx, method, "http://"+c.serveAddr+path, bytes.NewReader(body))
		if err != nil {
			r.err = err
			return r
		}
		req.Header.Set("Authorization", "Bearer "+c.adminKey)
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := c.client.Do(req)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode < 500 {
				r.status, r.body, r.err = resp.StatusCode, b, nil
				var p struct{ Code string }
				json.Unmarshal(b, &p) //nolint:errcheck // not every answer is a problem
				r.code = p.Code
				return r
			}
			err = rerr
			if err == nil {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		r.err = err
		if ctx.Err() != nil {
			return r
		}
		select {
		case <-ctx.Done():
			return r
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Second)
	}
}

// --- the load ---

// chaosGate hands out operation numbers, never beyond what the fault
// schedule allows yet, so that every fault lands inside the load.
type chaosGate struct {
	mu      sync.Mutex
	next    int
	allowed int
	total   int
}

func (g *chaosGate) take(ctx context.Context) (int, bool) {
	for {
		g.mu.Lock()
		if g.next >= g.total {
			g.mu.Unlock()
			return 0, false
		}
		if g.next < g.allowed {
			i := g.next
			g.next++
			g.mu.Unlock()
			return i, true
		}
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			return 0, false
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (g *chaosGate) started() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.next
}

func (g *chaosGate) allow(n int) {
	g.mu.Lock()
	g.allowed = max(g.allowed, min(n, g.total))
	g.mu.Unlock()
}

// chaosCounts are the load's counters.
type chaosCounts struct {
	done    atomic.Int64
	retries atomic.Int64
	mu      sync.Mutex
	byKind  map[string]*chaosOpCount
	errors  map[string]int
}

// chaosOpCount counts the outcomes of one kind of operation.
type chaosOpCount struct {
	Count    int `json:"count"`
	OK       int `json:"ok"`
	Refused  int `json:"refused"` // 409 no availability: expected
	Errors   int `json:"errors"`
	Unknown  int `json:"unknown"` // no answer before the end: outcome unknown
	Reconcil int `json:"reconciled"`
}

func (c *chaosCounts) add(kind, outcome string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKind == nil {
		c.byKind = map[string]*chaosOpCount{}
	}
	k := c.byKind[kind]
	if k == nil {
		k = &chaosOpCount{}
		c.byKind[kind] = k
	}
	switch outcome {
	case "ok":
		k.OK++
	case "refused":
		k.Refused++
	case "unknown":
		k.Unknown++
	case "reconciled":
		k.OK++
		k.Reconcil++
	default:
		k.Errors++
		if c.errors == nil {
			c.errors = map[string]int{}
		}
		c.errors[kind+": "+outcome]++
	}
	k.Count++
}

// chaosState is what the checks compare: status, stay and comments.
type chaosState struct {
	Status   canonical.Status
	Stay     rig.Stay
	Comments []string
}

func (s chaosState) equal(o chaosState) bool {
	return s.Status == o.Status && s.Stay.RoomType == o.Stay.RoomType && s.Stay.RatePlan == o.Stay.RatePlan &&
		s.Stay.Arrival == o.Stay.Arrival && s.Stay.Departure == o.Stay.Departure && slices.Equal(s.Comments, o.Comments)
}

func (s chaosState) String() string {
	return fmt.Sprintf("%s %s/%s %s..%s comments %q", s.Status, s.Stay.RoomType, s.Stay.RatePlan, s.Stay.Arrival, s.Stay.Departure, s.Comments)
}

func stateOf(r *canonical.Reservation) chaosState {
	st := chaosState{Status: r.Status, Comments: r.Comments}
	if len(r.RoomStays) > 0 {
		s := r.RoomStays[0]
		st.Stay = rig.Stay{RoomType: s.RoomType, RatePlan: s.RatePlan, Arrival: s.Arrival, Departure: s.Departure, Adults: s.Adults}
	}
	if st.Comments == nil {
		st.Comments = []string{}
	}
	return st
}

// chaosBooking is a reservation the load made, with what it was told.
type chaosBooking struct {
	key        string // direct: the idempotency key; channel: the channel reservation id
	channel    string
	id         string // Roomwire's id, once known
	version    int
	acked      *chaosState  // the last acknowledged state
	maybe      []chaosState // changes sent whose outcome is unknown
	res        canonical.Reservation
	revision   int // channel: the last revision sent
	createSent bool
}

// chaosBook is what the load knows: every booking, and those free to change.
type chaosBook struct {
	mu        sync.Mutex
	all       []*chaosBooking
	free      map[string][]*chaosBooking // by channel
	frontDesk []string                   // Apaleo reservation ids booked at the front desk
}

func (b *chaosBook) add(x *chaosBooking, free bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.all = append(b.all, x)
	if free {
		b.release(x)
	}
}

func (b *chaosBook) release(x *chaosBooking) {
	if x.acked == nil || x.acked.Status == canonical.StatusCancelled {
		return // nothing more to change
	}
	if b.free == nil {
		b.free = map[string][]*chaosBooking{}
	}
	b.free[x.channel] = append(b.free[x.channel], x)
}

func (b *chaosBook) put(x *chaosBooking) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.release(x)
}

// take removes a random free booking of channel: only one worker changes a
// booking at a time, as one guest or one channel would.
func (b *chaosBook) take(channel string, rng *mrand.Rand) *chaosBooking {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.free[channel]
	if len(l) == 0 {
		return nil
	}
	i := rng.IntN(len(l))
	x := l[i]
	l[i] = l[len(l)-1]
	b.free[channel] = l[:len(l)-1]
	return x
}

// runLoad runs the workers and the fault schedule until every operation is done.
func (c *chaosRun) runLoad(ctx context.Context) {
	schedule := c.faultSchedule()
	c.gate = chaosGate{total: c.o.ops, allowed: c.threshold(0, len(schedule))}
	c.say("load: %d operations, %d faults at evenly spaced operations", c.o.ops, len(schedule))
	var wg sync.WaitGroup
	for w := 0; w < c.o.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i, ok := c.gate.take(ctx)
				if !ok {
					return
				}
				c.operation(ctx, i)
				c.counts.done.Add(1)
			}
		}()
	}
	loadDone := make(chan struct{})
	go func() { wg.Wait(); close(loadDone) }()
	faultsDone := make(chan struct{})
	go func() {
		defer close(faultsDone)
		c.runFaults(ctx, schedule, loadDone)
	}()
	tick := time.NewTicker(3 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-loadDone:
			<-faultsDone
			c.say("load done: %d operations, %d retries by clients, %d faults", c.counts.done.Load(), c.counts.retries.Load(), c.faults.total())
			return
		case <-tick.C:
			c.say("load %d/%d operations, %d retries by clients, %d faults", c.counts.done.Load(), c.o.ops, c.counts.retries.Load(), c.faults.total())
		}
	}
}

func (c *chaosRun) threshold(k, faults int) int {
	return (k + 1) * c.o.ops / (faults + 1)
}

// operation runs operation number i, drawn from its own seeded dice.
func (c *chaosRun) operation(ctx context.Context, i int) {
	rng := mrand.New(mrand.NewPCG(c.o.seed, uint64(i)))
	switch r := rng.IntN(100); {
	case r < 38:
		c.directCreate(ctx, rng, i)
	case r < 53:
		if x := c.book.take(canonical.ChannelDirect, rng); x != nil {
			c.directModify(ctx, rng, i, x)
			return
		}
		c.directCreate(ctx, rng, i)
	case r < 66:
		if x := c.book.take(canonical.ChannelDirect, rng); x != nil {
			c.directCancel(ctx, i, x)
			return
		}
		c.directCreate(ctx, rng, i)
	case r < 82:
		c.channelNew(ctx, rng, i)
	case r < 90:
		if x := c.book.take("ota", rng); x != nil {
			c.channelChange(ctx, rng, i, x, false)
			return
		}
		c.channelNew(ctx, rng, i)
	case r < 96:
		if x := c.book.take("ota", rng); x != nil {
			c.channelChange(ctx, rng, i, x, true)
			return
		}
		c.channelNew(ctx, rng, i)
	default:
		c.frontDeskBooking(ctx, rng, i)
	}
}

// randomStay draws a stay of one to three nights in the window.
func (c *chaosRun) randomStay(rng *mrand.Rand) (string, rig.Stay) {
	rt := chaosRoomTypes[rng.IntN(len(chaosRoomTypes))]
	nights := 1 + rng.IntN(3)
	arrival := c.first.AddDays(rng.IntN(chaosNights - nights + 1))
	return chaosProperties[rng.IntN(len(chaosProperties))],
		rig.Stay{RoomType: rt.code, RatePlan: rt.ratePlan, Arrival: arrival, Departure: arrival.AddDays(nights), Adults: 1 + rng.IntN(2)}
}

func (c *chaosRun) directCreate(ctx context.Context, rng *mrand.Rand, i int) {
	prop, stay := c.randomStay(rng)
	key := fmt.Sprintf("chaos-%d-%d", c.o.seed, i)
	body := map[string]any{"property_id": prop, "channel": canonical.ChannelDirect,
		"primary_guest": map[string]any{"given_name": "Op", "surname": fmt.Sprintf("Chaos%d", i), "email": chaosGuestEmail("op", i)},
		"room_stays":    []rig.Stay{stay}}
	if rng.IntN(3) == 0 {
		body["guarantee"] = map[string]any{"type": "card", "card_token": chaosCardToken, "card_mask": "4242XXXXXXXX4242"}
	}
	b, _ := json.Marshal(body)
	x := &chaosBooking{key: key, channel: canonical.ChannelDirect, createSent: true}
	r := c.call(ctx, http.MethodPost, "/v1/reservations", map[string]string{"Idempotency-Key": key}, b)
	switch {
	case r.status == http.StatusCreated:
		var res canonical.Reservation
		if err := json.Unmarshal(r.body, &res); err != nil {
			c.counts.add("create", "201 unreadable")
			return
		}
		st := stateOf(&res)
		x.id, x.version, x.acked = res.ID, res.Version, &st
		c.book.add(x, true)
		c.counts.add("create", "ok")
	case r.status == http.StatusConflict && r.code == "no_availability":
		c.counts.add("create", "refused")
	case r.status == 0:
		// No answer before the end: it may or may not exist; the checks
		// accept either, and never a second one for the key.
		c.book.add(x, false)
		c.counts.add("create", "unknown")
	default:
		c.counts.add("create", r.describe())
	}
}

func (c *chaosRun) directModify(ctx context.Context, rng *mrand.Rand, i int, x *chaosBooking) {
	defer c.book.put(x)
	next := *x.acked
	next.Comments = []string{fmt.Sprintf("op %d", i)}
	patch := map[string]any{"comments": next.Comments}
	if next.Status == canonical.StatusConfirmed && rng.IntN(2) == 0 {
		_, stay := c.randomStay(rng)
		next.Stay = stay
		patch["room_stays"] = []rig.Stay{stay}
	}
	b, _ := json.Marshal(patch)
	c.change(ctx, "modify", x, next, http.MethodPatch, "/v1/reservations/"+x.id, b)
}

func (c *chaosRun) directCancel(ctx context.Context, i int, x *chaosBooking) {
	defer c.book.put(x)
	next := *x.acked
	next.Status = canonical.StatusCancelled
	c.change(ctx, "cancel", x, next, http.MethodPost, "/v1/reservations/"+x.id+"/cancel", nil)
}

// change sends a modification with If-Match. An answer after retries may
// be 412 because an earlier try was applied: the reservation is read back
// to tell.
func (c *chaosRun) change(ctx context.Context, kind string, x *chaosBooking, next chaosState, method, path string, body []byte) {
	r := c.call(ctx, method, path, map[string]string{"If-Match": strconv.Quote(strconv.Itoa(x.version))}, body)
	switch {
	case r.status == http.StatusOK:
		var res canonical.Reservation
		if err := json.Unmarshal(r.body, &res); err != nil {
			c.counts.add(kind, "200 unreadable")
			return
		}
		st := stateOf(&res)
		if !st.equal(next) {
			c.counts.add(kind, "200 with other content")
		}
		x.version, x.acked = res.Version, &st
		c.counts.add(kind, "ok")
	case r.status == http.StatusConflict && r.code == "no_availability":
		c.counts.add(kind, "refused")
	case r.status == http.StatusPreconditionFailed:
		c.reconcile(ctx, kind, x, next)
	case r.status == 0:
		x.maybe = append(x.maybe, next)
		c.counts.add(kind, "unknown")
	default:
		c.counts.add(kind, r.describe())
	}
}

// reconcile reads a reservation whose version moved and takes the
// answer as the acknowledged state when it is the change that was sent.
func (c *chaosRun) reconcile(ctx context.Context, kind string, x *chaosBooking, next chaosState) {
	r := c.call(ctx, http.MethodGet, "/v1/reservations/"+x.id, nil, nil)
	if r.status != http.StatusOK {
		x.maybe = append(x.maybe, next)
		c.counts.add(kind, "412 then "+r.describe())
		return
	}
	var res canonical.Reservation
	if err := json.Unmarshal(r.body, &res); err != nil {
		c.counts.add(kind, "412 then unreadable")
		return
	}
	st := stateOf(&res)
	x.version = res.Version
	switch {
	case st.equal(next):
		x.acked = &st
		c.counts.add(kind, "reconciled")
	case st.equal(*x.acked):
		// The version moved without our change (the payment flow, say);
		// the change was not applied.
		c.counts.add(kind, "412 version moved by the hub")
	default:
		c.counts.add(kind, "412 and unexpected content")
	}
}

// channelNew pushes a new OTA booking; the channel may overbook.
func (c *chaosRun) channelNew(ctx context.Context, rng *mrand.Rand, i int) {
	prop, stay := c.randomStay(rng)
	x := &chaosBooking{key: fmt.Sprintf("OTA%d-%d", c.o.seed%100000, i), channel: "ota", revision: 1}
	x.res = canonical.Reservation{PropertyID: prop, Channel: "ota", ExternalID: x.key, Status: canonical.StatusConfirmed,
		PrimaryGuest: canonical.Guest{GivenName: "Chan", Surname: fmt.Sprintf("Chaos%d", i), Email: chaosGuestEmail("chan", i)}}
	x.res.RoomStays = []canonical.RoomStay{c.channelStay(stay)}
	c.stamp(x)
	x.createSent = true
	c.push(ctx, "channel_new", x, "Commit", false)
}

func (c *chaosRun) channelStay(s rig.Stay) canonical.RoomStay {
	rs := canonical.RoomStay{RoomType: s.RoomType, RatePlan: s.RatePlan, Arrival: s.Arrival, Departure: s.Departure, Adults: s.Adults}
	var price int64
	for _, rt := range chaosRoomTypes {
		if rt.code == s.RoomType {
			price = rt.price
		}
	}
	for _, n := range canonical.Nights(s.Arrival, s.Departure) {
		rs.NightlyPrices = append(rs.NightlyPrices, canonical.NightlyPrice{Date: n, Price: canonical.NewMoney(price, "EUR")})
	}
	return rs
}

// stamp gives the channel booking's current revision a modification time
// later than every earlier one: the store orders revisions by it.
func (c *chaosRun) stamp(x *chaosBooking) {
	base := c.start.UTC().Truncate(time.Second)
	x.res.CreatedAt = base
	x.res.ModifiedAt = base.Add(time.Duration(x.revision) * time.Second)
}

func (c *chaosRun) channelChange(ctx context.Context, rng *mrand.Rand, i int, x *chaosBooking, cancel bool) {
	x.revision++
	c.stamp(x)
	if cancel {
		x.res.Status = canonical.StatusCancelled
		c.push(ctx, "channel_cancel", x, "Cancel", true)
		return
	}
	_, stay := c.randomStay(rng)
	x.res.RoomStays = []canonical.RoomStay{c.channelStay(stay)}
	c.push(ctx, "channel_modify", x, "Modify", true)
}

// push sends the channel booking's current revision until Roomwire
// acknowledges it (or the run ends), as a channel resends an unacknowledged
// message.
func (c *chaosRun) push(ctx context.Context, kind string, x *chaosBooking, status string, existing bool) {
	want := stateOf(&x.res)
	if want.Status == "" {
		want.Status = canonical.StatusConfirmed
	}
	// keep puts the booking back in the book, or adds a new one, free for
	// later changes only when acknowledged.
	keep := func(free bool) {
		if existing {
			c.book.put(x)
		} else {
			c.book.add(x, free)
		}
	}
	wait := 50 * time.Millisecond
	tries := 0
	for {
		tries++
		if tries > 1 {
			c.counts.retries.Add(1)
		}
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		res, err := c.ota.Push(pctx, status, &x.res)
		cancel()
		switch {
		case err == nil && res.RS != nil && res.RS.Success != nil:
			x.acked, x.maybe = &want, nil
			c.counts.add(kind, "ok")
			keep(true)
			return
		case err == nil && res.Status < 500 && res.Status != http.StatusTooManyRequests:
			msg := fmt.Sprintf("refused %d", res.Status)
			if res.RS != nil && len(res.RS.Errors) > 0 {
				msg += " " + res.RS.Errors[0].Code
			}
			c.counts.add(kind, msg)
			x.maybe = append(x.maybe, want)
			keep(false)
			return
		}
		if ctx.Err() != nil {
			x.maybe = append(x.maybe, want)
			c.counts.add(kind, "unknown")
			keep(false)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Second)
	}
}

// frontDeskBooking books in Apaleo directly, as a receptionist would; the
// webhook brings it to Roomwire as a channel booking.
func (c *chaosRun) frontDeskBooking(ctx context.Context, rng *mrand.Rand, i int) {
	prop, stay := c.randomStay(rng)
	req := apaleo.CreateBooking{Booker: apaleo.Guest{LastName: fmt.Sprintf("Desk%d", i)},
		Reservations: []apaleo.CreateReservation{{Arrival: stay.Arrival.String(), Departure: stay.Departure.String(), Adults: stay.Adults,
			ChannelCode: "Direct", PrimaryGuest: apaleo.Guest{FirstName: "Front", LastName: fmt.Sprintf("Desk%d", i)}}}}
	for range canonical.Nights(stay.Arrival, stay.Departure) {
		req.Reservations[0].TimeSlices = append(req.Reservations[0].TimeSlices, apaleo.CreateTimeSlice{RatePlanID: prop + "-" + stay.RatePlan})
	}
	res, err := c.apaleo.CreateBooking(req)
	if err != nil {
		c.counts.add("front_desk", "apaleo refused: "+err.Error())
		return
	}
	c.book.mu.Lock()
	for _, r := range res.ReservationIDs {
		c.book.frontDesk = append(c.book.frontDesk, r.ID)
	}
	c.book.mu.Unlock()
	c.counts.add("front_desk", "ok")
}
