package apaleo_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/roomwire/roomwire/canonical"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testLogger captures debug logs and fails the test if they hold a secret or
// a card number.
func testLogger(t *testing.T) *slog.Logger {
	buf := &lockedBuffer{}
	t.Cleanup(func() {
		logs := buf.String()
		for _, s := range []string{clientSecret, webhookPassword} {
			if strings.Contains(logs, s) {
				t.Errorf("the logs hold the secret %q", s)
			}
		}
		if canonical.ContainsCardNumber(logs) {
			t.Error("the logs hold a card number")
		}
		if t.Failed() && testing.Verbose() {
			t.Logf("logs:\n%s", logs)
		}
	})
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
