package hub

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/roomwire/roomwire/config"
)

func TestJSONLogsGiveDurationsInMilliseconds(t *testing.T) {
	var out bytes.Buffer
	NewLogger(config.Log{Level: "info", Format: "json"}, &out).Info("partner call", slog.Duration("duration", 1500*time.Microsecond))
	var line map[string]any
	if err := json.Unmarshal(out.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if line["duration_ms"] != 1.5 || line["duration"] != nil {
		t.Fatalf("logged %s", out.String())
	}
}
