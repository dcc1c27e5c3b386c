package gatewaysim

import (
	"crypto/subtle"
	"net/http"
	"time"
)

// Partner is what one gateway's simulator brings to the Config it is given.
type Partner struct {
	// NewID returns a payment id in the gateway's style, unless the Config
	// has its own.
	NewID func() string
	// WebhookURL is where webhooks go, unless the Config says.
	WebhookURL string
	// HoldFor is how long the gateway's holds last, unless the Config says
	// (0: the Core's default).
	HoldFor time.Duration
	// Declined are the gateway's documented test tokens that decline.
	Declined []string
}

// NewFor returns the Core of a gateway's simulator: cfg completed with
// what p brings.
func NewFor(cfg Config, p Partner) *Core {
	if cfg.NewID == nil {
		cfg.NewID = p.NewID
	}
	if cfg.WebhookURL == "" {
		cfg.WebhookURL = p.WebhookURL
	}
	if cfg.HoldFor == 0 {
		cfg.HoldFor = p.HoldFor
	}
	cfg.DeclineTokens = append(append([]string(nil), cfg.DeclineTokens...), p.Declined...)
	return New(cfg)
}

// Serve makes c the gateway's http.Handler: api under each of prefixes,
// behind auth and then [Core.API] (faults and idempotency, errors in the
// gateway's form by writeError), beside the [Core.Control] endpoints under
// /_sim/. Call it once, before serving.
func (c *Core) Serve(api http.Handler, auth func(http.Handler) http.Handler, writeError ErrorWriter, onExpired func([]Hold), prefixes ...string) {
	mux := http.NewServeMux()
	h := auth(c.API(api, writeError))
	for _, p := range prefixes {
		mux.Handle(p, h)
	}
	mux.Handle("/_sim/", c.Control(onExpired))
	c.mux = mux
}

// ServeHTTP serves the API and the /_sim/ controls set up by Serve.
func (c *Core) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.mux.ServeHTTP(w, r) }

// Close waits for webhooks in flight.
func (c *Core) Close() { c.WaitWebhooks() }

// RequireKey returns the authentication of a gateway's API: a request
// whose key (as key reads it) is not want, compared in constant time, is
// refused by refuse; when no key is configured every request is.
func RequireKey(key func(*http.Request) string, want string, refuse func(http.ResponseWriter)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if want == "" || subtle.ConstantTimeCompare([]byte(key(r)), []byte(want)) != 1 {
				refuse(w)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
