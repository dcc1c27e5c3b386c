package connectors

import (
	"net/url"
	"strings"
	"time"
)

// HTTPTimeout is the setting every connector that calls its partner has,
// embedded in its Config.
type HTTPTimeout struct {
	Timeout Duration `json:"timeout" default:"10s" doc:"timeout of one HTTP attempt"`
}

// HTTPSettings is the tail of the Config of a connector that calls its
// partner over HTTP and keeps a clock: the configured timeout, the client
// settings tests override, and the clock.
type HTTPSettings struct {
	HTTPTimeout

	// HTTP overrides the shared client's settings (tests use it for speed).
	HTTP HTTPConfig `json:"-"`
	// Now is the connector's clock (hold expiries, webhook timestamps).
	Now func() time.Time `json:"-"`
}

// SetDefaults completes the settings once the spec's defaults are set: the
// client is configured (see [HTTPConfig.Configure]) and the clock is the
// wall clock unless one is given.
func (s *HTTPSettings) SetDefaults(rateLimit int, baseURLs ...*string) {
	s.HTTP.Configure(s.Timeout, rateLimit, baseURLs...)
	if s.Now == nil {
		s.Now = time.Now
	}
}

// Configure sets the timeout and rate limit a connector was configured with,
// unless cfg already has its own (tests set the whole HTTPConfig), and
// trims each of the connector's base URLs of trailing slashes, so paths
// join them with one.
func (cfg *HTTPConfig) Configure(timeout Duration, rateLimit int, baseURLs ...*string) {
	if timeout != 0 && cfg.Timeout == 0 {
		cfg.Timeout = time.Duration(timeout)
	}
	if rateLimit > 0 && cfg.RateLimit == 0 {
		cfg.RateLimit = float64(rateLimit)
	}
	for _, u := range baseURLs {
		*u = strings.TrimRight(*u, "/")
	}
}

// ValidHTTPURL reports whether s is an absolute http or https URL, as every
// partner's base URL must be.
func ValidHTTPURL(s string) bool {
	p, err := url.Parse(s)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}
