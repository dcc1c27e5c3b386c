// Package gatewaysim is the machinery every payment gateway simulator
// shares: a ledger of holds (authorized, adjusted, captured, voided,
// refunded, expired), declines for chosen tokens or amounts, fault switches
// (a fixed status, 5xx before or after making the change, timeouts), an
// idempotency-key cache with a count of executions per key, and webhook
// delivery. A gateway's simulator (stripe/stripesim, adyen/adyensim) adds
// only its wire format and its signatures.
package gatewaysim

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"sync"
	"time"
)

// Faults are the switches of a simulator. The zero value answers normally.
type Faults struct {
	// Status answers every API call with this status (0: answer normally).
	Status int `json:"status,omitempty"`
	// RetryAfter is sent, in seconds, with a 429 or 503 Status.
	RetryAfter int `json:"retry_after,omitempty"`
	// ErrorRate is the fraction of API calls answered 500: half of them
	// before making the change, half after it, so that only the caller's
	// idempotency key keeps a retry from repeating the change.
	ErrorRate float64 `json:"error_rate,omitempty"`
	// TimeoutRate is the fraction of API calls that hang for HangFor.
	TimeoutRate float64       `json:"timeout_rate,omitempty"`
	HangFor     time.Duration `json:"hang_for,omitempty"`
	// DeclineTokens are card tokens whose authorizations are declined.
	DeclineTokens []string `json:"decline_tokens,omitempty"`
	// DeclineAbove declines authorizations of more than this many minor
	// units (0: none), as a card over its limit would be.
	DeclineAbove int64 `json:"decline_above,omitempty"`
	// RejectTokens are card tokens the gateway does not know: their
	// authorizations are refused as invalid requests (400 or 422), which
	// is not a decline but a permanent error.
	RejectTokens []string `json:"reject_tokens,omitempty"`
	// DuplicateWebhooks is how many extra times each webhook is sent.
	DuplicateWebhooks int `json:"duplicate_webhooks,omitempty"`
}

// Hold statuses.
const (
	StatusAuthorized = "authorized"
	StatusCaptured   = "captured"
	StatusVoided     = "voided"
	StatusRefunded   = "refunded"
	StatusExpired    = "expired"
)

// Hold is one payment at the simulated gateway. The simulator never keeps
// the card token, only whether it was declined.
type Hold struct {
	ID                string
	ReservationID     string
	MerchantReference string
	PropertyID        string
	Currency          string
	Authorized        int64 // held now
	Captured          int64
	Refunded          int64
	Status            string
	ExpiresAt         time.Time
	Adjustments       int
	Created           time.Time
}

// Decline is a simulated refusal of a card.
type Decline struct {
	Code   string
	Reason string
}

// Errors of operations on holds.
var (
	ErrNoHold = errors.New("no such payment")
	ErrState  = errors.New("the payment is not in a state that allows this")
	ErrAmount = errors.New("amount out of range")
)

// Config configures a Core.
type Config struct {
	// HoldFor is how long an authorization lasts (default 7 days).
	HoldFor time.Duration
	// NewID returns a new payment id in the gateway's style.
	NewID func() string
	// Seed makes fault decisions repeatable (0: random).
	Seed uint64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// WebhookURL is where webhooks go ("" sends none).
	WebhookURL string
	// DeclineTokens are declined in addition to Faults.DeclineTokens: the
	// gateway's documented test tokens.
	DeclineTokens []string
	Logger        *slog.Logger
}

// Core is the shared state of one simulator. It is safe for concurrent use.
type Core struct {
	cfg    Config
	logger *slog.Logger

	mu             sync.Mutex
	holds          map[string]*Hold
	authorizations map[string]int // per reservation id
	executions     map[string]int // per idempotency key
	replies        map[string]reply
	keyLocks       map[string]*sync.Mutex
	faults         Faults
	rng            *rand.Rand
	webhookURL     string

	webhooks sync.WaitGroup
	client   *http.Client
	mux      *http.ServeMux // set by Serve
}

type reply struct {
	hash   [32]byte
	status int
	header http.Header
	body   []byte
}

// New returns a simulator core.
func New(cfg Config) *Core {
	if cfg.HoldFor == 0 {
		cfg.HoldFor = 7 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	if cfg.NewID == nil {
		n := 0
		cfg.NewID = func() string { n++; return fmt.Sprintf("pay_%06d", n) }
	}
	return &Core{cfg: cfg, logger: cfg.Logger, holds: map[string]*Hold{}, authorizations: map[string]int{},
		executions: map[string]int{}, replies: map[string]reply{}, keyLocks: map[string]*sync.Mutex{},
		rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), webhookURL: cfg.WebhookURL,
		client: &http.Client{Timeout: 5 * time.Second}}
}

// Now returns the simulator's time.
func (c *Core) Now() time.Time { return c.cfg.Now() }

// SetFaults replaces the fault switches.
func (c *Core) SetFaults(f Faults) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = f
}

// Faults returns the fault switches.
func (c *Core) Faults() Faults {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.faults
}

// SetWebhookURL changes where webhooks go.
func (c *Core) SetWebhookURL(url string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.webhookURL = url
}

// Unknown reports whether token is one the gateway does not know
// (Faults.RejectTokens); the simulator answers it as an invalid request.
func (c *Core) Unknown(token string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Contains(c.faults.RejectTokens, token)
}

// Authorize places a hold, or declines. Only an authorization that is not
// declined counts towards Authorizations.
func (c *Core) Authorize(token string, amount int64, currency, reservationID, merchantRef, propertyID string) (Hold, *Decline) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if slices.Contains(c.faults.DeclineTokens, token) || slices.Contains(c.cfg.DeclineTokens, token) {
		return Hold{}, &Decline{Code: "card_declined", Reason: "Your card was declined."}
	}
	if c.faults.DeclineAbove > 0 && amount > c.faults.DeclineAbove {
		return Hold{}, &Decline{Code: "insufficient_funds", Reason: "Your card has insufficient funds."}
	}
	now := c.cfg.Now()
	h := &Hold{ID: c.cfg.NewID(), ReservationID: reservationID, MerchantReference: merchantRef, PropertyID: propertyID,
		Currency: currency, Authorized: amount, Status: StatusAuthorized, ExpiresAt: now.Add(c.cfg.HoldFor), Created: now}
	c.holds[h.ID] = h
	c.authorizations[reservationID]++
	return *h, nil
}

// hold returns the live hold id, expiring it first if its time has passed.
func (c *Core) hold(id string) (*Hold, error) {
	h, ok := c.holds[id]
	if !ok {
		return nil, ErrNoHold
	}
	if h.Status == StatusAuthorized && !c.cfg.Now().Before(h.ExpiresAt) {
		h.Status, h.Authorized = StatusExpired, 0
	}
	return h, nil
}

// Adjust sets the amount held to amount and extends the hold.
func (c *Core) Adjust(id string, amount int64) (Hold, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.hold(id)
	if err != nil {
		return Hold{}, err
	}
	if h.Status != StatusAuthorized {
		return *h, ErrState
	}
	if amount <= 0 {
		return *h, ErrAmount
	}
	h.Authorized = amount
	h.ExpiresAt = c.cfg.Now().Add(c.cfg.HoldFor)
	h.Adjustments++
	return *h, nil
}

// Capture charges amount (at most what is held) and releases the rest.
func (c *Core) Capture(id string, amount int64) (Hold, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.hold(id)
	if err != nil {
		return Hold{}, err
	}
	if h.Status != StatusAuthorized {
		return *h, ErrState
	}
	if amount <= 0 || amount > h.Authorized {
		return *h, ErrAmount
	}
	h.Captured, h.Authorized, h.Status = amount, 0, StatusCaptured
	return *h, nil
}

// Void releases the hold.
func (c *Core) Void(id string) (Hold, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.hold(id)
	if err != nil {
		return Hold{}, err
	}
	if h.Status != StatusAuthorized {
		return *h, ErrState
	}
	h.Authorized, h.Status = 0, StatusVoided
	return *h, nil
}

// Refund pays back amount of what was captured.
func (c *Core) Refund(id string, amount int64) (Hold, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.hold(id)
	if err != nil {
		return Hold{}, err
	}
	if h.Status != StatusCaptured && h.Status != StatusRefunded {
		return *h, ErrState
	}
	if amount <= 0 || amount > h.Captured-h.Refunded {
		return *h, ErrAmount
	}
	h.Refunded += amount
	h.Status = StatusRefunded
	return *h, nil
}

// ExpireDue marks every authorized hold past its expiry expired and returns
// them, so that the simulator can tell the caller as its gateway would.
func (c *Core) ExpireDue() []Hold {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Hold
	now := c.cfg.Now()
	for _, h := range c.holds {
		if h.Status == StatusAuthorized && !now.Before(h.ExpiresAt) {
			h.Status, h.Authorized = StatusExpired, 0
			out = append(out, *h)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

// Hold returns the payment id.
func (c *Core) Hold(id string) (Hold, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := c.hold(id)
	if err != nil {
		return Hold{}, false
	}
	return *h, true
}

// Holds returns every payment, oldest first.
func (c *Core) Holds() []Hold {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Hold, 0, len(c.holds))
	for id := range c.holds {
		h, _ := c.hold(id)
		out = append(out, *h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

// HoldsOf returns the payments of a reservation, oldest first.
func (c *Core) HoldsOf(reservationID string) []Hold {
	var out []Hold
	for _, h := range c.Holds() {
		if h.ReservationID == reservationID {
			out = append(out, h)
		}
	}
	return out
}

// Authorizations returns how many holds were placed for a reservation.
func (c *Core) Authorizations(reservationID string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.authorizations[reservationID]
}

// Executions returns how many times an operation ran for idempotency key
// key: 1 however often the caller repeated it, if the key works.
func (c *Core) Executions(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.executions[key]
}

// Stats summarises the simulator, for GET /_sim/stats.
type Stats struct {
	Holds          int            `json:"holds"`
	Authorizations int            `json:"authorizations"`
	ByStatus       map[string]int `json:"by_status"`
	MaxExecutions  int            `json:"max_executions_per_key"`
}

// Stats returns the simulator's counts.
func (c *Core) Stats() Stats {
	holds := c.Holds()
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{Holds: len(holds), ByStatus: map[string]int{}}
	for _, h := range holds {
		s.ByStatus[h.Status]++
	}
	for _, n := range c.authorizations {
		s.Authorizations += n
	}
	for _, n := range c.executions {
		s.MaxExecutions = max(s.MaxExecutions, n)
	}
	return s
}

// fault is what the switches decided for one call.
type fault int

const (
	faultNone fault = iota
	faultStatus
	faultBefore // 500 without making the change
	faultAfter  // make the change, then answer 500
	faultHang
)

func (c *Core) decide() (fault, Faults) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.faults
	if f.Status != 0 {
		return faultStatus, f
	}
	x := c.rng.Float64()
	switch {
	case x < f.ErrorRate/2:
		return faultBefore, f
	case x < f.ErrorRate:
		return faultAfter, f
	case x < f.ErrorRate+f.TimeoutRate:
		return faultHang, f
	}
	return faultNone, f
}

// keyLock serialises calls with one idempotency key, so that a second call
// waits for the first and then finds its answer.
func (c *Core) keyLock(key string) *sync.Mutex {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.keyLocks[key]
	if !ok {
		l = &sync.Mutex{}
		c.keyLocks[key] = l
	}
	return l
}

// ErrorWriter writes a gateway's own error body with status.
type ErrorWriter func(w http.ResponseWriter, status int, message string)

// API wraps a gateway's API handler with the fault switches and the
// idempotency cache: a POST with an Idempotency-Key is answered from the
// cache when the key was seen with the same body, refused (with 400 or 422,
// as writeError decides) when it was seen with another body, and otherwise
// run and remembered. 5xx answers are not remembered, as real gateways do.
func (c *Core) API(next http.Handler, writeError ErrorWriter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, sw := c.decide()
		switch f {
		case faultStatus:
			if sw.RetryAfter > 0 && (sw.Status == 429 || sw.Status == 503) {
				w.Header().Set("Retry-After", fmt.Sprint(sw.RetryAfter))
			}
			writeError(w, sw.Status, "simulated failure")
			return
		case faultBefore:
			writeError(w, http.StatusInternalServerError, "simulated failure before the change")
			return
		case faultHang:
			hang := sw.HangFor
			if hang == 0 {
				hang = 30 * time.Second
			}
			select {
			case <-r.Context().Done():
			case <-time.After(hang):
			}
			writeError(w, http.StatusGatewayTimeout, "simulated timeout")
			return
		}
		key := r.Header.Get("Idempotency-Key")
		if r.Method != http.MethodPost || key == "" {
			c.serve(w, r, next, f)
			return
		}
		body, err := readBody(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, "unreadable body")
			return
		}
		hash := sha256.Sum256(append([]byte(r.URL.Path+"\x00"), body...))
		l := c.keyLock(key)
		l.Lock()
		defer l.Unlock()
		c.mu.Lock()
		prev, seen := c.replies[key]
		c.mu.Unlock()
		if seen {
			if prev.hash != hash {
				writeError(w, idempotencyConflictStatus(r), "Keys for idempotent requests can only be used with the same parameters they were first used with.")
				return
			}
			if f == faultAfter {
				writeError(w, http.StatusInternalServerError, "simulated failure")
				return
			}
			for k, v := range prev.header {
				w.Header()[k] = v
			}
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(prev.status)
			w.Write(prev.body)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		c.mu.Lock()
		c.executions[key]++
		if rec.Code < 500 {
			c.replies[key] = reply{hash: hash, status: rec.Code, header: rec.Header().Clone(), body: rec.Body.Bytes()}
		}
		c.mu.Unlock()
		if f == faultAfter {
			writeError(w, http.StatusInternalServerError, "simulated failure after the change")
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

// idempotencyConflictStatus is 400 for Stripe-style form APIs and 422 for
// JSON ones, as each gateway answers a key reused with other parameters.
func idempotencyConflictStatus(r *http.Request) int {
	if r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
		return http.StatusBadRequest
	}
	return http.StatusUnprocessableEntity
}

func (c *Core) serve(w http.ResponseWriter, r *http.Request, next http.Handler, f fault) {
	if f != faultAfter {
		next.ServeHTTP(w, r)
		return
	}
	next.ServeHTTP(httptest.NewRecorder(), r)
	http.Error(w, "simulated failure after the change", http.StatusInternalServerError)
}

func readBody(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, 1<<20)); err != nil {
		return nil, err
	}
	r.Body.Close()
	b := buf.Bytes()
	r.Body = readCloser{bytes.NewReader(b)}
	return b, nil
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
