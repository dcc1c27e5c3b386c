// Package channelsim holds what every channel simulator (otasim,
// bookingcomsim, expediasim) needs besides its partner's wire format: fault
// switches, the channel's view of ARI (the last value per room type, rate
// plan and night, so tests can assert what a channel believes), and a record
// of the acknowledgements and confirmations Roomwire sent.
package channelsim

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roomwire/roomwire/canonical"
)

// Faults are a simulator's switches. They apply to the partner's API (every
// path but /_sim/...), and Duplicates to what the simulator delivers.
type Faults struct {
	// Status answers every API call with this status (e.g. 503).
	Status int `json:"status,omitempty"`
	// ErrorRate is the fraction of calls answered 500.
	ErrorRate float64 `json:"error_rate,omitempty"`
	// RateLimitRate is the fraction answered 429 with RetryAfter.
	RateLimitRate float64 `json:"rate_limit_rate,omitempty"`
	// RetryAfter is the Retry-After seconds of 429 and 503 answers.
	RetryAfter int `json:"retry_after,omitempty"`
	// TimeoutRate is the fraction of calls that hang for HangFor.
	TimeoutRate float64       `json:"timeout_rate,omitempty"`
	HangFor     time.Duration `json:"hang_for,omitempty"`
	// Latency is added to every call.
	Latency time.Duration `json:"latency,omitempty"`
	// Duplicates is how many extra times each reservation is delivered
	// (pushed again, or listed again after acknowledgement).
	Duplicates int `json:"duplicates,omitempty"`
	// RefuseARI, when set, has the channel refuse every ARI notification
	// for good, in its own format, with this text as its reason (as a
	// channel does for a rate plan it has closed).
	RefuseARI string `json:"refuse_ari,omitempty"`
}

// Kit is the shared part of a simulator. Its zero value is not usable; use New.
type Kit struct {
	Name   string
	Logger *slog.Logger
	ARI    *ARIState
	Acks   *Acks

	mu      sync.Mutex
	faults  Faults
	rng     *rand.Rand
	calls   int
	handler http.Handler // set by Serve
}

// New returns a kit for the simulator called name.
func New(name string, logger *slog.Logger, seed uint64) *Kit {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Kit{Name: name, Logger: logger, ARI: NewARIState(), Acks: &Acks{}, rng: rand.New(rand.NewPCG(seed, seed+1))}
}

// SetFaults replaces the fault switches.
func (k *Kit) SetFaults(f Faults) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.faults = f
}

// Faults returns the fault switches.
func (k *Kit) Faults() Faults {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.faults
}

// Calls returns how many API calls the simulator has answered or failed.
func (k *Kit) Calls() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.calls
}

// Serve makes k the simulator's http.Handler: api behind the faults, beside
// the control paths
//
//	GET|PUT /_sim/faults   the switches, as JSON
//	GET     /_sim/ari      what the channel believes, as JSON
//	GET     /_sim/acks     acknowledgements and confirmations received
//
// It returns the mux they are served from, on which a simulator adds its
// own /_sim/ paths. Call it once, before serving.
func (k *Kit) Serve(api http.Handler) *http.ServeMux {
	top := http.NewServeMux()
	top.Handle("/", k.wrap(api))
	k.handler = top
	return top
}

// ServeHTTP serves the simulator's API and control paths (see Serve).
func (k *Kit) ServeHTTP(w http.ResponseWriter, r *http.Request) { k.handler.ServeHTTP(w, r) }

// wrap serves the control paths and puts api behind the faults.
func (k *Kit) wrap(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			var f Faults
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&f); err != nil {
				http.Error(w, "faults: "+err.Error(), http.StatusBadRequest)
				return
			}
			k.SetFaults(f)
		}
		writeJSON(w, k.Faults())
	})
	mux.HandleFunc("GET /_sim/ari", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, k.ARI.Snapshot()) })
	mux.HandleFunc("GET /_sim/acks", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, k.Acks.List()) })
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if k.fail(w, r) {
			return
		}
		api.ServeHTTP(w, r)
	}))
	return mux
}

// fail applies the faults to one call and reports whether it answered.
func (k *Kit) fail(w http.ResponseWriter, r *http.Request) bool {
	k.mu.Lock()
	f := k.faults
	k.calls++
	roll := k.rng.Float64()
	k.mu.Unlock()
	if f.Latency > 0 {
		sleep(r.Context(), f.Latency)
	}
	retryAfter := func() {
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
	}
	switch {
	case f.Status != 0:
		if f.Status == http.StatusTooManyRequests || f.Status == http.StatusServiceUnavailable {
			retryAfter()
		}
		http.Error(w, k.Name+" simulator: fault status", f.Status)
		return true
	case roll < f.TimeoutRate:
		hang := f.HangFor
		if hang == 0 {
			hang = 30 * time.Second
		}
		sleep(r.Context(), hang)
		http.Error(w, k.Name+" simulator: hung", http.StatusGatewayTimeout)
		return true
	case roll < f.TimeoutRate+f.RateLimitRate:
		retryAfter()
		http.Error(w, k.Name+" simulator: rate limited", http.StatusTooManyRequests)
		return true
	case roll < f.TimeoutRate+f.RateLimitRate+f.ErrorRate:
		http.Error(w, k.Name+" simulator: internal error", http.StatusInternalServerError)
		return true
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// BookingNumbers hands out a channel's booking numbers in sequence, after
// the one it holds. It is used under the simulator's lock.
type BookingNumbers int

// Or returns id, or the next number when id is empty (a booking made
// without one).
func (n *BookingNumbers) Or(id string) string {
	if id != "" {
		return id
	}
	*n++
	return strconv.Itoa(int(*n))
}

// ServeJSON returns a control path answering with what read returns, as
// JSON, read and encoded under the simulator's lock mu.
func ServeJSON(mu sync.Locker, read func() any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(read()) //nolint:errcheck
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v) //nolint:errcheck
}

// Restriction is what a channel believes of a rate plan's restrictions on a night.
type Restriction = canonical.Restrictions

type nightKey struct {
	hotel, roomType, ratePlan string
	night                     canonical.Date
}

// ARIState is what a channel believes: the last availability, restrictions
// and price it was told per hotel, room type, rate plan and night, in the
// channel's codes.
type ARIState struct {
	mu       sync.Mutex
	avail    map[nightKey]int
	restr    map[nightKey]Restriction
	rates    map[nightKey]canonical.Rate
	messages int
	changed  chan struct{}
	lastAt   map[nightKey]time.Time
	observe  func(hotel, roomType string, night canonical.Date, available int, at time.Time)
}

// NewARIState returns an empty state.
func NewARIState() *ARIState {
	return &ARIState{avail: map[nightKey]int{}, restr: map[nightKey]Restriction{}, rates: map[nightKey]canonical.Rate{},
		changed: make(chan struct{}), lastAt: map[nightKey]time.Time{}}
}

// ObserveAvailability calls fn with every night's availability the channel
// is told, as it is applied, so that a benchmark can tell how long new
// availability took to reach the channel. fn runs with the state locked: it
// must be quick and must not call the state.
func (s *ARIState) ObserveAvailability(fn func(hotel, roomType string, night canonical.Date, available int, at time.Time)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observe = fn
}

// Apply records one message's update: every night of each entry's From..To.
// Restrictions given with an empty rate plan apply to the room type (""); a
// restriction an entry leaves unset stays as it was.
func (s *ARIState) Apply(u canonical.ARIUpdate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.messages++
	for _, a := range u.Availability {
		for _, n := range canonical.Nights(a.From, a.To.AddDays(1)) {
			k := nightKey{u.PropertyID, a.RoomType, "", n}
			s.avail[k] = a.Available
			s.lastAt[k] = now
			if s.observe != nil {
				s.observe(u.PropertyID, a.RoomType, n, a.Available, now)
			}
		}
	}
	for _, r := range u.Restrictions {
		for _, n := range canonical.Nights(r.From, r.To.AddDays(1)) {
			k := nightKey{u.PropertyID, r.RoomType, r.RatePlan, n}
			s.restr[k] = s.restr[k].With(r)
		}
	}
	for _, r := range u.Rates {
		for _, n := range canonical.Nights(r.From, r.To.AddDays(1)) {
			s.rates[nightKey{u.PropertyID, r.RoomType, r.RatePlan, n}] = r.Rate
		}
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// Availability returns the rooms left the channel believes a room type has on a night.
func (s *ARIState) Availability(hotel, roomType string, night canonical.Date) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.avail[nightKey{hotel, roomType, "", night}]
	return n, ok
}

// AvailabilityChangedAt returns when the availability of a night was last set.
func (s *ARIState) AvailabilityChangedAt(hotel, roomType string, night canonical.Date) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastAt[nightKey{hotel, roomType, "", night}]
}

// Restriction returns the restrictions the channel believes a rate plan has on a night.
func (s *ARIState) Restriction(hotel, roomType, ratePlan string, night canonical.Date) (Restriction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.restr[nightKey{hotel, roomType, ratePlan, night}]
	return r, ok
}

// Rate returns the price the channel believes a rate plan has on a night
// (its standard occupancy's).
func (s *ARIState) Rate(hotel, roomType, ratePlan string, night canonical.Date) (canonical.Money, bool) {
	r, ok := s.FullRate(hotel, roomType, ratePlan, night)
	return r.Price, ok
}

// FullRate returns the prices the channel believes a rate plan has on a
// night, by occupancy with the extra amounts.
func (s *ARIState) FullRate(hotel, roomType, ratePlan string, night canonical.Date) (canonical.Rate, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rates[nightKey{hotel, roomType, ratePlan, night}]
	return r, ok
}

// Messages returns how many ARI messages were applied.
func (s *ARIState) Messages() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messages
}

// Changed returns a channel closed at the next change.
func (s *ARIState) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Snapshot returns the state as sorted lines, for GET /_sim/ari.
func (s *ARIState) Snapshot() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	line := func(k nightKey, v string) string {
		return strings.Join([]string{k.hotel, k.roomType, k.ratePlan, k.night.String(), v}, " ")
	}
	for k, v := range s.avail {
		out["availability"] = append(out["availability"], line(k, strconv.Itoa(v)))
	}
	for k, v := range s.restr {
		b, _ := json.Marshal(v)
		out["restrictions"] = append(out["restrictions"], line(k, string(b)))
	}
	for k, v := range s.rates {
		out["rates"] = append(out["rates"], line(k, rateText(v)))
	}
	for _, l := range out {
		sort.Strings(l)
	}
	return out
}

// Ack is one acknowledgement or confirmation Roomwire sent a channel.
type Ack struct {
	ChannelID string    `json:"channel_id"` // the channel's reservation id
	Kind      string    `json:"kind"`       // e.g. new, modify, Book, Cancel
	Reference string    `json:"reference"`  // Roomwire's confirmation reference
	At        time.Time `json:"at"`
}

// Acks records acknowledgements in order.
type Acks struct {
	mu   sync.Mutex
	list []Ack
}

// Add records an acknowledgement.
func (a *Acks) Add(x Ack) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if x.At.IsZero() {
		x.At = time.Now().UTC()
	}
	a.list = append(a.list, x)
}

// List returns every acknowledgement so far.
func (a *Acks) List() []Ack {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Ack(nil), a.list...)
}

// Count returns how many acknowledgements name the channel's reservation id.
func (a *Acks) Count(channelID string) int {
	n := 0
	for _, x := range a.List() {
		if x.ChannelID == channelID {
			n++
		}
	}
	return n
}

// Reference returns the last reference Roomwire gave a reservation.
func (a *Acks) Reference(channelID string) (string, bool) {
	list := a.List()
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].ChannelID == channelID {
			return list[i].Reference, true
		}
	}
	return "", false
}

// rateText renders a rate for a snapshot line: "120.00 EUR", followed by
// the prices by adults and the extras when the channel was told them, e.g.
// "120.00 EUR 1:90.00 2:120.00 +adult:25.00 +child:15.00".
func rateText(r canonical.Rate) string {
	parts := []string{r.Price.String()}
	for _, o := range r.Occupancy {
		parts = append(parts, strconv.Itoa(o.Adults)+":"+o.Price.Decimal())
	}
	if r.ExtraAdult.Minor != 0 {
		parts = append(parts, "+adult:"+r.ExtraAdult.Decimal())
	}
	if r.ExtraChild.Minor != 0 {
		parts = append(parts, "+child:"+r.ExtraChild.Decimal())
	}
	return strings.Join(parts, " ")
}
