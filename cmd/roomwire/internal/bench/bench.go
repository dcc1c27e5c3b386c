// Package bench is roomwire bench: it runs the hub in-process on a fresh
// database, books against it end to end, and reports throughput and latency
// beside a bare PostgreSQL baseline (docs/benchmarks.md).
package bench

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	flag "github.com/spf13/pflag"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/cli"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/database"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/hub"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/rig"
	"github.com/roomwire/roomwire/config"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/apaleo"
	"github.com/roomwire/roomwire/connectors/apaleo/apaleosim"
	"github.com/roomwire/roomwire/connectors/ota"
	"github.com/roomwire/roomwire/connectors/ota/otasim"
	"github.com/roomwire/roomwire/connectors/payments"
)

// Command is roomwire bench.
var Command = cli.Command{Name: "bench", Summary: "measure booking throughput and latency end to end on a fresh database",
	Run: func(ctx context.Context, args []string) error { return runBench(ctx, args, os.Stdout, os.Stderr) }}

const benchUsageLine = "[--duration 30s] [--rate N | --max] [--properties N] [--concurrency N] [--drain 30s] [--bare-clients 1,8,32] [--profile DIR] [--json] [--config FILE] [--keep-db]"

const benchDescription = `
Measures the hub end to end, in one process. It creates a fresh database
(roomwire_bench_<timestamp>) on the PostgreSQL server at DATABASE_URL, starts
the hub on it as serve does, with the event backbone (the embedded Kafka
broker unless brokers are configured), the outbox relay and two partners of
its own: the Apaleo simulator as the PMS and an OpenTravel channel simulator
that receives the ARI fan-out, each with code mappings for every bench
property (connectors, mappings and payments in the configuration are
ignored). The hub sends the channel at most 100 requests per second (its
rate_limit), what a channel's ARI endpoint allows for 50 hotels; the
connector's default is 20. It serves the booking API over HTTP on a free
127.0.0.1 port and drives it over HTTP with a mix of 40% creates (with Idempotency-Key), 10%
OTA_HotelResNotifRQ pushes from the channel, 10% modifies (PATCH with
If-Match), 10% cancels, 20% availability searches and 10% views, spread over
--properties properties and a year of dates. Every property also has one
scarce room type, so that some bookings are refused with 409 "no
availability", as in real traffic. After the load it waits up to --drain for
the events to reach the partners.

The bare PostgreSQL baseline runs a minimal booking transaction (3 nights of
inventory UPDATE, a reservation INSERT, two outbox INSERTs, no triggers) on
tables of its own in a second scratch database (roomwire_bench_bare_<timestamp>),
as pgbench would, at each of --bare-clients concurrencies for --bare-duration
each: once before the load, while the hub is idle, and once after the drain,
with the hub stopped. The best of all is the baseline. Both databases are
dropped at the end unless --keep-db.

Load. With --rate N, N operations per second are started on a fixed clock
whatever the response times (open loop), with at most --concurrency in flight:
an operation due while that many are in flight is skipped, and one sent more
than 10ms after its time is late; both are counted. With --max (the default)
--concurrency workers each send their next request as soon as the last one is
answered (closed loop). --concurrency defaults to 8 workers per CPU with --max,
where the hub commits the most (more only queue inside it), and to 64 slots
with --rate.

Halfway through the warm-up the bench analyzes the hub's database, as
autovacuum does within a minute of a fresh database's first writes: the
window measures the hub with the planner statistics it has when running, not
those of the empty tables it started with. With --warmup 0s it does not.

Figures, over the measured window after the warm-up (an operation belongs to
the window if it started in it):
  reservations_per_second  reservation writes per second: creates, modifies
                           and cancels answered 2xx (after their commit), and
                           OTA pushes answered Success (once durable in Kafka)
  operations_per_second    operations completed per second, whatever the outcome
  p50/p95/p99_commit_ms    request to response of those writes, in ms
  p95_read_ms              request to response of searches and views, in ms
  errors                   unexpected statuses and transport errors, listed by
                           kind (operation, status, problem code)
  no_availability          409 "no availability" answers: expected, not errors
  new_reservations_per_second
                           creates answered 201 and OTA pushes answered
                           Success, per second
  pms_delivered_per_second bookings the Apaleo simulator received during the
                           window, per second: beside the line above, whether
                           delivery keeps up with commits
  bare_postgres_tps        the bare booking transaction per second, at its
                           best concurrency (bare_postgres_clients)
  ratio_to_bare            reservations_per_second / bare_postgres_tps
  wal_syncs_per_reservation
                           WAL flushes (pg_stat_wal.wal_sync) during the
                           window per reservation written in it; the counter
                           is the whole server's, so anything else running
                           on it counts too
  p95_pms_ms               from a create's 201 to the Apaleo simulator
                           receiving its booking, in ms
  p95_ari_ms               from a create's 201 to the channel simulator
                           receiving the new availability of every night it
                           took, in ms, close-outs (the last unit sold)
                           included
  consumer_lag             records not yet consumed, summed over every
                           consumer group and partition, after the drain
  outbox_backlog           outbox events not yet published, after the drain
  run.operations           per kind of operation: counts, and p50_ms and
                           p95_ms of the successful ones
  run.cpu                  CPU used over the window, in CPUs and in ms per
                           reservation: by the bench's process (hub, broker,
                           simulators, load generator) and, when the server
                           runs on this machine, by PostgreSQL; beside the
                           bare baseline's postgres_cpu_ms_per_transaction,
                           how much of PostgreSQL a reservation takes (a note
                           gives the most PostgreSQL alone could take)

Progress goes to stderr every few seconds, the report to stdout (a table, or
JSON with --json). The exit status is 0 when the run completed, whatever the
figures; it is non-zero, with what to do, when the run could not be set up.
The pool sizes are database.max_conns (env ROOMWIRE_DB_MAX_CONNS), the
booking API's, and database.delivery_conns (ROOMWIRE_DB_DELIVERY_CONNS),
the pool of what happens after the commit. The bench
needs nothing but DATABASE_URL: it ignores http.addr and http.admin_key, and
listens on a free port with a random admin key of its own.
` + cli.ConfigHelp

// benchOptions are the command line of roomwire bench.
type benchOptions struct {
	duration     time.Duration
	warmup       time.Duration
	bareDuration time.Duration
	bareClients  []int
	drain        time.Duration
	rate         int
	max          bool
	properties   int
	concurrency  int
	json         bool
	keepDB       bool
	configPath   string
	profileDir   string // CPU, block and mutex profiles of the measured window go here
}

func parseBenchFlags(args []string, stdout io.Writer) (benchOptions, error) {
	fs := cli.NewFlags("bench", benchUsageLine, benchDescription)
	fs.SetOutput(stdout) // --help
	var o benchOptions
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "length of the measured window")
	fs.DurationVar(&o.warmup, "warmup", 3*time.Second, "load before the measured window, not counted (connections, caches, plans)")
	fs.DurationVar(&o.bareDuration, "bare-duration", 3*time.Second, "length of each concurrency of the bare PostgreSQL baseline, before and after the load")
	bareClients := fs.String("bare-clients", "1,8,32", "concurrencies of the bare PostgreSQL baseline, comma-separated")
	fs.StringVar(&o.profileDir, "profile", "", "write CPU, block and mutex profiles of the hub's process over the measured window to `DIR`")
	fs.DurationVar(&o.drain, "drain", 30*time.Second, "longest wait after the load for the outbox, the consumers and the partners to catch up")
	fs.IntVar(&o.rate, "rate", 0, "open loop: start `N` operations per second on a fixed clock")
	fs.BoolVar(&o.max, "max", false, "closed loop: --concurrency workers as fast as answers come (the default)")
	fs.IntVar(&o.properties, "properties", 50, "properties to spread the load over")
	fs.IntVar(&o.concurrency, "concurrency", 0, "workers with --max (default 8 per CPU), most operations in flight with --rate (default 64)")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON")
	fs.BoolVar(&o.keepDB, "keep-db", false, "keep the bench's databases (the hub's and the bare baseline's) instead of dropping them")
	cfgPath := cli.ConfigFlag(fs)
	if err := cli.ParseFlags(fs, args); err != nil {
		return o, err
	}
	o.configPath = *cfgPath
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	var bad []string
	switch {
	case explicit["rate"] && explicit["max"]:
		bad = append(bad, "--rate and --max exclude each other: choose an open loop at a fixed rate or a closed loop at full speed")
	case explicit["rate"] && o.rate < 1:
		bad = append(bad, "--rate must be at least 1 operation per second")
	}
	o.max = o.rate == 0
	if o.duration < time.Second {
		bad = append(bad, "--duration must be at least 1s")
	}
	if o.warmup < 0 {
		bad = append(bad, "--warmup must not be negative")
	}
	if o.drain < 0 {
		bad = append(bad, "--drain must not be negative")
	}
	if o.bareDuration < 100*time.Millisecond {
		bad = append(bad, "--bare-duration must be at least 100ms")
	}
	clients, err := parseClients(*bareClients)
	if err != nil {
		bad = append(bad, "--bare-clients: "+err.Error())
	}
	o.bareClients = clients
	if o.properties < 1 || o.properties > 10000 {
		bad = append(bad, "--properties must be between 1 and 10000")
	}
	if !explicit["concurrency"] {
		o.concurrency = defaultConcurrency(o.max)
	}
	if o.concurrency < 1 || o.concurrency > 10000 {
		bad = append(bad, "--concurrency must be between 1 and 10000")
	}
	if len(bad) > 0 {
		return o, cli.BadUsage(fs, "%s", strings.Join(bad, "; "))
	}
	return o, nil
}

// defaultConcurrency is the closed loop's workers, or the open loop's most
// operations in flight. Eight workers per CPU reach the most the hub
// commits on the development machine (16 on 2 CPUs: 282 reservations/s,
// against 232 with 8 and 242 with 32); more only queue in the hub, adding
// to every response time and taking CPU from delivery. The open loop's
// slots only cap what is in flight when the hub falls behind the clock.
func defaultConcurrency(closedLoop bool) int {
	if closedLoop {
		return 8 * runtime.GOMAXPROCS(0)
	}
	return 64
}

// runBench is roomwire bench: set up, load, baseline, report.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	stderr = rig.NewSyncWriter(stderr)
	o, err := parseBenchFlags(args, stdout)
	if err != nil {
		return err
	}
	cfg, err := config.Load(o.configPath)
	if err != nil {
		return err
	}
	say := func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }

	// A fresh database, so that figures never depend on what an earlier run
	// or a real installation left behind.
	serverURL := cfg.Database.URL
	dbName, dbURL, err := database.CreateScratch(ctx, serverURL, "bench")
	if err != nil {
		return err
	}
	defer func() {
		if o.keepDB {
			say("kept database %s (drop it with: DROP DATABASE %s)", dbName, dbName)
			return
		}
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := database.DropScratch(dctx, serverURL, dbName); err != nil {
			say("could not drop database %s: %v", dbName, err)
		}
	}()
	bare, err := startBareBaseline(ctx, serverURL, o.bareClients, o.bareDuration)
	if err != nil {
		return err
	}
	defer func() {
		if o.keepDB {
			say("kept database %s (drop it with: DROP DATABASE %s)", bare.name, bare.name)
			return
		}
		if err := bare.drop(); err != nil {
			say("could not drop database %s: %v", bare.name, err)
		}
	}()
	stateDir, err := os.MkdirTemp("", "roomwire-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stateDir)

	cfg.Database.URL = dbURL
	yes := true
	cfg.Database.MigrateOnStart = &yes // the database is new: it must be migrated
	cfg.StateDir = stateDir            // never share a serve's local state
	if cfg.UsesEmbeddedBroker() {
		cfg.Kafka.EmbeddedAddr = "127.0.0.1:0" // nor a running serve's broker port
	}
	cfg.HTTP.AdminKey = rig.RandomHex(24) // the bench is the only caller; the key never leaves the process
	logger := benchLogger(cfg.Log, stderr)

	// The partners are the bench's own simulators, so that the figures never
	// depend on (or write to) a real partner named in the configuration.
	props := benchPropertyIDs(o.properties)
	partners, err := startBenchPartners(props, logger)
	if err != nil {
		return fmt.Errorf("start the partner simulators: %w", err)
	}
	defer partners.close()
	cfg.Connectors = partners.connectorConfig()
	cfg.MappingsFile = ""
	cfg.Payments = payments.Config{}

	say("database %s on %s, %d properties, pool of %d connections", dbName, database.ServerAddr(dbURL), o.properties, cfg.Database.MaxConns)
	h, err := hub.Start(ctx, cfg, logger, hub.Options{Migrate: true})
	if err != nil {
		return fmt.Errorf("start the hub: %w", err)
	}
	defer h.Close()
	for name, list := range partners.mappings() {
		if err := h.Resources.Mappings.Replace(ctx, name, list); err != nil {
			return fmt.Errorf("store the %s mappings: %w", name, err)
		}
	}
	// The backbone, the relay, the consumers and the ARI fan-out run for the
	// whole bench, as in serve; the partners see every booking the load makes.
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- h.Run(runCtx) }()
	stopHub := sync.OnceFunc(func() {
		stopRun()
		if err := <-runDone; err != nil {
			say("the hub's backbone stopped with: %v", err)
		}
	})
	defer stopHub()
	select {
	case <-h.Backbone.Running():
	case err := <-runDone:
		runDone <- err
		return fmt.Errorf("start the event backbone: %w", err)
	case <-time.After(60 * time.Second):
		return errors.New("the event backbone did not start within 60s; is the Kafka broker reachable?")
	case <-ctx.Done():
		return ctx.Err()
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen on a free 127.0.0.1 port: %w", err)
	}
	// The same server settings as serveHTTP's.
	srv := &http.Server{
		Handler:           h.API,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      cfg.HTTP.RequestTimeout + 5*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed at Shutdown
	client := benchClient(o.concurrency, cfg.HTTP.RequestTimeout)
	stopServer := sync.OnceFunc(func() {
		client.CloseIdleConnections()
		sctx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
		defer cancel()
		srv.Shutdown(sctx) //nolint:errcheck // in-flight requests have all been answered
	})
	defer stopServer()

	l := &benchLoad{
		opts:     o,
		client:   client,
		base:     "http://" + ln.Addr().String(),
		auth:     "Bearer " + cfg.HTTP.AdminKey,
		otaAuth:  "Basic " + base64.StdEncoding.EncodeToString([]byte(partners.otaUser+":"+partners.otaPassword)),
		runID:    rig.RandomHex(4),
		first:    canonical.DateOf(time.Now().UTC()).AddDays(1),
		props:    props,
		stderr:   stderr,
		delivery: partners.delivery,
		backlog:  func(ctx context.Context) (int64, error) { n, _, err := h.Backbone.Relay().Backlog(ctx); return n, err },
	}
	setupStart := time.Now()
	if err := l.setUp(ctx); err != nil {
		return fmt.Errorf("set up properties over the API: %w", err)
	}
	say("set up %d properties with rates for %d nights in %s", o.properties, benchNights, time.Since(setupStart).Round(time.Millisecond))
	// Defining properties and rates sends rates to the channel; let that
	// settle so that the load starts on an idle backbone.
	if st, err := drainBackbone(ctx, h, o.drain); err != nil {
		return fmt.Errorf("wait for the set-up's events: %w", err)
	} else if !st.drained() {
		say("the set-up's events had not all reached the partners after %s: %s", o.drain, st)
	}

	// The bare baseline runs while the hub is idle: now, before the load,
	// and after the drain with the hub stopped. Both show, so that a change
	// in what else the machine runs can be seen rather than skew the ratio.
	m := benchMeasured{maxConns: cfg.Database.MaxConns, deliveryConns: cfg.Database.DeliveryConns}
	say("bare PostgreSQL baseline in %s before the load, the hub idle: %s at each of %s clients", bare.name, o.bareDuration, joinInts(o.bareClients))
	if m.bare[0], err = bare.run(ctx); err != nil {
		return err
	}

	profiles, err := newWindowProfiles(o.profileDir)
	if err != nil {
		return err
	}
	defer profiles.stop() //nolint:errcheck // stopped and checked below; this is for an interrupted run
	var walStart, walEnd int64
	var walErr error
	var ariMessagesStart int
	var windowStarted time.Time
	var cpuStart cpuSample
	// A hub that has run for a while has planner statistics on its tables.
	// A fresh database gets its first when autovacuum comes by, up to a
	// minute in; until then PostgreSQL plans the tables that grow under
	// load (the outbox, dedup records, the timeline, inventory) as the empty
	// tables they were, and keeps those plans: a sequential scan of the
	// outbox for every published mark. So that the window measures the hub
	// as it runs, not a fresh database's first minute, the bench analyzes
	// the database halfway through the warm-up. Without a warm-up there is
	// nothing to analyze yet, and an ANALYZE would run in the window.
	var analyzed error
	if o.warmup > 0 {
		l.atMidWarmup = func() {
			_, analyzed = h.Pool.Exec(ctx, "ANALYZE")
		}
	}
	l.atWindowStart = func() {
		walStart, walErr = walSyncs(ctx, h.Pool)
		cpuStart = sampleCPU(ctx, h.Pool)
		ariMessagesStart, windowStarted = partners.ota.ARI.Messages(), time.Now()
		profiles.start()
	}
	l.atWindowEnd = func() {
		n, err := walSyncs(ctx, h.Pool)
		walEnd, walErr = n, cmp.Or(walErr, err)
		m.cpu = sampleCPU(ctx, h.Pool).since(cpuStart)
	}
	if o.max {
		say("load: closed loop, %d workers, %s warm-up then %s measured", o.concurrency, o.warmup, o.duration)
	} else {
		say("load: open loop, %d operations/s, at most %d in flight, %s warm-up then %s measured", o.rate, o.concurrency, o.warmup, o.duration)
	}
	m.load = l.run(ctx, stderr)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted during the load; no report")
	}
	if err := profiles.stop(); err != nil {
		return fmt.Errorf("write the profiles: %w", err)
	}
	m.analyzeErr = analyzed
	if walErr == nil {
		m.walSyncs = ptr(walEnd - walStart)
	} else {
		m.walErr = walErr
	}
	stopServer()
	say("waiting up to %s for the outbox, the consumers and the partners to catch up", o.drain)
	if m.drained, err = drainBackbone(ctx, h, o.drain); err != nil {
		return fmt.Errorf("after the load: %w", err)
	}
	drainEnd := time.Now()
	m.ariMessages = partners.ota.ARI.Messages() - ariMessagesStart
	// The availability events of the same span, which those messages told.
	h.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE topic = $1 AND created_at >= $2`, //nolint:errcheck // only for the report
		canonical.TopicAvailabilityEvents, windowStarted).Scan(&m.ariEvents)
	say("after %s: %s", m.drained.waited.Round(time.Millisecond), m.drained)
	if n, err := walSyncs(ctx, h.Pool); err == nil && m.walSyncs != nil {
		m.walSyncsToDrainEnd = ptr(n - walStart)
	}
	stopHub()

	say("bare PostgreSQL baseline after the drain, with the hub stopped")
	if m.bare[1], err = bare.run(ctx); err != nil {
		return err
	}

	// Channel bookings are applied after their push was answered; count
	// those of this run that made it to the store.
	h.Pool.QueryRow(ctx, `SELECT count(*) FROM reservations WHERE channel = $1 AND external_id LIKE $2`, //nolint:errcheck // only for the report
		ota.Name, "BENCH-"+l.runID+"-%").Scan(&m.otaStored)
	m.otaAccepted = l.otaAccepted.Load()
	m.delivery = l.delivery.results(drainEnd, m.load.windowStart, m.load.windowEnd)
	rep := buildReport(o, m)
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printReport(stdout, o, rep)
	return nil
}

// benchLogger formats every record the hub logs, as serve would, but prints
// only warnings and errors: an access log line per request would bury the
// progress lines, and skipping the formatting would flatter the figures.
func benchLogger(cfg config.Log, stderr io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.Level)) //nolint:errcheck // validated by config
	opts := &slog.HandlerOptions{Level: level}
	newHandler := func(w io.Writer) slog.Handler {
		if cfg.Format == "json" {
			return slog.NewJSONHandler(w, opts)
		}
		return slog.NewTextHandler(w, opts)
	}
	return slog.New(splitHandler{quiet: newHandler(io.Discard), loud: newHandler(stderr)})
}

// splitHandler sends records below warning level to quiet, the rest to loud.
type splitHandler struct{ quiet, loud slog.Handler }

func (s splitHandler) Enabled(ctx context.Context, l slog.Level) bool { return s.loud.Enabled(ctx, l) }

func (s splitHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		return s.loud.Handle(ctx, r)
	}
	return s.quiet.Handle(ctx, r)
}

func (s splitHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return splitHandler{quiet: s.quiet.WithAttrs(a), loud: s.loud.WithAttrs(a)}
}

func (s splitHandler) WithGroup(name string) slog.Handler {
	return splitHandler{quiet: s.quiet.WithGroup(name), loud: s.loud.WithGroup(name)}
}

// benchClient keeps one connection per worker alive and never opens more,
// so that the figures measure the hub and not TCP handshakes.
func benchClient(concurrency int, requestTimeout time.Duration) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil, // loopback; never through a proxy from the environment
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:          concurrency,
			MaxIdleConnsPerHost:   concurrency,
			MaxConnsPerHost:       concurrency,
			IdleConnTimeout:       90 * time.Second,
			DisableCompression:    true,
			ResponseHeaderTimeout: requestTimeout + 5*time.Second,
		},
		// Past the API's own request timeout, so that a slow request shows
		// as the API's 503 rather than as a client-side timeout.
		Timeout: requestTimeout + 10*time.Second,
	}
}

// windowProfiles profiles the hub's process over the measured window: CPU,
// and blocking and mutex contention, whose sampling is switched on only for
// the window, and only when profiles were asked for.
type windowProfiles struct {
	dir     string
	cpu     *os.File
	started bool
	stopped bool
	err     error // of starting the CPU profile
}

// newWindowProfiles makes dir and the CPU profile's file, so that a bad
// --profile fails before the load; an empty dir profiles nothing.
func newWindowProfiles(dir string) (*windowProfiles, error) {
	p := &windowProfiles{dir: dir}
	if dir == "" {
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--profile: %w", err)
	}
	var err error
	if p.cpu, err = os.Create(filepath.Join(dir, "cpu.pprof")); err != nil {
		return nil, fmt.Errorf("--profile: %w", err)
	}
	return p, nil
}

func (p *windowProfiles) start() {
	if p.cpu == nil || p.started {
		return
	}
	p.started = true
	p.err = pprof.StartCPUProfile(p.cpu)                    // fails only when another CPU profile runs in this process
	runtime.SetBlockProfileRate(int(10 * time.Microsecond)) // one sample per 10µs blocked
	runtime.SetMutexProfileFraction(10)                     // one contention event in 10
}

// stop ends the profiles and writes cpu.pprof, block.pprof and mutex.pprof.
func (p *windowProfiles) stop() error {
	if p.cpu == nil || p.stopped {
		return nil
	}
	p.stopped = true
	if p.started {
		pprof.StopCPUProfile()
		runtime.SetBlockProfileRate(0)
		runtime.SetMutexProfileFraction(0)
	}
	err := cmp.Or(p.err, p.cpu.Close())
	for _, name := range []string{"block", "mutex"} {
		f, ferr := os.Create(filepath.Join(p.dir, name+".pprof"))
		if ferr == nil {
			ferr = pprof.Lookup(name).WriteTo(f, 0)
			ferr = cmp.Or(ferr, f.Close())
		}
		err = cmp.Or(err, ferr)
	}
	return err
}

// The shape of the generated load.
const (
	benchNights     = 365                   // nights with rates, from tomorrow
	benchMaxStay    = 7                     // modifies lengthen stays up to this many nights
	benchScarceDays = 14                    // scarce room types are booked for the next two weeks only
	benchLate       = 10 * time.Millisecond // an open-loop operation sent later than this after its time is late
)

// opKind is one kind of operation of the mix.
type opKind int

const (
	opCreate opKind = iota
	opOTA           // a channel's OTA_HotelResNotifRQ push of a new booking
	opModify
	opCancel
	opSearch
	opView
	numOps
)

var opNames = [numOps]string{"create", "ota_push", "modify", "cancel", "search", "view"}

// write reports whether the operation changes a reservation.
func (k opKind) write() bool { return k <= opCancel }

// success is the status the operation answers when it did what it asked.
func (k opKind) success() int {
	if k == opCreate {
		return http.StatusCreated
	}
	return http.StatusOK
}

// opDeck is the mix: 40% create, 10% OTA push, 10% modify, 10% cancel, 20%
// search, 10% view. Operations are dealt from it in turn, so that any ten
// operations in a row hold the whole mix: a short or slow run measures
// every kind, which random draws would leave to chance.
var opDeck = [10]opKind{opCreate, opOTA, opSearch, opCreate, opModify, opView, opCreate, opSearch, opCancel, opCreate}

// nextOp deals the next operation of the mix.
func (l *benchLoad) nextOp() opKind {
	return opDeck[(l.dealt.Add(1)-1)%int64(len(opDeck))]
}

// benchLoad is the load generator and what it knows of the bookings it made.
type benchLoad struct {
	opts     benchOptions
	client   *http.Client
	base     string
	auth     string
	otaAuth  string         // the channel's credentials for its pushes
	runID    string         // keeps idempotency keys of runs on a kept database apart
	first    canonical.Date // the first night with rates
	props    []string
	stderr   io.Writer
	delivery *benchDelivery
	backlog  func(ctx context.Context) (int64, error) // outbox rows not yet published, for the progress line

	// Called halfway through the warm-up, and as the measured window
	// starts and ends (not at all when the load is interrupted before), for
	// what is measured over the window.
	atMidWarmup, atWindowStart, atWindowEnd func()

	booked      bookedPool
	seq         atomic.Int64
	dealt       atomic.Int64 // operations dealt from opDeck
	otaAccepted atomic.Int64 // OTA pushes answered Success, warm-up included
	seen        sync.Map     // error kinds already described on stderr

	// For the progress line: every operation, warm-up included.
	ops, errs, late, skipped atomic.Int64
	writes                   histogram
}

// bookedRes is a reservation the load made and may modify, cancel or view.
type bookedRes struct {
	id       string
	version  int
	property string
	stay     rig.Stay
}

// bookedPool holds the live reservations. A modify or cancel takes its
// reservation out while it runs, so that two never race for one version.
type bookedPool struct {
	mu    sync.Mutex
	items []bookedRes
}

func (p *bookedPool) add(b bookedRes) {
	p.mu.Lock()
	p.items = append(p.items, b)
	p.mu.Unlock()
}

func (p *bookedPool) take(rng *mrand.Rand) (bookedRes, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.items)
	if n == 0 {
		return bookedRes{}, false
	}
	i := rng.IntN(n)
	b := p.items[i]
	p.items[i] = p.items[n-1]
	p.items = p.items[:n-1]
	return b, true
}

func (p *bookedPool) peek(rng *mrand.Rand) (bookedRes, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.items) == 0 {
		return bookedRes{}, false
	}
	return p.items[rng.IntN(len(p.items))], true
}

// recorder is what one worker (or one in-flight slot of the open loop)
// measured. Only its owner touches it, so it needs no lock.
type recorder struct {
	rng     *mrand.Rand
	commits []time.Duration         // committed writes
	reads   []time.Duration         // successful searches and views
	byKind  [numOps][]time.Duration // successful operations, by kind
	counts  [numOps]benchOpCount
	errors  map[string]int64
}

// benchOpCount counts the outcomes of one kind of operation.
type benchOpCount struct {
	Count          int64 `json:"count"`
	OK             int64 `json:"ok"`
	NoAvailability int64 `json:"no_availability"`
	Errors         int64 `json:"errors"`
	// P50MS and P95MS are the request to response times of the
	// successful ones: which kind of operation makes the tail.
	P50MS float64 `json:"p50_ms"`
	P95MS float64 `json:"p95_ms"`
}

func newRecorder(capacity int) *recorder {
	return &recorder{
		rng:     mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64())),
		commits: make([]time.Duration, 0, capacity),
		reads:   make([]time.Duration, 0, capacity/2),
		errors:  map[string]int64{},
	}
}

// histogram counts durations in buckets 5% wide, without locks, for the
// progress line; the report computes exact percentiles from the recorders.
type histogram struct {
	n       atomic.Int64
	buckets [400]atomic.Int64 // bucket i holds [1.05^(i-1), 1.05^i) µs; the last, everything longer
}

var histGrowth = math.Log(1.05)

func (h *histogram) add(d time.Duration) {
	i := 0
	if us := float64(d) / float64(time.Microsecond); us >= 1 {
		i = min(int(math.Log(us)/histGrowth)+1, len(h.buckets)-1)
	}
	h.buckets[i].Add(1)
	h.n.Add(1)
}

// quantile returns the upper bound of the bucket holding quantile q.
func (h *histogram) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	var seen int64
	for i := range h.buckets {
		if seen += h.buckets[i].Load(); seen >= rank {
			return time.Duration(math.Pow(1.05, float64(i)) * float64(time.Microsecond))
		}
	}
	return time.Duration(math.Pow(1.05, float64(len(h.buckets)-1)) * float64(time.Microsecond))
}

// The catalogue of every bench property: two room types with plenty of
// units, and a suite with one unit that runs out.
var (
	benchRoomTypes = []map[string]any{
		{"code": "DBL", "name": "Double", "units": 400, "max_occupancy": 3},
		{"code": "TWN", "name": "Twin", "units": 400, "max_occupancy": 2},
		{"code": "STE", "name": "Suite", "units": 1, "max_occupancy": 4},
	}
	benchRatePlans = []map[string]any{
		{"code": "FLEX", "room_type": "DBL", "name": "Flexible"},
		{"code": "NREF", "room_type": "DBL", "name": "Non-refundable"},
		{"code": "TWIN", "room_type": "TWN", "name": "Twin flexible"},
		{"code": "SUITE", "room_type": "STE", "name": "Suite flexible"},
	}
	benchPrices = map[string]string{"FLEX": "120.00", "NREF": "99.00", "TWIN": "110.00", "SUITE": "450.00"}
	benchZones  = []string{"Europe/Lisbon", "Europe/Berlin", "America/New_York", "Asia/Tokyo"}
)

// benchPropertyIDs names the bench's properties.
func benchPropertyIDs(n int) []string {
	props := make([]string, n)
	for i := range props {
		props[i] = fmt.Sprintf("H%04d", i+1)
	}
	return props
}

// setUp defines the properties and their rates through the API.
func (l *benchLoad) setUp(ctx context.Context) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     atomic.Int64
	)
	for range min(8, len(l.props)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(l.props) || ctx.Err() != nil {
					return
				}
				if err := l.setUpProperty(ctx, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

func (l *benchLoad) setUpProperty(ctx context.Context, i int) error {
	id := l.props[i]
	body, _ := json.Marshal(map[string]any{
		"name": "Bench Hotel " + id, "timezone": benchZones[i%len(benchZones)], "currency": "EUR",
		"room_types": benchRoomTypes, "rate_plans": benchRatePlans,
	})
	resp, err := l.send(ctx, "PUT", "/v1/properties/"+id, body)
	if err == nil && resp.status != http.StatusCreated && resp.status != http.StatusOK {
		err = fmt.Errorf("status %d %s", resp.status, resp.code)
	}
	if err != nil {
		return fmt.Errorf("PUT /v1/properties/%s: %w", id, err)
	}
	var updates []map[string]any
	for _, rp := range benchRatePlans {
		code := rp["code"].(string)
		updates = append(updates, map[string]any{
			"rate_plan": code, "from": l.first, "to": l.first.AddDays(benchNights - 1),
			"amount": benchPrices[code], "currency": "EUR",
		})
	}
	body, _ = json.Marshal(map[string]any{"updates": updates})
	resp, err = l.send(ctx, "PUT", "/v1/properties/"+id+"/rates", body)
	if err == nil && resp.status != http.StatusOK {
		err = fmt.Errorf("status %d %s", resp.status, resp.code)
	}
	if err != nil {
		return fmt.Errorf("PUT /v1/properties/%s/rates: %w", id, err)
	}
	return nil
}

// loadResult is what the load measured in its window.
type loadResult struct {
	recs                   []*recorder
	window                 time.Duration
	windowStart, windowEnd time.Time
	late, skipped          int64
}

// run generates the load: warm-up, then the measured window, then it waits
// for the operations in flight.
func (l *benchLoad) run(ctx context.Context, stderr io.Writer) loadResult {
	n := l.opts.concurrency
	perSecond := 2000 // a guess of --max throughput, only to size the recorders
	if !l.opts.max {
		perSecond = l.opts.rate
	}
	capacity := max(256, int(float64(perSecond)*l.opts.duration.Seconds()/float64(n)*1.2))
	recs := make([]*recorder, n)
	for i := range recs {
		recs[i] = newRecorder(capacity)
	}
	start := time.Now()
	windowStart := start.Add(l.opts.warmup)
	end := windowStart.Add(l.opts.duration)
	done := make(chan struct{})
	var progress sync.WaitGroup
	progress.Add(1)
	go func() {
		defer progress.Done()
		l.progress(stderr, start, windowStart, end, done)
	}()
	res := loadResult{recs: recs, window: l.opts.duration, windowStart: windowStart, windowEnd: end}
	progress.Add(1)
	go func() {
		defer progress.Done()
		l.markWindow(ctx, start.Add(l.opts.warmup/2), windowStart, end)
	}()
	if l.opts.max {
		l.closedLoop(ctx, recs, windowStart, end)
	} else {
		res.late, res.skipped = l.openLoop(ctx, recs, start, windowStart, end)
	}
	close(done)
	progress.Wait()
	return res
}

// markWindow calls atMidWarmup, atWindowStart and atWindowEnd on time.
func (l *benchLoad) markWindow(ctx context.Context, midWarmup, start, end time.Time) {
	for _, edge := range []struct {
		at time.Time
		fn func()
	}{{midWarmup, l.atMidWarmup}, {start, l.atWindowStart}, {end, l.atWindowEnd}} {
		if sleepFor(ctx, time.Until(edge.at)) != nil {
			return
		}
		if edge.fn != nil {
			edge.fn()
		}
	}
}

// closedLoop runs one worker per recorder, each sending its next request as
// soon as the last is answered.
func (l *benchLoad) closedLoop(ctx context.Context, recs []*recorder, windowStart, end time.Time) {
	var wg sync.WaitGroup
	for _, rec := range recs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				now := time.Now()
				if !now.Before(end) {
					return
				}
				l.do(ctx, rec, !now.Before(windowStart))
			}
		}()
	}
	wg.Wait()
}

// openLoop starts operations on a fixed clock, whatever the response times.
// The recorders double as the in-flight slots: an operation holds one while
// it runs, and one due when none is free is skipped rather than queued, so
// that a slow hub cannot slow the clock down.
func (l *benchLoad) openLoop(ctx context.Context, recs []*recorder, start, windowStart, end time.Time) (late, skipped int64) {
	slots := make(chan *recorder, len(recs))
	for _, r := range recs {
		slots <- r
	}
	interval := float64(time.Second) / float64(l.opts.rate)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var wg sync.WaitGroup
	for i := 0; ctx.Err() == nil; i++ {
		due := start.Add(time.Duration(float64(i) * interval))
		if !due.Before(end) {
			break
		}
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				continue
			case <-timer.C:
			}
		}
		inWindow := !due.Before(windowStart)
		select {
		case rec := <-slots:
			if time.Since(due) > benchLate {
				l.late.Add(1)
				if inWindow {
					late++
				}
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				l.do(ctx, rec, inWindow)
				slots <- rec
			}()
		default:
			l.skipped.Add(1)
			if inWindow {
				skipped++
			}
		}
	}
	timer.Stop()
	wg.Wait()
	return late, skipped
}

// progress prints a line every few seconds until done is closed.
func (l *benchLoad) progress(w io.Writer, start, windowStart, end time.Time, done <-chan struct{}) {
	every := 5 * time.Second
	if end.Sub(start) <= 20*time.Second {
		every = 2 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	lastOps, lastAt := int64(0), start
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			phase := "measuring"
			switch {
			case now.Before(windowStart):
				phase = "warm-up"
			case !now.Before(end):
				phase = "draining"
			}
			ops := l.ops.Load()
			line := fmt.Sprintf("bench: %4.0fs %-9s %7.0f ops/s  p95 write %.1f ms  errors %d",
				now.Sub(start).Seconds(), phase, float64(ops-lastOps)/now.Sub(lastAt).Seconds(),
				durationMS(l.writes.quantile(0.95)), l.errs.Load())
			if l.backlog != nil {
				qctx, cancel := context.WithTimeout(context.Background(), time.Second)
				if n, err := l.backlog(qctx); err == nil {
					line += fmt.Sprintf("  outbox %d", n)
				}
				cancel()
			}
			if !l.opts.max {
				line += fmt.Sprintf("  late %d  skipped %d", l.late.Load(), l.skipped.Load())
			}
			fmt.Fprintln(w, line)
			lastOps, lastAt = ops, now
		}
	}
}

// newStay draws a property and a stay: mostly doubles and twins over the
// whole year, and 5% suites in the next two weeks, which sell out.
func (l *benchLoad) newStay(rng *mrand.Rand) (string, rig.Stay) {
	st := rig.Stay{Adults: 2}
	days := benchNights - benchMaxStay - 1
	switch r := rng.IntN(100); {
	case r < 5:
		st.RoomType, st.RatePlan = "STE", "SUITE"
		days = benchScarceDays
	case r < 30:
		st.RoomType, st.RatePlan = "DBL", "FLEX"
	case r < 55:
		st.RoomType, st.RatePlan = "DBL", "NREF"
	default:
		st.RoomType, st.RatePlan = "TWN", "TWIN"
	}
	st.Arrival = l.first.AddDays(rng.IntN(days))
	st.Departure = st.Arrival.AddDays(1 + rng.IntN(4))
	return l.props[rng.IntN(len(l.props))], st
}

// newChannelStay draws a stay for a channel's push: a double or a twin, as
// channels book what they were told is available and the suite is not
// offered to them.
func (l *benchLoad) newChannelStay(rng *mrand.Rand) (string, rig.Stay) {
	for {
		if prop, st := l.newStay(rng); st.RoomType != "STE" {
			return prop, st
		}
	}
}

// do runs the next operation of the mix and records its outcome in rec
// when record is set.
func (l *benchLoad) do(ctx context.Context, rec *recorder, record bool) {
	kind := l.nextOp()
	var b bookedRes
	var have bool
	switch kind {
	case opModify, opCancel:
		b, have = l.booked.take(rec.rng)
	case opView:
		b, have = l.booked.peek(rec.rng)
	}
	if (kind == opModify || kind == opCancel || kind == opView) && !have {
		kind = opCreate // nothing booked yet
	}
	ifMatch := strconv.Quote(strconv.Itoa(b.version))
	var resp benchResponse
	var err error
	var track *ariWrite // the write's availability changes, followed to the channel
	next := b.stay
	switch kind {
	case opCreate:
		var body []byte
		b.property, b.stay = l.newStay(rec.rng)
		n := l.seq.Add(1)
		body, _ = json.Marshal(map[string]any{
			"property_id":   b.property,
			"channel":       canonical.ChannelDirect,
			"primary_guest": canonical.Guest{GivenName: "Ana", Surname: fmt.Sprintf("Guest%d", n), Email: fmt.Sprintf("guest%d@example.com", n)},
			"room_stays":    []rig.Stay{b.stay},
		})
		track = l.delivery.begin(stayKeys(b.property, b.stay, nil), closesOut(b.stay.RoomType))
		resp, err = l.send(ctx, "POST", "/v1/reservations", body, "Idempotency-Key", fmt.Sprintf("bench-%s-%d", l.runID, n))
	case opOTA:
		var body []byte
		b.property, b.stay = l.newChannelStay(rec.rng)
		body, err = l.otaBooking(b.property, b.stay, l.seq.Add(1))
		if err != nil {
			panic(err) // the bench built a message its own channel cannot parse: a bug of the bench
		}
		track = l.delivery.begin(stayKeys(b.property, b.stay, nil), false)
		resp, err = l.sendAs(ctx, l.otaAuth, "text/xml; charset=utf-8", "POST", "/v1/connectors/ota/reservations", body)
	case opModify:
		var body []byte
		if rec.rng.IntN(2) == 0 {
			body, _ = json.Marshal(map[string]any{"comments": []string{fmt.Sprintf("Change %d: late arrival", l.seq.Add(1))}})
		} else {
			// A new departure takes or gives back a night of inventory.
			if next.Arrival.DaysUntil(next.Departure) < benchMaxStay {
				next.Departure = next.Departure.AddDays(1)
			} else {
				next.Departure = next.Departure.AddDays(-1)
			}
			body, _ = json.Marshal(map[string]any{"room_stays": []rig.Stay{next}})
		}
		track = l.delivery.begin(stayKeys(b.property, next, &b.stay), false)
		resp, err = l.send(ctx, "PATCH", "/v1/reservations/"+b.id, body, "If-Match", ifMatch)
	case opCancel:
		track = l.delivery.begin(stayKeys(b.property, b.stay, nil), false)
		resp, err = l.send(ctx, "POST", "/v1/reservations/"+b.id+"/cancel", nil, "If-Match", ifMatch)
	case opSearch:
		prop, st := l.newStay(rec.rng)
		resp, err = l.send(ctx, "GET", fmt.Sprintf("/v1/properties/%s/availability?arrival=%s&departure=%s&adults=%d",
			prop, st.Arrival, st.Departure, st.Adults), nil)
	case opView:
		resp, err = l.send(ctx, "GET", "/v1/reservations/"+b.id, nil)
	}

	var ok, noAvailability bool
	var errKind string
	switch {
	case err != nil && ctx.Err() != nil:
		return // interrupted: not the hub's doing
	case err != nil:
		errKind = opNames[kind] + ": transport: " + transportKind(err)
		l.describeOnce(errKind, err.Error())
	case kind == opOTA && resp.status == http.StatusOK && resp.otaSuccess:
		ok = true
	case kind == opOTA:
		errKind = fmt.Sprintf("%s: %d %s", opNames[kind], resp.status, resp.code)
		l.describeOnce(errKind, resp.detail)
	case resp.status == kind.success() && (!kind.write() || resp.etag > 0) && (kind != opCreate || resp.id != ""):
		ok = true
	case resp.status == http.StatusConflict && resp.code == "no_availability" && (kind == opCreate || kind == opModify):
		noAvailability = true
	default:
		errKind = fmt.Sprintf("%s: %d %s", opNames[kind], resp.status, resp.code)
		l.describeOnce(errKind, resp.detail)
	}
	switch {
	case kind == opCreate && ok:
		b.id, b.version = resp.id, resp.etag
		l.booked.add(b)
	case kind == opOTA && ok:
		l.otaAccepted.Add(1)
	case kind == opModify && ok:
		b.version, b.stay = resp.etag, next
		l.booked.add(b)
	case kind == opModify && noAvailability:
		l.booked.add(b) // unchanged
	}
	// A failed modify or cancel may or may not have committed; its
	// reservation leaves the pool rather than cause version conflicts later.
	if track != nil {
		outcome := writeUnknown
		switch {
		case kind == opOTA:
			// Acknowledged once durable: it commits later, out of sight.
		case ok:
			outcome = writeCommitted
		case noAvailability:
			outcome = writeUnchanged
		}
		l.delivery.end(track, outcome, resp.end, resp.id, record && kind == opCreate)
	}

	l.ops.Add(1)
	if errKind != "" {
		l.errs.Add(1)
	}
	if ok && kind.write() {
		l.writes.add(resp.dur)
	}
	if !record {
		return
	}
	c := &rec.counts[kind]
	c.Count++
	switch {
	case ok:
		c.OK++
		rec.byKind[kind] = append(rec.byKind[kind], resp.dur)
		if kind.write() {
			rec.commits = append(rec.commits, resp.dur)
		} else {
			rec.reads = append(rec.reads, resp.dur)
		}
	case noAvailability:
		c.NoAvailability++
	default:
		c.Errors++
		rec.errors[errKind]++
	}
}

// describeOnce prints the first error of each kind with its detail, so that
// a run with errors says why without flooding the terminal.
func (l *benchLoad) describeOnce(kind, detail string) {
	if _, seen := l.seen.LoadOrStore(kind, true); !seen && l.stderr != nil {
		fmt.Fprintf(l.stderr, "bench: first %q: %s\n", kind, detail)
	}
}

// benchResponse is what the load needs of an answer.
type benchResponse struct {
	status     int
	etag       int    // the reservation version, from ETag
	id         string // of a created reservation
	code       string // of a problem document
	detail     string
	otaSuccess bool          // an OTA reply with Success
	dur        time.Duration // request to the end of the response body
	end        time.Time     // when the response body had been read
}

func (l *benchLoad) send(ctx context.Context, method, path string, body []byte, header ...string) (benchResponse, error) {
	return l.sendAs(ctx, l.auth, "application/json", method, path, body, header...)
}

// sendAs sends a request with the given Authorization and body type. OTA
// replies (XML) are read for their Success or Errors.
func (l *benchLoad) sendAs(ctx context.Context, auth, contentType, method, path string, body []byte, header ...string) (benchResponse, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, rd)
	if err != nil {
		return benchResponse{}, err
	}
	req.Header.Set("Authorization", auth)
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	start := time.Now()
	resp, err := l.client.Do(req)
	if err != nil {
		return benchResponse{dur: time.Since(start)}, err
	}
	out := benchResponse{status: resp.StatusCode}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
		var rs ota.ResNotifRS
		data, rerr := io.ReadAll(resp.Body)
		if _, derr := connectors.DecodeXML(data, &rs, ota.RootResNotifRS); derr == nil {
			out.otaSuccess = rs.Success != nil
			if len(rs.Errors) > 0 {
				out.code, out.detail = rs.Errors[0].Code, rs.Errors[0].Text
			}
		}
		resp.Body.Close()
		out.end = time.Now()
		out.dur = out.end.Sub(start)
		return out, rerr
	}
	if resp.StatusCode == http.StatusCreated || resp.StatusCode >= 400 {
		var doc struct {
			ID     string `json:"id"`
			Code   string `json:"code"`
			Detail string `json:"detail"`
		}
		json.NewDecoder(resp.Body).Decode(&doc) //nolint:errcheck // a missing id or code is judged by the caller
		out.id, out.code, out.detail = doc.ID, doc.Code, doc.Detail
	}
	// Read to the end, so that the connection goes back to the pool.
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	out.end = time.Now()
	out.dur = out.end.Sub(start)
	out.etag, _ = strconv.Atoi(strings.Trim(strings.TrimPrefix(resp.Header.Get("ETag"), "W/"), `"`))
	return out, err
}

// transportKind names a transport error without its addresses, so that
// errors of one kind add up.
func transportKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	return "other"
}

func durationMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchReport is the report. The figures' meanings are in --help and
// docs/benchmarks.md. Figures that may not be measurable are pointers: null
// when nothing could be measured, never a made-up number.
type benchReport struct {
	ReservationsPerSecond    float64          `json:"reservations_per_second"`
	NewReservationsPerSecond float64          `json:"new_reservations_per_second"`
	PMSDeliveredPerSecond    float64          `json:"pms_delivered_per_second"`
	OperationsPerSecond      float64          `json:"operations_per_second"`
	P50CommitMS              float64          `json:"p50_commit_ms"`
	P95CommitMS              float64          `json:"p95_commit_ms"`
	P99CommitMS              float64          `json:"p99_commit_ms"`
	P95ReadMS                float64          `json:"p95_read_ms"`
	Errors                   int64            `json:"errors"`
	ErrorsByKind             map[string]int64 `json:"errors_by_kind"`
	NoAvailability           int64            `json:"no_availability"`
	BarePostgresTPS          float64          `json:"bare_postgres_tps"`
	BarePostgresClients      int              `json:"bare_postgres_clients"`
	RatioToBare              float64          `json:"ratio_to_bare"`
	WALSyncsPerReservation   *float64         `json:"wal_syncs_per_reservation"`
	P95PMSMS                 *float64         `json:"p95_pms_ms"`
	P95ARIMS                 *float64         `json:"p95_ari_ms"`
	ConsumerLag              *int64           `json:"consumer_lag"`
	OutboxBacklog            int64            `json:"outbox_backlog"`
	Run                      benchRunInfo     `json:"run"`
	Notes                    []string         `json:"notes"`
}

// benchRunInfo says how the figures were made.
type benchRunInfo struct {
	Mode            string                  `json:"mode"` // "max" or "rate"
	Rate            int                     `json:"rate,omitempty"`
	Concurrency     int                     `json:"concurrency"`
	Properties      int                     `json:"properties"`
	WarmupSeconds   float64                 `json:"warmup_seconds"`
	DurationSeconds float64                 `json:"duration_seconds"`
	Late            int64                   `json:"late"`
	Skipped         int64                   `json:"skipped"`
	Operations      map[string]benchOpCount `json:"operations"`
	WALSyncs        *int64                  `json:"wal_syncs"` // pg_stat_wal.wal_sync over the window, server-wide
	// The same from the window's start to the drain's end: with the delivery
	// of the window's reservations, when the drain emptied the backlog.
	WALSyncsToDrainEnd *int64            `json:"wal_syncs_to_drain_end"`
	Bare               benchBareInfo     `json:"bare"`
	DBMaxConns         int32             `json:"db_max_conns"`
	DBDeliveryConns    int32             `json:"db_delivery_conns"`
	CPUs               int               `json:"cpus"`
	CPU                benchCPUInfo      `json:"cpu"`
	Delivery           benchDeliveryInfo `json:"delivery"`
}

// benchCPUInfo is the CPU used over the window: by the bench's process (the
// hub, the broker, the simulators and the load generator) and, when the
// server runs on this machine, by PostgreSQL (null otherwise).
type benchCPUInfo struct {
	ProcessCores             float64  `json:"process_cores"`
	ProcessMSPerReservation  *float64 `json:"process_ms_per_reservation"`
	PostgresCores            *float64 `json:"postgres_cores"`
	PostgresMSPerReservation *float64 `json:"postgres_ms_per_reservation"`
}

// benchBareInfo is every level of the bare PostgreSQL baseline.
type benchBareInfo struct {
	SecondsPerLevel float64     `json:"seconds_per_level"`
	Before          []bareLevel `json:"before"` // before the load, the hub idle
	After           []bareLevel `json:"after"`  // after the drain, the hub stopped
}

// benchDeliveryInfo says how the delivery figures were made.
type benchDeliveryInfo struct {
	DrainSeconds         float64  `json:"drain_seconds"` // waited after the load for the backlog to go
	Drained              bool     `json:"drained"`       // nothing was left when the wait ended
	ARIPending           int64    `json:"ari_pending"`   // ARI messages parked behind a channel's open breaker at the end
	PMSMeasured          int      `json:"pms_measured"`  // creates of the window the PMS received
	PMSMissing           int      `json:"pms_missing"`   // creates of the window it had not received at the end
	PMSReceivedInWindow  int      `json:"pms_received_in_window"`
	P50PMSMS             *float64 `json:"p50_pms_ms"`
	P99PMSMS             *float64 `json:"p99_pms_ms"`
	ARIMeasured          int      `json:"ari_measured"` // creates followed to the channel, close-outs included
	ARIMissing           int      `json:"ari_missing"`  // followed, but not heard of at the end
	ARINotFollowed       int      `json:"ari_not_followed"`
	P50ARIMS             *float64 `json:"p50_ari_ms"`
	P99ARIMS             *float64 `json:"p99_ari_ms"`
	CloseoutsMeasured    int      `json:"closeouts_measured"` // creates that sold a night's last unit, followed to the channel
	CloseoutsMissing     int      `json:"closeouts_missing"`
	CloseoutsNotFollowed int      `json:"closeouts_not_followed"`
	P95CloseoutMS        *float64 `json:"p95_closeout_ms"`
	// From the window's start to the drain's end: availability events
	// committed, and ARI messages the channel received for them (a push of
	// a property covers the events waiting in its lane).
	ARIEvents          int64 `json:"ari_events"`
	ARIChannelMessages int   `json:"ari_channel_messages"`
	OTAPushesAccepted  int64 `json:"ota_pushes_accepted"` // warm-up included
	OTABookingsStored  int64 `json:"ota_bookings_stored"` // of those, applied to the store by the end
}

// benchMeasured is everything a run measured, for the report.
type benchMeasured struct {
	load                   loadResult
	bare                   [2][]bareLevel // before the load, after the drain
	walSyncs               *int64         // over the window; nil when pg_stat_wal could not be read
	walSyncsToDrainEnd     *int64         // from the window's start to the drain's end
	walErr                 error
	analyzeErr             error // of the ANALYZE halfway through the warm-up
	maxConns               int32
	deliveryConns          int32
	delivery               deliveryResults
	drained                drainState
	otaAccepted, otaStored int64
	ariEvents              int64   // availability events from the window's start to the drain's end
	ariMessages            int     // ARI messages the channel received in the same span
	cpu                    cpuUsed // over the window
}

func buildReport(o benchOptions, m benchMeasured) benchReport {
	res, del, drained := m.load, m.delivery, m.drained
	var commits, reads []time.Duration
	var counts [numOps]benchOpCount
	var byKind [numOps][]time.Duration
	rep := benchReport{ErrorsByKind: map[string]int64{}}
	for _, rec := range res.recs {
		commits = append(commits, rec.commits...)
		reads = append(reads, rec.reads...)
		for k := range counts {
			byKind[k] = append(byKind[k], rec.byKind[k]...)
			c := rec.counts[k]
			counts[k].Count += c.Count
			counts[k].OK += c.OK
			counts[k].NoAvailability += c.NoAvailability
			counts[k].Errors += c.Errors
		}
		for kind, n := range rec.errors {
			rep.ErrorsByKind[kind] += n
			rep.Errors += n
		}
	}
	slices.Sort(commits)
	slices.Sort(reads)
	secs := res.window.Seconds()
	var ops int64
	rep.Run = benchRunInfo{
		Mode: "max", Concurrency: o.concurrency, Properties: o.properties,
		WarmupSeconds: o.warmup.Seconds(), DurationSeconds: secs, Late: res.late, Skipped: res.skipped,
		Operations: map[string]benchOpCount{}, WALSyncs: m.walSyncs, WALSyncsToDrainEnd: m.walSyncsToDrainEnd,
		Bare:       benchBareInfo{SecondsPerLevel: o.bareDuration.Seconds(), Before: m.bare[0], After: m.bare[1]},
		DBMaxConns: m.maxConns, DBDeliveryConns: m.deliveryConns, CPUs: runtime.GOMAXPROCS(0),
	}
	if !o.max {
		rep.Run.Mode, rep.Run.Rate = "rate", o.rate
	}
	for k, c := range counts {
		slices.Sort(byKind[k])
		c.P50MS, c.P95MS = rig.Round(percentileMS(byKind[k], 0.50), 3), rig.Round(percentileMS(byKind[k], 0.95), 3)
		rep.Run.Operations[opNames[k]] = c
		ops += c.Count
		rep.NoAvailability += c.NoAvailability
	}
	rep.ReservationsPerSecond = rig.Round(float64(len(commits))/secs, 1)
	rep.NewReservationsPerSecond = rig.Round(float64(counts[opCreate].OK+counts[opOTA].OK)/secs, 1)
	rep.PMSDeliveredPerSecond = rig.Round(float64(del.pmsInWindow)/secs, 1)
	rep.OperationsPerSecond = rig.Round(float64(ops)/secs, 1)
	rep.P50CommitMS = rig.Round(percentileMS(commits, 0.50), 3)
	rep.P95CommitMS = rig.Round(percentileMS(commits, 0.95), 3)
	rep.P99CommitMS = rig.Round(percentileMS(commits, 0.99), 3)
	rep.P95ReadMS = rig.Round(percentileMS(reads, 0.95), 3)
	if best, ok := bestBareLevel(m.bare[0], m.bare[1]); ok && best.TPS > 0 {
		rep.BarePostgresTPS, rep.BarePostgresClients = best.TPS, best.Clients
		rep.RatioToBare = rig.Round(float64(len(commits))/secs/best.TPS, 3)
	}
	if m.walSyncs != nil && len(commits) > 0 {
		rep.WALSyncsPerReservation = ptr(rig.Round(float64(*m.walSyncs)/float64(len(commits)), 3))
	}
	cpu := &rep.Run.CPU
	cpu.ProcessCores = rig.Round(m.cpu.process.Seconds()/secs, 2)
	cpu.ProcessMSPerReservation = roundMS(msPer(&m.cpu.process, int64(len(commits))))
	if m.cpu.postgres != nil {
		cpu.PostgresCores = ptr(rig.Round(m.cpu.postgres.Seconds()/secs, 2))
		cpu.PostgresMSPerReservation = roundMS(msPer(m.cpu.postgres, int64(len(commits))))
	}
	dl := &rep.Run.Delivery
	dl.DrainSeconds, dl.Drained, dl.ARIPending = rig.Round(drained.waited.Seconds(), 3), drained.drained(), drained.ariPending
	dl.PMSMeasured, dl.PMSMissing, dl.PMSReceivedInWindow = len(del.pms)-del.pmsMissing, del.pmsMissing, del.pmsInWindow
	dl.ARIMeasured, dl.ARIMissing, dl.ARINotFollowed = len(del.ari)-del.ariMissing, del.ariMissing, del.ariExcluded
	dl.CloseoutsMeasured, dl.CloseoutsMissing, dl.CloseoutsNotFollowed = len(del.closeouts)-del.closeoutsMissing, del.closeoutsMissing, del.closeoutsExcluded
	dl.OTAPushesAccepted, dl.OTABookingsStored = m.otaAccepted, m.otaStored
	dl.ARIEvents, dl.ARIChannelMessages = m.ariEvents, m.ariMessages
	if len(del.pms) > 0 {
		rep.P95PMSMS = ptr(rig.Round(percentileMS(del.pms, 0.95), 3))
		dl.P50PMSMS, dl.P99PMSMS = ptr(rig.Round(percentileMS(del.pms, 0.50), 3)), ptr(rig.Round(percentileMS(del.pms, 0.99), 3))
	}
	if len(del.ari) > 0 {
		rep.P95ARIMS = ptr(rig.Round(percentileMS(del.ari, 0.95), 3))
		dl.P50ARIMS, dl.P99ARIMS = ptr(rig.Round(percentileMS(del.ari, 0.50), 3)), ptr(rig.Round(percentileMS(del.ari, 0.99), 3))
	}
	if len(del.closeouts) > 0 {
		dl.P95CloseoutMS = ptr(rig.Round(percentileMS(del.closeouts, 0.95), 3))
	}
	if drained.lagErr == nil {
		rep.ConsumerLag = ptr(drained.lag)
	}
	rep.OutboxBacklog = drained.outbox
	rep.Notes = []string{
		fmt.Sprintf("the load generator, the embedded Kafka broker and the partner simulators run in the hub's process and share its %d CPUs (GOMAXPROCS) with PostgreSQL", runtime.GOMAXPROCS(0)),
		fmt.Sprintf("bare_postgres_tps: the bare booking transaction (3 nights of inventory UPDATE, a reservation INSERT, two outbox INSERTs, no triggers) on tables of its own, at %s clients for %s each, before the load (hub idle) and after the drain (hub stopped); the best: %d clients",
			joinInts(o.bareClients), o.bareDuration, rep.BarePostgresClients),
		fmt.Sprintf("p95_pms_ms: from the 201 of %d creates of the window to the Apaleo simulator receiving their bookings; p95_ari_ms: to the channel simulator receiving the new availability of every night, for the %d creates that could be told apart from other writes of the same nights (%d could not), of which %d close-outs (last unit sold: availability 0 reached the channel; %d could not be told apart)",
			len(del.pms), len(del.ari), del.ariExcluded, len(del.closeouts), del.closeoutsExcluded),
		"pms_delivered_per_second counts the bookings the Apaleo simulator received during the window, whenever they were made; new_reservations_per_second the creates and channel bookings accepted in it",
		fmt.Sprintf("consumer_lag and outbox_backlog are read after waiting %.1fs (at most --drain %s) for the backlog to go", drained.waited.Seconds(), o.drain),
	}
	if m.walSyncs != nil {
		rep.Notes = append(rep.Notes, "wal_syncs_per_reservation: pg_stat_wal.wal_sync over the window, divided by the reservations written in it; the counter is the whole server's, so whatever else runs on it (other databases, other clients) counts too, and work the window's reservations caused after it (a backlog still being delivered) does not")
		if m.walSyncsToDrainEnd != nil && len(commits) > 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("from the window's start to the drain's end (%.1fs), the delivery of a backlog included: %.2f WAL flushes per reservation of the window",
				drained.waited.Seconds(), float64(*m.walSyncsToDrainEnd)/float64(len(commits))))
		}
	} else {
		rep.Notes = append(rep.Notes, fmt.Sprintf("wal_syncs_per_reservation is unknown: %v", m.walErr))
	}
	rep.Notes = append(rep.Notes, cpuNote(rep))
	if m.analyzeErr != nil {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the hub's database could not be analyzed during the warm-up (%v): PostgreSQL may have planned the window's statements for the empty tables of a fresh database", m.analyzeErr))
	}
	if lo, hi := bestTPS(m.bare[0]), bestTPS(m.bare[1]); min(lo, hi) < 0.75*max(lo, hi) {
		rep.Notes = append(rep.Notes, fmt.Sprintf("bare PostgreSQL did %.0f tps at best before the load and %.0f after it: what else runs on this machine changed during the run, so ratio_to_bare is approximate", lo, hi))
	}
	for i, phase := range m.bare {
		for _, lv := range phase {
			if lv.Failed > 0 {
				rep.Notes = append(rep.Notes, fmt.Sprintf("%d bare baseline transactions failed at %d clients %s; the first: %v", lv.Failed, lv.Clients, [2]string{"before the load", "after the drain"}[i], lv.firstErr))
			}
		}
	}
	if drained.lagErr != nil {
		rep.Notes = append(rep.Notes, "consumer_lag could not be read: "+drained.lagErr.Error())
	}
	if !drained.drained() {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the backlog had not gone when the wait ended (%s): the hub's backbone did not keep up with the load's events", drained))
	}
	if del.pmsMissing > 0 || del.ariMissing > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d bookings had not reached the PMS and %d creates' availability had not reached the channel when the wait ended; they count as arriving then, so p95_pms_ms and p95_ari_ms are lower bounds", del.pmsMissing, del.ariMissing))
	}
	if del.pmsEarly+del.ariEarly > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d bookings reached the PMS and %d availability changes the channel before their 201 reached the load generator; they count as 0 ms", del.pmsEarly, del.ariEarly))
	}
	if dl.OTABookingsStored < dl.OTAPushesAccepted {
		rep.Notes = append(rep.Notes, fmt.Sprintf("of %d OTA pushes accepted (warm-up included), %d were in the store at the end", dl.OTAPushesAccepted, dl.OTABookingsStored))
	}
	if ops == 0 {
		rep.Notes = append(rep.Notes, "no operation started in the measured window: every worker was waiting for an answer from before it; the hub stalled (see the progress lines and the first errors on stderr) or --duration is shorter than its answers take")
	}
	if res.late+res.skipped > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the open loop fell behind --rate %d: %d operations were not sent because %d were in flight, and %d were sent more than %s after their time",
			o.rate, res.skipped, o.concurrency, res.late, benchLate))
	}
	return rep
}

// cpuNote says what the window's CPU went to and, when PostgreSQL's is
// known, the most reservations per second PostgreSQL alone could take at
// that cost per reservation, were the hub to cost nothing.
func cpuNote(rep benchReport) string {
	c := rep.Run.CPU
	note := fmt.Sprintf("cpu: over the window the bench's process (the hub, the broker, the simulators and the load generator) used %.2f CPUs", c.ProcessCores)
	if c.ProcessMSPerReservation != nil {
		note += fmt.Sprintf(", %.2f ms per reservation", *c.ProcessMSPerReservation)
	}
	if c.PostgresMSPerReservation == nil {
		return note + "; PostgreSQL's CPU is measured only when the server runs on this machine"
	}
	note += fmt.Sprintf(", and PostgreSQL %.2f CPUs, %.2f ms per reservation", *c.PostgresCores, *c.PostgresMSPerReservation)
	best, ok := bestBareLevel(rep.Run.Bare.Before, rep.Run.Bare.After)
	if !ok || best.PostgresCPUMSPerTransaction == nil || *best.PostgresCPUMSPerTransaction <= 0 || rep.BarePostgresTPS <= 0 {
		return note
	}
	bare := *best.PostgresCPUMSPerTransaction
	ceiling := float64(rep.Run.CPUs) * 1000 / *c.PostgresMSPerReservation
	return note + fmt.Sprintf(", against %.2f ms per bare transaction (%d clients): %.1f times as much. On %d CPUs and with the hub costing nothing, PostgreSQL alone could take at most %.0f reservations/s at that cost, %.2f of bare_postgres_tps",
		bare, best.Clients, *c.PostgresMSPerReservation/bare, rep.Run.CPUs, ceiling, ceiling/rep.BarePostgresTPS)
}

// bestTPS is the best rate of one phase of the bare baseline.
func bestTPS(levels []bareLevel) float64 {
	best, _ := bestBareLevel(levels)
	return best.TPS
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

func ptr[T any](v T) *T { return &v }

// percentileMS is the nearest-rank percentile of sorted durations, in ms.
func percentileMS(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := min(max(int(math.Ceil(p*float64(len(sorted))))-1, 0), len(sorted)-1)
	return durationMS(sorted[i])
}

func msOrDash(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f ms", *v)
}

// bareLevels is "1: 512, 8: 1680, 32: 2150" (clients: tps).
func bareLevels(levels []bareLevel) string {
	s := make([]string, len(levels))
	for i, lv := range levels {
		s[i] = fmt.Sprintf("%d: %.0f", lv.Clients, lv.TPS)
	}
	return strings.Join(s, ", ")
}

func printReport(w io.Writer, o benchOptions, rep benchReport) {
	mode := fmt.Sprintf("closed loop, %d workers", o.concurrency)
	if !o.max {
		mode = fmt.Sprintf("open loop at %d operations/s, at most %d in flight", o.rate, o.concurrency)
	}
	fmt.Fprintf(w, "Roomwire bench: %s, %d properties, %s measured after %s warm-up\n\n", mode, o.properties, o.duration, o.warmup)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "reservations/s\t%.1f\tcreates, modifies and cancels committed (2xx)\n", rep.ReservationsPerSecond)
	fmt.Fprintf(tw, "operations/s\t%.1f\tall operations, whatever the outcome\n", rep.OperationsPerSecond)
	fmt.Fprintf(tw, "commit p50 / p95 / p99\t%.1f / %.1f / %.1f ms\trequest to response of committed writes\n", rep.P50CommitMS, rep.P95CommitMS, rep.P99CommitMS)
	fmt.Fprintf(tw, "read p95\t%.1f ms\tsearches and views\n", rep.P95ReadMS)
	fmt.Fprintf(tw, "no availability\t%d\t409 answers: expected outcomes\n", rep.NoAvailability)
	fmt.Fprintf(tw, "errors\t%d\tunexpected statuses and transport errors\n", rep.Errors)
	fmt.Fprintf(tw, "new reservations/s\t%.1f\tcreates and channel bookings accepted\n", rep.NewReservationsPerSecond)
	fmt.Fprintf(tw, "delivered to the PMS/s\t%.1f\tbookings the Apaleo simulator received during the window\n", rep.PMSDeliveredPerSecond)
	fmt.Fprintf(tw, "bare PostgreSQL tps\t%.1f\tthe bare booking transaction, best at %d clients (before: %s; after: %s)\n",
		rep.BarePostgresTPS, rep.BarePostgresClients, bareLevels(rep.Run.Bare.Before), bareLevels(rep.Run.Bare.After))
	fmt.Fprintf(tw, "ratio to bare\t%.3f\treservations/s over bare PostgreSQL tps\n", rep.RatioToBare)
	walPer := "-"
	if rep.WALSyncsPerReservation != nil {
		walPer = fmt.Sprintf("%.2f", *rep.WALSyncsPerReservation)
	}
	fmt.Fprintf(tw, "WAL flushes/reservation\t%s\tpg_stat_wal.wal_sync over the window (whole server) per reservation\n", walPer)
	fmt.Fprintf(tw, "CPU ms/reservation\t%s / %s\tthe bench's process / PostgreSQL, over the window\n",
		msOrDash(rep.Run.CPU.ProcessMSPerReservation), msOrDash(rep.Run.CPU.PostgresMSPerReservation))
	fmt.Fprintf(tw, "PMS p95\t%s\tcreate's 201 to the Apaleo simulator receiving the booking\n", msOrDash(rep.P95PMSMS))
	fmt.Fprintf(tw, "ARI p95\t%s\tcreate's 201 to the channel simulator receiving its nights' availability, close-outs included\n", msOrDash(rep.P95ARIMS))
	fmt.Fprintf(tw, "close-out p95\t%s\tlast unit sold to the channel simulator receiving availability 0 (%d measured)\n",
		msOrDash(rep.Run.Delivery.P95CloseoutMS), rep.Run.Delivery.CloseoutsMeasured+rep.Run.Delivery.CloseoutsMissing)
	lag := "-"
	if rep.ConsumerLag != nil {
		lag = strconv.FormatInt(*rep.ConsumerLag, 10)
	}
	fmt.Fprintf(tw, "consumer lag\t%s\trecords not yet consumed, after %.1fs of drain\n", lag, rep.Run.Delivery.DrainSeconds)
	fmt.Fprintf(tw, "outbox backlog\t%d\tevents not yet published, after the drain\n", rep.OutboxBacklog)
	if !o.max {
		fmt.Fprintf(tw, "late / skipped\t%d / %d\toperations sent over %s late / not sent, all slots busy\n", rep.Run.Late, rep.Run.Skipped, benchLate)
	}
	tw.Flush()

	fmt.Fprintf(w, "\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "operation\tcount\tok\tno availability\terrors\t\n")
	for k := range numOps {
		c := rep.Run.Operations[opNames[k]]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", opNames[k], c.Count, c.OK, c.NoAvailability, c.Errors)
	}
	tw.Flush()
	if len(rep.ErrorsByKind) > 0 {
		fmt.Fprintf(w, "\nerrors by kind:\n")
		kinds := make([]string, 0, len(rep.ErrorsByKind))
		for k := range rep.ErrorsByKind {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			fmt.Fprintf(w, "  %-40s %d\n", k, rep.ErrorsByKind[k])
		}
	}
	fmt.Fprintf(w, "\nnotes:\n")
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "  - %s\n", n)
	}
}

// benchPartners are the partners of the bench's hub, each on its own
// 127.0.0.1 port: the Apaleo simulator as the PMS, and an OpenTravel
// channel simulator that takes the ARI fan-out. Their codes differ from
// Roomwire's, so every booking and availability change goes through the
// code mappings as it would with real partners.
type benchPartners struct {
	props                          []string
	apaleo                         *apaleosim.Sim
	ota                            *otasim.Sim
	servers                        []*http.Server
	apaleoURL, otaURL              string
	apaleoClient, apaleoSecret     string
	otaUser, otaPassword           string
	delivery                       *benchDelivery
	otaRoomTypes, otaRatePlans     map[string]string // Roomwire code to the channel's
	fromOTARoomType                map[string]string // the channel's room type code to Roomwire's
	otaHotelPrefix, apaleoIDPrefix string
}

// Partner codes of a bench property H0001: Apaleo knows it as AH0001 with
// unit groups AH0001-DBL and rate plans AH0001-FLEX; the channel as hotel
// OH0001 with room types DB, TW, SU and rate plans BAR, NRF, TWB, SUI.
const (
	benchApaleoPrefix = "A"
	benchOTAPrefix    = "O"
)

var (
	benchOTARoomTypes = map[string]string{"DBL": "DB", "TWN": "TW", "STE": "SU"}
	benchOTARatePlans = map[string]string{"FLEX": "BAR", "NREF": "NRF", "TWIN": "TWB", "SUITE": "SUI"}
	benchMinorPrices  = map[string]int64{"FLEX": 12000, "NREF": 9900, "TWIN": 11000, "SUITE": 45000}
)

// startBenchPartners starts the simulators with a catalogue for props.
func startBenchPartners(props []string, logger *slog.Logger) (*benchPartners, error) {
	p := &benchPartners{
		props: props, apaleoClient: "roomwire-bench", apaleoSecret: rig.RandomHex(16),
		otaUser: "bench-channel", otaPassword: rig.RandomHex(16),
		otaRoomTypes: benchOTARoomTypes, otaRatePlans: benchOTARatePlans, fromOTARoomType: map[string]string{},
	}
	for rw, ch := range benchOTARoomTypes {
		p.fromOTARoomType[ch] = rw
	}
	quiet := slog.New(slog.DiscardHandler)
	p.apaleo = apaleosim.New(apaleosim.Config{ClientID: p.apaleoClient, ClientSecret: p.apaleoSecret, Logger: quiet})
	for _, id := range props {
		ap := benchApaleoPrefix + id
		for _, rt := range benchRoomTypes {
			code := rt["code"].(string)
			p.apaleo.AddUnitGroup(apaleosim.UnitGroup{ID: ap + "-" + code, Property: ap, Units: rt["units"].(int)})
		}
		for _, rp := range benchRatePlans {
			code := rp["code"].(string)
			p.apaleo.AddRatePlan(apaleosim.RatePlan{ID: ap + "-" + code, Property: ap, UnitGroup: ap + "-" + rp["room_type"].(string),
				Price: canonical.NewMoney(benchMinorPrices[code], "EUR")})
		}
	}
	p.ota = otasim.New(otasim.Config{Logger: quiet})
	p.delivery = newBenchDelivery(func(hotel, roomType string) (string, string, bool) {
		prop, ok := strings.CutPrefix(hotel, benchOTAPrefix)
		rt, ok2 := p.fromOTARoomType[roomType]
		return prop, rt, ok && ok2
	})
	p.apaleo.ObserveBookings(p.delivery.pmsReceived)
	p.ota.ARI.ObserveAvailability(p.delivery.ariReceived)
	var err error
	if p.apaleoURL, err = p.serve(p.apaleo, logger); err != nil {
		p.close()
		return nil, err
	}
	if p.otaURL, err = p.serve(p.ota, logger); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *benchPartners) serve(h http.Handler, logger *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen on a free 127.0.0.1 port: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	p.servers = append(p.servers, srv)
	go srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed at Close
	return "http://" + ln.Addr().String(), nil
}

func (p *benchPartners) close() {
	for _, srv := range p.servers {
		srv.Close()
	}
	p.apaleo.Close()
}

// connectorConfig configures the hub's connectors for the simulators.
func (p *benchPartners) connectorConfig() map[string]map[string]any {
	return map[string]map[string]any{
		apaleo.Name: {"api_url": p.apaleoURL, "identity_url": p.apaleoURL, "client_id": p.apaleoClient, "client_secret": p.apaleoSecret},
		ota.Name: {"inbound_user": p.otaUser, "inbound_password": p.otaPassword, "ari_url": p.otaURL + "/ari",
			"rate_limit": benchChannelRateLimit},
	}
}

// benchChannelRateLimit is the requests per second the hub may send the
// bench's channel: what a channel's ARI endpoint allows a channel manager
// for 50 hotels (2 a second each). The connector's default (20) suits one
// small group's account; the bench's properties would queue behind it.
const benchChannelRateLimit = 100

// mappings are both partners' codes of every bench property.
func (p *benchPartners) mappings() map[string][]connectors.Mapping {
	out := map[string][]connectors.Mapping{}
	for _, id := range p.props {
		ap, oh := benchApaleoPrefix+id, benchOTAPrefix+id
		out[apaleo.Name] = append(out[apaleo.Name], connectors.Mapping{Kind: connectors.KindProperty, Partner: ap, Roomwire: id})
		out[ota.Name] = append(out[ota.Name], connectors.Mapping{Kind: connectors.KindProperty, Partner: oh, Roomwire: id})
		for _, rt := range benchRoomTypes {
			code := rt["code"].(string)
			out[apaleo.Name] = append(out[apaleo.Name], connectors.Mapping{Kind: connectors.KindRoomType, Property: id, Partner: ap + "-" + code, Roomwire: code})
			out[ota.Name] = append(out[ota.Name], connectors.Mapping{Kind: connectors.KindRoomType, Property: id, Partner: p.otaRoomTypes[code], Roomwire: code})
		}
		for _, rp := range benchRatePlans {
			code := rp["code"].(string)
			out[apaleo.Name] = append(out[apaleo.Name], connectors.Mapping{Kind: connectors.KindRatePlan, Property: id, Partner: ap + "-" + code, Roomwire: code})
			out[ota.Name] = append(out[ota.Name], connectors.Mapping{Kind: connectors.KindRatePlan, Property: id, Partner: p.otaRatePlans[code], Roomwire: code})
		}
	}
	return out
}

// otaBooking renders a new booking of the channel as OTA_HotelResNotifRQ, in
// the channel's codes and with its prices, as the channel would push it.
func (l *benchLoad) otaBooking(property string, st rig.Stay, n int64) ([]byte, error) {
	now := time.Now().UTC().Truncate(time.Second)
	stay := canonical.RoomStay{RoomType: benchOTARoomTypes[st.RoomType], RatePlan: benchOTARatePlans[st.RatePlan],
		Arrival: st.Arrival, Departure: st.Departure, Adults: st.Adults}
	for _, night := range canonical.Nights(st.Arrival, st.Departure) {
		stay.NightlyPrices = append(stay.NightlyPrices, canonical.NightlyPrice{Date: night, Price: canonical.NewMoney(benchMinorPrices[st.RatePlan], "EUR")})
	}
	r := &canonical.Reservation{
		PropertyID: benchOTAPrefix + property, ExternalID: fmt.Sprintf("BENCH-%s-%d", l.runID, n), CreatedAt: now, ModifiedAt: now,
		PrimaryGuest: canonical.Guest{GivenName: "Olga", Surname: fmt.Sprintf("Channel%d", n), Email: fmt.Sprintf("channel%d@example.com", n)},
		RoomStays:    []canonical.RoomStay{stay},
	}
	return ota.BuildResNotif(fmt.Sprintf("bench-%s-%d", l.runID, n), "Commit", r)
}

// ariKey is one room type and night of a property, in Roomwire's codes.
type ariKey struct {
	property, roomType string
	night              canonical.Date
}

// stayKeys returns the room type and nights whose availability a write of
// stay changes: every night of it, or, for a change from old, only the
// nights one of the two has and the other has not (a modify of the
// comments changes none).
func stayKeys(property string, stay rig.Stay, old *rig.Stay) []ariKey {
	nights := func(s rig.Stay) map[canonical.Date]bool {
		m := map[canonical.Date]bool{}
		for _, n := range canonical.Nights(s.Arrival, s.Departure) {
			m[n] = true
		}
		return m
	}
	now := nights(stay)
	var keys []ariKey
	if old == nil {
		for _, n := range canonical.Nights(stay.Arrival, stay.Departure) {
			keys = append(keys, ariKey{property, stay.RoomType, n})
		}
		return keys
	}
	before := nights(*old)
	for n := range now {
		if !before[n] {
			keys = append(keys, ariKey{property, stay.RoomType, n})
		}
	}
	for n := range before {
		if !now[n] {
			keys = append(keys, ariKey{property, old.RoomType, n})
		}
	}
	return keys
}

// writeOutcome is what a write did to availability, as far as the load can tell.
type writeOutcome int

const (
	writeCommitted writeOutcome = iota // committed: its availability is on its way
	writeUnchanged                     // refused (no availability): nothing changed
	writeUnknown                       // failed, or accepted to be applied later
)

// benchDelivery follows the load's bookings to the partners: when the
// Apaleo simulator received each booking, and when the channel simulator
// was told the new availability of each night a booking took.
//
// A channel message carries numbers, not the write they came from, so a
// create is measured only when it can be told apart: the channel receives,
// per room type and night, the values in commit order with some skipped
// (pushes coalesce), and a create's availability has reached the channel
// once any message for that night comes after it. That holds for the first
// message after the create's request started as long as the channel had
// already heard of every earlier change of the night, and no other write of
// the night overlapped the create. A night where that cannot be known (two
// writes overlapped, a write failed, or a channel booking is still to be
// applied) is left out from then on, and so is every create touching it.
//
// A create that sells the last unit of its nights (a close-out) is
// followed the same way, but only a message saying 0 is left reaches it;
// one whose nights change again before the channel heard 0 is left out.
type benchDelivery struct {
	fromChannel func(hotel, roomType string) (property, rwRoomType string, ok bool)

	mu       sync.Mutex
	answered map[string]time.Time // created reservation id to its 201, for creates in the window
	atPMS    map[string]time.Time // reservation id to when the Apaleo simulator received its booking
	nights   map[ariKey]*ariNight
	samples  []*ariSample // creates in the window followed to the channel
	excluded int          // creates in the window that could not be followed
	// Close-outs of the window that could not be followed.
	closeoutsExcluded int
}

// ariNight is what the load knows of one room type and night.
type ariNight struct {
	inFlight int        // writes under way
	began    int64      // writes begun so far
	lost     bool       // the channel's view can no longer be tied to writes
	watch    *ariSample // the committed write the next message belongs to
	heard    time.Time  // first message since the last write began with none under way
	heard0   time.Time  // the same, for the first message saying 0 units are left
}

// ariSample is one create followed to the channel.
type ariSample struct {
	answered time.Time // its 201
	pending  int       // nights not yet heard of
	last     time.Time // the latest first message over its nights
	record   bool
	closeout bool // it sold the last unit: only "0 left" reaches it
	// A later write changed one of its nights before the channel heard 0.
	superseded bool
}

// ariWrite is a write under way.
type ariWrite struct {
	keys  []ariKey
	began []int64 // each night's began count after this write began
	clean bool    // every night's earlier changes had reached the channel
	// A create that, if it commits, sells the last unit of each night.
	closeout bool
}

func newBenchDelivery(fromChannel func(hotel, roomType string) (string, string, bool)) *benchDelivery {
	return &benchDelivery{fromChannel: fromChannel, answered: map[string]time.Time{}, atPMS: map[string]time.Time{}, nights: map[ariKey]*ariNight{}}
}

// closesOut reports whether a create of roomType sells the last unit of its
// nights: the room type has one unit (the suite), so a create that commits
// leaves none.
func closesOut(roomType string) bool {
	for _, rt := range benchRoomTypes {
		if rt["code"] == roomType {
			return rt["units"] == 1
		}
	}
	return false
}

// pmsReceived is the Apaleo simulator's observer.
func (d *benchDelivery) pmsReceived(key string, at time.Time) {
	id, ok := strings.CutPrefix(key, "roomwire-")
	if id, ok2 := strings.CutSuffix(id, "-create"); ok && ok2 {
		d.mu.Lock()
		if _, seen := d.atPMS[id]; !seen {
			d.atPMS[id] = at
		}
		d.mu.Unlock()
	}
}

// ariReceived is the channel simulator's observer.
func (d *benchDelivery) ariReceived(hotel, roomType string, night canonical.Date, available int, at time.Time) {
	prop, rt, ok := d.fromChannel(hotel, roomType)
	if !ok {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	n := d.nights[ariKey{prop, rt, night}]
	if n == nil {
		return // no write of the load touched it
	}
	if n.inFlight > 0 && n.heard.IsZero() {
		n.heard = at
	}
	if n.inFlight > 0 && available == 0 && n.heard0.IsZero() {
		n.heard0 = at
	}
	if n.watch != nil && (!n.watch.closeout || available == 0) {
		n.watch.resolve(at)
		n.watch = nil
	}
}

func (s *ariSample) resolve(at time.Time) {
	s.pending--
	if at.After(s.last) {
		s.last = at
	}
}

// begin notes a write of keys starting.
func (d *benchDelivery) begin(keys []ariKey, closeout bool) *ariWrite {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := &ariWrite{keys: keys, began: make([]int64, len(keys)), clean: true, closeout: closeout}
	for i, k := range keys {
		n := d.nights[k]
		if n == nil {
			n = &ariNight{}
			d.nights[k] = n
		}
		if n.lost || n.inFlight > 0 || n.watch != nil {
			w.clean = false
		}
		if n.inFlight == 0 {
			n.heard, n.heard0 = time.Time{}, time.Time{}
		}
		n.inFlight++
		n.began++
		w.began[i] = n.began
	}
	return w
}

// end notes a write's outcome; answered is when its answer arrived, id the
// reservation a create made, and record whether to measure it.
func (d *benchDelivery) end(w *ariWrite, outcome writeOutcome, answered time.Time, id string, record bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	clean := w.clean
	for i, k := range w.keys {
		n := d.nights[k]
		n.inFlight--
		if n.began != w.began[i] {
			clean = false // another write of the night began meanwhile
		}
	}
	if record && outcome == writeCommitted && id != "" {
		d.answered[id] = answered
	}
	if outcome == writeUnchanged {
		return
	}
	for _, k := range w.keys {
		if n := d.nights[k]; n.watch != nil && n.watch.closeout {
			n.watch.superseded = true // its nights changed (or may have) before the channel heard 0
		}
	}
	switch {
	case outcome == writeUnknown || !clean:
		for _, k := range w.keys {
			d.nights[k].lost = true
		}
		if record && outcome == writeCommitted {
			d.excluded++
			if w.closeout {
				d.closeoutsExcluded++
			}
		}
		return
	}
	s := &ariSample{answered: answered, pending: len(w.keys), record: record, closeout: w.closeout}
	for _, k := range w.keys {
		n := d.nights[k]
		heard := n.heard
		if w.closeout {
			heard = n.heard0
		}
		if !heard.IsZero() {
			s.resolve(heard) // the channel heard of it before the answer arrived
		} else {
			n.watch = s
		}
	}
	if record {
		d.samples = append(d.samples, s)
	}
}

// deliveryResults are the delivery latencies of the window's creates.
type deliveryResults struct {
	pms, ari           []time.Duration // sorted
	pmsMissing         int             // bookings the PMS never received
	pmsInWindow        int             // bookings the PMS received during the window, whenever made
	ariMissing         int             // creates whose availability never reached the channel
	ariExcluded        int             // creates that could not be followed
	pmsEarly, ariEarly int             // partners that had them before the 201 arrived
	closeouts          []time.Duration // sorted; the close-outs among ari
	closeoutsMissing   int
	closeoutsExcluded  int
}

// results are the latencies measured when the wait for the backlog ended
// at until. What had not arrived by then counts as arriving at until: the
// percentiles are then a lower bound, and a note says so.
func (d *benchDelivery) results(until, windowStart, windowEnd time.Time) deliveryResults {
	d.mu.Lock()
	defer d.mu.Unlock()
	var r deliveryResults
	for _, at := range d.atPMS {
		if !at.Before(windowStart) && at.Before(windowEnd) {
			r.pmsInWindow++
		}
	}
	for id, answered := range d.answered {
		at, ok := d.atPMS[id]
		if !ok {
			r.pmsMissing++
			at = until
		}
		if at.Before(answered) {
			r.pmsEarly++
		}
		r.pms = append(r.pms, max(at.Sub(answered), 0))
	}
	r.ariExcluded, r.closeoutsExcluded = d.excluded, d.closeoutsExcluded
	for _, s := range d.samples {
		at := s.last
		switch {
		case s.superseded:
			r.ariExcluded++
			r.closeoutsExcluded++
			continue
		case s.pending > 0:
			r.ariMissing++
			if s.closeout {
				r.closeoutsMissing++
			}
			at = until
		case s.last.Before(s.answered):
			r.ariEarly++
		}
		r.ari = append(r.ari, max(at.Sub(s.answered), 0))
		if s.closeout {
			r.closeouts = append(r.closeouts, max(at.Sub(s.answered), 0))
		}
	}
	slices.Sort(r.pms)
	slices.Sort(r.ari)
	slices.Sort(r.closeouts)
	return r
}

// drainState is how far behind the backbone and the partners are.
type drainState struct {
	outbox     int64 // outbox rows not yet published
	lag        int64 // records not yet consumed, over every consumer group and partition
	ariPending int64 // availability, restrictions and rates not yet pushed to the channel
	lagErr     error
	waited     time.Duration
}

func (s drainState) drained() bool {
	return s.outbox == 0 && s.lag == 0 && s.ariPending == 0 && s.lagErr == nil
}

func (s drainState) String() string {
	lag := strconv.FormatInt(s.lag, 10)
	if s.lagErr != nil {
		lag = "unknown (" + s.lagErr.Error() + ")"
	}
	return fmt.Sprintf("outbox backlog %d, consumer lag %s, ARI not yet pushed %d", s.outbox, lag, s.ariPending)
}

// drainBackbone waits up to limit until every outbox event is published and
// consumed and the channel has every pending change, and says how far
// behind things were when it stopped waiting.
func drainBackbone(ctx context.Context, h *hub.Hub, limit time.Duration) (drainState, error) {
	start := time.Now()
	for {
		var st drainState
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		var err error
		if st.outbox, _, err = h.Backbone.Relay().Backlog(qctx); err == nil {
			err = h.Pool.QueryRow(qctx, `SELECT count(*) FROM parked_messages WHERE consumer LIKE 'ari.%'`).Scan(&st.ariPending)
		}
		if err == nil {
			st.lag, st.lagErr = consumerLag(qctx, h)
		}
		cancel()
		st.waited = time.Since(start)
		if err != nil {
			return st, err
		}
		if st.drained() || st.waited >= limit {
			return st, nil
		}
		if err := sleepFor(ctx, min(250*time.Millisecond, limit-st.waited)); err != nil {
			return st, err
		}
	}
}

// consumerLag sums the lag of every consumer's group over its topics and
// partitions. Groups commit their offsets every second, so the lag of a
// group that has caught up reads zero within a second.
func consumerLag(ctx context.Context, h *hub.Hub) (int64, error) {
	var total int64
	for _, name := range h.Backbone.Consumers() {
		lags, err := h.Backbone.ConsumerLag(ctx, name)
		if err != nil {
			return 0, err
		}
		for topic, parts := range lags {
			for p, n := range parts {
				if n < 0 {
					return 0, fmt.Errorf("consumer %s has no lag for %s/%d", name, topic, p)
				}
				total += n
			}
		}
	}
	return total, nil
}

func sleepFor(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
