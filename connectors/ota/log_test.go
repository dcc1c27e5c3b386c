package ota_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/roomwire/roomwire/canonical"
)

// testLogger logs at debug level and fails the test if a line holds a
// secret or a card number.
func testLogger(t *testing.T) *slog.Logger {
	buf := &lockedBuffer{}
	t.Cleanup(func() {
		out := buf.String()
		for _, s := range []string{inboundPassword, ariPassword} {
			if strings.Contains(out, s) {
				t.Errorf("the log holds the secret %q", s)
			}
		}
		if s, e, ok := canonical.FindCardNumber(out); ok {
			t.Errorf("the log holds a card number: %q", out[max(0, s-80):min(len(out), e+20)])
		}
	})
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

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
