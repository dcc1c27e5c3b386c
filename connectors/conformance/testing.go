package conformance

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/roomwire/roomwire/connectors"
)

// ReadFixture reads testdata/<connector>/<name> of the repository, from the test
// of a package under connectors/<connector>.
func ReadFixture(t testing.TB, connector, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", connector, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FastHTTP is the HTTP configuration of a connector under test against its
// simulator: short timeouts and waits and retries as given, so that each
// test sees every call its faults cause.
func FastHTTP(retries int) connectors.HTTPConfig {
	return connectors.HTTPConfig{
		Timeout: 500 * time.Millisecond, RetryMax: retries, RetryWaitMin: time.Millisecond, RetryWaitMax: 10 * time.Millisecond,
		MaxRetryAfter: 2 * time.Second,
	}
}
