package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/cli"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// The report's keys, as machines read them.
var benchKeys = []string{
	"reservations_per_second", "operations_per_second", "p50_commit_ms", "p95_commit_ms", "p99_commit_ms",
	"p95_read_ms", "errors", "no_availability", "bare_postgres_tps", "bare_postgres_clients", "ratio_to_bare",
	"new_reservations_per_second", "pms_delivered_per_second", "wal_syncs_per_reservation",
	"p95_pms_ms", "p95_ari_ms", "consumer_lag", "outbox_backlog", "notes",
}

// runBenchJSON runs roomwire bench with args and --json, and decodes its report.
func runBenchJSON(t *testing.T, args ...string) (map[string]any, string) {
	t.Helper()
	t.Setenv("DATABASE_URL", pgtest.ServerURL())
	var stdout, stderr bytes.Buffer
	if err := runBench(context.Background(), append(args, "--json"), &stdout, &stderr); err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr.String())
	}
	var rep map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, stdout.String())
	}
	return rep, stderr.String()
}

func number(t *testing.T, rep map[string]any, key string) float64 {
	t.Helper()
	v, ok := rep[key].(float64)
	if !ok {
		t.Fatalf("%s = %v (%T), want a number", key, rep[key], rep[key])
	}
	return v
}

func TestBenchReportsSaneFigures(t *testing.T) {
	profiles := t.TempDir()
	// Every kind of operation must be measured however slow the machine:
	// the closed loop measures from its first operations (no warm-up), whose
	// first deal of the mix holds an OTA push and searches; the open loop has
	// a worker for every operation its clock starts, so none is skipped.
	tests := []struct {
		name     string
		args     []string
		measured int // operations in the window, when the clock fixes them
	}{
		{"closed loop", []string{"--max", "--warmup", "0s", "--duration", "2s", "--concurrency", "8", "--profile", profiles, "--keep-db"}, 0},
		{"open loop", []string{"--rate", "100", "--warmup", "300ms", "--duration", "1s", "--concurrency", "130", "--keep-db"}, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--bare-duration", "300ms", "--bare-clients", "1,4", "--properties", "3"}, tt.args...)
			rep, stderr := runBenchJSON(t, args...)
			for _, k := range benchKeys {
				if _, ok := rep[k]; !ok {
					t.Errorf("report has no %q", k)
				}
			}
			if number(t, rep, "reservations_per_second") <= 0 || number(t, rep, "operations_per_second") <= 0 {
				t.Errorf("nothing committed: %v", rep)
			}
			p50, p95, p99 := number(t, rep, "p50_commit_ms"), number(t, rep, "p95_commit_ms"), number(t, rep, "p99_commit_ms")
			if !(0 < p50 && p50 <= p95 && p95 <= p99) {
				t.Errorf("commit percentiles out of order: p50 %v, p95 %v, p99 %v", p50, p95, p99)
			}
			if number(t, rep, "p95_read_ms") <= 0 {
				t.Errorf("p95_read_ms = %v", rep["p95_read_ms"])
			}
			if n := number(t, rep, "errors"); n != 0 {
				t.Errorf("errors = %v: %v\n%s", n, rep["errors_by_kind"], stderr)
			}
			if number(t, rep, "no_availability") < 0 {
				t.Errorf("no_availability = %v", rep["no_availability"])
			}
			// The bare baseline ran at each concurrency, before and after,
			// and its best is the one reported.
			bare, clients := number(t, rep, "bare_postgres_tps"), number(t, rep, "bare_postgres_clients")
			if bare <= 0 || (clients != 1 && clients != 4) {
				t.Errorf("bare_postgres_tps = %v at %v clients", bare, clients)
			}
			if ratio := number(t, rep, "ratio_to_bare"); math.Abs(ratio-number(t, rep, "reservations_per_second")/bare) > 0.01 {
				t.Errorf("ratio_to_bare = %v, want reservations_per_second / bare_postgres_tps", ratio)
			}
			run, _ := rep["run"].(map[string]any)
			bareRun, _ := run["bare"].(map[string]any)
			for _, phase := range []string{"before", "after"} {
				levels, _ := bareRun[phase].([]any)
				if len(levels) != 2 {
					t.Fatalf("run.bare.%s = %v, want 2 levels", phase, bareRun[phase])
				}
				for _, lv := range levels {
					if lv := lv.(map[string]any); lv["tps"].(float64) > bare || lv["transactions"].(float64) <= 0 {
						t.Errorf("run.bare.%s level %v: above the best %v, or nothing committed", phase, lv, bare)
					}
				}
			}
			// Committing writes flushes the WAL (the counter is the server's,
			// so no upper bound holds while other tests run).
			if v := number(t, rep, "wal_syncs_per_reservation"); v <= 0 {
				t.Errorf("wal_syncs_per_reservation = %v", v)
			}
			if number(t, rep, "new_reservations_per_second") <= 0 || number(t, rep, "pms_delivered_per_second") < 0 {
				t.Errorf("new_reservations_per_second = %v, pms_delivered_per_second = %v", rep["new_reservations_per_second"], rep["pms_delivered_per_second"])
			}
			// The bookings reached the partners, and the lag was read.
			for _, k := range []string{"p95_pms_ms", "p95_ari_ms"} {
				if v := number(t, rep, k); v <= 0 {
					t.Errorf("%s = %v, want a measured latency", k, v)
				}
			}
			if lag := number(t, rep, "consumer_lag"); lag < 0 || lag != math.Trunc(lag) {
				t.Errorf("consumer_lag = %v, want a count", lag)
			}
			if n := number(t, rep, "outbox_backlog"); n < 0 {
				t.Errorf("outbox_backlog = %v", n)
			}
			// The hub worked, and so did the server, which runs on this
			// machine in every test set-up: its CPU is read and compared.
			cpu, _ := run["cpu"].(map[string]any)
			for _, k := range []string{"process_cores", "process_ms_per_reservation", "postgres_cores", "postgres_ms_per_reservation"} {
				if v, _ := cpu[k].(float64); v <= 0 {
					t.Errorf("run.cpu.%s = %v, want CPU used", k, cpu[k])
				}
			}
			for _, lv := range bareRun["before"].([]any) {
				if v, _ := lv.(map[string]any)["postgres_cpu_ms_per_transaction"].(float64); v <= 0 {
					t.Errorf("bare level %v: no PostgreSQL CPU per transaction", lv)
				}
			}
			if notes := fmt.Sprint(rep["notes"]); !strings.Contains(notes, "PostgreSQL alone could take at most") {
				t.Errorf("no note gives PostgreSQL's ceiling: %s", notes)
			}
			ops, _ := run["operations"].(map[string]any)
			if tt.measured > 0 {
				total := 0.0
				for _, op := range ops {
					total += op.(map[string]any)["count"].(float64)
				}
				if skipped := run["skipped"].(float64); skipped != 0 || total != float64(tt.measured) {
					t.Errorf("%v operations measured and %v skipped, want %d and none", total, skipped, tt.measured)
				}
			}
			if push, _ := ops["ota_push"].(map[string]any); push == nil || push["ok"].(float64) <= 0 {
				t.Errorf("no OTA push was accepted: %v", ops["ota_push"])
			}
			for name, op := range ops {
				o := op.(map[string]any)
				p50, p95 := o["p50_ms"].(float64), o["p95_ms"].(float64)
				if o["ok"].(float64) > 0 && (p50 <= 0 || p95 < p50) {
					t.Errorf("%s: p50_ms %v, p95_ms %v for %v successful operations", name, p50, p95, o["ok"])
				}
			}
			del, _ := run["delivery"].(map[string]any)
			if _, ok := del["drained"].(bool); !ok {
				t.Errorf("run.delivery.drained = %v, want true or false", del["drained"])
			}
			for _, k := range []string{"pms_measured", "ari_measured"} {
				if n, _ := del[k].(float64); n <= 0 {
					t.Errorf("run.delivery.%s = %v, want some measured creates", k, del[k])
				}
			}
			if events, msgs := del["ari_events"].(float64), del["ari_channel_messages"].(float64); events <= 0 || msgs <= 0 {
				t.Errorf("run.delivery.ari_events = %v, ari_channel_messages = %v: want both counted", events, msgs)
			}
			for _, k := range []string{"p95_pms_ms", "p95_ari_ms", "consumer_lag"} {
				if notes := fmt.Sprint(rep["notes"]); !strings.Contains(notes, k) {
					t.Errorf("no note explains %s: %s", k, notes)
				}
			}
			if !strings.Contains(stderr, "bare PostgreSQL baseline") {
				t.Errorf("no progress on stderr:\n%s", stderr)
			}
			if slices.Contains(tt.args, "--keep-db") {
				// Without a warm-up the bench leaves the hub's database alone.
				checkAnalyzed(t, stderr, tt.args[slices.Index(tt.args, "--warmup")+1] != "0s")
			}
		})
	}
	for _, name := range []string{"cpu.pprof", "block.pprof", "mutex.pprof"} {
		if st, err := os.Stat(filepath.Join(profiles, name)); err != nil || st.Size() == 0 {
			t.Errorf("--profile wrote no %s: %v", name, err)
		}
	}
}

func TestBenchDropsItsDatabase(t *testing.T) {
	_, stderr := runBenchJSON(t, "--duration", "1s", "--warmup", "0s", "--bare-duration", "200ms", "--bare-clients", "2", "--properties", "2", "--concurrency", "4")
	m := regexp.MustCompile(`database (roomwire_bench_\w+) on`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("stderr names no database:\n%s", stderr)
	}
	bare := regexp.MustCompile(`(roomwire_bench_bare_\w+)`).FindStringSubmatch(stderr)
	if bare == nil {
		t.Fatalf("stderr names no bare baseline database:\n%s", stderr)
	}
	conn, err := pgx.Connect(context.Background(), pgtest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, name := range []string{m[1], bare[1]} {
		var left bool
		if err := conn.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left {
			t.Errorf("database %s is still there", name)
		}
	}
}

func TestBenchSetupFailureSaysWhatToDo(t *testing.T) {
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("DATABASE_URL", "postgres://postgres@"+addr+"/postgres?sslmode=disable&connect_timeout=2")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err = runBench(ctx, []string{"--duration", "1s"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") || !strings.Contains(err.Error(), "cannot reach PostgreSQL") {
		t.Fatalf("err = %v, want one that says to set DATABASE_URL", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("a failed setup printed a report: %s", stdout.String())
	}
}

func TestBenchFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := runBench(context.Background(), []string{"--help"}, &stdout, &stderr)
	if !errors.Is(err, cli.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	help := stdout.String()
	for _, want := range []string{
		"--duration", "--rate", "--max", "--properties", "--concurrency", "--json", "--config", "--keep-db", "--warmup", "--drain",
		"--bare-duration", "--bare-clients", "--profile",
		"reservations_per_second", "operations_per_second", "p50/p95/p99_commit_ms", "p95_read_ms", "errors", "no_availability",
		"bare_postgres_tps", "ratio_to_bare", "wal_syncs_per_reservation", "new_reservations_per_second", "pms_delivered_per_second",
		"p95_pms_ms", "p95_ari_ms", "consumer_lag", "outbox_backlog",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("--help does not explain %s", want)
		}
	}
	for _, args := range [][]string{{"--rate", "10", "--max"}, {"--rate", "0"}, {"--duration", "10ms"}, {"--concurrency", "0"}, {"--drain", "-1s"},
		{"--bare-clients", "1,x"}, {"--bare-clients", "0"}, {"--bare-duration", "1ms"}} {
		stderr.Reset()
		if err := runBench(context.Background(), args, &bytes.Buffer{}, &stderr); !errors.As(err, new(*cli.UsageError)) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}

// A close-out is measured to the first "0 left" the channel hears after it,
// and left out when its night changed again before the channel heard 0.
func TestBenchDeliveryFollowsCloseouts(t *testing.T) {
	night := canonical.Date{Year: 2030, Month: 1, Day: 10}
	keys := []ariKey{{"H0001", "STE", night}}
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tests := []struct {
		name string
		run  func(d *benchDelivery)
		want []time.Duration // close-out latencies measured
		left int             // close-outs not followed
	}{
		{"stale open value, then 0", func(d *benchDelivery) {
			d.end(d.begin(keys, true), writeCommitted, at(10), "a", true)
			d.ariReceived("H0001", "STE", night, 1, at(20))
			d.ariReceived("H0001", "STE", night, 0, at(300))
		}, []time.Duration{290 * time.Millisecond}, 0},
		{"refused create meanwhile changes nothing", func(d *benchDelivery) {
			d.end(d.begin(keys, true), writeCommitted, at(10), "a", true)
			d.end(d.begin(keys, true), writeUnchanged, at(50), "", true)
			d.ariReceived("H0001", "STE", night, 0, at(500))
		}, []time.Duration{490 * time.Millisecond}, 0},
		{"reopened before the channel heard 0", func(d *benchDelivery) {
			d.end(d.begin(keys, true), writeCommitted, at(10), "a", true)
			d.end(d.begin(keys, false), writeCommitted, at(50), "", false) // the cancel
			d.ariReceived("H0001", "STE", night, 1, at(500))
		}, nil, 1},
		{"heard before the answer", func(d *benchDelivery) {
			w := d.begin(keys, true)
			d.ariReceived("H0001", "STE", night, 0, at(5))
			d.end(w, writeCommitted, at(10), "a", true)
		}, []time.Duration{0}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newBenchDelivery(func(hotel, roomType string) (string, string, bool) { return hotel, roomType, true })
			tt.run(d)
			r := d.results(at(10_000), t0, at(10_000))
			if !slices.Equal(r.closeouts, tt.want) || r.closeoutsExcluded != tt.left {
				t.Errorf("close-outs %v, %d left out; want %v, %d", r.closeouts, r.closeoutsExcluded, tt.want, tt.left)
			}
		})
	}
}

// checkAnalyzed checks which of the databases a run kept (named on stderr)
// were analyzed by hand, as autovacuum would only do later: the bare
// baseline's once filled, and the hub's during the warm-up when hub is set.
// It drops them.
func checkAnalyzed(t *testing.T, stderr string, hub bool) {
	t.Helper()
	ctx := context.Background()
	server, err := pgx.Connect(ctx, pgtest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	kept := regexp.MustCompile(`kept database (roomwire_bench_\w+)`).FindAllStringSubmatch(stderr, -1)
	t.Cleanup(func() {
		for _, k := range kept {
			server.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{k[1]}.Sanitize()) //nolint:errcheck // best effort
		}
		server.Close(ctx) //nolint:errcheck // best effort
	})
	if len(kept) != 2 {
		t.Fatalf("want the hub's and the bare baseline's databases kept, stderr:\n%s", stderr)
	}
	for _, k := range kept {
		db, table, want := k[1], "outbox", hub // the hub's, written under load
		if strings.Contains(db, "_bare_") {
			table, want = "inventory", true
		}
		cfg := server.Config().Copy()
		cfg.Database = db
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var analyzed bool
		err = conn.QueryRow(ctx, `SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = $1`, table).Scan(&analyzed)
		conn.Close(ctx) //nolint:errcheck // read only
		if err != nil || analyzed != want {
			t.Errorf("%s: analyzed by the bench %v, want %v (%v)", db, analyzed, want, err)
		}
	}
}
