// Package chaos is roomwire chaos: it books through serve, run as a child
// process, while injecting faults (kills, broker and database failures,
// partner errors), then checks that nothing was lost, doubled or overbooked
// (docs/chaos.md).
package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/cli"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/rig"
	"github.com/roomwire/roomwire/config"
	"github.com/roomwire/roomwire/connectors/apaleo/apaleosim"
	"github.com/roomwire/roomwire/connectors/ota/otasim"
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
