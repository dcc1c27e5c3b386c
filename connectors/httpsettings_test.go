package connectors_test

import (
	"testing"
	"time"

	"github.com/roomwire/roomwire/connectors"
)

func TestValidHTTPURL(t *testing.T) {
	for s, want := range map[string]bool{
		"https://api.apaleo.com": true, "http://127.0.0.1:8080/eqc": true,
		"": false, "api.apaleo.com": false, "ftp://host": false, "https://": false, "://x": false,
	} {
		if got := connectors.ValidHTTPURL(s); got != want {
			t.Errorf("ValidHTTPURL(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestConfigureKeepsWhatIsAlreadySet(t *testing.T) {
	var cfg connectors.HTTPConfig
	cfg.Configure(connectors.Duration(3*time.Second), 7)
	if cfg.Timeout != 3*time.Second || cfg.RateLimit != 7 {
		t.Fatalf("configured %+v", cfg)
	}
	set := connectors.HTTPConfig{Timeout: time.Second, RateLimit: 2}
	set.Configure(connectors.Duration(3*time.Second), 7)
	if set.Timeout != time.Second || set.RateLimit != 2 {
		t.Fatalf("overrode an explicit HTTPConfig: %+v", set)
	}
}
