// Package chaos is roomwire chaos: it books through serve, run as a child
// process, while injecting faults (kills, broker and database failures,
// partner errors), then checks that nothing was lost, doubled or overbooked
// (docs/chaos.md).
package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.yaml.in/yaml/v3"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/cli"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/database"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/rig"
	"github.com/roomwire/roomwire/config"
	"github.com/roomwire/roomwire/connectors/apaleo"
	"github.com/roomwire/roomwire/connectors/apaleo/apaleosim"
	"github.com/roomwire/roomwire/connectors/arifanout"
	"github.com/roomwire/roomwire/connectors/channelsim"
	"github.com/roomwire/roomwire/connectors/inbound"
	"github.com/roomwire/roomwire/connectors/notify"
	"github.com/roomwire/roomwire/connectors/ota"
	"github.com/roomwire/roomwire/connectors/ota/otasim"
	"github.com/roomwire/roomwire/connectors/payments/gatewaysim"
	"github.com/roomwire/roomwire/connectors/stripe/stripesim"
	"github.com/roomwire/roomwire/router"
)

// Command is roomwire chaos.
var Command = cli.Command{Name: "chaos", Summary: "book under injected faults, then check that nothing was lost, doubled or overbooked",
	Run: func(ctx context.Context, args []string) error { return runChaos(ctx, args, os.Stdout, os.Stderr) }}

const chaosUsageLine = "[--ops N] [--seed S] [--workers N] [--json] [--duration-limit D] [--keep-db] [--config FILE]"

const chaosDescription = `
Runs the whole hub under faults and checks its promises. In one process it
creates a fresh database (roomwire_chaos_<timestamp>) on the PostgreSQL server
at DATABASE_URL, runs an embedded Kafka-protocol broker, the Apaleo, OTA and
Stripe simulators, and starts 'roomwire serve' as a child process configured
to use them. Then --workers clients make --ops operations over scarce
inventory: direct bookings (with Idempotency-Key), modifications and
cancellations through the booking API, retrying on transport errors as a
real client would; OTA channel bookings, changes and cancellations pushed by
the channel simulator; and a few front-desk bookings made in Apaleo.

While the load runs it injects, each at least once: SIGKILL and restart of
serve; Kafka produce errors and fetch errors for a while, partition leader
moves and a restart of the broker on its data; PostgreSQL connections of
serve terminated (pg_terminate_backend); partners answering 5xx, 429 and
hanging until timeouts (the SMTP relay refusing, down and cutting
conversations, the webhook subscriber failing and answering too late, among
them); duplicated webhooks and pushes. Then it heals the
partners, waits until the hub is quiet (outbox published, consumer lag 0,
nothing parked) and checks:

  no acknowledged reservation lost   every 201 and every acknowledged channel
                                     message is in the store, with its last
                                     acknowledged change
  nothing duplicated                 one reservation per idempotency key and
                                     per channel reservation id; one Apaleo
                                     booking per reservation; no gateway
                                     operation run twice for one key
  PMS in step                        Apaleo has the last state of each booking
  no direct overbooking              direct bookings never exceed the units
                                     per room type and night
  inventory matches reservations     units sold equal the nights of the
                                     reservations that hold rooms
  failures dead-lettered             every event was handled by each consumer
                                     or dead-lettered, with a reason, on the
                                     dead-letter topic
  notifications once per event       each reservation event's guest and
                                     front desk e-mails reach the SMTP relay
                                     once, under their own Message-ID; each
                                     webhook carries its event's id and a
                                     valid signature
  nothing stuck                      no outbox backlog, parked message,
                                     pending replay or consumer lag

Progress goes to stderr, the report to stdout (a table, or JSON with --json:
operations, faults_injected, violations, ...). The exit status is 0 only when
every invariant holds. The same --seed gives the same operations and fault
schedule; timing still differs from run to run.
` + cli.ConfigHelp

// chaosOptions are the command line of roomwire chaos.
type chaosOptions struct {
	ops           int
	seed          uint64
	workers       int
	json          bool
	durationLimit time.Duration
	keepDB        bool
	configPath    string
	// kafkaBrokers, when set, are an Apache Kafka cluster brought up by
	// deploy/kafka/cluster in kafkaCluster: its processes are the broker
	// faults' victims.
	kafkaBrokers       []string
	kafkaCluster       string
	idempotentProducer bool
}

func parseChaosFlags(args []string, stdout io.Writer) (chaosOptions, error) {
	fs := cli.NewFlags("chaos", chaosUsageLine, chaosDescription)
	fs.SetOutput(stdout) // --help
	var o chaosOptions
	fs.IntVar(&o.ops, "ops", 3000, "operations to make in total")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the operations and the fault schedule (0: pick one and print it)")
	fs.IntVar(&o.workers, "workers", 8, "concurrent clients")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON")
	fs.DurationVar(&o.durationLimit, "duration-limit", 20*time.Minute, "give up (and fail) when the run takes longer than this")
	fs.BoolVar(&o.keepDB, "keep-db", false, "keep the database and the state directory (logs, broker data) for inspection")
	brokers := fs.String("kafka-brokers", "", "an Apache Kafka cluster brought up by deploy/kafka/cluster (default: kafka.brokers, ROOMWIRE_KAFKA_BROKERS; none: the embedded broker)")
	fs.StringVar(&o.kafkaCluster, "kafka-cluster", "", "the directory deploy/kafka/cluster keeps that cluster in (default: <state_dir>/kafka-cluster)")
	fs.BoolVar(&o.idempotentProducer, "idempotent-producer", false, "run serve with sarama's idempotent producer (kafka.idempotent_producer)")
	cfgPath := cli.ConfigFlag(fs)
	if err := cli.ParseFlags(fs, args); err != nil {
		return o, err
	}
	o.configPath = *cfgPath
	for _, b := range strings.Split(*brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			o.kafkaBrokers = append(o.kafkaBrokers, b)
		}
	}
	var bad []string
	if o.ops < 10 || o.ops > 1_000_000 {
		bad = append(bad, "--ops must be between 10 and 1000000")
	}
	if o.workers < 1 || o.workers > 256 {
		bad = append(bad, "--workers must be between 1 and 256")
	}
	if o.durationLimit < 30*time.Second {
		bad = append(bad, "--duration-limit must be at least 30s")
	}
	if len(bad) > 0 {
		return o, cli.BadUsage(fs, "%s", strings.Join(bad, "; "))
	}
	if o.seed == 0 {
		o.seed = mrand.Uint64()>>1 + 1
	}
	return o, nil
}

// The fault kinds, in the order the report lists them.
const (
	faultServeKill     = "serve_kill"
	faultProduceErrors = "broker_produce_errors"
	faultFetchErrors   = "broker_fetch_errors"
	faultLeaderMove    = "broker_leader_move"
	faultBrokerRestart = "broker_restart"
	faultPGCut         = "pg_connection_cut"
	faultPartner5xx    = "partner_5xx"
	faultPartner429    = "partner_429"
	faultPartnerHang   = "partner_timeout"
	faultDuplicates    = "duplicate_webhooks"
)

var chaosFaultKinds = []string{faultServeKill, faultProduceErrors, faultFetchErrors, faultLeaderMove, faultBrokerRestart,
	faultPGCut, faultPartner5xx, faultPartner429, faultPartnerHang, faultDuplicates}

// The shape of the load: two hotels with few rooms over ten nights, so that
// bookings compete for the last units and cancellations give them back.
const (
	chaosPartitions  = 4
	chaosNights      = 10
	chaosLeadDays    = 45 // the window starts this far ahead, clear of "today" in any time zone
	chaosServeApp    = "roomwire-chaos-serve"
	chaosSelfApp     = "roomwire-chaos"
	chaosCardToken   = "pm_card_visa"
	chaosFaultWindow = 2500 * time.Millisecond
)

var (
	chaosProperties = []string{"CHX1", "CHX2"}
	chaosRoomTypes  = []struct {
		code, ratePlan string
		units          int
		price          int64
	}{{"DBL", "FLEX", 3, 12000}, {"TWN", "TWIN", 2, 11000}, {"STE", "SUITE", 1, 45000}}
)

// Partner credentials of the run; they never leave the machine.
const (
	chaosApaleoClient   = "roomwire-chaos"
	chaosWebhookUser    = "chaos-hooks"
	chaosOTAUser        = "chaos-ota"
	chaosStripeWebhooks = "whsec_roomwire_chaos"
)

// chaosRun is one run: its setup, its load, its faults and what it saw.
type chaosRun struct {
	o      chaosOptions
	stderr io.Writer
	start  time.Time

	serverURL, dbName, dbURL string
	pool                     *pgxpool.Pool
	stateDir                 string
	logger                   *slog.Logger // broker and simulators, to a file

	brokerMu   sync.Mutex
	broker     *router.EmbeddedBroker
	kafka      *chaosKafka // a real cluster instead of the embedded broker
	brokerAddr string
	brokerDir  string
	otherNode  int32 // the second broker node, for leader moves

	apaleo    *apaleosim.Sim
	ota       *otasim.Sim
	stripe    *stripesim.Sim
	simSrvs   []*http.Server
	secrets   map[string]string
	adminKey  string
	serveAddr string
	cfgPath   string
	serveLog  *os.File
	serveMu   sync.Mutex
	serve     *exec.Cmd
	serveDone chan struct{}
	client    *http.Client
	first     canonical.Date

	notify chaosNotify

	gate   chaosGate
	book   chaosBook
	counts chaosCounts
	faults chaosFaults
}

func (c *chaosRun) say(format string, a ...any) {
	fmt.Fprintf(c.stderr, "chaos: %5.1fs "+format+"\n", append([]any{time.Since(c.start).Seconds()}, a...)...)
}

// runChaos is roomwire chaos.
func runChaos(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	stderr = rig.NewSyncWriter(stderr)
	o, err := parseChaosFlags(args, stdout)
	if err != nil {
		return err
	}
	cfg, err := config.Load(o.configPath)
	if err != nil {
		return err
	}
	if len(o.kafkaBrokers) == 0 {
		o.kafkaBrokers = cfg.Kafka.Brokers
	}
	if o.kafkaCluster == "" {
		o.kafkaCluster = filepath.Join(cfg.StateDir, "kafka-cluster")
	}
	c := &chaosRun{o: o, stderr: stderr, start: time.Now(), serverURL: cfg.Database.URL}
	ctx, cancel := context.WithTimeout(ctx, o.durationLimit)
	defer cancel()
	c.say("seed %d, %d operations, %d workers", o.seed, o.ops, o.workers)
	rep, err := c.run(ctx)
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printChaosReport(stdout, rep)
	}
	if len(rep.Violations) > 0 {
		return chaosFailed{n: len(rep.Violations)}
	}
	return nil
}

// chaosFailed is the error of a run that found violations; exit status 1.
type chaosFailed struct{ n int }

func (e chaosFailed) Error() string {
	return fmt.Sprintf("%d invariant violations (see the report)", e.n)
}
func (e chaosFailed) ExitCode() int { return 1 }

func (c *chaosRun) run(ctx context.Context) (rep *chaosReport, err error) {
	if err := c.setUp(ctx); err != nil {
		c.tearDown(true)
		return nil, err
	}
	keep := c.o.keepDB
	defer func() { c.tearDown(keep) }()

	loadStart := time.Now()
	c.runLoad(ctx)
	loadTime := time.Since(loadStart)
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) {
		return nil, errors.New("interrupted; no report")
	}
	c.healPartners()

	quietStart := time.Now()
	// Quiescence gets what is left of the limit, but at least a minute: a
	// limit reached during the load must still end in a verdict.
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(time.Until(deadlineOf(ctx)), time.Minute))
	defer cancel()
	quiet := c.waitQuiet(qctx)
	quietTime := time.Since(quietStart)

	cctx, cancel2 := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel2()
	rep = c.check(cctx, quiet)
	rep.LoadSeconds = rig.Round(loadTime.Seconds(), 1)
	rep.QuiescenceSeconds = rig.Round(quietTime.Seconds(), 1)
	rep.TotalSeconds = rig.Round(time.Since(c.start).Seconds(), 1)
	if ctx.Err() != nil {
		rep.Violations = append(rep.Violations, fmt.Sprintf("the run exceeded --duration-limit %s: only %d of %d operations were made", c.o.durationLimit, rep.Operations, c.o.ops))
	}
	if len(rep.Violations) > 0 {
		keep = true
		rep.Notes = append(rep.Notes, "kept for inspection: database "+c.dbName+", state directory "+c.stateDir+" (serve.log, broker.log)")
	}
	return rep, nil
}

func deadlineOf(ctx context.Context) time.Time {
	d, ok := ctx.Deadline()
	if !ok {
		return time.Now().Add(time.Hour)
	}
	return d
}

// --- setup and teardown ---

func (c *chaosRun) setUp(ctx context.Context) error {
	var err error
	if c.stateDir, err = os.MkdirTemp("", "roomwire-chaos-"); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(c.stateDir, "broker.log"))
	if err != nil {
		return err
	}
	c.logger = slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if c.dbName, c.dbURL, err = database.CreateScratch(ctx, c.serverURL, "chaos"); err != nil {
		return err
	}
	pc, err := pgxpool.ParseConfig(withAppName(c.dbURL, chaosSelfApp))
	if err != nil {
		return err
	}
	pc.MaxConns = 4
	if c.pool, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
		return err
	}
	c.say("database %s on %s, state in %s", c.dbName, database.ServerAddr(c.serverURL), c.stateDir)

	if len(c.o.kafkaBrokers) > 0 {
		if err := c.setUpRealKafka(ctx); err != nil {
			return err
		}
	} else {
		if c.brokerAddr, err = freeLoopbackAddr(); err != nil {
			return err
		}
		c.brokerDir = filepath.Join(c.stateDir, "kafka")
		if err := c.startBroker(); err != nil {
			return err
		}
	}
	if c.serveAddr, err = freeLoopbackAddr(); err != nil {
		return err
	}
	c.startSimulators()
	if err := c.startNotify(); err != nil {
		return err
	}
	if err := c.writeServeConfig(); err != nil {
		return err
	}
	c.client = &http.Client{
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: c.o.workers * 2, IdleConnTimeout: 30 * time.Second,
			DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext},
		Timeout: 20 * time.Second,
	}
	if c.serveLog, err = os.Create(filepath.Join(c.stateDir, "serve.log")); err != nil {
		return err
	}
	if err := c.startServe(ctx); err != nil {
		return err
	}
	c.first = canonical.DateOf(time.Now().UTC()).AddDays(chaosLeadDays)
	if err := c.setUpProperties(ctx); err != nil {
		return fmt.Errorf("set up properties over the API: %w", err)
	}
	if err := c.setUpNotify(ctx); err != nil {
		return fmt.Errorf("set up notifications over the API: %w", err)
	}
	if c.kafka == nil {
		c.say("serve on http://%s, broker on %s (nodes 0 and %d), simulators up", c.serveAddr, c.brokerAddr, c.otherNode)
	} else {
		c.say("serve on http://%s, Apache Kafka at %s, simulators up", c.serveAddr, strings.Join(c.kafka.brokers, ","))
	}
	return nil
}

func (c *chaosRun) tearDown(keep bool) {
	c.stopServe()
	for _, s := range c.simSrvs {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s.Shutdown(sctx) //nolint:errcheck // the run is over
		cancel()
	}
	if c.apaleo != nil {
		c.apaleo.Close()
		c.stripe.Close()
	}
	c.stopNotify()
	c.brokerMu.Lock()
	if c.broker != nil {
		c.broker.Close()
	}
	c.brokerMu.Unlock()
	c.tearDownRealKafka(keep)
	if c.pool != nil {
		c.pool.Close()
	}
	if c.serveLog != nil {
		c.serveLog.Close()
	}
	if keep {
		if c.dbName != "" {
			c.say("kept database %s (drop it with: DROP DATABASE %s) and %s", c.dbName, c.dbName, c.stateDir)
		}
		return
	}
	if c.dbName != "" {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := database.DropScratch(dctx, c.serverURL, c.dbName); err != nil {
			c.say("could not drop database %s: %v", c.dbName, err)
		}
		cancel()
	}
	if c.stateDir != "" {
		os.RemoveAll(c.stateDir)
	}
}

// withAppName tags connections, so that the PostgreSQL fault cuts serve's
// connections and never the checker's own.
func withAppName(dbURL, app string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return dbURL
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String()
}

func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startBroker starts the embedded broker on brokerAddr and brokerDir and
// adds a second node to move partition leaders to. The broker is restarted
// on the same address and directory, so serve's brokers setting stays true.
func (c *chaosRun) startBroker() error {
	var first atomic.Bool
	// The first listener is the fixed address; nodes added later pick a
	// free port (the router's listen function would give them the same one).
	listen := kfake.ListenFn(func(network, address string) (net.Listener, error) {
		if first.CompareAndSwap(false, true) {
			return net.Listen(network, c.brokerAddr)
		}
		return net.Listen(network, address)
	})
	var b *router.EmbeddedBroker
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		first.Store(false)
		b, err = router.StartEmbeddedBroker(c.brokerDir, c.logger, router.WithListenAddress(c.brokerAddr),
			router.WithDefaultPartitions(chaosPartitions), router.WithKfakeOptions(listen))
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
		time.Sleep(100 * time.Millisecond) // the old listener's port is not free yet
	}
	if err != nil {
		return fmt.Errorf("embedded broker on %s: %w", c.brokerAddr, err)
	}
	node, _, err := b.Cluster().AddNode(-1, 0)
	if err != nil {
		b.Close()
		return fmt.Errorf("embedded broker: second node: %w", err)
	}
	c.brokerMu.Lock()
	c.broker, c.otherNode = b, node
	c.brokerMu.Unlock()
	return nil
}

func (c *chaosRun) cluster() *kfake.Cluster {
	c.brokerMu.Lock()
	defer c.brokerMu.Unlock()
	return c.broker.Cluster()
}

// startSimulators runs the partner simulators on free loopback ports.
func (c *chaosRun) startSimulators() {
	c.secrets = map[string]string{
		"apaleo_secret": rig.RandomHex(16), "webhook_password": rig.RandomHex(16), "ota_password": rig.RandomHex(16),
		"stripe_key": "sk_test_" + rig.RandomHex(12),
	}
	c.adminKey = rig.RandomHex(24)
	base := "http://" + c.serveAddr + "/v1/connectors/"
	c.apaleo = apaleosim.New(apaleosim.Config{ClientID: chaosApaleoClient, ClientSecret: c.secrets["apaleo_secret"],
		WebhookURL: base + "apaleo/webhooks", WebhookUser: chaosWebhookUser, WebhookPassword: c.secrets["webhook_password"],
		Seed: c.o.seed, Logger: c.logger})
	for _, p := range chaosProperties {
		for _, rt := range chaosRoomTypes {
			c.apaleo.AddUnitGroup(apaleosim.UnitGroup{ID: p + "-" + rt.code, Property: p, Units: rt.units})
			c.apaleo.AddRatePlan(apaleosim.RatePlan{ID: p + "-" + rt.ratePlan, Property: p, UnitGroup: p + "-" + rt.code,
				Price: canonical.NewMoney(rt.price, "EUR")})
		}
	}
	c.ota = otasim.New(otasim.Config{PushURL: base + "ota/reservations", Auth: ota.AuthBasic, User: chaosOTAUser,
		Password: c.secrets["ota_password"], Logger: c.logger, Seed: c.o.seed + 1})
	c.stripe = stripesim.New(stripesim.Config{SecretKey: c.secrets["stripe_key"], WebhookURL: base + "stripe/webhooks",
		WebhookSecret: chaosStripeWebhooks, Sim: gatewaysim.Config{Seed: c.o.seed + 2, Logger: c.logger}})
	for _, h := range []http.Handler{c.apaleo, c.ota, c.stripe} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err) // loopback with a free port: cannot fail on a working machine
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed
		c.simSrvs = append(c.simSrvs, srv)
		c.secrets["url:"+fmt.Sprint(len(c.simSrvs))] = "http://" + ln.Addr().String()
	}
}

func (c *chaosRun) simURL(i int) string { return c.secrets["url:"+strconv.Itoa(i)] }

// writeServeConfig writes serve's configuration and the code mappings.
// Secrets go in the environment, as an operator would pass them.
func (c *chaosRun) writeServeConfig() error {
	mappings := map[string][]map[string]string{}
	for _, p := range chaosProperties {
		for _, conn := range []string{"apaleo", "ota"} {
			mappings[conn] = append(mappings[conn], map[string]string{"kind": "property", "partner": p, "roomwire": p})
		}
		for _, rt := range chaosRoomTypes {
			mappings["apaleo"] = append(mappings["apaleo"],
				map[string]string{"kind": "room_type", "property": p, "partner": p + "-" + rt.code, "roomwire": rt.code},
				map[string]string{"kind": "rate_plan", "property": p, "partner": p + "-" + rt.ratePlan, "roomwire": rt.ratePlan})
			mappings["ota"] = append(mappings["ota"],
				map[string]string{"kind": "room_type", "property": p, "partner": rt.code, "roomwire": rt.code},
				map[string]string{"kind": "rate_plan", "property": p, "partner": rt.ratePlan, "roomwire": rt.ratePlan})
		}
	}
	mappingsPath := filepath.Join(c.stateDir, "mappings.yaml")
	if err := writeYAML(mappingsPath, mappings); err != nil {
		return err
	}
	cfg := map[string]any{
		"database": map[string]any{"url": withAppName(c.dbURL, chaosServeApp), "max_conns": 20},
		"http":     map[string]any{"addr": c.serveAddr, "request_timeout": "10s", "shutdown_timeout": "5s"},
		"kafka":    map[string]any{"brokers": c.brokerSeeds(), "idempotent_producer": c.o.idempotentProducer},
		// Short retries, so that a message's fate is decided in seconds.
		"backbone": map[string]any{"partitions": chaosPartitions, "retries": 5, "retry_initial": "50ms", "retry_max": "800ms", "handler_timeout": "15s",
			"consumer_group_prefix": c.groupPrefix()},
		"connectors": map[string]any{
			"apaleo": map[string]any{"api_url": c.simURL(1), "identity_url": c.simURL(1), "client_id": chaosApaleoClient,
				"webhook_user": chaosWebhookUser, "timeout": "1s"},
			"ota":    map[string]any{"channel": "ota", "inbound_user": chaosOTAUser, "ari_url": c.simURL(2) + "/ari", "timeout": "1s"},
			"stripe": map[string]any{"api_url": c.simURL(3), "timeout": "1s"},
		},
		"mappings_file": mappingsPath,
		"payments":      map[string]any{"default_gateway": "stripe"},
		"notifications": c.notifyConfig(),
		"log":           map[string]any{"level": "info", "format": "text"},
		"state_dir":     filepath.Join(c.stateDir, "serve"),
	}
	c.cfgPath = filepath.Join(c.stateDir, "roomwire.yaml")
	return writeYAML(c.cfgPath, cfg)
}

func writeYAML(path string, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// serveEnv is the environment of the serve child: the caller's, without
// anything that would override the generated configuration, plus secrets.
func (c *chaosRun) serveEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ROOMWIRE_") || strings.HasPrefix(kv, "DATABASE_URL=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"ROOMWIRE_ADMIN_KEY="+c.adminKey,
		"ROOMWIRE_APALEO_CLIENT_SECRET="+c.secrets["apaleo_secret"],
		"ROOMWIRE_APALEO_WEBHOOK_PASSWORD="+c.secrets["webhook_password"],
		"ROOMWIRE_OTA_INBOUND_PASSWORD="+c.secrets["ota_password"],
		"ROOMWIRE_STRIPE_SECRET_KEY="+c.secrets["stripe_key"],
		"ROOMWIRE_STRIPE_WEBHOOK_SECRET="+chaosStripeWebhooks,
		"ROOMWIRE_SMTP_PASSWORD="+c.notify.smtpPassword,
	)
}

// startServe starts serve from this very binary and waits until it is ready.
func (c *chaosRun) startServe(ctx context.Context) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, "serve", "--config", c.cfgPath)
	cmd.Env = c.serveEnv()
	cmd.Stdout, cmd.Stderr = c.serveLog, c.serveLog
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start serve: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }() //nolint:errcheck // exits are expected: we kill it
	c.serveMu.Lock()
	c.serve, c.serveDone = cmd, done
	c.serveMu.Unlock()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.serveAddr+"/readyz", nil)
		if resp, err := c.client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body) //nolint:errcheck
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-done:
			return fmt.Errorf("serve exited while starting; its log: %s", filepath.Join(c.stateDir, "serve.log"))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("serve not ready within 90s; its log: %s", filepath.Join(c.stateDir, "serve.log"))
}

// killServe SIGKILLs serve and waits for it to be gone.
func (c *chaosRun) killServe() {
	c.serveMu.Lock()
	cmd, done := c.serve, c.serveDone
	c.serveMu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill() //nolint:errcheck // it may have exited already
	<-done
}

// stopServe asks serve to stop, and kills it if it takes too long.
func (c *chaosRun) stopServe() {
	c.serveMu.Lock()
	cmd, done := c.serve, c.serveDone
	c.serveMu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have exited already
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.killServe()
	}
}

func (c *chaosRun) setUpProperties(ctx context.Context) error {
	for _, p := range chaosProperties {
		var rts, rps, rates []map[string]any
		for _, rt := range chaosRoomTypes {
			rts = append(rts, map[string]any{"code": rt.code, "name": rt.code, "units": rt.units})
			rps = append(rps, map[string]any{"code": rt.ratePlan, "room_type": rt.code, "name": rt.ratePlan})
			rates = append(rates, map[string]any{"rate_plan": rt.ratePlan, "from": c.first.AddDays(-7), "to": c.first.AddDays(chaosNights + 7),
				"amount": canonical.NewMoney(rt.price, "EUR").Decimal(), "currency": "EUR"})
		}
		body, _ := json.Marshal(map[string]any{"name": "Chaos Hotel " + p, "timezone": "Europe/Lisbon", "currency": "EUR",
			"room_types": rts, "rate_plans": rps})
		if r := c.call(ctx, http.MethodPut, "/v1/properties/"+p, nil, body); r.status != http.StatusCreated && r.status != http.StatusOK {
			return fmt.Errorf("PUT /v1/properties/%s: %s", p, r.describe())
		}
		body, _ = json.Marshal(map[string]any{"updates": rates})
		if r := c.call(ctx, http.MethodPut, "/v1/properties/"+p+"/rates", nil, body); r.status != http.StatusOK {
			return fmt.Errorf("PUT /v1/properties/%s/rates: %s", p, r.describe())
		}
	}
	return nil
}

// --- HTTP with a real client's retries ---

type chaosResponse struct {
	status int
	code   string // problem code
	body   []byte
	err    error // the last transport error when the context ended first
	tries  int
}

func (r chaosResponse) describe() string {
	if r.status == 0 {
		return fmt.Sprintf("no answer after %d tries: %v", r.tries, r.err)
	}
	return fmt.Sprintf("%d %s", r.status, r.code)
}

// call sends a request until it gets an answer that is not a transport
// error or a 5xx, as a client would: the same idempotency key or If-Match
// on every try, so a retry can never apply twice.
func (c *chaosRun) call(ctx context.Context, method, path string, header map[string]string, body []byte) chaosResponse {
	var r chaosResponse
	wait := 50 * time.Millisecond
	for {
		r.tries++
		if r.tries > 1 {
			c.counts.retries.Add(1)
		}
		req, err := http.NewRequestWithContext(ctx, method, "http://"+c.serveAddr+path, bytes.NewReader(body))
		if err != nil {
			r.err = err
			return r
		}
		req.Header.Set("Authorization", "Bearer "+c.adminKey)
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := c.client.Do(req)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode < 500 {
				r.status, r.body, r.err = resp.StatusCode, b, nil
				var p struct{ Code string }
				json.Unmarshal(b, &p) //nolint:errcheck // not every answer is a problem
				r.code = p.Code
				return r
			}
			err = rerr
			if err == nil {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		r.err = err
		if ctx.Err() != nil {
			return r
		}
		select {
		case <-ctx.Done():
			return r
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Second)
	}
}

// --- the load ---

// chaosGate hands out operation numbers, never beyond what the fault
// schedule allows yet, so that every fault lands inside the load.
type chaosGate struct {
	mu      sync.Mutex
	next    int
	allowed int
	total   int
}

func (g *chaosGate) take(ctx context.Context) (int, bool) {
	for {
		g.mu.Lock()
		if g.next >= g.total {
			g.mu.Unlock()
			return 0, false
		}
		if g.next < g.allowed {
			i := g.next
			g.next++
			g.mu.Unlock()
			return i, true
		}
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			return 0, false
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (g *chaosGate) started() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.next
}

func (g *chaosGate) allow(n int) {
	g.mu.Lock()
	g.allowed = max(g.allowed, min(n, g.total))
	g.mu.Unlock()
}

// chaosCounts are the load's counters.
type chaosCounts struct {
	done    atomic.Int64
	retries atomic.Int64
	mu      sync.Mutex
	byKind  map[string]*chaosOpCount
	errors  map[string]int
}

// chaosOpCount counts the outcomes of one kind of operation.
type chaosOpCount struct {
	Count    int `json:"count"`
	OK       int `json:"ok"`
	Refused  int `json:"refused"` // 409 no availability: expected
	Errors   int `json:"errors"`
	Unknown  int `json:"unknown"` // no answer before the end: outcome unknown
	Reconcil int `json:"reconciled"`
}

func (c *chaosCounts) add(kind, outcome string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKind == nil {
		c.byKind = map[string]*chaosOpCount{}
	}
	k := c.byKind[kind]
	if k == nil {
		k = &chaosOpCount{}
		c.byKind[kind] = k
	}
	switch outcome {
	case "ok":
		k.OK++
	case "refused":
		k.Refused++
	case "unknown":
		k.Unknown++
	case "reconciled":
		k.OK++
		k.Reconcil++
	default:
		k.Errors++
		if c.errors == nil {
			c.errors = map[string]int{}
		}
		c.errors[kind+": "+outcome]++
	}
	k.Count++
}

// chaosStay is the one room stay of a load reservation.
type chaosStay struct {
	RoomType  string         `json:"room_type"`
	RatePlan  string         `json:"rate_plan"`
	Arrival   canonical.Date `json:"arrival"`
	Departure canonical.Date `json:"departure"`
	Adults    int            `json:"adults"`
}

// chaosState is what the checks compare: status, stay and comments.
type chaosState struct {
	Status   canonical.Status
	Stay     chaosStay
	Comments []string
}

func (s chaosState) equal(o chaosState) bool {
	return s.Status == o.Status && s.Stay.RoomType == o.Stay.RoomType && s.Stay.RatePlan == o.Stay.RatePlan &&
		s.Stay.Arrival == o.Stay.Arrival && s.Stay.Departure == o.Stay.Departure && slices.Equal(s.Comments, o.Comments)
}

func (s chaosState) String() string {
	return fmt.Sprintf("%s %s/%s %s..%s comments %q", s.Status, s.Stay.RoomType, s.Stay.RatePlan, s.Stay.Arrival, s.Stay.Departure, s.Comments)
}

func stateOf(r *canonical.Reservation) chaosState {
	st := chaosState{Status: r.Status, Comments: r.Comments}
	if len(r.RoomStays) > 0 {
		s := r.RoomStays[0]
		st.Stay = chaosStay{RoomType: s.RoomType, RatePlan: s.RatePlan, Arrival: s.Arrival, Departure: s.Departure, Adults: s.Adults}
	}
	if st.Comments == nil {
		st.Comments = []string{}
	}
	return st
}

// chaosBooking is a reservation the load made, with what it was told.
type chaosBooking struct {
	key        string // direct: the idempotency key; channel: the channel reservation id
	channel    string
	id         string // Roomwire's id, once known
	version    int
	acked      *chaosState  // the last acknowledged state
	maybe      []chaosState // changes sent whose outcome is unknown
	res        canonical.Reservation
	revision   int // channel: the last revision sent
	createSent bool
}

// chaosBook is what the load knows: every booking, and those free to change.
type chaosBook struct {
	mu        sync.Mutex
	all       []*chaosBooking
	free      map[string][]*chaosBooking // by channel
	frontDesk []string                   // Apaleo reservation ids booked at the front desk
}

func (b *chaosBook) add(x *chaosBooking, free bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.all = append(b.all, x)
	if free {
		b.release(x)
	}
}

func (b *chaosBook) release(x *chaosBooking) {
	if x.acked == nil || x.acked.Status == canonical.StatusCancelled {
		return // nothing more to change
	}
	if b.free == nil {
		b.free = map[string][]*chaosBooking{}
	}
	b.free[x.channel] = append(b.free[x.channel], x)
}

func (b *chaosBook) put(x *chaosBooking) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.release(x)
}

// take removes a random free booking of channel: only one worker changes a
// booking at a time, as one guest or one channel would.
func (b *chaosBook) take(channel string, rng *mrand.Rand) *chaosBooking {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.free[channel]
	if len(l) == 0 {
		return nil
	}
	i := rng.IntN(len(l))
	x := l[i]
	l[i] = l[len(l)-1]
	b.free[channel] = l[:len(l)-1]
	return x
}

// runLoad runs the workers and the fault schedule until every operation is done.
func (c *chaosRun) runLoad(ctx context.Context) {
	schedule := c.faultSchedule()
	c.gate = chaosGate{total: c.o.ops, allowed: c.threshold(0, len(schedule))}
	c.say("load: %d operations, %d faults at evenly spaced operations", c.o.ops, len(schedule))
	var wg sync.WaitGroup
	for w := 0; w < c.o.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i, ok := c.gate.take(ctx)
				if !ok {
					return
				}
				c.operation(ctx, i)
				c.counts.done.Add(1)
			}
		}()
	}
	loadDone := make(chan struct{})
	go func() { wg.Wait(); close(loadDone) }()
	faultsDone := make(chan struct{})
	go func() {
		defer close(faultsDone)
		c.runFaults(ctx, schedule, loadDone)
	}()
	tick := time.NewTicker(3 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-loadDone:
			<-faultsDone
			c.say("load done: %d operations, %d retries by clients, %d faults", c.counts.done.Load(), c.counts.retries.Load(), c.faults.total())
			return
		case <-tick.C:
			c.say("load %d/%d operations, %d retries by clients, %d faults", c.counts.done.Load(), c.o.ops, c.counts.retries.Load(), c.faults.total())
		}
	}
}

func (c *chaosRun) threshold(k, faults int) int {
	return (k + 1) * c.o.ops / (faults + 1)
}

// operation runs operation number i, drawn from its own seeded dice.
func (c *chaosRun) operation(ctx context.Context, i int) {
	rng := mrand.New(mrand.NewPCG(c.o.seed, uint64(i)))
	switch r := rng.IntN(100); {
	case r < 38:
		c.directCreate(ctx, rng, i)
	case r < 53:
		if x := c.book.take(canonical.ChannelDirect, rng); x != nil {
			c.directModify(ctx, rng, i, x)
			return
		}
		c.directCreate(ctx, rng, i)
	case r < 66:
		if x := c.book.take(canonical.ChannelDirect, rng); x != nil {
			c.directCancel(ctx, i, x)
			return
		}
		c.directCreate(ctx, rng, i)
	case r < 82:
		c.channelNew(ctx, rng, i)
	case r < 90:
		if x := c.book.take("ota", rng); x != nil {
			c.channelChange(ctx, rng, i, x, false)
			return
		}
		c.channelNew(ctx, rng, i)
	case r < 96:
		if x := c.book.take("ota", rng); x != nil {
			c.channelChange(ctx, rng, i, x, true)
			return
		}
		c.channelNew(ctx, rng, i)
	default:
		c.frontDeskBooking(ctx, rng, i)
	}
}

// randomStay draws a stay of one to three nights in the window.
func (c *chaosRun) randomStay(rng *mrand.Rand) (string, chaosStay) {
	rt := chaosRoomTypes[rng.IntN(len(chaosRoomTypes))]
	nights := 1 + rng.IntN(3)
	arrival := c.first.AddDays(rng.IntN(chaosNights - nights + 1))
	return chaosProperties[rng.IntN(len(chaosProperties))],
		chaosStay{RoomType: rt.code, RatePlan: rt.ratePlan, Arrival: arrival, Departure: arrival.AddDays(nights), Adults: 1 + rng.IntN(2)}
}

func (c *chaosRun) directCreate(ctx context.Context, rng *mrand.Rand, i int) {
	prop, stay := c.randomStay(rng)
	key := fmt.Sprintf("chaos-%d-%d", c.o.seed, i)
	body := map[string]any{"property_id": prop, "channel": canonical.ChannelDirect,
		"primary_guest": map[string]any{"given_name": "Op", "surname": fmt.Sprintf("Chaos%d", i), "email": chaosGuestEmail("op", i)},
		"room_stays":    []chaosStay{stay}}
	if rng.IntN(3) == 0 {
		body["guarantee"] = map[string]any{"type": "card", "card_token": chaosCardToken, "card_mask": "4242XXXXXXXX4242"}
	}
	b, _ := json.Marshal(body)
	x := &chaosBooking{key: key, channel: canonical.ChannelDirect, createSent: true}
	r := c.call(ctx, http.MethodPost, "/v1/reservations", map[string]string{"Idempotency-Key": key}, b)
	switch {
	case r.status == http.StatusCreated:
		var res canonical.Reservation
		if err := json.Unmarshal(r.body, &res); err != nil {
			c.counts.add("create", "201 unreadable")
			return
		}
		st := stateOf(&res)
		x.id, x.version, x.acked = res.ID, res.Version, &st
		c.book.add(x, true)
		c.counts.add("create", "ok")
	case r.status == http.StatusConflict && r.code == "no_availability":
		c.counts.add("create", "refused")
	case r.status == 0:
		// No answer before the end: it may or may not exist; the checks
		// accept either, and never a second one for the key.
		c.book.add(x, false)
		c.counts.add("create", "unknown")
	default:
		c.counts.add("create", r.describe())
	}
}

func (c *chaosRun) directModify(ctx context.Context, rng *mrand.Rand, i int, x *chaosBooking) {
	defer c.book.put(x)
	next := *x.acked
	next.Comments = []string{fmt.Sprintf("op %d", i)}
	patch := map[string]any{"comments": next.Comments}
	if next.Status == canonical.StatusConfirmed && rng.IntN(2) == 0 {
		_, stay := c.randomStay(rng)
		next.Stay = stay
		patch["room_stays"] = []chaosStay{stay}
	}
	b, _ := json.Marshal(patch)
	c.change(ctx, "modify", x, next, http.MethodPatch, "/v1/reservations/"+x.id, b)
}

func (c *chaosRun) directCancel(ctx context.Context, i int, x *chaosBooking) {
	defer c.book.put(x)
	next := *x.acked
	next.Status = canonical.StatusCancelled
	c.change(ctx, "cancel", x, next, http.MethodPost, "/v1/reservations/"+x.id+"/cancel", nil)
}

// change sends a modification with If-Match. An answer after retries may
// be 412 because an earlier try was applied: the reservation is read back
// to tell.
func (c *chaosRun) change(ctx context.Context, kind string, x *chaosBooking, next chaosState, method, path string, body []byte) {
	r := c.call(ctx, method, path, map[string]string{"If-Match": strconv.Quote(strconv.Itoa(x.version))}, body)
	switch {
	case r.status == http.StatusOK:
		var res canonical.Reservation
		if err := json.Unmarshal(r.body, &res); err != nil {
			c.counts.add(kind, "200 unreadable")
			return
		}
		st := stateOf(&res)
		if !st.equal(next) {
			c.counts.add(kind, "200 with other content")
		}
		x.version, x.acked = res.Version, &st
		c.counts.add(kind, "ok")
	case r.status == http.StatusConflict && r.code == "no_availability":
		c.counts.add(kind, "refused")
	case r.status == http.StatusPreconditionFailed:
		c.reconcile(ctx, kind, x, next)
	case r.status == 0:
		x.maybe = append(x.maybe, next)
		c.counts.add(kind, "unknown")
	default:
		c.counts.add(kind, r.describe())
	}
}

// reconcile reads a reservation whose version moved and takes the
// answer as the acknowledged state when it is the change that was sent.
func (c *chaosRun) reconcile(ctx context.Context, kind string, x *chaosBooking, next chaosState) {
	r := c.call(ctx, http.MethodGet, "/v1/reservations/"+x.id, nil, nil)
	if r.status != http.StatusOK {
		x.maybe = append(x.maybe, next)
		c.counts.add(kind, "412 then "+r.describe())
		return
	}
	var res canonical.Reservation
	if err := json.Unmarshal(r.body, &res); err != nil {
		c.counts.add(kind, "412 then unreadable")
		return
	}
	st := stateOf(&res)
	x.version = res.Version
	switch {
	case st.equal(next):
		x.acked = &st
		c.counts.add(kind, "reconciled")
	case st.equal(*x.acked):
		// The version moved without our change (the payment flow, say);
		// the change was not applied.
		c.counts.add(kind, "412 version moved by the hub")
	default:
		c.counts.add(kind, "412 and unexpected content")
	}
}

// channelNew pushes a new OTA booking; the channel may overbook.
func (c *chaosRun) channelNew(ctx context.Context, rng *mrand.Rand, i int) {
	prop, stay := c.randomStay(rng)
	x := &chaosBooking{key: fmt.Sprintf("OTA%d-%d", c.o.seed%100000, i), channel: "ota", revision: 1}
	x.res = canonical.Reservation{PropertyID: prop, Channel: "ota", ExternalID: x.key, Status: canonical.StatusConfirmed,
		PrimaryGuest: canonical.Guest{GivenName: "Chan", Surname: fmt.Sprintf("Chaos%d", i), Email: chaosGuestEmail("chan", i)}}
	x.res.RoomStays = []canonical.RoomStay{c.channelStay(stay)}
	c.stamp(x)
	x.createSent = true
	c.push(ctx, "channel_new", x, "Commit", false)
}

func (c *chaosRun) channelStay(s chaosStay) canonical.RoomStay {
	rs := canonical.RoomStay{RoomType: s.RoomType, RatePlan: s.RatePlan, Arrival: s.Arrival, Departure: s.Departure, Adults: s.Adults}
	var price int64
	for _, rt := range chaosRoomTypes {
		if rt.code == s.RoomType {
			price = rt.price
		}
	}
	for _, n := range canonical.Nights(s.Arrival, s.Departure) {
		rs.NightlyPrices = append(rs.NightlyPrices, canonical.NightlyPrice{Date: n, Price: canonical.NewMoney(price, "EUR")})
	}
	return rs
}

// stamp gives the channel booking's current revision a modification time
// later than every earlier one: the store orders revisions by it.
func (c *chaosRun) stamp(x *chaosBooking) {
	base := c.start.UTC().Truncate(time.Second)
	x.res.CreatedAt = base
	x.res.ModifiedAt = base.Add(time.Duration(x.revision) * time.Second)
}

func (c *chaosRun) channelChange(ctx context.Context, rng *mrand.Rand, i int, x *chaosBooking, cancel bool) {
	x.revision++
	c.stamp(x)
	if cancel {
		x.res.Status = canonical.StatusCancelled
		c.push(ctx, "channel_cancel", x, "Cancel", true)
		return
	}
	_, stay := c.randomStay(rng)
	x.res.RoomStays = []canonical.RoomStay{c.channelStay(stay)}
	c.push(ctx, "channel_modify", x, "Modify", true)
}

// push sends the channel booking's current revision until Roomwire
// acknowledges it (or the run ends), as a channel resends an unacknowledged
// message.
func (c *chaosRun) push(ctx context.Context, kind string, x *chaosBooking, status string, existing bool) {
	want := stateOf(&x.res)
	if want.Status == "" {
		want.Status = canonical.StatusConfirmed
	}
	wait := 50 * time.Millisecond
	tries := 0
	for {
		tries++
		if tries > 1 {
			c.counts.retries.Add(1)
		}
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		res, err := c.ota.Push(pctx, status, &x.res)
		cancel()
		switch {
		case err == nil && res.RS != nil && res.RS.Success != nil:
			x.acked, x.maybe = &want, nil
			c.counts.add(kind, "ok")
			if existing {
				c.book.put(x)
			} else {
				c.book.add(x, true)
			}
			return
		case err == nil && res.Status < 500 && res.Status != http.StatusTooManyRequests:
			msg := fmt.Sprintf("refused %d", res.Status)
			if res.RS != nil && len(res.RS.Errors) > 0 {
				msg += " " + res.RS.Errors[0].Code
			}
			c.counts.add(kind, msg)
			x.maybe = append(x.maybe, want)
			if existing {
				c.book.put(x)
			} else {
				c.book.add(x, false)
			}
			return
		}
		if ctx.Err() != nil {
			x.maybe = append(x.maybe, want)
			c.counts.add(kind, "unknown")
			if existing {
				c.book.put(x)
			} else {
				c.book.add(x, false)
			}
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Second)
	}
}

// frontDeskBooking books in Apaleo directly, as a receptionist would; the
// webhook brings it to Roomwire as a channel booking.
func (c *chaosRun) frontDeskBooking(ctx context.Context, rng *mrand.Rand, i int) {
	prop, stay := c.randomStay(rng)
	req := apaleo.CreateBooking{Booker: apaleo.Guest{LastName: fmt.Sprintf("Desk%d", i)},
		Reservations: []apaleo.CreateReservation{{Arrival: stay.Arrival.String(), Departure: stay.Departure.String(), Adults: stay.Adults,
			ChannelCode: "Direct", PrimaryGuest: apaleo.Guest{FirstName: "Front", LastName: fmt.Sprintf("Desk%d", i)}}}}
	for range canonical.Nights(stay.Arrival, stay.Departure) {
		req.Reservations[0].TimeSlices = append(req.Reservations[0].TimeSlices, apaleo.CreateTimeSlice{RatePlanID: prop + "-" + stay.RatePlan})
	}
	res, err := c.apaleo.CreateBooking(req)
	if err != nil {
		c.counts.add("front_desk", "apaleo refused: "+err.Error())
		return
	}
	c.book.mu.Lock()
	for _, r := range res.ReservationIDs {
		c.book.frontDesk = append(c.book.frontDesk, r.ID)
	}
	c.book.mu.Unlock()
	c.counts.add("front_desk", "ok")
}

// --- faults ---

// chaosFaults counts what was injected.
type chaosFaults struct {
	mu      sync.Mutex
	byKind  map[string]int
	details map[string]int
	at      map[string][]time.Time // when each fault of a kind was injected
}

func (f *chaosFaults) add(kind string, detail string, n int) { f.addAt(kind, detail, n, time.Now()) }

// addAt records a fault injected at at.
func (f *chaosFaults) addAt(kind string, detail string, n int, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byKind == nil {
		f.byKind, f.details, f.at = map[string]int{}, map[string]int{}, map[string][]time.Time{}
	}
	f.byKind[kind]++
	f.at[kind] = append(f.at[kind], at)
	if detail != "" {
		f.details[detail] += n
	}
}

// between reports whether a fault of one of kinds was injected in (from, to].
func (f *chaosFaults) between(from, to time.Time, kinds ...string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range kinds {
		for _, t := range f.at[k] {
			if t.After(from) && !t.After(to) {
				return true
			}
		}
	}
	return false
}

func (f *chaosFaults) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, v := range f.byKind {
		n += v
	}
	return n
}

// faultSchedule is every kind once per 1000 operations (at least once), in
// an order drawn from the seed.
func (c *chaosRun) faultSchedule() []string {
	rounds := max(1, c.o.ops/1000)
	rng := mrand.New(mrand.NewPCG(c.o.seed, 0xfa17))
	var s []string
	for range rounds {
		round := slices.Clone(c.faultKinds())
		rng.Shuffle(len(round), func(i, j int) { round[i], round[j] = round[j], round[i] })
		s = append(s, round...)
	}
	return s
}

// runFaults injects the schedule's faults as the load reaches their
// operations; each lets the load go on to the next one's.
func (c *chaosRun) runFaults(ctx context.Context, schedule []string, loadDone <-chan struct{}) {
	for k, kind := range schedule {
		at := c.threshold(k, len(schedule))
		for c.gate.started() < at {
			select {
			case <-ctx.Done():
				return
			case <-loadDone:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
		c.inject(ctx, kind, func() { c.gate.allow(c.threshold(k+1, len(schedule))) })
	}
	c.gate.allow(c.o.ops)
}

// inject applies one fault. release lets the load go on; windowed faults
// call it at once, so the load runs through the window.
func (c *chaosRun) inject(ctx context.Context, kind string, release func()) {
	if c.kafka != nil && c.injectRealKafka(ctx, kind, release) {
		return
	}
	start := time.Now()
	switch kind {
	case faultServeKill:
		release()
		c.killServe()
		if err := c.startServe(context.WithoutCancel(ctx)); err != nil {
			c.say("fault %s: restart failed: %v", kind, err)
		}
		c.faults.addAt(kind, "", 0, start)
		c.say("fault %s: serve killed and started again in %s", kind, time.Since(start).Round(time.Millisecond))
	case faultProduceErrors, faultFetchErrors:
		key, codes := kmsg.Produce, []*kerr.Error{kerr.NotLeaderForPartition, kerr.RequestTimedOut}
		if kind == faultFetchErrors {
			key, codes = kmsg.Fetch, []*kerr.Error{kerr.NotLeaderForPartition, kerr.UnknownServerError}
		}
		var fs []kfake.Fault
		for _, code := range codes {
			fs = append(fs, kfake.Fault{Keys: []kmsg.Key{key}, Err: code, Count: -1, When: everyOther()})
		}
		h := c.cluster().Fault(fs...)
		release()
		chaosSleep(ctx, chaosFaultWindow)
		// Consumers rejoining after a restart of serve fetch nothing for
		// a while; hold the fault until it has bitten.
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		h.Wait(wctx, 20) //nolint:errcheck // at the timeout, it bit less
		cancel()
		h.Remove()
		c.faults.add(kind, kind+"_answered", h.Hits())
		c.say("fault %s: %d requests answered with errors in %s", kind, h.Hits(), time.Since(start).Round(time.Millisecond))
	case faultLeaderMove:
		release()
		moved := c.moveLeaders()
		c.faults.add(kind, "partitions_moved", moved)
		c.say("fault %s: %d partition leaders moved", kind, moved)
	case faultBrokerRestart:
		release()
		c.brokerMu.Lock()
		c.broker.Close()
		c.brokerMu.Unlock()
		chaosSleep(ctx, 500*time.Millisecond)
		if err := c.startBroker(); err != nil {
			c.say("fault %s: broker did not come back: %v", kind, err)
			return
		}
		c.faults.add(kind, "", 0)
		c.say("fault %s: broker stopped and started on its data in %s", kind, time.Since(start).Round(time.Millisecond))
	case faultPGCut:
		release()
		n := c.cutDatabase(ctx)
		c.faults.add(kind, "pg_connections_terminated", n)
		c.say("fault %s: %d of serve's PostgreSQL connections terminated", kind, n)
	case faultPartner5xx, faultPartner429, faultPartnerHang, faultDuplicates:
		c.partnerFault(kind)
		notified := c.notifyFailures()
		release()
		chaosSleep(ctx, chaosFaultWindow)
		c.holdNotifyFault(ctx, notified)
		c.healPartners()
		c.faults.add(kind, "", 0)
		c.say("fault %s: partners misbehaved for %s", kind, chaosFaultWindow)
	}
}

// chaosSleep waits d or until ctx ends.
func chaosSleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// everyOther faults every second matching request, so that clients see
// errors and successes mixed, as with a flapping broker.
func everyOther() func(kmsg.Request) bool {
	var n atomic.Int64
	return func(kmsg.Request) bool { return n.Add(1)%2 == 0 }
}

// moveLeaders moves every partition of the backbone's topics to the other node.
func (c *chaosRun) moveLeaders() int {
	cl := c.cluster()
	c.brokerMu.Lock()
	other := c.otherNode
	c.brokerMu.Unlock()
	topics := []string{canonical.TopicReservationEvents, canonical.TopicAvailabilityEvents, canonical.TopicPaymentEvents,
		inbound.Topic("apaleo"), inbound.Topic("ota")}
	moved := 0
	for _, t := range topics {
		for p := int32(0); p < chaosPartitions; p++ {
			to := other
			if cl.LeaderFor(t, p) == other {
				to = 0
			}
			if cl.MoveTopicPartition(t, p, to) == nil {
				moved++
			}
		}
	}
	return moved
}

// cutDatabase terminates serve's PostgreSQL connections.
func (c *chaosRun) cutDatabase(ctx context.Context) int {
	var n int
	err := c.pool.QueryRow(context.WithoutCancel(ctx), `SELECT count(*) FROM (
		SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2) t`,
		c.dbName, chaosServeApp).Scan(&n)
	if err != nil {
		c.say("fault %s: %v", faultPGCut, err)
	}
	return n
}

func (c *chaosRun) partnerFault(kind string) {
	var af apaleosim.Faults
	var gf gatewaysim.Faults
	var chf channelsim.Faults
	switch kind {
	case faultPartner5xx:
		af.ErrorRate, gf.ErrorRate, chf.ErrorRate = 0.5, 0.5, 0.5
	case faultPartner429:
		af.RateLimitRate, af.RetryAfter = 0.5, 1
		chf.RateLimitRate, chf.RetryAfter = 0.5, 1
	case faultPartnerHang:
		af.TimeoutRate, af.HangFor = 0.3, 3*time.Second
		gf.TimeoutRate, gf.HangFor = 0.3, 3*time.Second
		chf.TimeoutRate, chf.HangFor = 0.3, 3*time.Second
	case faultDuplicates:
		af.DuplicateWebhooks, gf.DuplicateWebhooks, chf.Duplicates = 2, 2, 1
	}
	c.apaleo.SetFaults(af)
	c.stripe.SetFaults(gf)
	c.ota.SetFaults(chf)
	c.notifyFault(kind)
}

func (c *chaosRun) healPartners() {
	c.apaleo.SetFaults(apaleosim.Faults{})
	c.stripe.SetFaults(gatewaysim.Faults{})
	c.ota.SetFaults(channelsim.Faults{})
	c.notifyFault("")
}

// --- quiescence ---

// chaosQuiet is the hub's state when the load is over.
type chaosQuiet struct {
	Reached     bool   `json:"reached"`
	Unpublished int64  `json:"outbox_unpublished"`
	Parked      int64  `json:"parked"`
	Replaying   int64  `json:"dead_letters_replaying"`
	Lag         int64  `json:"consumer_lag"` // -1: the broker did not tell
	Processed   int64  `json:"processed_messages"`
	DeadLetters int64  `json:"dead_letters"`
	LagError    string `json:"lag_error,omitempty"`
}

func (q chaosQuiet) settled() bool {
	return q.Unpublished == 0 && q.Parked == 0 && q.Replaying == 0 && q.Lag <= 0
}

// waitQuiet waits until the outbox is published, nothing is parked and every
// consumer group has caught up, with the processed and dead-lettered counts
// unchanged over several polls.
func (c *chaosRun) waitQuiet(ctx context.Context) chaosQuiet {
	// Webhooks the simulators are still delivering are part of the load.
	waited := make(chan struct{})
	go func() { c.apaleo.WaitWebhooks(); c.stripe.WaitWebhooks(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
	}
	kc, err := kgo.NewClient(kgo.SeedBrokers(c.brokerSeeds()...), kgo.RequestRetries(2))
	var adm *kadm.Client
	if err == nil {
		defer kc.Close()
		adm = kadm.NewClient(kc)
	}
	var prev chaosQuiet
	stable := 0
	lastSaid := time.Now()
	for {
		q := c.snapshot(ctx, adm)
		needed := 3
		if q.Lag < 0 {
			needed = 6 // without the lag, only steady counts tell
		}
		if q.settled() && q.Processed == prev.Processed && q.DeadLetters == prev.DeadLetters {
			stable++
		} else {
			stable = 0
		}
		if stable >= needed {
			q.Reached = true
			c.say("quiet: outbox published, nothing parked, consumer lag %d, %d messages processed, %d dead letters", q.Lag, q.Processed, q.DeadLetters)
			return q
		}
		if time.Since(lastSaid) >= 5*time.Second {
			c.say("waiting for quiet: outbox backlog %d, parked %d, consumer lag %d, replaying %d", q.Unpublished, q.Parked, q.Lag, q.Replaying)
			lastSaid = time.Now()
		}
		prev = q
		select {
		case <-ctx.Done():
			c.say("not quiet by the deadline: outbox backlog %d, parked %d, consumer lag %d", q.Unpublished, q.Parked, q.Lag)
			return q
		case <-time.After(time.Second):
		}
	}
}

func (c *chaosRun) snapshot(ctx context.Context, adm *kadm.Client) chaosQuiet {
	q := chaosQuiet{Lag: -1}
	err := c.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM outbox WHERE published_at IS NULL),
		(SELECT count(*) FROM parked_messages),
		(SELECT count(*) FROM dead_letters WHERE status = 'replaying'),
		(SELECT count(*) FROM processed_messages),
		(SELECT count(*) FROM dead_letters)`).Scan(&q.Unpublished, &q.Parked, &q.Replaying, &q.Processed, &q.DeadLetters)
	if err != nil {
		q.Unpublished = -1
		return q
	}
	if adm == nil {
		return q
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	groups, err := adm.ListGroups(lctx)
	if err != nil {
		q.LagError = err.Error()
		return q
	}
	lags, err := adm.Lag(lctx, c.ownGroups(groups.Groups())...)
	if err != nil {
		q.LagError = err.Error()
		return q
	}
	var total int64
	for _, l := range lags {
		if err := l.Error(); err != nil {
			q.LagError = err.Error()
			return q
		}
		total += l.Lag.Total()
	}
	q.Lag = total
	return q
}

// --- the checks ---

// chaosInvariant is one promise and whether it held.
type chaosInvariant struct {
	Name       string `json:"name"`
	OK         bool   `json:"ok"`
	Checked    int    `json:"checked"`
	Violations int    `json:"violations"`
	What       string `json:"what"`
}

// chaosReport is the report.
type chaosReport struct {
	Seed              uint64                     `json:"seed"`
	Operations        int                        `json:"operations"`
	OperationsByKind  map[string]chaosOpCount    `json:"operations_by_kind"`
	ClientRetries     int64                      `json:"client_retries"`
	ErrorsByKind      map[string]int             `json:"errors_by_kind"`
	FaultsInjected    map[string]int             `json:"faults_injected"`
	FaultsTotal       int                        `json:"faults_total"`
	FaultDetails      map[string]int             `json:"fault_details"`
	Invariants        []chaosInvariant           `json:"invariants"`
	Violations        []string                   `json:"violations"`
	Quiescence        chaosQuiet                 `json:"quiescence"`
	Figures           map[string]int             `json:"figures"`
	DeadLetters       map[string]int             `json:"dead_letters_by_consumer_and_reason"`
	LoadSeconds       float64                    `json:"load_seconds"`
	QuiescenceSeconds float64                    `json:"quiescence_seconds"`
	TotalSeconds      float64                    `json:"total_seconds"`
	Notes             []string                   `json:"notes"`
	first             map[string][]string        // the first violations of each invariant
	index             map[string]*chaosInvariant // by name
}

// The invariants, in the order they are reported.
const (
	invLost       = "no acknowledged reservation lost"
	invDupStore   = "no duplicate in the store"
	invDupPMS     = "no duplicate in the PMS or the gateway"
	invPMSInStep  = "PMS has the last change"
	invOverbook   = "no direct overbooking"
	invInventory  = "inventory matches reservations"
	invDeadLetter = "every failure dead-lettered with a reason"
	invStuck      = "nothing stuck"
	invNotify     = "notifications once per event"
)

var chaosInvariantWhat = map[string]string{
	invLost:       "every 201 and every acknowledged channel message is in the store with its last acknowledged change",
	invDupStore:   "one reservation per idempotency key and per channel reservation id",
	invDupPMS:     "one Apaleo booking per reservation (idempotency-key counters); no gateway operation run twice for one key",
	invPMSInStep:  "Apaleo has each booking's status, dates and version, unless its delivery was dead-lettered",
	invOverbook:   "direct bookings never exceed the units of a room type on a night",
	invInventory:  "units_sold equals the nights of reservations holding rooms: every cancellation gave its units back",
	invDeadLetter: "every event was handled by each consumer or dead-lettered, with a reason, on the dead-letter topic; every published outbox event is on Kafka",
	invStuck:      "no outbox backlog, parked message, replay in progress or consumer lag after the partners healed",
	invNotify:     "each reservation event's e-mails reached the SMTP relay once, under their own Message-ID; each webhook carried the event's id, verified, and reached the subscriber unless dead-lettered",
}

var chaosInvariantOrder = []string{invLost, invDupStore, invDupPMS, invPMSInStep, invOverbook, invInventory, invDeadLetter, invNotify, invStuck}

func newChaosReport() *chaosReport {
	r := &chaosReport{first: map[string][]string{}, index: map[string]*chaosInvariant{}, Violations: []string{}}
	r.Invariants = make([]chaosInvariant, len(chaosInvariantOrder))
	for i, name := range chaosInvariantOrder {
		r.Invariants[i] = chaosInvariant{Name: name, OK: true, What: chaosInvariantWhat[name]}
		r.index[name] = &r.Invariants[i]
	}
	return r
}

// checked counts one thing checked against an invariant.
func (r *chaosReport) checked(inv string) { r.index[inv].Checked++ }

// fail records a violation; the report lists the first few of each invariant.
func (r *chaosReport) fail(inv, format string, a ...any) {
	in := r.index[inv]
	in.OK = false
	in.Violations++
	if len(r.first[inv]) < 10 {
		r.first[inv] = append(r.first[inv], fmt.Sprintf(format, a...))
	}
}

func (r *chaosReport) finish() {
	for _, in := range r.Invariants {
		for _, v := range r.first[in.Name] {
			r.Violations = append(r.Violations, in.Name+": "+v)
		}
		if in.Violations > len(r.first[in.Name]) {
			r.Violations = append(r.Violations, fmt.Sprintf("%s: and %d more", in.Name, in.Violations-len(r.first[in.Name])))
		}
	}
}

// storedRes is a reservation as the store has it.
type storedRes struct {
	id, channel, externalID string
	version                 int
	doc                     canonical.Reservation
}

// chaosRecord is a Kafka record's identity.
type chaosRecord struct {
	id, handler, reason string
}

func (c *chaosRun) check(ctx context.Context, quiet chaosQuiet) *chaosReport {
	rep := newChaosReport()
	rep.Seed, rep.Quiescence = c.o.seed, quiet
	rep.Figures = map[string]int{}
	c.counts.mu.Lock()
	rep.OperationsByKind = map[string]chaosOpCount{}
	for k, v := range c.counts.byKind {
		rep.OperationsByKind[k] = *v
		rep.Operations += v.Count
	}
	rep.ErrorsByKind = map[string]int{}
	for k, v := range c.counts.errors {
		rep.ErrorsByKind[k] = v
	}
	c.counts.mu.Unlock()
	rep.ClientRetries = c.counts.retries.Load()
	c.faults.mu.Lock()
	rep.FaultsInjected, rep.FaultDetails = map[string]int{}, map[string]int{}
	for _, k := range c.faultKinds() {
		rep.FaultsInjected[k] = 0
	}
	for k, v := range c.faults.byKind {
		rep.FaultsInjected[k] = v
		rep.FaultsTotal += v
	}
	for k, v := range c.faults.details {
		rep.FaultDetails[k] = v
	}
	c.faults.mu.Unlock()
	rep.Notes = append(rep.Notes,
		"channel bookings (ota, apaleo) may overbook by design and are left out of the direct-overbooking check",
		"Apaleo's availability pull is off, so inventory is only what the load sold; breaker timings are the defaults (not configurable in serve)")

	if err := c.checkAll(ctx, rep); err != nil {
		rep.Violations = append(rep.Violations, "the checks could not run: "+err.Error())
	}
	rep.finish()
	return rep
}

func (c *chaosRun) checkAll(ctx context.Context, rep *chaosReport) error {
	stored, err := c.loadReservations(ctx)
	if err != nil {
		return err
	}
	byID := map[string]*storedRes{}
	byExternal := map[string]*storedRes{}
	for _, s := range stored {
		byID[s.id] = s
		if s.externalID != "" {
			byExternal[s.channel+"/"+s.externalID] = s
		}
	}
	keys := map[string]string{}
	rows, _ := c.pool.Query(ctx, `SELECT key, reservation_id::text FROM idempotency_keys`)
	var k, id string
	if _, err := pgx.ForEachRow(rows, []any{&k, &id}, func() error { keys[k] = id; return nil }); err != nil {
		return err
	}
	deadFor := map[string]bool{} // consumer/reservation id
	deadMsg := map[string]bool{} // consumer/message id
	type deadRow struct{ consumer, messageID, topic, reason, errText, status, reservationID string }
	var dead []deadRow
	rows, _ = c.pool.Query(ctx, `SELECT consumer, message_id, original_topic, reason, error, status, reservation_id FROM dead_letters ORDER BY id`)
	var d deadRow
	if _, err := pgx.ForEachRow(rows, []any{&d.consumer, &d.messageID, &d.topic, &d.reason, &d.errText, &d.status, &d.reservationID}, func() error {
		dead = append(dead, d)
		deadFor[d.consumer+"/"+d.reservationID] = true
		deadMsg[d.consumer+"/"+d.messageID] = true
		return nil
	}); err != nil {
		return err
	}
	rep.DeadLetters = map[string]int{}
	for _, d := range dead {
		rep.DeadLetters[d.consumer+": "+d.reason]++
	}

	c.checkAcknowledged(rep, byID, byExternal, keys)
	c.checkStoreDuplicates(ctx, rep, stored, keys)
	if err := c.checkPMS(ctx, rep, stored, byID, deadFor); err != nil {
		return err
	}
	if err := c.checkInventory(ctx, rep, stored); err != nil {
		return err
	}

	// Every event and inbound message: handled by each consumer, or dead-lettered.
	topicConsumers := map[string][]string{
		canonical.TopicReservationEvents:  {"outbound.apaleo", "payments.stripe", notify.ConsumerEmail, notify.ConsumerDispatch},
		notify.TopicWebhookDeliveries:     {notify.ConsumerWebhooks},
		canonical.TopicAvailabilityEvents: {arifanout.ConsumerName("ota")},
		canonical.TopicPaymentEvents:      nil,
		inbound.Topic("apaleo"):           {"inbound.apaleo"},
		inbound.Topic("ota"):              {"inbound.ota"},
	}
	var topics []string
	for t := range topicConsumers {
		topics = append(topics, t, router.DeadLetterTopic(t))
	}
	sort.Strings(topics)
	records, err := c.readTopics(ctx, topics)
	if err != nil {
		return fmt.Errorf("read Kafka: %w", err)
	}
	processed := map[string]bool{}
	rows, _ = c.pool.Query(ctx, `SELECT consumer, message_id FROM processed_messages`)
	var pc, pm string
	if _, err := pgx.ForEachRow(rows, []any{&pc, &pm}, func() error { processed[pc+"/"+pm] = true; return nil }); err != nil {
		return err
	}
	onKafka := map[string]bool{}
	for t, consumers := range topicConsumers {
		seen := map[string]bool{}
		for _, r := range records[t] {
			onKafka[t+"/"+r.id] = true
			if seen[r.id] {
				continue // published again after a crash: one message
			}
			seen[r.id] = true
			for _, cons := range consumers {
				rep.checked(invDeadLetter)
				if !processed[cons+"/"+r.id] && !deadMsg[cons+"/"+r.id] {
					rep.fail(invDeadLetter, "message %s on %s was neither handled by %s nor dead-lettered", r.id, t, cons)
				}
			}
		}
		rep.Figures["kafka_messages."+t] = len(seen)
	}
	rows, _ = c.pool.Query(ctx, `SELECT event_id::text, topic, event_type FROM outbox WHERE published_at IS NOT NULL`)
	var eid, et, etype string
	if _, err := pgx.ForEachRow(rows, []any{&eid, &et, &etype}, func() error {
		rep.checked(invDeadLetter)
		if !onKafka[et+"/"+eid] {
			rep.fail(invDeadLetter, "outbox event %s (%s) is marked published but is not on %s", eid, etype, et)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := c.checkNotifications(ctx, rep, processed, deadMsg); err != nil {
		return err
	}
	dlq := map[string]chaosRecord{}
	for t := range topicConsumers {
		for _, r := range records[router.DeadLetterTopic(t)] {
			dlq[t+"/"+r.handler+"/"+r.id] = r
		}
	}
	for _, d := range dead {
		rep.checked(invDeadLetter)
		if d.reason == "" || d.errText == "" {
			rep.fail(invDeadLetter, "dead letter of %s for %s has no reason or error", d.consumer, d.messageID)
		}
		r, ok := dlq[d.topic+"/"+d.consumer+"/"+d.messageID]
		switch {
		case !ok:
			rep.fail(invDeadLetter, "dead letter of %s for %s (%s) is not on %s", d.consumer, d.messageID, d.reason, router.DeadLetterTopic(d.topic))
		case r.reason == "":
			rep.fail(invDeadLetter, "dead-letter record of %s for %s has no reason header", d.consumer, d.messageID)
		}
	}

	q := rep.Quiescence
	rep.checked(invStuck)
	if !q.Reached {
		rep.fail(invStuck, "the hub was not quiet by the deadline: outbox backlog %d, parked %d, replaying %d, consumer lag %d %s",
			q.Unpublished, q.Parked, q.Replaying, q.Lag, q.LagError)
	}
	var unpublished, parked, replaying int64
	if err := c.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL),
		(SELECT count(*) FROM parked_messages), (SELECT count(*) FROM dead_letters WHERE status = 'replaying')`).Scan(&unpublished, &parked, &replaying); err != nil {
		return err
	}
	for _, x := range []struct {
		n    int64
		what string
	}{{unpublished, "outbox events unpublished"}, {parked, "messages parked"}, {replaying, "dead letters left replaying"}} {
		rep.checked(invStuck)
		if x.n > 0 {
			rep.fail(invStuck, "%d %s", x.n, x.what)
		}
	}
	rep.Figures["dead_letters"] = len(dead)
	return nil
}

func (c *chaosRun) loadReservations(ctx context.Context) ([]*storedRes, error) {
	rows, _ := c.pool.Query(ctx, `SELECT id::text, channel, coalesce(external_id, ''), version, document FROM reservations`)
	var out []*storedRes
	var s storedRes
	var doc []byte
	_, err := pgx.ForEachRow(rows, []any{&s.id, &s.channel, &s.externalID, &s.version, &doc}, func() error {
		x := s
		if err := json.Unmarshal(doc, &x.doc); err != nil {
			return fmt.Errorf("reservation %s: %w", s.id, err)
		}
		out = append(out, &x)
		return nil
	})
	return out, err
}

// checkAcknowledged: every acknowledged booking is in the store with its
// last acknowledged change (or a later change whose answer was lost).
func (c *chaosRun) checkAcknowledged(rep *chaosReport, byID, byExternal map[string]*storedRes, keys map[string]string) {
	c.book.mu.Lock()
	all := slices.Clone(c.book.all)
	c.book.mu.Unlock()
	for _, x := range all {
		if x.acked == nil {
			continue // never acknowledged: present or not, both are right
		}
		rep.checked(invLost)
		var s *storedRes
		what := ""
		if x.channel == canonical.ChannelDirect {
			s, what = byID[x.id], fmt.Sprintf("direct reservation %s (Idempotency-Key %s)", x.id, x.key)
			rep.Figures["acknowledged_direct"]++
		} else {
			s, what = byExternal[x.channel+"/"+x.key], fmt.Sprintf("%s booking %s", x.channel, x.key)
			rep.Figures["acknowledged_channel"]++
		}
		if s == nil {
			rep.fail(invLost, "%s was acknowledged but is not in the store", what)
			continue
		}
		got := stateOf(&s.doc)
		match := func(want chaosState) bool {
			if x.channel != canonical.ChannelDirect {
				want.Comments, got.Comments = nil, nil // channel messages carry no comments
			}
			return got.equal(want)
		}
		ok := match(*x.acked)
		for _, m := range x.maybe {
			ok = ok || match(m)
		}
		if !ok {
			rep.fail(invLost, "%s: the store has %s, the last acknowledged change was %s", what, got, *x.acked)
		}
		if x.channel == canonical.ChannelDirect && x.version > s.version {
			rep.fail(invLost, "%s: the store has version %d, version %d was acknowledged", what, s.version, x.version)
		}
	}
}

func (c *chaosRun) checkStoreDuplicates(ctx context.Context, rep *chaosReport, stored []*storedRes, keys map[string]string) {
	c.book.mu.Lock()
	sent := map[string]*chaosBooking{}
	for _, x := range c.book.all {
		sent[x.channel+"/"+x.key] = x
	}
	frontDesk := map[string]bool{}
	for _, id := range c.book.frontDesk {
		frontDesk[id] = true
	}
	c.book.mu.Unlock()
	keyOf := map[string]string{}
	for k, id := range keys {
		keyOf[id] = k
	}
	external := map[string]int{}
	for _, s := range stored {
		rep.checked(invDupStore)
		rep.Figures["reservations."+s.channel]++
		switch s.channel {
		case canonical.ChannelDirect:
			k, ok := keyOf[s.id]
			switch {
			case !ok:
				rep.fail(invDupStore, "direct reservation %s was made without an idempotency key record", s.id)
			case sent[canonical.ChannelDirect+"/"+k] == nil:
				rep.fail(invDupStore, "direct reservation %s has key %s, which the load never sent", s.id, k)
			}
		default:
			external[s.channel+"/"+s.externalID]++
			if external[s.channel+"/"+s.externalID] == 2 {
				rep.fail(invDupStore, "%s reservation %s is in the store more than once", s.channel, s.externalID)
			}
			if s.channel == "ota" && sent["ota/"+s.externalID] == nil {
				rep.fail(invDupStore, "ota reservation %s was never pushed", s.externalID)
			}
			if s.channel == apaleo.Channel && !frontDesk[s.externalID] {
				rep.fail(invDupStore, "apaleo reservation %s was never booked at the front desk", s.externalID)
			}
		}
	}
	for k, id := range keys {
		rep.checked(invDupStore)
		if x := sent[canonical.ChannelDirect+"/"+k]; x != nil && x.id != "" && x.id != id {
			rep.fail(invDupStore, "Idempotency-Key %s answered %s but the store records %s", k, x.id, id)
		}
	}
	rep.Figures["front_desk_bookings"] = len(frontDesk)
}

func (c *chaosRun) checkPMS(ctx context.Context, rep *chaosReport, stored []*storedRes, byID map[string]*storedRes, deadFor map[string]bool) error {
	stats := c.apaleo.Stats()
	booked := 0
	for _, s := range stored {
		if s.channel == apaleo.Channel {
			continue
		}
		rep.checked(invDupPMS)
		n := c.apaleo.BookingsWithKey(apaleo.IdempotencyKey(s.id))
		booked += n
		switch {
		case n > 1:
			rep.fail(invDupPMS, "reservation %s was booked %d times in Apaleo", s.id, n)
		case n == 0 && !deadFor["outbound.apaleo/"+s.id]:
			rep.checked(invPMSInStep)
			rep.fail(invPMSInStep, "reservation %s (%s) never reached Apaleo and has no dead letter", s.id, s.channel)
		}
	}
	rep.checked(invDupPMS)
	c.book.mu.Lock()
	frontDesk := len(c.book.frontDesk)
	c.book.mu.Unlock()
	if keyed := sumValues(stats.BookingsByKey); stats.Reservations != keyed+frontDesk {
		rep.fail(invDupPMS, "Apaleo has %d reservations: %d booked with Roomwire's keys and %d at the front desk", stats.Reservations, keyed, frontDesk)
	}
	rep.Figures["apaleo_reservations"] = stats.Reservations
	rep.Figures["apaleo_booking_posts"] = stats.BookingPosts

	st := c.stripe.Stats()
	rep.checked(invDupPMS)
	if st.MaxExecutions > 1 {
		rep.fail(invDupPMS, "Stripe ran one operation %d times for one idempotency key", st.MaxExecutions)
	}
	rep.Figures["stripe_payments"] = st.Holds
	rep.Figures["stripe_authorizations"] = st.Authorizations

	rows, _ := c.pool.Query(ctx, `SELECT reservation_id::text, partner_ids, synced_version FROM connector_links WHERE connector = 'apaleo' AND origin = 'roomwire'`)
	var rid string
	var pids []string
	var synced int
	_, err := pgx.ForEachRow(rows, []any{&rid, &pids, &synced}, func() error {
		s := byID[rid]
		if s == nil || deadFor["outbound.apaleo/"+rid] || len(pids) == 0 || len(s.doc.RoomStays) == 0 {
			return nil
		}
		rep.checked(invPMSInStep)
		a := c.apaleo.Reservation(pids[0])
		if a == nil {
			rep.fail(invPMSInStep, "reservation %s is linked to Apaleo %s, which Apaleo does not have", rid, pids[0])
			return nil
		}
		wantStatus := apaleo.StatusConfirmed
		if s.doc.Status == canonical.StatusCancelled {
			wantStatus = apaleo.StatusCanceled
		}
		stay := s.doc.RoomStays[0]
		if a.Status != wantStatus || !strings.HasPrefix(a.Arrival, stay.Arrival.String()) || !strings.HasPrefix(a.Departure, stay.Departure.String()) {
			rep.fail(invPMSInStep, "reservation %s is %s %s..%s; Apaleo %s has %s %s..%s", rid, s.doc.Status, stay.Arrival, stay.Departure,
				pids[0], a.Status, a.Arrival, a.Departure)
		}
		if synced != s.version {
			rep.fail(invPMSInStep, "reservation %s is at version %d; Apaleo was last given version %d", rid, s.version, synced)
		}
		return nil
	})
	return err
}

func sumValues(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// checkInventory recomputes units sold per property, room type and night
// from the reservations, and compares them with the inventory rows.
func (c *chaosRun) checkInventory(ctx context.Context, rep *chaosReport, stored []*storedRes) error {
	type night struct {
		prop, roomType string
		night          canonical.Date
	}
	sold, direct := map[night]int{}, map[night]int{}
	for _, s := range stored {
		if !s.doc.Status.HoldsInventory() {
			continue
		}
		for _, st := range s.doc.RoomStays {
			for _, n := range canonical.Nights(st.Arrival, st.Departure) {
				k := night{s.doc.PropertyID, st.RoomType, n}
				sold[k]++
				if s.channel == canonical.ChannelDirect {
					direct[k]++
				}
			}
		}
	}
	capacity := map[string]int{}
	rows, _ := c.pool.Query(ctx, `SELECT property_id, code, units FROM room_types`)
	var p, code string
	var units int
	if _, err := pgx.ForEachRow(rows, []any{&p, &code, &units}, func() error { capacity[p+"/"+code] = units; return nil }); err != nil {
		return err
	}
	rows, _ = c.pool.Query(ctx, `SELECT property_id, room_type, night, units_sellable, units_sold FROM inventory`)
	var rt string
	var d time.Time
	var sellable *int
	var unitsSold int
	rowSold := map[night]int{}
	rowCap := map[night]int{}
	if _, err := pgx.ForEachRow(rows, []any{&p, &rt, &d, &sellable, &unitsSold}, func() error {
		k := night{p, rt, canonical.DateOf(d)}
		rowSold[k] = unitsSold
		rowCap[k] = capacity[p+"/"+rt]
		if sellable != nil {
			rowCap[k] = *sellable
		}
		return nil
	}); err != nil {
		return err
	}
	all := map[night]bool{}
	for k := range sold {
		all[k] = true
	}
	for k := range rowSold {
		all[k] = true
	}
	for k := range all {
		rep.checked(invInventory)
		if rowSold[k] != sold[k] {
			rep.fail(invInventory, "%s %s %s: units_sold is %d, reservations hold %d", k.prop, k.roomType, k.night, rowSold[k], sold[k])
		}
		cp, ok := rowCap[k]
		if !ok {
			cp = capacity[k.prop+"/"+k.roomType]
		}
		rep.checked(invOverbook)
		if direct[k] > cp {
			rep.fail(invOverbook, "%s %s %s: %d direct bookings for %d units", k.prop, k.roomType, k.night, direct[k], cp)
		}
		if sold[k] > cp {
			rep.Figures["nights_overbooked_by_channels"]++
		}
	}
	return nil
}

// readTopics reads every record of topics, from the start to the end
// offsets of the moment.
func (c *chaosRun) readTopics(ctx context.Context, topics []string) (map[string][]chaosRecord, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.brokerSeeds()...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, err
	}
	left := map[string]int64{} // topic/partition -> end offset still to reach
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset > 0 {
			left[fmt.Sprintf("%s/%d", o.Topic, o.Partition)] = o.Offset
		}
	})
	out := map[string][]chaosRecord{}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for len(left) > 0 {
		fs := cl.PollFetches(rctx)
		if rctx.Err() != nil {
			return nil, fmt.Errorf("%d partitions not read to their end in a minute", len(left))
		}
		fs.EachRecord(func(r *kgo.Record) {
			rec := chaosRecord{}
			for _, h := range r.Headers {
				switch h.Key {
				case kafka.UUIDHeaderKey:
					rec.id = string(h.Value)
				case router.MetadataDLQHandler:
					rec.handler = string(h.Value)
				case router.MetadataDLQReason:
					rec.reason = string(h.Value)
				}
			}
			out[r.Topic] = append(out[r.Topic], rec)
			k := fmt.Sprintf("%s/%d", r.Topic, r.Partition)
			if end, ok := left[k]; ok && r.Offset+1 >= end {
				delete(left, k)
			}
		})
	}
	return out, nil
}

// --- the report ---

func printChaosReport(w io.Writer, rep *chaosReport) {
	fmt.Fprintf(w, "Roomwire chaos: seed %d, %d operations, %d faults, %.1fs (load %.1fs, quiescence %.1fs)\n\n",
		rep.Seed, rep.Operations, rep.FaultsTotal, rep.TotalSeconds, rep.LoadSeconds, rep.QuiescenceSeconds)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "operation\tcount\tok\trefused\terrors\tunknown\t\n")
	kinds := chaosSortedKeys(rep.OperationsByKind)
	for _, k := range kinds {
		o := rep.OperationsByKind[k]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t\n", k, o.Count, o.OK, o.Refused, o.Errors, o.Unknown)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "fault\tinjected\n")
	for _, k := range chaosSortedKeys(rep.FaultsInjected) {
		fmt.Fprintf(tw, "%s\t%d\n", k, rep.FaultsInjected[k])
	}
	tw.Flush()
	if len(rep.ErrorsByKind) > 0 {
		fmt.Fprintf(w, "\nunexpected answers:\n")
		for _, k := range chaosSortedKeys(rep.ErrorsByKind) {
			fmt.Fprintf(w, "  %-50s %d\n", k, rep.ErrorsByKind[k])
		}
	}
	if len(rep.DeadLetters) > 0 {
		fmt.Fprintf(w, "\ndead letters:\n")
		for _, k := range chaosSortedKeys(rep.DeadLetters) {
			fmt.Fprintf(w, "  %-50s %d\n", k, rep.DeadLetters[k])
		}
	}
	fmt.Fprintf(w, "\nfigures:\n")
	for _, k := range chaosSortedKeys(rep.Figures) {
		fmt.Fprintf(w, "  %-50s %d\n", k, rep.Figures[k])
	}
	fmt.Fprintf(w, "  %-50s %d\n", "client retries", rep.ClientRetries)
	fmt.Fprintf(w, "\ninvariants:\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, in := range rep.Invariants {
		verdict := "OK"
		if !in.OK {
			verdict = fmt.Sprintf("FAIL (%d)", in.Violations)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d checked\n", in.Name, verdict, in.Checked)
	}
	tw.Flush()
	if len(rep.Violations) > 0 {
		fmt.Fprintf(w, "\nviolations:\n")
		for _, v := range rep.Violations {
			fmt.Fprintf(w, "  - %s\n", v)
		}
	}
	if len(rep.Notes) > 0 {
		fmt.Fprintf(w, "\nnotes:\n")
		for _, n := range rep.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
}

func chaosSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
