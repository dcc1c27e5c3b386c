package demo

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roomwire/roomwire/cmd/roomwire/internal/cli"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// The newcomer's first command, end to end: roomwire demo --once against the
// real PostgreSQL at DATABASE_URL, the embedded broker and every simulator.
// Every step must check out, and the demo's database must be gone after.
func TestDemoOnceChecksEveryStep(t *testing.T) {
	t.Setenv("ROOMWIRE_STATE_DIR", t.TempDir())
	t.Setenv("DATABASE_URL", pgtest.ServerURL())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var out bytes.Buffer
	start := time.Now()
	err := runDemo(ctx, []string{"--once"}, &out)
	t.Logf("roomwire demo --once took %s", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	text := out.String()
	steps := len(regexp.MustCompile(`(?m)^\[\d+/\d+\] `).FindAllString(text, -1))
	oks := len(regexp.MustCompile(`(?m)^  OK    step \d+ `).FindAllString(text, -1))
	if steps != 7 || oks != steps || strings.Contains(text, "FAIL") || !strings.Contains(text, "All 7 steps OK") {
		t.Fatalf("%d steps, %d OK:\n%s", steps, oks, text)
	}

	m := regexp.MustCompile(`database +(roomwire_demo_\w+) `).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("the demo did not say which database it used:\n%s", text)
	}
	conn, err := pgx.Connect(ctx, pgtest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var left bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, m[1]).Scan(&left); err != nil || left {
		t.Fatalf("database %s left behind (err %v)", m[1], err)
	}
}

func TestDemoRefusesStrayArguments(t *testing.T) {
	err := runDemo(context.Background(), []string{"--once", "extra"}, &bytes.Buffer{})
	if !errors.As(err, new(*cli.UsageError)) {
		t.Fatalf("got %v, want a usage error", err)
	}
}
