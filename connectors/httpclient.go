package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/time/rate"

	"github.com/roomwire/roomwire/canonical"
)

// CorrelationHeader carries the correlation id on every partner call.
const CorrelationHeader = "X-Correlation-ID"

// IdempotencyHeader is the header partners deduplicate writes by.
const IdempotencyHeader = "Idempotency-Key"

// HTTPConfig configures a partner HTTP client. Zero values take defaults.
type HTTPConfig struct {
	// Timeout bounds one attempt, from dialling to the last byte. Default 10 s.
	Timeout time.Duration
	// RetryMax is how many times the client itself tries a failed
	// idempotent call again. Default 0: a connector makes one attempt per
	// call and the router, which owns retries, backoff and circuit breakers,
	// decides what happens next. Only callers outside the router (a tool
	// talking to a partner once) should set it.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential backoff. Default 100 ms and 3 s.
	RetryWaitMin, RetryWaitMax time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits in place; a
	// longer one ends the call with a retryable error carrying it. Default 30 s.
	MaxRetryAfter time.Duration
	// MaxResponseBytes bounds a response body. Default 4 MiB.
	MaxResponseBytes int64
	// RateLimit is the most requests per second sent to the partner, retries
	// included, as a token bucket holding RateBurst requests (default: as
	// many as one second allows). 0: no limit. Channels throttle or ban a
	// client that sends faster than its contract.
	RateLimit float64
	RateBurst int
}

func (c *HTTPConfig) setDefaults() {
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.RetryMax < 0 {
		c.RetryMax = 0
	}
	if c.RetryWaitMin == 0 {
		c.RetryWaitMin = 100 * time.Millisecond
	}
	if c.RetryWaitMax == 0 {
		c.RetryWaitMax = 3 * time.Second
	}
	if c.MaxRetryAfter == 0 {
		c.MaxRetryAfter = 30 * time.Second
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = 4 << 20
	}
}

// Validate reports what is wrong with the configuration.
func (c HTTPConfig) Validate() error {
	switch {
	case c.Timeout < 0, c.RetryWaitMin < 0, c.RetryWaitMax < 0, c.MaxRetryAfter < 0:
		return errors.New("http: durations must not be negative")
	case c.RetryWaitMax < c.RetryWaitMin:
		return errors.New("http: retry wait max must not be below retry wait min")
	case c.RetryMax > 20:
		return errors.New("http: at most 20 retries are allowed")
	case c.RateLimit < 0, c.RateBurst < 0:
		return errors.New("http: rate limit and burst must not be negative")
	}
	return nil
}

// Client is the HTTP client every connector calls its partner with. It makes
// one attempt per call (unless RetryMax asks for more, and then only for
// idempotent calls and writes that carry an Idempotency-Key) and classifies
// the outcome (see ClassOf): the router retries, backs off, opens circuit
// breakers and dead-letters. A Retry-After up to MaxRetryAfter comes back
// on the error for the router to honour. Every call carries the correlation
// id of its context and is logged with secrets and card numbers redacted.
type Client struct {
	partner string
	cfg     HTTPConfig
	rc      *retryablehttp.Client
	logger  *slog.Logger
	// describe extracts the partner's explanation from an error body.
	describe func(status int, body []byte) string
	// readsFailing is whether the partner's last read (GET) failed: a poll every
	// 250 ms logs when reads start failing and when they recover, not each poll.
	readsFailing atomic.Bool
}

// ClientOption adjusts a Client.
type ClientOption func(*Client)

// WithLogger makes the client log to logger rather than the connector's
// (a payment gateway's client logs no debug records, which hold card tokens).
func WithLogger(logger *slog.Logger) ClientOption {
	return func(c *Client) { c.logger = logger.With("partner", c.partner) }
}

// WithErrorDescriber sets how the partner's error bodies are read: fn returns
// the partner's explanation of a failed call, which goes into the error.
func WithErrorDescriber(fn func(status int, body []byte) string) ClientOption {
	return func(c *Client) { c.describe = fn }
}

// WithTransport replaces the HTTP transport, e.g. for tests.
func WithTransport(rt http.RoundTripper) ClientOption {
	return func(c *Client) { c.rc.HTTPClient.Transport = rt }
}

// NewClient returns a client for calls to partner. Close it when done.
func NewClient(partner string, cfg HTTPConfig, logger *slog.Logger, opts ...ClientOption) (*Client, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{
		Timeout:   cfg.Timeout,
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
		// A redirect would resend credentials somewhere else; partners' APIs do not redirect.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	rc.Logger = nil
	rc.RetryMax = cfg.RetryMax
	rc.RetryWaitMin, rc.RetryWaitMax = cfg.RetryWaitMin, cfg.RetryWaitMax
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	c := &Client{partner: partner, cfg: cfg, rc: rc, logger: logger.With("partner", partner)}
	rc.CheckRetry = c.checkRetry
	rc.Backoff = c.backoff
	rc.RequestLogHook = c.logAttempt
	for _, o := range opts {
		o(c)
	}
	if cfg.RateLimit > 0 {
		burst := cfg.RateBurst
		if burst == 0 {
			burst = max(1, int(cfg.RateLimit))
		}
		rc.HTTPClient.Transport = &rateLimited{next: rc.HTTPClient.Transport, limiter: rate.NewLimiter(rate.Limit(cfg.RateLimit), burst)}
	}
	return c, nil
}

// Close releases idle connections.
func (c *Client) Close() error {
	c.rc.HTTPClient.CloseIdleConnections()
	return nil
}

// Request is one partner call.
type Request struct {
	Method string
	URL    string
	// Route is the URL's path as a template, e.g.
	// /booking/v1/reservation-actions/{id}/amend. It names the endpoint for the
	// circuit breaker and the logs, so that ids do not make one breaker each.
	Route       string
	Header      http.Header
	Body        []byte
	ContentType string
}

// Response is a partner's successful answer, read in full.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

type callKey struct{}

// call is what the retry hooks need to know about the call in progress.
type call struct {
	retry    bool // the call may be repeated
	route    string
	attempts int
}

// retryAllowed reports whether a request may be sent twice: idempotent methods
// always, POST and PATCH only with an Idempotency-Key.
func retryAllowed(method string, h http.Header) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return h.Get(IdempotencyHeader) != ""
}

// failureLevel is Warn for a failed write, and for the first of a run of
// failed reads; the reads that follow fail quietly until one succeeds.
func (c *Client) failureLevel(read bool) slog.Level {
	if read && c.readsFailing.Swap(true) {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

// Do sends req and returns the partner's answer when its status is 2xx. A
// failure is an *HTTPError for a partner's refusal or a transport error, each
// classified for the router.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	if req.Route == "" {
		req.Route = "/"
	}
	if _, err := http.NewRequestWithContext(ctx, req.Method, req.URL, nil); err != nil {
		return nil, Permanent(fmt.Errorf("%s: %s %s: %v", c.partner, req.Method, req.Route, err))
	}
	start := time.Now()
	resp, err := c.do(ctx, req)
	observePartnerCall(c.partner, req.Method+" "+req.Route, callOutcome(ctx, err), start)
	return resp, err
}

func (c *Client) do(ctx context.Context, req Request) (*Response, error) {
	// Every call carries a correlation id: the caller's, or one of its own
	// for calls no message caused (polls, token refreshes).
	if canonical.CorrelationID(ctx) == "" {
		ctx = canonical.WithCorrelationID(ctx, uuid.NewString())
	}
	cl := &call{route: req.Route}
	cl.retry = retryAllowed(req.Method, req.Header)
	ctx = context.WithValue(ctx, callKey{}, cl)
	var body any
	if req.Body != nil {
		body = req.Body
	}
	rreq, err := retryablehttp.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return nil, Permanent(fmt.Errorf("%s: %s %s: %v", c.partner, req.Method, req.Route, err))
	}
	for k, v := range req.Header {
		rreq.Header[k] = v
	}
	if req.ContentType != "" {
		rreq.Header.Set("Content-Type", req.ContentType)
	}
	if rreq.Header.Get("Accept") == "" {
		rreq.Header.Set("Accept", "application/json")
	}
	rreq.Header.Set("User-Agent", "roomwire")
	if id := canonical.CorrelationID(ctx); id != "" {
		rreq.Header.Set(CorrelationHeader, id)
	}
	start := time.Now()
	hresp, err := c.rc.Do(rreq)
	attrs := []slog.Attr{
		slog.String("method", req.Method), slog.String("route", req.Route),
		slog.Int("attempts", cl.attempts), slog.Duration("duration", time.Since(start)),
		slog.String("correlation_id", canonical.CorrelationID(ctx)),
	}
	read := req.Method == http.MethodGet
	if err != nil {
		c.logger.LogAttrs(ctx, c.failureLevel(read), "partner call failed", append(attrs, slog.String("error", safeText(err.Error(), 300)))...)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %s %s: %w", c.partner, req.Method, req.Route, ctx.Err())
		}
		what := "unreachable"
		if isTimeout(err) {
			what = "timed out"
		}
		return nil, Retryable(fmt.Errorf("%s: %s %s: %s after %d attempt(s): %s", c.partner, req.Method, req.Route, what, cl.attempts, safeText(unwrapURLError(err), 200)))
	}
	defer hresp.Body.Close()
	data, err := ReadLimited(hresp.Body, c.cfg.MaxResponseBytes)
	if err != nil {
		return nil, Retryable(fmt.Errorf("%s: %s %s: reading the answer: %v", c.partner, req.Method, req.Route, err))
	}
	attrs = append(attrs, slog.Int("status", hresp.StatusCode))
	var level slog.Level
	switch {
	case hresp.StatusCode >= 400:
		level = c.failureLevel(read)
	case read && c.readsFailing.Swap(false):
		level = slog.LevelInfo
		attrs = append(attrs, slog.String("state", "reads succeed again"))
	case read:
		level = slog.LevelDebug // a poll that went well is not news
	default:
		level = slog.LevelInfo
	}
	c.logger.LogAttrs(ctx, level, "partner call", attrs...)
	// Bodies carry guests' names and contacts: their size is logged, never their text.
	c.logger.LogAttrs(ctx, slog.LevelDebug, "partner answer", slog.String("route", req.Route), slog.Int("status", hresp.StatusCode),
		slog.Any("headers", RedactHeaders(hresp.Header)), slog.Int("body_bytes", len(data)))
	if hresp.StatusCode >= 200 && hresp.StatusCode <= 299 {
		return &Response{Status: hresp.StatusCode, Header: hresp.Header, Body: data}, nil
	}
	he := &HTTPError{Partner: c.partner, Method: req.Method, Route: req.Route, Status: hresp.StatusCode}
	if d, ok := retryAfter(hresp); ok {
		he.Wait = d
	}
	if c.describe != nil {
		he.Message = safeText(c.describe(hresp.StatusCode, data), 500)
	}
	if he.Message == "" && len(data) > 0 {
		he.Message = safeText(string(bytes.TrimSpace(data)), 300)
	}
	if StatusClass(hresp.StatusCode) == ClassNone {
		// 1xx and 3xx are not answers a partner API should give.
		return nil, Permanent(he)
	}
	return nil, he
}

func unwrapURLError(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}

// checkRetry decides whether an attempt is repeated.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	cl, _ := ctx.Value(callKey{}).(*call)
	if cl == nil || !cl.retry {
		return false, nil
	}
	if err != nil {
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	if StatusClass(resp.StatusCode) != ClassRetryable || resp.StatusCode < 400 {
		return false, nil
	}
	if d, ok := retryAfter(resp); ok && d > c.cfg.MaxRetryAfter {
		return false, nil // the caller's own retry will come back later
	}
	return true, nil
}

// backoff honours Retry-After on 429 and 503, and otherwise waits
// exponentially longer with jitter.
func (c *Client) backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := retryAfter(resp); ok {
			return d
		}
	}
	d := lo << min(attempt, 20)
	if d > hi || d <= 0 {
		d = hi
	}
	// Full jitter on the upper half, so that many callers do not retry in step.
	return d/2 + rand.N(d/2+1)
}

// retryAfter reads Retry-After, in seconds or as an HTTP date.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		if n > 86400 {
			n = 86400
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// logAttempt logs each attempt at debug level, with secrets redacted.
func (c *Client) logAttempt(_ retryablehttp.Logger, req *http.Request, attempt int) {
	ctx := req.Context()
	route := ""
	if cl, _ := ctx.Value(callKey{}).(*call); cl != nil {
		cl.attempts = attempt + 1
		route = cl.route
	}
	if !c.logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	// Bodies carry guests' names and contacts: their size is logged, never their text.
	c.logger.LogAttrs(ctx, slog.LevelDebug, "partner request", slog.String("method", req.Method), slog.String("route", route),
		slog.String("url", RedactURL(req.URL)), slog.Int("attempt", attempt+1),
		slog.Any("headers", RedactHeaders(req.Header)), slog.Int64("body_bytes", req.ContentLength),
		slog.String("correlation_id", canonical.CorrelationID(ctx)))
}

// DoJSON sends in (if not nil) as JSON and decodes a JSON answer into out (if
// not nil), within the bounds of DecodeJSON.
func (c *Client) DoJSON(ctx context.Context, req Request, in, out any) (*Response, error) {
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, Permanent(fmt.Errorf("%s: %s %s: encoding the request: %w", c.partner, req.Method, req.Route, err))
		}
		req.Body, req.ContentType = b, "application/json"
	}
	resp, err := c.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	if out != nil && len(resp.Body) > 0 {
		if err := DecodeJSON(resp.Body, out); err != nil {
			return resp, fmt.Errorf("%s: %s %s: the answer: %w", c.partner, req.Method, req.Route, err)
		}
	}
	return resp, nil
}

// rateLimited sends each request, every retry included, only when the
// partner's token bucket has a token, waiting for one as long as the
// request's context allows.
type rateLimited struct {
	next    http.RoundTripper
	limiter *rate.Limiter
}

func (t *rateLimited) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.limiter.Wait(req.Context()); err != nil {
		return nil, err
	}
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(req)
}
