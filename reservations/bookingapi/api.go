// Package bookingapi is Roomwire's HTTP booking API: properties, inventory,
// rates, availability search, and creating, viewing, modifying and cancelling
// reservations, with API keys scoped to properties. Errors are RFC 9457
// problem documents with a stable code. The API is described by the OpenAPI
// document served at /v1/openapi.json.
package bookingapi

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations"
)

//go:embed openapi.json
var openAPIDocument []byte

// Config configures the API.
type Config struct {
	// AdminKey authorizes everything, across all properties. Required.
	AdminKey string
	// MetricsKey, when set, authorizes routes with MetricsAccess (the
	// Prometheus metrics) and nothing else.
	MetricsKey string
	// Metrics, when set, receives the API's request metrics (see
	// httpMetrics).
	Metrics prometheus.Registerer
	// MaxBodyBytes bounds request bodies. Default 1 MiB.
	MaxBodyBytes int64
	// RequestTimeout bounds the work of one request. Default 15 s.
	RequestTimeout time.Duration
	// KeyCacheTTL is how long an authenticated API key is trusted without
	// asking the database again, and so how long a revoked key may still work.
	// Default 30 s.
	KeyCacheTTL time.Duration
	// ConnectorChannels are the channel names that belong to connectors
	// (ota, bookingcom, apaleo ...): reservations under them come only from
	// their connector, so the API refuses to create one.
	ConnectorChannels []string
	// Admission paces creates, modifications and cancellations by how far
	// delivery runs behind; off when not set.
	Admission WriteAdmission
}

func (c *Config) setDefaults() {
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 15 * time.Second
	}
	if c.KeyCacheTTL == 0 {
		c.KeyCacheTTL = 30 * time.Second
	}
}

// Validate reports what is wrong with the configuration.
func (c Config) Validate() error {
	if len(c.AdminKey) < 16 {
		return errors.New("admin key must be at least 16 characters (set ROOMWIRE_ADMIN_KEY)")
	}
	if c.MetricsKey != "" && (len(c.MetricsKey) < 16 || c.MetricsKey == c.AdminKey) {
		return errors.New("metrics key must be at least 16 characters and differ from the admin key (ROOMWIRE_METRICS_KEY)")
	}
	return nil
}

// Access says who may call a route.
type Access int

// The access levels.
const (
	Public        Access = iota // no key needed: probes and documentation
	AnyKey                      // any valid key; the handler checks property scope
	AdminOnly                   // the admin key only
	MetricsAccess               // the metrics key or the admin key
)

// ReadinessCheck reports whether a dependency is ready; nil means ready.
type ReadinessCheck func(ctx context.Context) error

// API is the booking API's HTTP handler.
type API struct {
	cfg    Config
	store  *reservations.Store
	logger *slog.Logger
	mux    *http.ServeMux
	keys   keyCache
	red    *httpMetrics // nil without Config.Metrics
	admit  *admission   // nil without Config.Admission

	mu     sync.Mutex
	checks map[string]ReadinessCheck
	routes []Route
}

// Route is a registered route: its pattern and who may call it.
type Route struct {
	Pattern string
	Access  Access
}

// New returns the API over store.
func New(cfg Config, store *reservations.Store, logger *slog.Logger) (*API, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &API{cfg: cfg, store: store, logger: logger, mux: http.NewServeMux(), checks: map[string]ReadinessCheck{}}
	a.keys.ttl = cfg.KeyCacheTTL
	var err error
	if cfg.Metrics != nil {
		if a.red, err = newHTTPMetrics(cfg.Metrics); err != nil {
			return nil, err
		}
	}
	if a.admit, err = newAdmission(cfg.Admission, cfg.Metrics); err != nil {
		return nil, err
	}
	a.AddReadinessCheck("database", store.Ping)

	a.Handle("GET /healthz", Public, http.HandlerFunc(a.healthz))
	a.Handle("GET /readyz", Public, http.HandlerFunc(a.readyz))
	a.Handle("GET /v1/openapi.json", Public, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPIDocument) //nolint:errcheck
	}))

	a.Handle("PUT /v1/properties/{id}", AnyKey, http.HandlerFunc(a.putProperty))
	a.Handle("GET /v1/properties/{id}", AnyKey, http.HandlerFunc(a.getProperty))
	a.Handle("PUT /v1/properties/{id}/inventory", AnyKey, http.HandlerFunc(a.putInventory))
	a.Handle("PUT /v1/properties/{id}/rates", AnyKey, http.HandlerFunc(a.putRates))
	a.Handle("GET /v1/properties/{id}/availability", AnyKey, http.HandlerFunc(a.availability))
	a.Handle("GET /v1/properties/{id}/analytics", AnyKey, http.HandlerFunc(a.analytics))
	a.Handle("GET /v1/properties/{id}/payments", AnyKey, http.HandlerFunc(a.getSettlement))
	a.Handle("PUT /v1/properties/{id}/restrictions", AnyKey, http.HandlerFunc(a.putRestrictions))
	a.Handle("GET /v1/properties/{id}/restrictions", AnyKey, http.HandlerFunc(a.getRestrictions))
	a.Handle("GET /v1/properties/{id}/rates", AnyKey, http.HandlerFunc(a.getRates))
	a.Handle("PUT /v1/properties/{id}/channels/{channel}", AnyKey, http.HandlerFunc(a.putChannelRules))
	a.Handle("GET /v1/properties/{id}/channels/{channel}", AnyKey, http.HandlerFunc(a.getChannelRules))
	a.Handle("GET /v1/properties/{id}/channels", AnyKey, http.HandlerFunc(a.listChannelRules))

	a.Handle("POST /v1/reservations", AnyKey, a.admit.guard(http.HandlerFunc(a.createReservation)))
	a.Handle("GET /v1/reservations", AnyKey, http.HandlerFunc(a.listReservations))
	a.Handle("GET /v1/reservations/{id}", AnyKey, http.HandlerFunc(a.getReservation))
	a.Handle("GET /v1/reservations/{id}/revisions", AnyKey, http.HandlerFunc(a.getRevisions))
	a.Handle("GET /v1/reservations/{id}/payments", AnyKey, http.HandlerFunc(a.getPayments))
	a.Handle("PATCH /v1/reservations/{id}", AnyKey, a.admit.guard(http.HandlerFunc(a.modifyReservation)))
	a.Handle("POST /v1/reservations/{id}/cancel", AnyKey, a.admit.guard(http.HandlerFunc(a.cancelReservation)))
	a.Handle("DELETE /v1/reservations/{id}/flags/{flag}", AnyKey, http.HandlerFunc(a.clearFlag))

	a.Handle("POST /v1/api-keys", AdminOnly, http.HandlerFunc(a.createAPIKey))
	a.Handle("DELETE /v1/api-keys/{id}", AdminOnly, http.HandlerFunc(a.revokeAPIKey))

	return a, nil
}

// Handle adds a route, guarded by access. Other parts of Roomwire mount their
// endpoints (dead letters, timelines, metrics) on the same server this way.
func (a *API) Handle(pattern string, access Access, h http.Handler) {
	if access != Public {
		h = a.authenticate(access, h)
	}
	a.mux.Handle(pattern, h)
	a.mu.Lock()
	a.routes = append(a.routes, Route{Pattern: pattern, Access: access})
	a.mu.Unlock()
}

// Routes lists every route registered so far, in order, so that a test can
// hold the OpenAPI document to what the server really serves.
func (a *API) Routes() []Route {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.routes)
}

// AddReadinessCheck makes /readyz wait for another dependency.
func (a *API) AddReadinessCheck(name string, check ReadinessCheck) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.checks[name] = check
}

// ServeHTTP serves the API: it sets the correlation id and the request
// deadline, recovers from panics and logs every request.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Correlation-ID")
	if !canonical.ValidCorrelationID(id) {
		id = newCorrelationID()
	}
	w.Header().Set("X-Correlation-ID", id)
	ctx, cancel := context.WithTimeout(canonical.WithCorrelationID(r.Context(), id), a.cfg.RequestTimeout)
	ctx = context.WithValue(ctx, principalKey{}, &principalSlot{})
	defer cancel()
	r = r.WithContext(ctx)
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	h, pattern := a.mux.Handler(r)
	done := a.red.start(r.Method, pattern)
	defer func() {
		if p := recover(); p != nil {
			a.logger.ErrorContext(ctx, "panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p, "correlation_id", id)
			if !rec.wrote {
				WriteProblem(rec, r, http.StatusInternalServerError, CodeInternal, "an unexpected error; the correlation id identifies it in the server's log")
			}
		}
		a.logger.LogAttrs(ctx, slog.LevelInfo, "http request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)), slog.String("correlation_id", id),
			slog.String("principal", principalName(ctx)))
		done(rec.status)
	}()
	if field, bad := badParameter(r, pattern); bad {
		WriteProblem(rec, r, http.StatusBadRequest, CodeBadRequest, "a parameter holds bytes Roomwire does not accept",
			canonical.FieldError{Field: field, Message: "holds invalid UTF-8 or a control character (such as NUL)"})
		return
	}
	if pattern == "" {
		a.noRoute(rec, r, h)
		return
	}
	a.mux.ServeHTTP(rec, r) // sets the path values that Handler does not
}

// badParameter names the first path parameter, query parameter or
// Idempotency-Key whose value is not clean text (invalid UTF-8, a NUL or
// another control character), which no handler and no query should see.
// A path parameter is named as in the route's pattern (e.g. id), a query
// parameter as given, and an unnamed part of the path as "path".
func badParameter(r *http.Request, pattern string) (string, bool) {
	if !cleanText(r.URL.Path) {
		_, route, _ := strings.Cut(pattern, " ")
		if route == "" {
			route = pattern
		}
		names, segs := strings.Split(route, "/"), strings.Split(r.URL.Path, "/")
		for i, seg := range segs {
			if i < len(names) && strings.HasPrefix(names[i], "{") && !cleanText(seg) {
				return strings.TrimSuffix(strings.Trim(names[i], "{}"), "..."), true
			}
		}
		return "path", true
	}
	for name, values := range r.URL.Query() {
		if !cleanText(name) {
			return "query", true
		}
		for _, v := range values {
			if !cleanText(v) {
				return name, true
			}
		}
	}
	if !cleanText(r.Header.Get("Idempotency-Key")) {
		return "Idempotency-Key", true
	}
	return "", false
}

func cleanText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// noRoute answers a request no route matches with a problem document: 405 when
// the path exists for other methods, else 404. The mux's own answer tells which.
func (a *API) noRoute(w http.ResponseWriter, r *http.Request, muxAnswer http.Handler) {
	probe := &headerOnly{header: http.Header{}}
	muxAnswer.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.header.Get("Allow"))
		WriteProblem(w, r, http.StatusMethodNotAllowed, CodeMethodNotAllowed, r.Method+" is not allowed here; allowed: "+probe.header.Get("Allow"))
		return
	}
	WriteProblem(w, r, http.StatusNotFound, CodeNotFound, "no such endpoint; see /v1/openapi.json")
}

// headerOnly records the status and headers a handler writes, and drops the body.
type headerOnly struct {
	header http.Header
	status int
}

func (h *headerOnly) Header() http.Header { return h.header }
func (h *headerOnly) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}
func (h *headerOnly) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return len(b), nil
}

func newCorrelationID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Principal is the caller behind a request's API key.
type Principal struct {
	ID    string // "admin" or the key id
	Name  string
	Scope reservations.Scope
}

// principalSlot is set by authentication and read by the access log, which
// runs outside the authenticated handler's context.
type principalSlot struct{ p *Principal }

type principalKey struct{}

// PrincipalFrom returns the authenticated caller of a request handled under
// AnyKey or AdminOnly access.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	slot, ok := ctx.Value(principalKey{}).(*principalSlot)
	if !ok || slot.p == nil {
		return Principal{}, false
	}
	return *slot.p, true
}

func principalName(ctx context.Context) string {
	if p, ok := PrincipalFrom(ctx); ok {
		return p.ID
	}
	return ""
}

func (a *API) authenticate(access Access, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || secret == "" {
			WriteProblem(w, r, http.StatusUnauthorized, CodeUnauthorized, "send an API key as: Authorization: Bearer <key>")
			return
		}
		var p Principal
		metricsKey := a.cfg.MetricsKey != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(a.cfg.MetricsKey)) == 1
		switch {
		case metricsKey && access != MetricsAccess:
			// The metrics key reads metrics and nothing else.
			WriteProblem(w, r, http.StatusForbidden, CodeForbidden, "the metrics key may only read /metrics")
			return
		case metricsKey:
			p = Principal{ID: "metrics", Name: "metrics"}
		case subtle.ConstantTimeCompare([]byte(secret), []byte(a.cfg.AdminKey)) == 1:
			p = Principal{ID: "admin", Name: "admin", Scope: reservations.AllProperties}
		default:
			key, err := a.keys.lookup(r.Context(), a.store, secret)
			if errors.Is(err, reservations.ErrUnauthorized) {
				WriteProblem(w, r, http.StatusUnauthorized, CodeUnauthorized, "the API key is unknown or revoked")
				return
			}
			if err != nil {
				a.writeError(w, r, err)
				return
			}
			p = Principal{ID: key.ID, Name: key.Name, Scope: reservations.Scope{Properties: key.Properties}}
		}
		if (access == AdminOnly || access == MetricsAccess && !metricsKey) && !p.Scope.All {
			WriteProblem(w, r, http.StatusForbidden, CodeForbidden, "this endpoint needs the admin key")
			return
		}
		slot, ok := r.Context().Value(principalKey{}).(*principalSlot)
		if !ok {
			slot = &principalSlot{}
			r = r.WithContext(context.WithValue(r.Context(), principalKey{}, slot))
		}
		slot.p = &p
		next.ServeHTTP(w, r)
	})
}

// keyCache remembers authenticated keys briefly, so that a busy partner does
// not cost a database round trip per request.
type keyCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]cachedKey
}

type cachedKey struct {
	key     reservations.APIKey
	expires time.Time
}

const keyCacheMax = 10000

// forget drops the key with id from the cache, so that this instance stops
// trusting a key as soon as it is revoked here.
func (c *keyCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for secret, e := range c.entries {
		if e.key.ID == id {
			delete(c.entries, secret)
		}
	}
}

func (c *keyCache) lookup(ctx context.Context, store *reservations.Store, secret string) (reservations.APIKey, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[secret]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.key, nil
	}
	key, err := store.Authenticate(ctx, secret)
	if err != nil {
		return key, err
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= keyCacheMax {
		c.entries = map[string]cachedKey{}
	}
	c.entries[secret] = cachedKey{key: key, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return key, nil
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	checks := make(map[string]ReadinessCheck, len(a.checks))
	for k, v := range a.checks {
		checks[k] = v
	}
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	status := map[string]string{}
	ready := true
	for name, check := range checks {
		if err := check(ctx); err != nil {
			// The reason goes to the log, not to an unauthenticated caller.
			a.logger.WarnContext(ctx, "not ready", "check", name, "error", err)
			status[name] = "not ready"
			ready = false
		} else {
			status[name] = "ok"
		}
	}
	code := http.StatusOK
	if !ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"ready": ready, "checks": status})
}
