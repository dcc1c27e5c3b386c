// Package apaleosim simulates the part of Apaleo's API that Roomwire uses,
// in memory: the identity server's client-credentials grant, bookings,
// reservations added to a booking, reservation actions (amend, cancel),
// reservations, unit-group availability,
// rate plans and rates, and reservation webhooks sent to a configured URL
// with basic auth. Switches inject the faults Roomwire must survive: 5xx
// answers (some after the change is made, so the answer is lost), 429 with
// Retry-After, latency, hanging requests, duplicate webhook deliveries and
// 422 for rate plans it does not know. It counts bookings per idempotency
// key, so tests can prove a booking was made exactly once.
package apaleosim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/apaleo"
)

// Faults are the injected failures. Rates are fractions of API requests
// (0 to 1); the identity server and the /_sim endpoints are never faulted.
type Faults struct {
	ErrorRate         float64       `json:"error_rate"`         // answer 500 (half of them after making the change)
	RateLimitRate     float64       `json:"rate_limit_rate"`    // answer 429 with Retry-After
	RetryAfter        int           `json:"retry_after"`        // seconds, for 429; default 1
	Latency           time.Duration `json:"latency"`            // added to every API request
	TimeoutRate       float64       `json:"timeout_rate"`       // hang until the client gives up (or HangFor)
	HangFor           time.Duration `json:"hang_for"`           // default 30s
	DuplicateWebhooks int           `json:"duplicate_webhooks"` // extra deliveries of each webhook
	RejectRatePlans   []string      `json:"reject_rate_plans"`  // answer 422 for these, as if not configured
	Unauthorized      bool          `json:"revoke_tokens_once"` // answer the next API call 401, as after a revoked token
	// Status, when set, answers every API call with it (and RetryAfter for
	// 429 and 503), to test how each status is classified.
	Status int `json:"status"`
}

// UnitGroup is a kind of room in the simulated catalogue.
type UnitGroup struct {
	ID       string
	Property string
	Units    int
}

// RatePlan is a rate plan in the simulated catalogue, with one price for
// every night, optionally prices by adults, and restrictions.
type RatePlan struct {
	ID           string
	Property     string
	UnitGroup    string
	Price        canonical.Money
	Occupancy    []canonical.OccupancyPrice // calculatedPrices
	Restrictions *apaleo.RateRestrictions
}

// Config configures the simulator.
type Config struct {
	ClientID, ClientSecret string
	// WebhookURL receives reservation webhooks, with WebhookUser and
	// WebhookPassword as basic auth. Empty: no webhooks.
	WebhookURL                   string
	WebhookUser, WebhookPassword string
	// TokenLifetime is the lifetime of access tokens. Default 1 h.
	TokenLifetime time.Duration
	// Location is the properties' time zone. Default Europe/Lisbon.
	Location *time.Location
	Seed     uint64 // for the fault dice; 0 picks one
	// Now is the clock the stay actions check arrival days against; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Sim is the simulated Apaleo. Its ServeHTTP serves the API and the identity
// server on one origin.
type Sim struct {
	cfg    Config
	logger *slog.Logger
	mux    *http.ServeMux

	mu           sync.Mutex
	faults       Faults
	dice         *mrand.Rand
	tokens       map[string]time.Time
	unitGroups   map[string]UnitGroup
	ratePlans    map[string]RatePlan
	reservations map[string]*apaleo.Reservation
	order        []string                  // reservation ids in creation order
	byKey        map[string]createdBooking // idempotency key to the booking it made
	keyBookings  map[string]int            // idempotency key to bookings made with it
	posts        int
	webhooks     sync.WaitGroup
	sent         int
	closed       bool
	onBooking    func(key string, at time.Time)
	actions      map[string][]string // reservation id to the stay actions applied to it, in order
}

type createdBooking struct {
	hash   [32]byte
	result apaleo.CreateBookingResult
}

// New returns a simulator with an empty catalogue.
func New(cfg Config) *Sim {
	if cfg.TokenLifetime == 0 {
		cfg.TokenLifetime = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location, _ = time.LoadLocation("Europe/Lisbon")
		if cfg.Location == nil {
			cfg.Location = time.UTC
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	s := &Sim{cfg: cfg, logger: cfg.Logger, mux: http.NewServeMux(), dice: mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		tokens: map[string]time.Time{}, unitGroups: map[string]UnitGroup{}, ratePlans: map[string]RatePlan{},
		reservations: map[string]*apaleo.Reservation{}, byKey: map[string]createdBooking{}, keyBookings: map[string]int{}}
	s.mux.HandleFunc("POST /connect/token", s.token)
	s.mux.HandleFunc("POST /booking/v1/bookings", s.api(s.createBooking))
	s.mux.HandleFunc("POST /booking/v1/bookings/{id}/reservations", s.api(s.addReservations))
	s.mux.HandleFunc("GET /booking/v1/reservations/{id}", s.api(s.getReservation))
	s.mux.HandleFunc("GET /booking/v1/reservations", s.api(s.listReservations))
	s.mux.HandleFunc("PATCH /booking/v1/reservations/{id}", s.api(s.patchReservation))
	s.mux.HandleFunc("PUT /booking/v1/reservation-actions/{id}/amend", s.api(s.amend))
	s.mux.HandleFunc("PUT /booking/v1/reservation-actions/{id}/cancel", s.api(s.cancel))
	s.mux.HandleFunc("PUT /booking/v1/reservation-actions/{id}/checkin", s.api(s.stayAction("checkin")))
	s.mux.HandleFunc("PUT /booking/v1/reservation-actions/{id}/checkout", s.api(s.stayAction("checkout")))
	s.mux.HandleFunc("PUT /booking/v1/reservation-actions/{id}/noshow", s.api(s.stayAction("noshow")))
	s.mux.HandleFunc("GET /availability/v1/unit-groups", s.api(s.availability))
	s.mux.HandleFunc("GET /rateplan/v1/rate-plans", s.api(s.listRatePlans))
	s.mux.HandleFunc("GET /rateplan/v1/rate-plans/{id}/rates", s.api(s.rates))
	s.mux.HandleFunc("GET /_sim/stats", s.stats)
	s.mux.HandleFunc("PUT /_sim/faults", s.putFaults)
	s.mux.HandleFunc("POST /_sim/bookings", s.frontDesk)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint in the Apaleo simulator: "+r.Method+" "+r.URL.Path)
	})
	return s
}

// Demo returns a simulator with the catalogue of the reference data: property
// LIS with unit groups LIS-DBL (10 units) and LIS-SGL (5), and rate plans
// LIS-FLEX-DBL (EUR 132) and LIS-FLEX-SGL (EUR 98).
func Demo(cfg Config) *Sim {
	s := New(cfg)
	s.AddUnitGroup(UnitGroup{ID: "LIS-DBL", Property: "LIS", Units: 10})
	s.AddUnitGroup(UnitGroup{ID: "LIS-SGL", Property: "LIS", Units: 5})
	s.AddRatePlan(RatePlan{ID: "LIS-FLEX-DBL", Property: "LIS", UnitGroup: "LIS-DBL", Price: canonical.NewMoney(13200, "EUR")})
	s.AddRatePlan(RatePlan{ID: "LIS-FLEX-SGL", Property: "LIS", UnitGroup: "LIS-SGL", Price: canonical.NewMoney(9800, "EUR")})
	return s
}

// ServeHTTP serves the simulated API.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close waits for webhooks in flight and stops sending more.
func (s *Sim) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.webhooks.Wait()
}

// SetFaults replaces the injected faults.
func (s *Sim) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// SetWebhook sets where webhooks go.
func (s *Sim) SetWebhook(url, user, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.WebhookURL, s.cfg.WebhookUser, s.cfg.WebhookPassword = url, user, password
}

// AddUnitGroup adds or replaces a unit group.
func (s *Sim) AddUnitGroup(u UnitGroup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unitGroups[u.ID] = u
}

// AddRatePlan adds or replaces a rate plan.
func (s *Sim) AddRatePlan(p RatePlan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ratePlans[p.ID] = p
}

// BookingsWithKey returns how many bookings requests with the idempotency key
// made: 1 when a booking was made exactly once.
func (s *Sim) BookingsWithKey(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keyBookings[key]
}

// ObserveBookings calls fn with the idempotency key of every booking the
// simulator makes through its API (not replays of one already made) and the
// time its request arrived, so that a benchmark can tell how long a booking
// took to reach the PMS. fn runs on the request's goroutine and must be quick.
func (s *Sim) ObserveBookings(fn func(key string, at time.Time)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onBooking = fn
}

// Reservation returns a copy of a reservation, or nil.
func (s *Sim) Reservation(id string) *apaleo.Reservation {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.reservations[id]
	if !ok {
		return nil
	}
	return copyReservation(r)
}

// Reservations returns copies of every reservation, oldest first.
func (s *Sim) Reservations() []*apaleo.Reservation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*apaleo.Reservation, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, copyReservation(s.reservations[id]))
	}
	return out
}

// Stats counts what the simulator has done.
type Stats struct {
	Reservations     int            `json:"reservations"`
	BookingPosts     int            `json:"booking_posts"`
	WebhooksSent     int            `json:"webhooks_sent"`
	BookingsByKey    map[string]int `json:"bookings_by_key"`
	ReservationsByID []string       `json:"reservation_ids"`
	// StayActions lists, per reservation, the stay actions applied to it.
	StayActions map[string][]string `json:"stay_actions"`
}

// Stats returns the counts.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := map[string]int{}
	for k, v := range s.keyBookings {
		keys[k] = v
	}
	actions := map[string][]string{}
	for id, a := range s.actions {
		actions[id] = append([]string(nil), a...)
	}
	return Stats{Reservations: len(s.reservations), BookingPosts: s.posts, WebhooksSent: s.sent, BookingsByKey: keys,
		ReservationsByID: append([]string(nil), s.order...), StayActions: actions}
}

func copyReservation(r *apaleo.Reservation) *apaleo.Reservation {
	b, _ := json.Marshal(r)
	var c apaleo.Reservation
	json.Unmarshal(b, &c) //nolint:errcheck
	return &c
}

// token is the identity server: client credentials in basic auth or the form.
func (s *Sim) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	if r.PostFormValue("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	if subtle.ConstantTimeCompare([]byte(id), []byte(s.cfg.ClientID)) != 1 || subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.ClientSecret)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	tok := randomID(32)
	s.mu.Lock()
	s.tokens[tok] = time.Now().Add(s.cfg.TokenLifetime)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, apaleo.Token{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(s.cfg.TokenLifetime.Seconds())})
}

// fault is what the dice decided for one request.
type fault int

const (
	noFault fault = iota
	failBefore
	failAfter
	rateLimited
	hang
)

// api wraps an API handler with authentication and the injected faults.
func (s *Sim) api(h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		f := s.faults
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		exp, known := s.tokens[tok]
		revoke := f.Unauthorized
		if revoke {
			s.faults.Unauthorized = false
			delete(s.tokens, tok)
		}
		roll := s.dice.Float64()
		s.mu.Unlock()
		if !known || time.Now().After(exp) || revoke {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "The access token is missing, expired or revoked.")
			return
		}
		if f.Latency > 0 && !sleep(r.Context(), f.Latency) {
			return
		}
		if f.Status != 0 {
			if f.RetryAfter > 0 && (f.Status == 429 || f.Status == 503) {
				w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
			}
			writeError(w, f.Status, fmt.Sprintf("simulated HTTP %d", f.Status))
			return
		}
		decision := noFault
		switch {
		case roll < f.TimeoutRate:
			decision = hang
		case roll < f.TimeoutRate+f.RateLimitRate:
			decision = rateLimited
		case roll < f.TimeoutRate+f.RateLimitRate+f.ErrorRate/2:
			decision = failBefore
		case roll < f.TimeoutRate+f.RateLimitRate+f.ErrorRate:
			decision = failAfter
		}
		switch decision {
		case hang:
			d := f.HangFor
			if d == 0 {
				d = 30 * time.Second
			}
			sleep(r.Context(), d)
			writeError(w, http.StatusGatewayTimeout, "simulated timeout")
			return
		case rateLimited:
			ra := f.RetryAfter
			if ra <= 0 {
				ra = 1
			}
			w.Header().Set("Retry-After", strconv.Itoa(ra))
			writeError(w, http.StatusTooManyRequests, "Too many requests.")
			return
		case failBefore:
			writeError(w, http.StatusInternalServerError, "simulated server error")
			return
		case failAfter:
			// Make the change, then lose the answer: only idempotency saves the caller now.
			h(&discardWriter{header: http.Header{}}, r)
			writeError(w, http.StatusBadGateway, "simulated server error after the change was made")
			return
		}
		h(w, r)
	}
}

type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (s *Sim) createBooking(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	var req apaleo.CreateBooking
	body, ok := readBody(w, r, &req)
	if !ok {
		return
	}
	key := r.Header.Get(connectors.IdempotencyHeader)
	hash := sha(body)
	s.mu.Lock()
	s.posts++
	if prev, ok := s.byKey[key]; ok && key != "" {
		s.mu.Unlock()
		if prev.hash != hash {
			writeError(w, http.StatusConflict, "The Idempotency-Key was used with a different request.")
			return
		}
		writeJSON(w, http.StatusCreated, prev.result)
		return
	}
	res, events, err := s.book(&req, "")
	if err != nil {
		s.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if key != "" {
		s.byKey[key] = createdBooking{hash: hash, result: res}
		s.keyBookings[key]++
	}
	observe := s.onBooking
	s.mu.Unlock()
	if observe != nil {
		observe(key, arrived)
	}
	s.send(events...)
	writeJSON(w, http.StatusCreated, res)
}

// addReservations serves POST /booking/v1/bookings/{id}/reservations: as
// Apaleo, it adds rooms to an existing booking, answers 201 with the new
// reservations' ids, and answers a repeat under the same Idempotency-Key
// with the same ids.
func (s *Sim) addReservations(w http.ResponseWriter, r *http.Request) {
	var req apaleo.AddReservations
	body, ok := readBody(w, r, &req)
	if !ok {
		return
	}
	booking := r.PathValue("id")
	key := r.Header.Get(connectors.IdempotencyHeader)
	hash := sha(append([]byte(booking+"\x00"), body...))
	s.mu.Lock()
	if prev, ok := s.byKey[key]; ok && key != "" {
		s.mu.Unlock()
		if prev.hash != hash {
			writeError(w, http.StatusConflict, "The Idempotency-Key was used with a different request.")
			return
		}
		writeJSON(w, http.StatusCreated, apaleo.ReservationsCreated{ReservationIDs: prev.result.ReservationIDs})
		return
	}
	n := 0
	for _, res := range s.reservations {
		if res.BookingID == booking {
			n++
		}
	}
	if n == 0 {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Booking '"+booking+"' not found.")
		return
	}
	if len(req.Reservations) == 0 {
		s.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, "At least one reservation is required.")
		return
	}
	var built []*apaleo.Reservation
	for i, cr := range req.Reservations {
		res, err := s.build(cr, i)
		if err != nil {
			s.mu.Unlock()
			writeError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		built = append(built, res)
	}
	out := apaleo.CreateBookingResult{ID: booking}
	events := s.store(booking, n, built, &out)
	if key != "" {
		s.byKey[key] = createdBooking{hash: hash, result: out}
		s.keyBookings[key]++
	}
	s.mu.Unlock()
	s.send(events...)
	writeJSON(w, http.StatusCreated, apaleo.ReservationsCreated{ReservationIDs: out.ReservationIDs})
}

// CreateBooking books directly in the simulated Apaleo, as the front desk
// would, with channel code Direct unless the request names one. It sends the
// created webhooks and returns the booking.
func (s *Sim) CreateBooking(req apaleo.CreateBooking) (apaleo.CreateBookingResult, error) {
	s.mu.Lock()
	res, events, err := s.book(&req, "Direct")
	s.mu.Unlock()
	if err != nil {
		return res, err
	}
	s.send(events...)
	return res, nil
}

func (s *Sim) frontDesk(w http.ResponseWriter, r *http.Request) {
	var req apaleo.CreateBooking
	_, ok := readBody(w, r, &req)
	if !ok {
		return
	}
	res, err := s.CreateBooking(req)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, res)
}

type event struct{ kind, id, property string }

// book makes a booking; s.mu must be held.
func (s *Sim) book(req *apaleo.CreateBooking, channel string) (apaleo.CreateBookingResult, []event, error) {
	var res apaleo.CreateBookingResult
	if len(req.Reservations) == 0 {
		return res, nil, fmt.Errorf("A booking needs at least one reservation.")
	}
	var built []*apaleo.Reservation
	for i, cr := range req.Reservations {
		r, err := s.build(cr, i)
		if err != nil {
			return res, nil, err
		}
		if channel != "" && r.ChannelCode == "" {
			r.ChannelCode = channel
		}
		built = append(built, r)
	}
	res.ID = randomID(8)
	return res, s.store(res.ID, 0, built, &res), nil
}

// store keeps built as reservations of booking, numbered after its first
// n, adds their ids to res and returns their webhooks; s.mu must be held.
func (s *Sim) store(booking string, n int, built []*apaleo.Reservation, res *apaleo.CreateBookingResult) []event {
	now := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	var events []event
	for i, r := range built {
		r.ID = fmt.Sprintf("%s-%d", booking, n+i+1)
		r.BookingID = booking
		r.Created, r.Modified = now, now
		s.reservations[r.ID] = r
		s.order = append(s.order, r.ID)
		res.ReservationIDs = append(res.ReservationIDs, struct {
			ID string `json:"id"`
		}{r.ID})
		events = append(events, event{"created", r.ID, r.Property.ID})
	}
	return events
}

// build checks one requested reservation against the catalogue, as Apaleo does.
func (s *Sim) build(cr apaleo.CreateReservation, i int) (*apaleo.Reservation, error) {
	arrival, err1 := canonical.ParseDate(cr.Arrival)
	departure, err2 := canonical.ParseDate(cr.Departure)
	if err1 != nil || err2 != nil || !arrival.Before(departure) {
		return nil, fmt.Errorf("Reservation %d: arrival and departure must be dates with departure after arrival.", i+1)
	}
	if cr.Adults < 1 {
		return nil, fmt.Errorf("Reservation %d: at least one adult is required.", i+1)
	}
	if cr.PrimaryGuest.LastName == "" {
		return nil, fmt.Errorf("Reservation %d: the primary guest's last name is required.", i+1)
	}
	nights := canonical.Nights(arrival, departure)
	if len(cr.TimeSlices) != len(nights) {
		return nil, fmt.Errorf("Reservation %d: %d time slices given for %d nights.", i+1, len(cr.TimeSlices), len(nights))
	}
	r := &apaleo.Reservation{
		Status: apaleo.StatusConfirmed, Adults: cr.Adults, ChildrenAges: cr.ChildrenAges,
		ChannelCode: cr.ChannelCode, Source: cr.Source, ExternalCode: cr.ExternalCode,
		PrimaryGuest: &cr.PrimaryGuest, AdditionalGuests: cr.AdditionalGuests, GuaranteeType: cr.GuaranteeType, Comment: cr.Comment,
	}
	if err := s.price(r, arrival, departure, cr.TimeSlices); err != nil {
		return nil, err
	}
	return r, nil
}

// price sets the reservation's stay, rate plan and time slices; s.mu must be held.
func (s *Sim) price(r *apaleo.Reservation, arrival, departure canonical.Date, slices []apaleo.CreateTimeSlice) error {
	var total canonical.Money
	r.TimeSlices = nil
	for j, ts := range slices {
		rp, ok := s.ratePlans[ts.RatePlanID]
		if !ok || s.rejected(ts.RatePlanID) {
			ug := "unknown"
			if ok {
				ug = rp.UnitGroup
			}
			return fmt.Errorf("Combination of RatePlan '%s' and UnitGroup '%s' is not configured.", ts.RatePlanID, ug)
		}
		price := rp.Price
		if ts.TotalAmount != nil {
			p, err := connectors.ParseAmount(string(ts.TotalAmount.Amount), ts.TotalAmount.Currency)
			if err != nil {
				return fmt.Errorf("Time slice %d: %v.", j+1, err)
			}
			price = p
		}
		night := arrival.AddDays(j)
		total, _ = total.Add(price)
		if j == 0 {
			r.Property = apaleo.Embedded{ID: rp.Property, Code: rp.Property}
			r.RatePlan = apaleo.Embedded{ID: rp.ID, Code: codeOf(rp.ID)}
			r.UnitGroup = apaleo.Embedded{ID: rp.UnitGroup, Code: codeOf(rp.UnitGroup)}
		}
		r.TimeSlices = append(r.TimeSlices, apaleo.TimeSlice{
			From: s.at(night, 15), To: s.at(night.AddDays(1), 11), ServiceDate: night.String(),
			RatePlan:         &apaleo.Embedded{ID: rp.ID, Code: codeOf(rp.ID)},
			UnitGroup:        &apaleo.Embedded{ID: rp.UnitGroup, Code: codeOf(rp.UnitGroup)},
			TotalGrossAmount: money(price),
		})
	}
	r.Arrival, r.Departure = s.at(arrival, 15), s.at(departure, 11)
	r.TotalGrossAmount = money(total)
	return nil
}

func (s *Sim) rejected(id string) bool {
	for _, x := range s.faults.RejectRatePlans {
		if x == id {
			return true
		}
	}
	return false
}

// at renders a date and hour in the properties' time zone, as Apaleo does.
func (s *Sim) at(d canonical.Date, hour int) string {
	return time.Date(d.Year, d.Month, d.Day, hour, 0, 0, 0, s.cfg.Location).Format(time.RFC3339)
}

func codeOf(id string) string {
	if i := strings.LastIndexByte(id, '-'); i >= 0 {
		return id[i+1:]
	}
	return id
}

func money(m canonical.Money) *apaleo.Money {
	return &apaleo.Money{Amount: json.Number(m.Decimal()), Currency: m.Currency}
}

func (s *Sim) getReservation(w http.ResponseWriter, r *http.Request) {
	res := s.Reservation(r.PathValue("id"))
	if res == nil {
		writeError(w, http.StatusNotFound, "Reservation '"+r.PathValue("id")+"' not found.")
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Sim) listReservations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	props := map[string]bool{}
	for _, p := range strings.Split(q.Get("propertyIds"), ",") {
		if p != "" {
			props[p] = true
		}
	}
	from, errF := canonical.ParseDate(q.Get("from"))
	to, errT := canonical.ParseDate(q.Get("to"))
	page, _ := strconv.Atoi(q.Get("pageNumber"))
	size, _ := strconv.Atoi(q.Get("pageSize"))
	if page < 1 {
		page = 1
	}
	if size < 1 || size > 1000 {
		size = 100
	}
	var match []*apaleo.Reservation
	for _, res := range s.Reservations() {
		if len(props) > 0 && !props[res.Property.ID] {
			continue
		}
		if errF == nil && errT == nil {
			a, _ := time.Parse(time.RFC3339, res.Arrival)
			d, _ := time.Parse(time.RFC3339, res.Departure)
			if !canonical.DateOf(a).Before(to.AddDays(1)) || !canonical.DateOf(d).After(from) {
				continue
			}
		}
		match = append(match, res)
	}
	out := apaleo.ReservationList{Count: len(match), Reservations: []apaleo.Reservation{}}
	for i := (page - 1) * size; i < len(match) && i < page*size; i++ {
		out.Reservations = append(out.Reservations, *match[i])
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) amend(w http.ResponseWriter, r *http.Request) {
	var a apaleo.Amend
	if _, ok := readBody(w, r, &a); !ok {
		return
	}
	id := r.PathValue("id")
	res, ok := s.lockChangeable(w, id, "amended")
	if !ok {
		return
	}
	arrival, err1 := canonical.ParseDate(a.Arrival)
	departure, err2 := canonical.ParseDate(a.Departure)
	if err1 != nil || err2 != nil || !arrival.Before(departure) || len(a.TimeSlices) != arrival.DaysUntil(departure) || a.Adults < 1 {
		s.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, "The amendment needs valid dates, one time slice per night and at least one adult.")
		return
	}
	next := copyReservation(res)
	next.Adults, next.ChildrenAges, next.Comment = a.Adults, a.ChildrenAges, a.Comment
	if err := s.price(next, arrival, departure, a.TimeSlices); err != nil {
		s.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	s.commitChange(w, res, next, "amended")
}

// commitChange replaces res by next with a new modification time, unlocks
// s.mu (which lockChangeable locked), sends the webhook of kind and answers
// 204.
func (s *Sim) commitChange(w http.ResponseWriter, res, next *apaleo.Reservation, kind string) {
	next.Modified = laterStamp(res.Modified)
	s.reservations[next.ID] = next
	s.mu.Unlock()
	s.send(event{kind, next.ID, next.Property.ID})
	w.WriteHeader(http.StatusNoContent)
}

// readBody decodes the request's JSON body into v and returns its bytes
// (idempotency keys compare them), answering 413 or 400 when it cannot.
func readBody(w http.ResponseWriter, r *http.Request, v any) ([]byte, bool) {
	body, err := connectors.ReadLimited(r.Body, 1<<20)
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
		return nil, false
	}
	if err := connectors.DecodeJSON(body, v); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	return body, true
}

// lockChangeable locks s.mu and returns reservation id when it can still be
// changed (what says how); otherwise it unlocks and answers 404 or 422.
func (s *Sim) lockChangeable(w http.ResponseWriter, id, what string) (*apaleo.Reservation, bool) {
	s.mu.Lock()
	res, ok := s.reservations[id]
	if !ok {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Reservation '"+id+"' not found.")
		return nil, false
	}
	if res.Status == apaleo.StatusCanceled || res.Status == apaleo.StatusCheckedOut {
		s.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, "Reservation '"+id+"' is "+res.Status+" and cannot be "+what+".")
		return nil, false
	}
	return res, true
}

// patchReservation serves PATCH /booking/v1/reservations/{id}: a JSON Patch
// of the reservation's guests and comments, as far as Apaleo allows them
// (replace primaryGuest; add, replace or remove additionalGuests, comment
// and guestComment). Any other operation is refused with 422, and the
// patch is applied whole or not at all.
func (s *Sim) patchReservation(w http.ResponseWriter, r *http.Request) {
	var ops []struct {
		Op    string          `json:"op"`
		Path  string          `json:"path"`
		Value json.RawMessage `json:"value"`
	}
	if _, ok := readBody(w, r, &ops); !ok {
		return
	}
	id := r.PathValue("id")
	res, ok := s.lockChangeable(w, id, "modified")
	if !ok {
		return
	}
	next := copyReservation(res)
	for i, op := range ops {
		var err error
		switch {
		case op.Path == "/primaryGuest" && op.Op == "replace":
			var g apaleo.Guest
			if err = json.Unmarshal(op.Value, &g); err == nil && g.LastName == "" {
				err = fmt.Errorf("the primary guest's last name is required")
			}
			next.PrimaryGuest = &g
		case op.Path == "/additionalGuests" && (op.Op == "add" || op.Op == "replace"):
			next.AdditionalGuests = nil
			err = json.Unmarshal(op.Value, &next.AdditionalGuests)
		case op.Path == "/additionalGuests" && op.Op == "remove":
			next.AdditionalGuests = nil
		case op.Path == "/comment" || op.Path == "/guestComment":
			target := &next.Comment
			if op.Path == "/guestComment" {
				target = &next.GuestComment
			}
			switch op.Op {
			case "add", "replace":
				err = json.Unmarshal(op.Value, target)
			case "remove":
				*target = ""
			default:
				err = fmt.Errorf("the operation %s on %s is not allowed", op.Op, op.Path)
			}
		default:
			err = fmt.Errorf("the operation %s on %s is not allowed", op.Op, op.Path)
		}
		if err != nil {
			s.mu.Unlock()
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("Operation %d: %v.", i+1, err))
			return
		}
	}
	s.commitChange(w, res, next, "changed")
}

// laterStamp returns now, or a second after prev if now is not later, so
// every change has a new modification time (the connector's revision).
func laterStamp(prev string) string {
	now := time.Now().UTC().Truncate(time.Second)
	if p, err := time.Parse(time.RFC3339, prev); err == nil && !now.After(p) {
		now = p.Add(time.Second)
	}
	return now.Format(time.RFC3339)
}

func (s *Sim) cancel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	res, ok := s.reservations[id]
	if !ok {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Reservation '"+id+"' not found.")
		return
	}
	if res.Status == apaleo.StatusCanceled {
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent) // cancelling twice is a no-op
		return
	}
	if res.Status != apaleo.StatusConfirmed {
		s.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, "Reservation '"+id+"' is "+res.Status+" and cannot be canceled.")
		return
	}
	res.Status = apaleo.StatusCanceled
	res.Modified = laterStamp(res.Modified)
	prop := res.Property.ID
	s.mu.Unlock()
	s.send(event{"canceled", id, prop})
	w.WriteHeader(http.StatusNoContent)
}

// stayRules are Apaleo's stay actions: the status each needs, the status it
// leaves, and the webhook it sends.
var stayRules = map[string]struct{ from, to, webhook string }{
	"checkin":  {apaleo.StatusConfirmed, apaleo.StatusInHouse, "checked-in"},
	"checkout": {apaleo.StatusInHouse, apaleo.StatusCheckedOut, "checked-out"},
	"noshow":   {apaleo.StatusConfirmed, apaleo.StatusNoShow, "set-to-no-show"},
}

// stayAction serves PUT /booking/v1/reservation-actions/{id}/{action}: as
// Apaleo, it refuses with 422 an action the reservation's status does not
// allow (a second check-in included), and a check-in or no-show before the
// arrival day at the property.
func (s *Sim) stayAction(action string) func(w http.ResponseWriter, r *http.Request) {
	rule := stayRules[action]
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		s.mu.Lock()
		res, ok := s.reservations[id]
		if !ok {
			s.mu.Unlock()
			writeError(w, http.StatusNotFound, "Reservation '"+id+"' not found.")
			return
		}
		if res.Status != rule.from {
			s.mu.Unlock()
			writeError(w, http.StatusUnprocessableEntity, "Reservation '"+id+"' is "+res.Status+"; "+action+" needs "+rule.from+".")
			return
		}
		if arrival, err := canonical.ParseDate(res.Arrival[:min(len(res.Arrival), 10)]); err == nil && action != "checkout" &&
			canonical.DateOf(s.cfg.Now().In(s.cfg.Location)).Before(arrival) {
			s.mu.Unlock()
			writeError(w, http.StatusUnprocessableEntity, "Reservation '"+id+"' arrives on "+arrival.String()+"; "+action+" is possible from that day.")
			return
		}
		res.Status = rule.to
		res.Modified = laterStamp(res.Modified)
		if s.actions == nil {
			s.actions = map[string][]string{}
		}
		s.actions[id] = append(s.actions[id], action)
		prop := res.Property.ID
		s.mu.Unlock()
		s.send(event{rule.webhook, id, prop})
		w.WriteHeader(http.StatusNoContent)
	}
}

// Actions returns the stay actions (checkin, checkout, noshow) applied to a
// reservation, in order: each appears once however often it was requested.
func (s *Sim) Actions(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.actions[id]...)
}

// SetStatus changes a reservation's status, as the front desk would (InHouse,
// CheckedOut, NoShow), and sends the matching webhook.
func (s *Sim) SetStatus(id, status string) error {
	kinds := map[string]string{apaleo.StatusInHouse: "checked-in", apaleo.StatusCheckedOut: "checked-out",
		apaleo.StatusNoShow: "set-to-no-show", apaleo.StatusCanceled: "canceled", apaleo.StatusConfirmed: "changed"}
	kind, ok := kinds[status]
	if !ok {
		return fmt.Errorf("unknown status %q", status)
	}
	s.mu.Lock()
	res, found := s.reservations[id]
	if !found {
		s.mu.Unlock()
		return fmt.Errorf("no reservation %q", id)
	}
	res.Status = status
	res.Modified = laterStamp(res.Modified)
	prop := res.Property.ID
	s.mu.Unlock()
	s.send(event{kind, id, prop})
	return nil
}

func (s *Sim) availability(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	prop := q.Get("propertyId")
	from, err1 := canonical.ParseDate(q.Get("from"))
	to, err2 := canonical.ParseDate(q.Get("to"))
	if prop == "" || err1 != nil || err2 != nil || to.Before(from) || from.DaysUntil(to) > 730 {
		writeError(w, http.StatusBadRequest, "propertyId, from and to (at most 730 days apart) are required.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var groups []UnitGroup
	for _, ug := range s.unitGroups {
		if ug.Property == prop {
			groups = append(groups, ug)
		}
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].ID < groups[j].ID })
	sold := map[string]map[canonical.Date]int{}
	for _, res := range s.reservations {
		if res.Property.ID != prop || res.Status == apaleo.StatusCanceled || res.Status == apaleo.StatusNoShow {
			continue
		}
		for _, ts := range res.TimeSlices {
			d, err := canonical.ParseDate(ts.ServiceDate)
			if err != nil {
				continue
			}
			if sold[res.UnitGroup.ID] == nil {
				sold[res.UnitGroup.ID] = map[canonical.Date]int{}
			}
			sold[res.UnitGroup.ID][d]++
		}
	}
	out := apaleo.UnitGroupAvailability{}
	for d := from; !d.After(to); d = d.AddDays(1) {
		slice := apaleo.AvailabilitySlice{From: s.at(d, 0), To: s.at(d.AddDays(1), 0)}
		for _, ug := range groups {
			n := sold[ug.ID][d]
			slice.UnitGroups = append(slice.UnitGroups, apaleo.UnitGroupAvailableNow{
				UnitGroup: apaleo.Embedded{ID: ug.ID, Code: codeOf(ug.ID)}, PhysicalCount: ug.Units, HouseCount: ug.Units,
				SoldCount: n, AvailableCount: ug.Units - n, SellableCount: ug.Units - n,
			})
		}
		out.TimeSlices = append(out.TimeSlices, slice)
	}
	out.Count = len(out.TimeSlices)
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) listRatePlans(w http.ResponseWriter, r *http.Request) {
	prop := r.URL.Query().Get("propertyId")
	s.mu.Lock()
	out := apaleo.RatePlanList{RatePlans: []apaleo.RatePlan{}}
	for _, rp := range s.ratePlans {
		if prop == "" || rp.Property == prop {
			out.RatePlans = append(out.RatePlans, apaleo.RatePlan{ID: rp.ID, Code: codeOf(rp.ID), Name: rp.ID,
				Property: apaleo.Embedded{ID: rp.Property}, UnitGroup: apaleo.Embedded{ID: rp.UnitGroup}})
		}
	}
	s.mu.Unlock()
	sort.Slice(out.RatePlans, func(i, j int) bool { return out.RatePlans[i].ID < out.RatePlans[j].ID })
	out.Count = len(out.RatePlans)
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) rates(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err1 := canonical.ParseDate(q.Get("from"))
	to, err2 := canonical.ParseDate(q.Get("to"))
	if err1 != nil || err2 != nil || to.Before(from) || from.DaysUntil(to) > 730 {
		writeError(w, http.StatusBadRequest, "from and to (at most 730 days apart) are required.")
		return
	}
	s.mu.Lock()
	rp, ok := s.ratePlans[r.PathValue("id")]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Rate plan '"+r.PathValue("id")+"' not found.")
		return
	}
	out := apaleo.RateList{Rates: []apaleo.Rate{}}
	for d := from; !d.After(to); d = d.AddDays(1) {
		rate := apaleo.Rate{From: s.at(d, 15), To: s.at(d.AddDays(1), 11), Price: money(rp.Price), Restrictions: rp.Restrictions}
		for _, o := range rp.Occupancy {
			rate.CalculatedPrices = append(rate.CalculatedPrices, apaleo.CalculatedPrice{Adults: o.Adults, Price: *money(o.Price)})
		}
		out.Rates = append(out.Rates, rate)
	}
	out.Count = len(out.Rates)
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) stats(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Stats()) }

func (s *Sim) putFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	_, ok := readBody(w, r, &f)
	if !ok {
		return
	}
	s.SetFaults(f)
	writeJSON(w, http.StatusOK, f)
}

// SendHealthCheck sends Apaleo's health-check webhook.
func (s *Sim) SendHealthCheck() { s.send(event{kind: "healthcheck"}) }

// send delivers webhooks for events, each once plus DuplicateWebhooks more
// times, retrying a delivery that fails as Apaleo does.
func (s *Sim) send(events ...event) {
	s.mu.Lock()
	url, user, pass := s.cfg.WebhookURL, s.cfg.WebhookUser, s.cfg.WebhookPassword
	dups, closed := s.faults.DuplicateWebhooks, s.closed
	s.mu.Unlock()
	if url == "" || closed {
		return
	}
	for _, e := range events {
		hook := apaleo.Webhook{Topic: "Reservation", Type: e.kind, ID: randomUUID(), AccountID: "RWDEMO", PropertyID: e.property,
			Timestamp: time.Now().UnixMilli()}
		hook.Data.EntityID = e.id
		if e.kind == "healthcheck" {
			hook.Topic = "System"
		}
		body, _ := json.Marshal(hook)
		for i := 0; i <= dups; i++ {
			s.webhooks.Add(1)
			go func() {
				defer s.webhooks.Done()
				s.deliver(url, user, pass, body)
			}()
		}
	}
}

func (s *Sim) deliver(url, user, pass string, body []byte) {
	wait := 50 * time.Millisecond
	for attempt := 0; attempt < 8; attempt++ {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(user, pass)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err == nil {
			io.Copy(io.Discard, resp.Body) //nolint:errcheck
			resp.Body.Close()
		}
		cancel()
		if err == nil && resp.StatusCode < 300 {
			s.mu.Lock()
			s.sent++
			s.mu.Unlock()
			return
		}
		if err == nil && resp.StatusCode < 500 && resp.StatusCode != 429 {
			s.logger.Warn("webhook refused", "status", resp.StatusCode)
			return
		}
		time.Sleep(wait)
		wait = min(wait*2, 2*time.Second)
	}
}

// WaitWebhooks waits until every webhook in flight has been delivered or given up.
func (s *Sim) WaitWebhooks() { s.webhooks.Wait() }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apaleo.Error{Messages: []string{msg}})
}

// sha hashes a request body, to tell a replay from a different request under
// the same idempotency key.
func sha(b []byte) [32]byte { return sha256.Sum256(b) }

const idAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ"

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

func randomUUID() string {
	b := make([]byte, 16)
	rand.Read(b) //nolint:errcheck
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
