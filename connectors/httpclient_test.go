package connectors_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors"
)

// fastHTTP asks for the client's own retries, kept quick, to test them.
var fastHTTP = connectors.HTTPConfig{Timeout: 2 * time.Second, RetryMax: 3, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond}

// script answers each request with the next status of a list (the last one repeats).
type script struct {
	mu       sync.Mutex
	statuses []int
	header   http.Header
	body     string
	requests []*http.Request
	bodies   []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, r)
	s.bodies = append(s.bodies, string(b))
	i := min(len(s.requests)-1, len(s.statuses)-1)
	status := s.statuses[i]
	s.mu.Unlock()
	for k, v := range s.header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	io.WriteString(w, s.body)
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func newClient(t *testing.T, cfg connectors.HTTPConfig, logger *slog.Logger) *connectors.Client {
	t.Helper()
	c, err := connectors.NewClient("partner", cfg, logger, connectors.WithErrorDescriber(func(status int, body []byte) string {
		if strings.HasPrefix(string(body), "msg:") {
			return strings.TrimPrefix(string(body), "msg:")
		}
		return ""
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestClientRetriesIdempotentCallsAndCarriesTheCorrelationID(t *testing.T) {
	s := &script{statuses: []int{503, 500, 200}, body: `{"ok": true}`}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := newClient(t, fastHTTP, nil)
	ctx := canonical.WithCorrelationID(context.Background(), "corr-12345678")
	resp, err := c.Do(ctx, connectors.Request{Method: http.MethodGet, URL: srv.URL + "/things/7", Route: "/things/{id}"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || s.count() != 3 {
		t.Fatalf("status %d after %d requests, want 200 after 3", resp.Status, s.count())
	}
	for _, r := range s.requests {
		if r.Header.Get(connectors.CorrelationHeader) != "corr-12345678" {
			t.Errorf("request without the correlation id: %v", r.Header)
		}
	}
}

func TestClientNeverRetriesAWriteWithoutIdempotencyKey(t *testing.T) {
	for _, method := range []string{http.MethodPost, http.MethodPatch} {
		s := &script{statuses: []int{503, 200}}
		srv := httptest.NewServer(s)
		c := newClient(t, fastHTTP, nil)
		_, err := c.Do(context.Background(), connectors.Request{Method: method, URL: srv.URL, Route: "/x", Body: []byte("{}")})
		srv.Close()
		if s.count() != 1 {
			t.Errorf("%s without a key was sent %d times", method, s.count())
		}
		var he *connectors.HTTPError
		if !errors.As(err, &he) || he.Status != 503 || connectors.ClassOf(err) != connectors.ClassRetryable {
			t.Errorf("%s: got %v, want a retryable 503", method, err)
		}
	}
	s := &script{statuses: []int{500, 201}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := newClient(t, fastHTTP, nil)
	h := http.Header{}
	h.Set(connectors.IdempotencyHeader, "k1")
	if _, err := c.Do(context.Background(), connectors.Request{Method: http.MethodPost, URL: srv.URL, Route: "/x", Header: h, Body: []byte(`{"a":1}`)}); err != nil {
		t.Fatal(err)
	}
	if s.count() != 2 || s.bodies[1] != `{"a":1}` {
		t.Errorf("POST with a key: %d requests, bodies %q; want 2 with the body resent", s.count(), s.bodies)
	}
}

func TestClientHonoursRetryAfter(t *testing.T) {
	s := &script{statuses: []int{429, 200}, header: http.Header{"Retry-After": {"0"}}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := newClient(t, fastHTTP, nil)
	if _, err := c.Do(context.Background(), connectors.Request{Method: http.MethodGet, URL: srv.URL, Route: "/x"}); err != nil {
		t.Fatal(err)
	}
	if s.count() != 2 {
		t.Fatalf("%d requests, want 2", s.count())
	}

	// A Retry-After beyond MaxRetryAfter is not waited out in place: the
	// error carries it back for the router's own retry.
	s = &script{statuses: []int{429}, header: http.Header{"Retry-After": {"3600"}}}
	srv2 := httptest.NewServer(s)
	defer srv2.Close()
	_, err := c.Do(context.Background(), connectors.Request{Method: http.MethodGet, URL: srv2.URL, Route: "/x"})
	var he *connectors.HTTPError
	if !errors.As(err, &he) || he.RetryAfter() != time.Hour || connectors.ClassOf(err) != connectors.ClassRetryable || s.count() != 1 {
		t.Fatalf("got %v after %d requests; want one retryable 429 carrying Retry-After 1h", err, s.count())
	}
}

func TestClientClassifiesRefusalsAndTimeouts(t *testing.T) {
	s := &script{statuses: []int{422}, body: "msg:Combination of RatePlan 'X' and UnitGroup 'Y' is not configured."}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := newClient(t, fastHTTP, nil)
	_, err := c.Do(context.Background(), connectors.Request{Method: http.MethodGet, URL: srv.URL, Route: "/x"})
	if connectors.ClassOf(err) != connectors.ClassPermanent || !strings.Contains(err.Error(), "RatePlan 'X'") || s.count() != 1 {
		t.Fatalf("got %v after %d requests; want one permanent error with the partner's message", err, s.count())
	}

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	cfg := fastHTTP
	cfg.Timeout, cfg.RetryMax = 50*time.Millisecond, -1
	c2 := newClient(t, cfg, nil)
	_, err = c2.Do(context.Background(), connectors.Request{Method: http.MethodGet, URL: slow.URL, Route: "/slow"})
	if connectors.ClassOf(err) != connectors.ClassRetryable || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("got %v, want a retryable timeout", err)
	}
}

func TestClientLogsNoSecrets(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := &script{statuses: []int{500, 200}, body: `{"access_token": "tok-SECRET-1", "card": "4111111111111111"}`}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := newClient(t, fastHTTP, logger)
	h := http.Header{}
	h.Set("Authorization", "Bearer tok-SECRET-2")
	h.Set(connectors.IdempotencyHeader, "k")
	_, err := c.Do(context.Background(), connectors.Request{Method: http.MethodPost, URL: srv.URL + "/pay?api_key=key-SECRET-3", Route: "/pay", Header: h,
		Body: []byte(`{"cardNumber": "5500 0000 0000 0004", "cvv": "737", "client_secret": "sec-SECRET-4", "guest": {"email": "marta.silva@example.com"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	logs := buf.String()
	if !strings.Contains(logs, "partner request") || !strings.Contains(logs, "partner answer") {
		t.Fatalf("debug logs missing: %s", logs)
	}
	// Nor a guest's contact: bodies are not logged, only their size.
	for _, secret := range []string{"SECRET", "4111111111111111", "5500 0000 0000 0004", `\"737\"`, "marta.silva@example.com"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log holds %q:\n%s", secret, logs)
		}
	}
}

func TestClientKeepsToThePartnersRateLimit(t *testing.T) {
	s := &script{statuses: []int{200}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	// One request a minute, a bucket of two: the third request must wait
	// far longer than its deadline, so it is refused without being sent.
	c := newClient(t, connectors.HTTPConfig{RateLimit: 1.0 / 60, RateBurst: 2, RetryMax: -1}, nil)
	for i := 0; i < 2; i++ {
		if _, err := c.Do(context.Background(), connectors.Request{Method: "GET", URL: srv.URL + "/ari", Route: "/ari"}); err != nil {
			t.Fatalf("request %d within the burst: %v", i+1, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := c.Do(ctx, connectors.Request{Method: "GET", URL: srv.URL + "/ari", Route: "/ari"}); err == nil {
		t.Fatal("a request beyond the rate limit went out")
	}
	if n := s.count(); n != 2 {
		t.Fatalf("the partner received %d requests, want 2", n)
	}
}

// The router owns retries: by default the client makes one attempt and
// hands back a classified error.
func TestClientMakesOneAttemptByDefault(t *testing.T) {
	s := &script{statuses: []int{503, 200}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := newClient(t, connectors.HTTPConfig{}, nil)
	_, err := c.Do(context.Background(), connectors.Request{Method: http.MethodGet, URL: srv.URL + "/a", Route: "/a"})
	if s.count() != 1 || connectors.ClassOf(err) != connectors.ClassRetryable {
		t.Fatalf("got %v after %d requests; want one request and a retryable error", err, s.count())
	}
}

// A poll that goes well is logged at debug; a run of failed polls is one
// warning, and the first success after it one info line. Every call has a
// correlation id, its own when the caller has none.
func TestClientLogsChangesOfStateNotEachPoll(t *testing.T) {
	s := &script{statuses: []int{200, 200, 503, 503, 503, 200, 200}, body: `{}`}
	srv := httptest.NewServer(s)
	defer srv.Close()
	var logs bytes.Buffer
	c := newClient(t, connectors.HTTPConfig{Timeout: 2 * time.Second},
		slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	for range 7 {
		c.Do(context.Background(), connectors.Request{Method: http.MethodGet, URL: srv.URL + "/feed", Route: "/feed"}) //nolint:errcheck // the statuses are scripted
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"level":"WARN"`) || !strings.Contains(lines[1], `"state":"reads succeed again"`) {
		t.Fatalf("7 polls, 3 failing, logged at info and above:\n%s", logs.String())
	}
	for _, r := range s.requests {
		if len(r.Header.Get(connectors.CorrelationHeader)) < 8 {
			t.Errorf("a poll without a correlation id: %v", r.Header)
		}
	}
	for _, l := range lines {
		if strings.Contains(l, `"correlation_id":""`) {
			t.Errorf("logged without a correlation id: %s", l)
		}
	}
}
