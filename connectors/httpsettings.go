package connectors

import (
	"net/url"
	"time"
)

// TimeoutField is the configuration key of one HTTP attempt's timeout,
// which every connector that calls its partner has.
var TimeoutField = Field{Name: "timeout", Type: "duration", Default: "10s", Description: "timeout of one HTTP attempt"}

// RateLimitField is the configuration key of a partner's request rate, with
// the partner's default (requests per second).
func RateLimitField(def string) Field {
	return Field{Name: "rate_limit", Type: "int", Default: def,
		Description: "most requests per second sent to the partner, retries included (token bucket); 0: no limit"}
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
