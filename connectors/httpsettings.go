package connectors

import (
	"net/url"
	"time"
)

// HTTPTimeout is the setting every connector that calls its partner has,
// embedded in its Config.
type HTTPTimeout struct {
	Timeout Duration `json:"timeout" default:"10s" doc:"timeout of one HTTP attempt"`
}

// Configure sets the timeout and rate limit a connector was configured with,
// unless cfg already has its own (tests set the whole HTTPConfig).
func (cfg *HTTPConfig) Configure(timeout Duration, rateLimit int) {
	if timeout != 0 && cfg.Timeout == 0 {
		cfg.Timeout = time.Duration(timeout)
	}
	if rateLimit > 0 && cfg.RateLimit == 0 {
		cfg.RateLimit = float64(rateLimit)
	}
}

// ValidHTTPURL reports whether s is an absolute http or https URL, as every
// partner's base URL must be.
func ValidHTTPURL(s string) bool {
	p, err := url.Parse(s)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}
