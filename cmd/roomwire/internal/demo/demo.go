// Package demo is roomwire demo: the hub on one machine with simulated
// partners, a seeded hotel group and a narrated scenario checked step by step.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/cli"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/database"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/hub"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/ops"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/rig"
	"github.com/roomwire/roomwire/config"
	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/apaleo"
	"github.com/roomwire/roomwire/connectors/apaleo/apaleosim"
	"github.com/roomwire/roomwire/connectors/bookingcom/bookingcomsim"
	"github.com/roomwire/roomwire/connectors/channelsim"
	"github.com/roomwire/roomwire/connectors/expedia/expediasim"
	"github.com/roomwire/roomwire/connectors/ota/otasim"
	"github.com/roomwire/roomwire/connectors/payments/gatewaysim"
	"github.com/roomwire/roomwire/connectors/stripe/stripesim"
	"github.com/roomwire/roomwire/router"
)

// Command is roomwire demo.
var Command = cli.Command{Name: "demo", Summary: "run the hub with simulated partners and a narrated, checked scenario",
	Run: func(ctx context.Context, args []string) error { return runDemo(ctx, args, os.Stdout) }}

const demoDescription = `
Runs the whole hub on one machine with simulated partners, seeds a demo hotel
group, and plays a scenario step by step, checking each step against the
reservation store, the API and the simulators:

  1. a booking arrives from an OTA channel: it is in Roomwire, in Apaleo once,
     and its card is authorized at the payment gateway;
  2. availability falls on the other channels;
  3. the last unit of a room type sells and it closes on every channel;
  4. Apaleo goes down: its circuit breaker opens, bookings wait (parked), and
     reach Apaleo once each when it recovers;
  5. a booking with an unmapped rate code is dead-lettered; the mapping is
     added and a replay delivers it;
  6. cancellations: the payment is voided or kept as the rate plan's policy
     says, and availability comes back on every channel;
  7. the timeline of one booking.

What it starts: the embedded Kafka broker (a free port, data under
$ROOMWIRE_STATE_DIR/demo, default .roomwire/demo), a fresh database
roomwire_demo_<time> on the PostgreSQL that DATABASE_URL names (which must
answer), else on the local server at 127.0.0.1:5432, else (when that does not
answer, or wants a password) on a private PostgreSQL in the state directory if
its server programs are installed; it says which and why. And simulators of Apaleo, an OpenTravel
channel, Booking.com, Expedia and Stripe on free ports. The demo hotel and its
partner codes are in testdata/demo. Configured Kafka brokers and connectors
are not used: the demo brings its own.

Afterwards the hub keeps serving (on 127.0.0.1:8080 if free) until Ctrl-C,
and the demo prints how to reach it, the simulators and the admin key. With
--once it exits after the scenario instead: status 0 when every step checked
out, 1 naming the step that did not. The demo database is dropped on exit
unless --keep-db. The hub's log goes to roomwire.log in the state directory.`

type demoOptions struct {
	once       bool
	keepDB     bool
	verbose    bool
	privatePG  bool
	addr       string
	dataDir    string
	configPath string
}

// demoStepTimeout bounds each wait for a condition. Every condition holds
// within a second or two on a quiet machine; the margin is for busy ones.
const demoStepTimeout = 20 * time.Second

func parseDemoFlags(args []string) (demoOptions, error) {
	fs := cli.NewFlags("demo", "[--once] [--addr HOST:PORT] [--keep-db] [--verbose]", demoDescription+"\n"+cli.ConfigHelp)
	var o demoOptions
	fs.BoolVar(&o.once, "once", false, "run the scenario and exit: 0 if every step checked out")
	fs.BoolVar(&o.keepDB, "keep-db", false, "keep the demo database on exit")
	fs.BoolVar(&o.verbose, "verbose", false, "also print the hub's log on stderr")
	fs.BoolVar(&o.privatePG, "private-postgres", false, "run a private PostgreSQL in the state directory even if a server answers")
	fs.StringVar(&o.addr, "addr", "", "where the hub's API listens (default 127.0.0.1:8080 if free, else a free port; a free port with --once)")
	fs.StringVar(&o.dataDir, "data", "", "the demo's seed `directory` (default: testdata/demo of the repository)")
	cfgPath := cli.ConfigFlag(fs)
	if err := cli.ParseFlags(fs, args); err != nil {
		return o, err
	}
	if err := cli.NoArgs(fs); err != nil {
		return o, err
	}
	o.configPath = *cfgPath
	return o, nil
}

// demo is one run of roomwire demo.
type demo struct {
	out      io.Writer
	opts     demoOptions
	cfg      *config.Config
	logger   *slog.Logger
	hotel    demoHotel
	mappings connectors.MappingFile
	adminKey string
	hubURL   string
	client   *http.Client
	h        *hub.Hub
	today    canonical.Date
	runID    string

	apaleo *apaleosim.Sim
	ota    *otasim.Sim
	// travelnet is a second OpenTravel channel: an instance of kind ota
	// under its own name, endpoints, credentials and codes.
	travelnet *otasim.Sim
	booking   *bookingcomsim.Sim
	expedia   *expediasim.Sim
	stripe    *stripesim.Sim
	simURL    map[string]string
	notify    demoNotify

	// What the steps leave for the later ones.
	first       *canonical.Reservation // the OTA booking of step 1, in Roomwire
	firstOTA    *canonical.Reservation // the same, as the OTA channel sent it
	nonRefund   *canonical.Reservation // the non-refundable booking of step 4
	bookingNext int
}

// demoHotel is testdata/demo/hotel.yaml.
type demoHotel struct {
	Properties []demoProperty `yaml:"properties"`
}

type demoProperty struct {
	ID        string `yaml:"id"`
	Name      string `yaml:"name"`
	Timezone  string `yaml:"timezone"`
	Currency  string `yaml:"currency"`
	RoomTypes []struct {
		Code         string `yaml:"code" json:"code"`
		Name         string `yaml:"name" json:"name"`
		Units        int    `yaml:"units" json:"units"`
		MaxOccupancy int    `yaml:"max_occupancy" json:"max_occupancy,omitempty"`
	} `yaml:"room_types"`
	RatePlans []struct {
		Code     string         `yaml:"code" json:"code"`
		RoomType string         `yaml:"room_type" json:"room_type"`
		Name     string         `yaml:"name" json:"name"`
		Policy   map[string]any `yaml:"policy" json:"policy,omitempty"`
	} `yaml:"rate_plans"`
	Rates map[string]string `yaml:"rates"` // rate plan -> nightly price
}

func (d *demo) property(id string) *demoProperty {
	for i := range d.hotel.Properties {
		if d.hotel.Properties[i].ID == id {
			return &d.hotel.Properties[i]
		}
	}
	return nil
}

func (d *demo) units(property, roomType string) int {
	if p := d.property(property); p != nil {
		for _, rt := range p.RoomTypes {
			if rt.Code == roomType {
				return rt.Units
			}
		}
	}
	return 0
}

func (d *demo) price(property, ratePlan string) (canonical.Money, error) {
	p := d.property(property)
	if p == nil {
		return canonical.Money{}, fmt.Errorf("no property %s in the demo hotel", property)
	}
	return connectors.ParseAmount(p.Rates[ratePlan], p.Currency)
}

// code returns connector's partner code for a Roomwire code ("" if unmapped).
func (d *demo) code(connector string, kind connectors.Kind, property, roomwire string) string {
	for _, m := range d.mappings[connector] {
		if m.Kind == kind && m.Property == property && m.Roomwire == roomwire {
			return m.Partner
		}
	}
	return ""
}

// findDemoData looks for testdata/demo in the working directory and its
// parents, so the demo runs from anywhere in the repository.
func findDemoData() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "testdata", "demo")
		if _, err := os.Stat(filepath.Join(p, "hotel.yaml")); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testdata/demo not found: run the demo from the Roomwire repository, or give --data DIR")
		}
		dir = parent
	}
}

// runDemo is roomwire demo.
func runDemo(ctx context.Context, args []string, out io.Writer) (err error) {
	opts, err := parseDemoFlags(args)
	if err != nil {
		return err
	}
	cfg, err := config.Load(opts.configPath)
	if err != nil {
		return err
	}
	d := &demo{out: out, opts: opts, cfg: cfg, client: &http.Client{Timeout: 30 * time.Second},
		today: canonical.DateOf(time.Now().UTC()), runID: time.Now().UTC().Format("150405"), simURL: map[string]string{}}
	started := time.Now()

	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()

	if opts.dataDir == "" {
		if opts.dataDir, err = findDemoData(); err != nil {
			return err
		}
	}
	if err := d.loadData(opts.dataDir); err != nil {
		return err
	}

	stateDir := filepath.Join(cfg.StateDir, "demo")
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	// The broker's log must start empty: its topics would otherwise replay an
	// earlier run's messages into this run's fresh database.
	kafkaDir := filepath.Join(stateDir, "kafka")
	if err := os.RemoveAll(kafkaDir); err != nil {
		return fmt.Errorf("clear %s: %w", kafkaDir, err)
	}
	cleanups = append(cleanups, func() {
		if !opts.keepDB {
			os.RemoveAll(kafkaDir) // the messages of a dropped database
		}
	})
	logFile, err := os.Create(filepath.Join(stateDir, "roomwire.log"))
	if err != nil {
		return err
	}
	cleanups = append(cleanups, func() { logFile.Close() })
	var logOut io.Writer = logFile
	if opts.verbose {
		logOut = io.MultiWriter(logFile, os.Stderr)
	}
	d.logger = hub.NewLogger(cfg.Log, logOut)

	d.say("Roomwire demo (pid %d): the hub, a demo hotel group and simulated partners, on this machine.", os.Getpid())
	d.say("")

	// PostgreSQL.
	serverURL, private, err := d.findPostgres(ctx, stateDir)
	if err != nil {
		return err
	}
	if private != nil {
		cleanups = append(cleanups, func() {
			if err := private.stop(); err != nil {
				d.say("could not stop the private PostgreSQL: %v", err)
			}
		})
	}
	dbName, dbURL, err := database.CreateScratch(ctx, serverURL, "demo")
	if err != nil {
		return err
	}
	d.setup("database", "%s on %s (fresh, %s on exit)", dbName, database.ServerAddr(serverURL), map[bool]string{true: "kept", false: "dropped"}[opts.keepDB])
	cleanups = append(cleanups, func() {
		if opts.keepDB {
			d.say("Kept database %s (drop it with: DROP DATABASE %s).", dbName, dbName)
			return
		}
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := database.DropScratch(dctx, serverURL, dbName); err != nil {
			d.say("could not drop database %s: %v", dbName, err)
		}
	})

	// Listeners first: the hub must know the simulators' addresses and the
	// simulators the hub's.
	hubLn, err := d.listenHub()
	if err != nil {
		return err
	}
	d.hubURL = "http://" + hubLn.Addr().String()
	sims := map[string]net.Listener{}
	for _, name := range []string{"apaleo", "ota", "travelnet", "bookingcom", "expedia", "stripe"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			hubLn.Close()
			for _, l := range sims {
				l.Close()
			}
			return fmt.Errorf("listen on a free port for the %s simulator: %w", name, err)
		}
		sims[name] = ln
		d.simURL[name] = "http://" + ln.Addr().String()
	}

	secrets := d.buildSimulators()
	stopNotifySims, err := d.startNotifySims()
	if err != nil {
		return err
	}
	cleanups = append(cleanups, stopNotifySims)
	for name, ln := range sims {
		stop := serveDemoHTTP(ln, d.simHandler(name), d.logger)
		cleanups = append(cleanups, stop)
	}
	// Simulators stop sending (and finish what is in flight) before the hub
	// stops listening.
	closeSims := func() {
		d.apaleo.Close()
		d.stripe.Close()
	}

	d.configure(dbURL, stateDir, secrets)
	if err := d.configureNotifications(stateDir); err != nil {
		return err
	}
	d.setup("kafka", "embedded broker, data in %s", kafkaDir)
	h, err := hub.Start(ctx, d.cfg, d.logger, hub.Options{Migrate: true})
	if err != nil {
		hubLn.Close()
		closeSims()
		return fmt.Errorf("start the hub: %w", err)
	}
	d.h = h
	cleanups = append(cleanups, h.Close)
	hubCtx, stopHub := context.WithCancel(context.WithoutCancel(ctx))
	hubDone := make(chan error, 1)
	go func() { hubDone <- h.Run(hubCtx) }()
	cleanups = append(cleanups, func() {
		stopHub()
		if err := <-hubDone; err != nil {
			d.say("the hub stopped with: %v", err)
		}
	})
	stopAPI := serveDemoHTTP(hubLn, h.API, d.logger)
	cleanups = append(cleanups, stopAPI, closeSims)

	// The scenario stops at once if the hub fails under it.
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case err := <-hubDone:
			hubDone <- err // for the cleanup's wait
			cancel(fmt.Errorf("the hub stopped: %v", err))
		case <-sctx.Done():
		}
	}()

	if err := d.waitRunning(sctx); err != nil {
		return err
	}
	d.setup("hub", "API on %s, connectors: %s", d.hubURL, strings.Join(sortedKeys(d.cfg.Connectors), ", "))
	d.setup("simulators", "Apaleo %s, OTA %s, TravelNet (OpenTravel) %s, Booking.com %s, Expedia %s, Stripe %s",
		d.simURL["apaleo"], d.simURL["ota"], d.simURL["travelnet"], d.simURL["bookingcom"], d.simURL["expedia"], d.simURL["stripe"])
	if err := d.seed(sctx); err != nil {
		return fmt.Errorf("seed the demo hotel: %w", err)
	}
	if err := d.seedNotifications(sctx); err != nil {
		return fmt.Errorf("seed notifications: %w", err)
	}
	if err := d.waitSeededARI(sctx); err != nil {
		return fmt.Errorf("setup: %w", err)
	}

	if err := d.runScenario(sctx); err != nil {
		if cause := context.Cause(sctx); cause != nil && ctx.Err() == nil {
			err = fmt.Errorf("%w (%v)", err, cause)
		}
		d.say("")
		d.say("The hub's log is in %s.", logFile.Name())
		return err
	}
	d.say("")
	d.say("All %d steps OK in %s.", len(d.steps()), time.Since(started).Round(100*time.Millisecond))
	if opts.once {
		return nil
	}
	d.printTour(logFile.Name())
	<-sctx.Done()
	d.say("")
	d.say("Stopping: simulators, hub, broker%s.", map[bool]string{true: ", private PostgreSQL", false: ""}[private != nil])
	if ctx.Err() == nil {
		return context.Cause(sctx)
	}
	return nil
}

func (d *demo) loadData(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "hotel.yaml"))
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&d.hotel); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, "hotel.yaml"), err)
	}
	mf := filepath.Join(dir, "mappings.yaml")
	if d.mappings, err = connectors.ReadMappingFile(mf); err != nil {
		return err
	}
	d.cfg.MappingsFile = mf
	for _, p := range []string{"LIS", "OPO"} {
		if d.property(p) == nil {
			return fmt.Errorf("%s: the scenario needs property %s", dir, p)
		}
	}
	return nil
}

// say prints a line of the narration.
func (d *demo) say(format string, a ...any) { fmt.Fprintf(d.out, format+"\n", a...) }

func (d *demo) setup(what, format string, a ...any) {
	fmt.Fprintf(d.out, "  %-12s %s\n", what, fmt.Sprintf(format, a...))
}

func (d *demo) note(format string, a ...any) {
	fmt.Fprintf(d.out, "      %s\n", fmt.Sprintf(format, a...))
}

// findPostgres returns the URL of a server to create the demo database on,
// and says which it is and why: the one database.url (DATABASE_URL) names,
// which must answer; else the local default; else a private server.
func (d *demo) findPostgres(ctx context.Context, stateDir string) (string, *privatePostgres, error) {
	u := d.cfg.Database.URL
	switch {
	case d.opts.privatePG:
		d.setup("postgresql", "a private server, as --private-postgres asks")
	case d.cfg.IsSet("database.url"):
		if err := pingPostgres(ctx, u); err != nil {
			return "", nil, fmt.Errorf("DATABASE_URL (database.url) names PostgreSQL at %s: %v\nFix DATABASE_URL, unset it to use the local server or a private one, or pass --private-postgres", database.ServerAddr(u), cli.OneLine(err))
		}
		d.setup("postgresql", "%s, named by DATABASE_URL", database.ServerAddr(u))
		return u, nil, nil
	default:
		err := pingPostgres(ctx, u)
		if err == nil {
			d.setup("postgresql", "%s, the local default (DATABASE_URL is not set)", database.ServerAddr(u))
			return u, nil, nil
		}
		d.setup("postgresql", "DATABASE_URL is not set and the local default %s does not serve: %v", database.ServerAddr(u), cli.OneLine(err))
		d.setup("", "so a private server, in the state directory")
	}
	p, err := startPrivatePostgres(ctx, filepath.Join(stateDir, "postgres"), func(f string, a ...any) { d.setup("postgresql", f, a...) })
	if err != nil {
		return "", nil, fmt.Errorf("no PostgreSQL to run the demo on: %v\n\n%s", err, installPostgresHint)
	}
	d.setup("postgresql", "private server on 127.0.0.1:%d, data in %s (stopped on exit)", p.port, p.dataDir)
	if err := pingPostgres(ctx, p.URL()); err != nil {
		p.stop() //nolint:errcheck // reporting the first failure
		return "", nil, fmt.Errorf("the private PostgreSQL does not answer: %w (see %s)", err, p.logFile)
	}
	return p.URL(), p, nil
}

// pingPostgres checks that the server at u answers and lets its user in.
func pingPostgres(ctx context.Context, u string) error {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := database.ConnectServer(cctx, u)
	if err != nil {
		return err
	}
	return conn.Close(context.Background())
}

// listenHub listens where the API should be: --addr, else 127.0.0.1:8080
// (or http.addr) when free, else a free port.
func (d *demo) listenHub() (net.Listener, error) {
	switch {
	case d.opts.addr != "":
		ln, err := net.Listen("tcp", d.opts.addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", d.opts.addr, err)
		}
		return ln, nil
	case !d.opts.once:
		if ln, err := net.Listen("tcp", d.cfg.HTTP.Addr); err == nil {
			return ln, nil
		}
		d.setup("api", "%s is taken; using a free port", d.cfg.HTTP.Addr)
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// demoSecrets are the credentials generated for one run, shared by each
// simulator and its connector.
type demoSecrets struct {
	apaleoSecret, apaleoWebhook string
	otaInbound, otaARI          string
	travelnetIn, travelnetARI   string
	bookingcom, expedia         string
	stripeKey, stripeWebhook    string
}

// buildSimulators makes the simulators, the simulated Apaleo with the demo
// hotel's catalogue.
func (d *demo) buildSimulators() demoSecrets {
	s := demoSecrets{
		apaleoSecret: rig.RandomHex(16), apaleoWebhook: rig.RandomHex(16),
		otaInbound: rig.RandomHex(16), otaARI: rig.RandomHex(16),
		travelnetIn: rig.RandomHex(16), travelnetARI: rig.RandomHex(16),
		bookingcom: rig.RandomHex(16), expedia: rig.RandomHex(16),
		stripeKey: "sk_test_demo" + rig.RandomHex(12), stripeWebhook: "whsec_demo" + rig.RandomHex(12),
	}
	simLog := func(name string) *slog.Logger { return d.logger.With("simulator", name) }
	d.apaleo = apaleosim.New(apaleosim.Config{ClientID: "roomwire-demo", ClientSecret: s.apaleoSecret,
		WebhookURL: d.hubURL + "/v1/connectors/apaleo/webhooks", WebhookUser: "apaleo", WebhookPassword: s.apaleoWebhook,
		Logger: simLog("apaleo")})
	unitGroups := map[string]string{} // Roomwire property/room type -> Apaleo unit group
	for _, m := range d.mappings["apaleo"] {
		if m.Kind == connectors.KindRoomType {
			unitGroups[m.Property+"/"+m.Roomwire] = m.Partner
			d.apaleo.AddUnitGroup(apaleosim.UnitGroup{ID: m.Partner, Property: d.code("apaleo", connectors.KindProperty, "", m.Property),
				Units: d.units(m.Property, m.Roomwire)})
		}
	}
	for _, m := range d.mappings["apaleo"] {
		if m.Kind != connectors.KindRatePlan {
			continue
		}
		p := d.property(m.Property)
		if p == nil {
			continue
		}
		for _, rp := range p.RatePlans {
			if rp.Code == m.Roomwire {
				price, _ := d.price(p.ID, rp.Code)
				d.apaleo.AddRatePlan(apaleosim.RatePlan{ID: m.Partner, Property: d.code("apaleo", connectors.KindProperty, "", p.ID),
					UnitGroup: unitGroups[p.ID+"/"+rp.RoomType], Price: price})
			}
		}
	}
	d.ota = otasim.New(otasim.Config{PushURL: d.hubURL + "/v1/connectors/ota/reservations", User: "demo-ota", Password: s.otaInbound,
		ARIUser: "roomwire", ARIPassword: s.otaARI, Logger: simLog("ota")})
	d.travelnet = otasim.New(otasim.Config{PushURL: d.hubURL + "/v1/connectors/travelnet/reservations", User: "demo-travelnet", Password: s.travelnetIn,
		ARIUser: "roomwire", ARIPassword: s.travelnetARI, Logger: simLog("travelnet")})
	d.booking = bookingcomsim.New(bookingcomsim.Config{Username: "roomwire-demo", Password: s.bookingcom, Logger: simLog("bookingcom")})
	d.expedia = expediasim.New(expediasim.Config{Username: "roomwire-demo", Password: s.expedia, Logger: simLog("expedia")})
	d.stripe = stripesim.New(stripesim.Config{SecretKey: s.stripeKey, WebhookURL: d.hubURL + "/v1/connectors/stripe/webhooks",
		WebhookSecret: s.stripeWebhook, Sim: gatewaysim.Config{Logger: simLog("stripe")}})
	return s
}

func (d *demo) simHandler(name string) http.Handler {
	switch name {
	case "apaleo":
		return d.apaleo
	case "ota":
		return d.ota
	case "travelnet":
		return d.travelnet
	case "bookingcom":
		return d.booking
	case "expedia":
		return d.expedia
	}
	return d.stripe
}

// configure points the configuration at the demo's database, broker and
// simulators, and tunes the timings so that the scenario takes seconds:
// fast polls and retries, a breaker that trips after three failures and
// tries again after three seconds.
func (d *demo) configure(dbURL, stateDir string, s demoSecrets) {
	c := d.cfg
	c.Database.URL = dbURL
	yes := true
	c.Database.MigrateOnStart = &yes
	c.StateDir = stateDir
	c.Kafka.Brokers = nil // the demo always runs the embedded broker
	c.Kafka.EmbeddedAddr = "127.0.0.1:0"
	if c.HTTP.AdminKey == "" {
		c.HTTP.AdminKey = "demo-" + rig.RandomHex(16)
	}
	d.adminKey = c.HTTP.AdminKey
	c.Backbone.Topics.Partitions = 2
	c.Backbone.Retry.MaxRetries = 3 // with three failures to trip the breaker, a failing message is parked, not dead-lettered
	c.Backbone.Retry.InitialInterval = 50 * time.Millisecond
	c.Backbone.Retry.MaxInterval = 200 * time.Millisecond
	c.Backbone.HandlerTimeout = 10 * time.Second
	c.Backbone.Breaker.ConsecutiveFailures = 3
	c.Backbone.Breaker.OpenTimeout = 3 * time.Second
	c.Backbone.ParkedRetryInterval = 250 * time.Millisecond
	c.Payments.DefaultGateway = "stripe"
	c.Payments.CheckInterval = time.Minute
	c.Connectors = map[string]map[string]any{
		"apaleo": {"api_url": d.simURL["apaleo"], "identity_url": d.simURL["apaleo"], "client_id": "roomwire-demo",
			"client_secret": s.apaleoSecret, "webhook_user": "apaleo", "webhook_password": s.apaleoWebhook, "timeout": "5s"},
		"ota": {"channel": "ota", "inbound_user": "demo-ota", "inbound_password": s.otaInbound,
			"ari_url": d.simURL["ota"] + "/ari", "ari_user": "roomwire", "ari_password": s.otaARI, "timeout": "5s"},
		// A second OpenTravel channel: the same connector, another instance.
		"travelnet": {"kind": "ota", "inbound_user": "demo-travelnet", "inbound_password": s.travelnetIn,
			"ari_url": d.simURL["travelnet"] + "/ari", "ari_user": "roomwire", "ari_password": s.travelnetARI, "timeout": "5s"},
		"bookingcom": {"api_url": d.simURL["bookingcom"], "username": "roomwire-demo", "password": s.bookingcom,
			"poll_interval": "250ms", "timeout": "5s"},
		"expedia": {"api_url": d.simURL["expedia"], "username": "roomwire-demo", "password": s.expedia,
			"hotel_ids": d.partnerProperties("expedia"), "poll_interval": "250ms", "timeout": "5s"},
		"stripe": {"api_url": d.simURL["stripe"], "secret_key": s.stripeKey, "webhook_secret": s.stripeWebhook, "timeout": "5s"},
	}
}

func (d *demo) partnerProperties(connector string) []any {
	var out []any
	for _, m := range d.mappings[connector] {
		if m.Kind == connectors.KindProperty {
			out = append(out, m.Partner)
		}
	}
	return out
}

// waitRunning waits until every consumer has joined its group.
func (d *demo) waitRunning(ctx context.Context) error {
	t := time.NewTimer(60 * time.Second)
	defer t.Stop()
	select {
	case <-d.h.Backbone.Running():
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return errors.New("the hub's consumers did not start within a minute; see the log")
	}
}

// seed defines the demo hotel over the booking API, as a hotel would, with
// a year of inventory and rates.
func (d *demo) seed(ctx context.Context) error {
	last := d.today.AddDays(364)
	for _, p := range d.hotel.Properties {
		body := map[string]any{"name": p.Name, "timezone": p.Timezone, "currency": p.Currency, "room_types": p.RoomTypes, "rate_plans": p.RatePlans}
		if err := d.api(ctx, "PUT", "/v1/properties/"+p.ID, body, nil); err != nil {
			return err
		}
		var inv []map[string]any
		for _, rt := range p.RoomTypes {
			inv = append(inv, map[string]any{"room_type": rt.Code, "from": d.today, "to": last, "units": rt.Units})
		}
		if err := d.api(ctx, "PUT", "/v1/properties/"+p.ID+"/inventory", map[string]any{"updates": inv}, nil); err != nil {
			return err
		}
		var rates []map[string]any
		for _, rp := range p.RatePlans {
			rates = append(rates, map[string]any{"rate_plan": rp.Code, "from": d.today, "to": last, "amount": p.Rates[rp.Code], "currency": p.Currency})
		}
		if err := d.api(ctx, "PUT", "/v1/properties/"+p.ID+"/rates", map[string]any{"updates": rates}, nil); err != nil {
			return err
		}
		var rts, rps []string
		for _, rt := range p.RoomTypes {
			rts = append(rts, fmt.Sprintf("%s x%d", rt.Code, rt.Units))
		}
		for _, rp := range p.RatePlans {
			rps = append(rps, rp.Code)
		}
		d.setup("seed "+p.ID, "%s: %s; rate plans %s; %s..%s", p.Name, strings.Join(rts, ", "), strings.Join(rps, ", "), d.today, last)
	}
	return nil
}

// channels are the channel connectors, in narration order.
var demoChannels = []string{"ota", "travelnet", "bookingcom", "expedia"}

var channelTitle = map[string]string{"ota": "OTA", "travelnet": "TravelNet", "bookingcom": "Booking.com", "expedia": "Expedia", "apaleo": "Apaleo", "stripe": "Stripe"}

func (d *demo) channelSim(connector string) *channelsim.Kit {
	switch connector {
	case "ota":
		return d.ota.Kit
	case "travelnet":
		return d.travelnet.Kit
	case "bookingcom":
		return d.booking.Kit
	}
	return d.expedia.Kit
}

// channelAvailable is what a channel's simulator believes a room type has
// left on a night.
func (d *demo) channelAvailable(connector, property, roomType string, night canonical.Date) (int, bool) {
	hotel := d.code(connector, connectors.KindProperty, "", property)
	rt := d.code(connector, connectors.KindRoomType, property, roomType)
	return d.channelSim(connector).ARI.Availability(hotel, rt, night)
}

// waitSeededARI waits until every channel has the seeded availability of the
// nights the scenario uses.
func (d *demo) waitSeededARI(ctx context.Context) error {
	for _, ch := range demoChannels {
		_, err := d.waitFor(ctx, fmt.Sprintf("%s has the seeded availability", channelTitle[ch]), func(context.Context) (string, error) {
			n := 0
			for _, p := range d.hotel.Properties {
				for _, rt := range p.RoomTypes {
					for _, night := range []canonical.Date{d.today, d.today.AddDays(30), d.today.AddDays(364)} {
						got, ok := d.channelAvailable(ch, p.ID, rt.Code, night)
						if !ok || got != rt.Units {
							return "", fmt.Errorf("%s %s on %s: %s, want %d", p.ID, rt.Code, night, showAvail(got, ok), rt.Units)
						}
						n++
					}
				}
			}
			return fmt.Sprintf("%d ARI messages so far", d.channelSim(ch).ARI.Messages()), nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func showAvail(n int, ok bool) string {
	if !ok {
		return "nothing yet"
	}
	return fmt.Sprint(n)
}

// api calls the hub's API with the admin key and decodes a JSON answer.
func (d *demo) api(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.hubURL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+d.adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, cli.TruncateLine(string(raw), 300))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// reservationByChannel reads Roomwire's reservation of a channel booking and
// how many there are (one, if nothing was doubled).
func (d *demo) reservationByChannel(ctx context.Context, channel, externalID string) (*canonical.Reservation, int, error) {
	var page struct {
		Items []canonical.Reservation `json:"items"`
	}
	q := url.Values{"channel": {channel}, "external_id": {externalID}}
	if err := d.api(ctx, "GET", "/v1/reservations?"+q.Encode(), nil, &page); err != nil {
		return nil, 0, err
	}
	if len(page.Items) == 0 {
		return nil, 0, errors.New("not in Roomwire yet")
	}
	return &page.Items[0], len(page.Items), nil
}

// waitReservation waits for a channel booking to be in Roomwire, once, in
// the status given.
func (d *demo) waitReservation(ctx context.Context, channel, externalID string, status canonical.Status) (*canonical.Reservation, error) {
	var got *canonical.Reservation
	_, err := d.waitFor(ctx, "in Roomwire", func(ctx context.Context) (string, error) {
		r, n, err := d.reservationByChannel(ctx, channel, externalID)
		switch {
		case err != nil:
			return "", err
		case n != 1:
			return "", fmt.Errorf("%d reservations for %s booking %s", n, channel, externalID)
		case r.Status != status:
			return "", fmt.Errorf("%s is %s, not %s", r.ConfirmationNumber, r.Status, status)
		}
		got = r
		return fmt.Sprintf("%s, %s, %s %s %s..%s, %s (%s booking %s)", r.ConfirmationNumber, r.Status, r.PropertyID,
			r.RoomStays[0].RoomType, r.Arrival(), r.Departure(), r.Total, channelTitle[channel], externalID), nil
	})
	return got, err
}

// inApaleo checks that the simulated Apaleo has r exactly once.
func (d *demo) inApaleo(r *canonical.Reservation, status string) (string, error) {
	var found []*apaleo.Reservation
	for _, x := range d.apaleo.Reservations() {
		if x.ExternalCode == r.ExternalID && x.Source == r.Channel {
			found = append(found, x)
		}
	}
	keys := d.apaleo.BookingsWithKey(apaleo.IdempotencyKey(r.ID))
	switch {
	case len(found) == 0:
		return "", errors.New("not in Apaleo yet")
	case len(found) > 1 || keys > 1:
		return "", fmt.Errorf("in Apaleo %d times (%d bookings made with its idempotency key)", len(found), keys)
	case found[0].Status != status:
		return "", fmt.Errorf("Apaleo reservation %s is %s, not %s", found[0].ID, found[0].Status, status)
	}
	return fmt.Sprintf("reservation %s, %s, rate plan %s (1 booking for its idempotency key)", found[0].ID, found[0].Status, found[0].RatePlan.ID), nil
}

func (d *demo) waitInApaleo(ctx context.Context, r *canonical.Reservation, status string) error {
	_, err := d.waitFor(ctx, "in Apaleo once", func(context.Context) (string, error) { return d.inApaleo(r, status) })
	return err
}

// roomwireAvailable is what Roomwire's availability API says a room type has
// left on a night.
func (d *demo) roomwireAvailable(ctx context.Context, property, roomType string, night canonical.Date) (int, error) {
	var out struct {
		Offers []struct {
			RoomType  string `json:"room_type"`
			Available int    `json:"available"`
		} `json:"offers"`
	}
	q := url.Values{"arrival": {night.String()}, "departure": {night.AddDays(1).String()}, "adults": {"1"}, "include_sold_out": {"true"}}
	if err := d.api(ctx, "GET", "/v1/properties/"+property+"/availability?"+q.Encode(), nil, &out); err != nil {
		return 0, err
	}
	for _, o := range out.Offers {
		if o.RoomType == roomType {
			return o.Available, nil
		}
	}
	return 0, fmt.Errorf("no offer for %s", roomType)
}

// waitAvailability waits until Roomwire and every channel say want units of
// a room type are left on each night.
func (d *demo) waitAvailability(ctx context.Context, property, roomType string, nights []canonical.Date, want int, channels ...string) error {
	desc := fmt.Sprintf("%s %s on %s", property, roomType, nightList(nights))
	_, err := d.waitFor(ctx, "Roomwire", func(ctx context.Context) (string, error) {
		for _, n := range nights {
			got, err := d.roomwireAvailable(ctx, property, roomType, n)
			if err != nil {
				return "", err
			}
			if got != want {
				return "", fmt.Errorf("%s %s on %s: %d left, want %d", property, roomType, n, got, want)
			}
		}
		return fmt.Sprintf("%s: %d left", desc, want), nil
	})
	if err != nil {
		return err
	}
	for _, ch := range channels {
		_, err := d.waitFor(ctx, channelTitle[ch]+" simulator", func(context.Context) (string, error) {
			for _, n := range nights {
				got, ok := d.channelAvailable(ch, property, roomType, n)
				if !ok || got != want {
					return "", fmt.Errorf("%s on %s: %s, want %d", roomType, n, showAvail(got, ok), want)
				}
			}
			return fmt.Sprintf("hotel %s, room %s: %d left", d.code(ch, connectors.KindProperty, "", property),
				d.code(ch, connectors.KindRoomType, property, roomType), want), nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func nightList(nights []canonical.Date) string {
	s := make([]string, len(nights))
	for i, n := range nights {
		s[i] = n.String()
	}
	return strings.Join(s, ", ")
}

// waitFor polls cond until it holds and prints what it checked; on timeout
// it returns cond's last complaint.
func (d *demo) waitFor(ctx context.Context, what string, cond func(context.Context) (string, error)) (string, error) {
	deadline := time.Now().Add(demoStepTimeout)
	for {
		detail, err := cond(ctx)
		if err == nil {
			fmt.Fprintf(d.out, "      ok    %s: %s\n", what, detail)
			return detail, nil
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(d.out, "      FAIL  %s: %v\n", what, err)
			return "", fmt.Errorf("%s: %v (waited %s)", what, err, demoStepTimeout)
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			fmt.Fprintf(d.out, "      FAIL  %s: %v\n", what, err)
			return "", fmt.Errorf("%s: interrupted: %v", what, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// check is a condition that must hold now.
func (d *demo) check(what string, detail string, err error) error {
	if err != nil {
		fmt.Fprintf(d.out, "      FAIL  %s: %v\n", what, err)
		return fmt.Errorf("%s: %w", what, err)
	}
	fmt.Fprintf(d.out, "      ok    %s: %s\n", what, detail)
	return nil
}

type demoStep struct {
	title string
	run   func(context.Context) error
}

func (d *demo) steps() []demoStep {
	return []demoStep{
		{"Bookings arrive from two OpenTravel channels, OTA and TravelNet", d.stepOTABooking},
		{"Availability falls on the other channels", d.stepAvailabilityFalls},
		{"The last unit sells and the room type closes on every channel", d.stepLastUnit},
		{"Apaleo goes down: the breaker opens, bookings wait, then arrive once each", d.stepOutage},
		{"A booking with an unmapped rate code is dead-lettered, mapped and replayed", d.stepDeadLetter},
		{"Cancellations: the payment follows the policy, availability comes back", d.stepCancel},
		{"The timeline of one booking", d.stepTimeline},
	}
}

// runScenario runs the steps in order and stops at the first that fails.
func (d *demo) runScenario(ctx context.Context) error {
	steps := d.steps()
	for i, s := range steps {
		d.say("")
		d.say("[%d/%d] %s", i+1, len(steps), s.title)
		start := time.Now()
		if err := s.run(ctx); err != nil {
			d.say("  FAIL  step %d: %v", i+1, err)
			return fmt.Errorf("step %d (%s) failed: %w", i+1, s.title, err)
		}
		d.say("  OK    step %d (%s)", i+1, time.Since(start).Round(10*time.Millisecond))
	}
	return nil
}

// demoStay is a stay in Roomwire's codes.
type demoStay struct {
	property, roomType, ratePlan string
	arrival                      canonical.Date
	nights                       int
	// partnerRatePlan, when set, is sent instead of the mapped rate code.
	partnerRatePlan string
}

var demoGuests = []canonical.Guest{
	{GivenName: "Marta", Surname: "Silva", Email: "marta.silva@example.com"},
	{GivenName: "Jonas", Surname: "Berg", Email: "jonas.berg@example.com"},
	{GivenName: "Aiko", Surname: "Tanaka", Email: "aiko.tanaka@example.com"},
	{GivenName: "Lucas", Surname: "Moreau", Email: "lucas.moreau@example.com"},
	{GivenName: "Sofia", Surname: "Rossi", Email: "sofia.rossi@example.com"},
	{GivenName: "Ana", Surname: "Costa", Email: "ana.costa@example.com"},
}

// channelBooking is a booking as a channel sends it, in its codes, priced
// at Roomwire's rates, guaranteed by a gateway token when token is set.
func (d *demo) channelBooking(connector string, s demoStay, externalID string, token string) (*canonical.Reservation, error) {
	hotel := d.code(connector, connectors.KindProperty, "", s.property)
	rt := d.code(connector, connectors.KindRoomType, s.property, s.roomType)
	rp := s.partnerRatePlan
	if rp == "" {
		rp = d.code(connector, connectors.KindRatePlan, s.property, s.ratePlan)
	}
	if hotel == "" || rt == "" || rp == "" {
		return nil, fmt.Errorf("testdata/demo/mappings.yaml: %s has no code for %s %s %s", connector, s.property, s.roomType, s.ratePlan)
	}
	price, err := d.price(s.property, s.ratePlan)
	if err != nil {
		return nil, err
	}
	guest := demoGuests[d.bookingNext%len(demoGuests)]
	d.bookingNext++
	stay := canonical.RoomStay{RoomType: rt, RatePlan: rp, Arrival: s.arrival, Departure: s.arrival.AddDays(s.nights), Adults: 2}
	for i := 0; i < s.nights; i++ {
		stay.NightlyPrices = append(stay.NightlyPrices, canonical.NightlyPrice{Date: s.arrival.AddDays(i), Price: price})
	}
	now := time.Now().UTC().Truncate(time.Second)
	r := &canonical.Reservation{SchemaVersion: canonical.SchemaVersion, PropertyID: hotel, Channel: connector, ExternalID: externalID,
		CreatedAt: now, ModifiedAt: now, PrimaryGuest: guest, RoomStays: []canonical.RoomStay{stay},
		Total: canonical.NewMoney(price.Minor*int64(s.nights), price.Currency)}
	if token != "" {
		r.Guarantee = &canonical.Guarantee{Type: "card", CardToken: token, CardMask: "4242XXXXXXXX4242", CardBrand: "VI",
			CardExpiry: "1230", HolderName: guest.GivenName + " " + guest.Surname}
	}
	return r, nil
}

// pushOTA sends a booking from the OTA simulator and returns Roomwire's answer.
func (d *demo) pushOTA(ctx context.Context, status string, r *canonical.Reservation) (otasim.PushResult, error) {
	return pushOpenTravel(ctx, d.ota, status, r)
}

// pushOpenTravel sends a booking from an OpenTravel channel's simulator and
// returns Roomwire's answer.
func pushOpenTravel(ctx context.Context, sim *otasim.Sim, status string, r *canonical.Reservation) (otasim.PushResult, error) {
	res, err := sim.Push(ctx, status, r)
	if err != nil {
		return res, fmt.Errorf("OTA push: %w", err)
	}
	if res.RS == nil {
		return res, fmt.Errorf("OTA push: HTTP %d with no reply", res.Status)
	}
	return res, nil
}

func otaErrors(res otasim.PushResult) string {
	if res.RS == nil {
		return fmt.Sprintf("HTTP %d", res.Status)
	}
	var s []string
	for _, e := range res.RS.Errors {
		s = append(s, e.Text)
	}
	return strings.Join(s, "; ")
}

// Step 1.
func (d *demo) stepOTABooking(ctx context.Context) error {
	stay := demoStay{property: "LIS", roomType: "DBL", ratePlan: "FLEX", arrival: d.today.AddDays(30), nights: 2}
	r, err := d.channelBooking("ota", stay, "OTA"+d.runID+"1", "pm_card_visa")
	if err != nil {
		return err
	}
	res, err := d.pushOTA(ctx, "Commit", r)
	if err != nil {
		return err
	}
	ref, ok := d.ota.Acks.Reference(r.ExternalID)
	if err := d.check("OTA channel pushed OTA_HotelResNotifRQ", fmt.Sprintf("booking %s, %s %s/%s, %s..%s, card token; Roomwire answered Success, reference %s",
		r.ExternalID, r.PropertyID, r.RoomStays[0].RoomType, r.RoomStays[0].RatePlan, stay.arrival, stay.arrival.AddDays(stay.nights), ref),
		boolErr(res.RS.Success != nil && ok, "Roomwire answered "+otaErrors(res))); err != nil {
		return err
	}
	d.firstOTA = r
	if d.first, err = d.waitReservation(ctx, "ota", r.ExternalID, canonical.StatusConfirmed); err != nil {
		return err
	}
	if err := d.waitInApaleo(ctx, d.first, apaleo.StatusConfirmed); err != nil {
		return err
	}
	_, err = d.waitFor(ctx, "payment authorized at Stripe", func(ctx context.Context) (string, error) {
		return d.payment(ctx, d.first, canonical.PaymentAuthorized, gatewaysim.StatusAuthorized)
	})
	if err != nil {
		return err
	}
	if err := d.checkNotified(ctx, d.first); err != nil {
		return err
	}
	return d.travelNetBooking(ctx)
}

// travelNetBooking has the second OpenTravel channel push a booking: the
// same connector as the OTA channel's, another instance (travelnet, kind
// ota) with its own endpoint, credentials, codes and channel name.
func (d *demo) travelNetBooking(ctx context.Context) error {
	stay := demoStay{property: "LIS", roomType: "STE", ratePlan: "STE-FLEX", arrival: d.today.AddDays(60), nights: 1}
	r, err := d.channelBooking("travelnet", stay, "TN"+d.runID+"1", "")
	if err != nil {
		return err
	}
	res, err := pushOpenTravel(ctx, d.travelnet, "Commit", r)
	if err != nil {
		return err
	}
	ref, ok := d.travelnet.Acks.Reference(r.ExternalID)
	if err := d.check("TravelNet, a second OpenTravel channel, pushed to /v1/connectors/travelnet/reservations",
		fmt.Sprintf("booking %s, %s %s/%s in TravelNet's codes; Roomwire answered Success, reference %s", r.ExternalID, r.PropertyID,
			r.RoomStays[0].RoomType, r.RoomStays[0].RatePlan, ref),
		boolErr(res.RS.Success != nil && ok, "Roomwire answered "+otaErrors(res))); err != nil {
		return err
	}
	_, err = d.waitReservation(ctx, "travelnet", r.ExternalID, canonical.StatusConfirmed)
	return err
}

// payment checks that the reservation's payment is in status st in
// Roomwire, and its hold in status hold at the gateway, placed once.
func (d *demo) payment(ctx context.Context, r *canonical.Reservation, st canonical.PaymentStatus, hold string) (string, error) {
	p, err := d.h.Payments.Payment(ctx, r.ID)
	if err != nil {
		return "", err
	}
	if p == nil {
		return "", errors.New("no payment yet")
	}
	if p.Status != st {
		return "", fmt.Errorf("payment is %s, not %s", p.Status, st)
	}
	holds := d.stripe.HoldsOf(r.ID)
	if len(holds) != 1 || d.stripe.Authorizations(r.ID) != 1 {
		return "", fmt.Errorf("%d holds and %d authorizations at Stripe, want 1", len(holds), d.stripe.Authorizations(r.ID))
	}
	if holds[0].Status != hold {
		return "", fmt.Errorf("Stripe's hold %s is %s, not %s", holds[0].ID, holds[0].Status, hold)
	}
	m := func(minor int64) string { return canonical.NewMoney(minor, p.Currency).String() }
	switch st {
	case canonical.PaymentAuthorized:
		return fmt.Sprintf("%s held on card %s, PaymentIntent %s, 1 authorization", m(p.Authorized), p.CardMask, p.Reference), nil
	case canonical.PaymentCaptured:
		return fmt.Sprintf("%s charged, %s refunded, PaymentIntent %s", m(p.Captured), m(p.Refunded), p.Reference), nil
	}
	return fmt.Sprintf("%s at Stripe (PaymentIntent %s), nothing charged", p.Status, p.Reference), nil
}

func boolErr(ok bool, msg string) error {
	if ok {
		return nil
	}
	return errors.New(msg)
}

// Step 2.
func (d *demo) stepAvailabilityFalls(ctx context.Context) error {
	nights := canonical.Nights(d.today.AddDays(30), d.today.AddDays(32))
	want := d.units("LIS", "DBL") - 1
	d.note("LIS had %d DBL rooms on %s; the booking took one. Every channel must hear of it:", want+1, nightList(nights))
	return d.waitAvailability(ctx, "LIS", "DBL", nights, want, "bookingcom", "expedia", "ota", "travelnet")
}

// Step 3.
func (d *demo) stepLastUnit(ctx context.Context) error {
	night := d.today.AddDays(45)
	nights := []canonical.Date{night}
	units := d.units("OPO", "LOFT")
	if units != 2 {
		return fmt.Errorf("the scenario needs OPO LOFT with 2 units in testdata/demo/hotel.yaml, got %d", units)
	}
	stay := demoStay{property: "OPO", roomType: "LOFT", ratePlan: "LOFT-FLEX", arrival: night, nights: 1}

	r, err := d.channelBooking("bookingcom", stay, "", "pm_card_mastercard")
	if err != nil {
		return err
	}
	bid := d.booking.Book(*r)
	d.note("A guest books a loft at OPO on Booking.com (reservation %s); Roomwire pulls the feed every 250ms.", bid)
	first, err := d.waitReservation(ctx, "bookingcom", bid, canonical.StatusConfirmed)
	if err != nil {
		return err
	}
	if _, err := d.waitFor(ctx, "acknowledged to Booking.com", func(context.Context) (string, error) {
		return "reservation " + bid + " acknowledged once durable", boolErr(d.booking.Acknowledged(bid), "not acknowledged yet")
	}); err != nil {
		return err
	}
	if err := d.waitAvailability(ctx, "OPO", "LOFT", nights, 1, "ota", "travelnet", "bookingcom", "expedia"); err != nil {
		return err
	}

	r, err = d.channelBooking("expedia", stay, "", "")
	if err != nil {
		return err
	}
	eid := d.expedia.Book(*r)
	d.note("Another guest books the last loft on Expedia (booking %s, Expedia Collect: no card).", eid)
	second, err := d.waitReservation(ctx, "expedia", eid, canonical.StatusConfirmed)
	if err != nil {
		return err
	}
	if _, err := d.waitFor(ctx, "confirmed to Expedia", func(context.Context) (string, error) {
		number, all := d.expedia.Confirmed(eid)
		return "confirmation number " + number, boolErr(all, "not confirmed yet")
	}); err != nil {
		return err
	}
	d.note("No loft is left on %s: the room type must close on every channel at once.", night)
	if err := d.waitAvailability(ctx, "OPO", "LOFT", nights, 0, "ota", "travelnet", "bookingcom", "expedia"); err != nil {
		return err
	}
	for _, x := range []*canonical.Reservation{first, second} {
		if _, err := d.waitFor(ctx, x.ConfirmationNumber+" in Apaleo once", func(context.Context) (string, error) {
			return d.inApaleo(x, apaleo.StatusConfirmed)
		}); err != nil {
			return err
		}
	}
	return nil
}

// parked counts the messages waiting behind the Apaleo connector's breaker.
func (d *demo) parked(ctx context.Context) (int, error) {
	var n int
	err := d.h.Pool.QueryRow(ctx, `SELECT count(*) FROM parked_messages WHERE consumer = 'outbound.apaleo'`).Scan(&n)
	return n, err
}

// Step 4.
func (d *demo) stepOutage(ctx context.Context) error {
	breakers := d.h.Backbone.Breakers()
	d.apaleo.SetFaults(apaleosim.Faults{ErrorRate: 1})
	restored := false
	defer func() {
		if !restored {
			d.apaleo.SetFaults(apaleosim.Faults{})
		}
	}()
	d.note("Apaleo simulator: every API call now fails with 5xx; half of them after making the change, so the answer is lost.")

	arrival := d.today.AddDays(60)
	r1, err := d.channelBooking("ota", demoStay{property: "LIS", roomType: "DBL", ratePlan: "NRF", arrival: arrival, nights: 2}, "OTA"+d.runID+"4", "pm_card_visa")
	if err != nil {
		return err
	}
	res, err := d.pushOTA(ctx, "Commit", r1)
	if err != nil {
		return err
	}
	if err := d.check("OTA channel pushed a non-refundable booking", "booking "+r1.ExternalID+", answered Success",
		boolErr(res.RS.Success != nil, "Roomwire answered "+otaErrors(res))); err != nil {
		return err
	}
	r2, err := d.channelBooking("bookingcom", demoStay{property: "LIS", roomType: "DBL", ratePlan: "FLEX", arrival: arrival, nights: 1}, "", "pm_card_visa")
	if err != nil {
		return err
	}
	bid := d.booking.Book(*r2)
	d.note("A Booking.com guest books too (reservation %s).", bid)
	a, err := d.waitReservation(ctx, "ota", r1.ExternalID, canonical.StatusConfirmed)
	if err != nil {
		return err
	}
	b, err := d.waitReservation(ctx, "bookingcom", bid, canonical.StatusConfirmed)
	if err != nil {
		return err
	}
	d.nonRefund = a
	if err := d.waitAvailability(ctx, "LIS", "DBL", []canonical.Date{arrival}, d.units("LIS", "DBL")-2, "bookingcom"); err != nil {
		return err
	}
	_, err = d.waitFor(ctx, "Apaleo's circuit breaker", func(ctx context.Context) (string, error) {
		state := breakers.State(apaleo.Name)
		n, err := d.parked(ctx)
		if err != nil {
			return "", err
		}
		if state != "open" || n != 2 {
			return "", fmt.Errorf("breaker %s, %d bookings parked; want open and 2", state, n)
		}
		return fmt.Sprintf("open after %d failed calls in a row; 2 bookings parked (%s, %s), other partners unaffected",
			d.cfg.Backbone.Breaker.ConsecutiveFailures, a.ConfirmationNumber, b.ConfirmationNumber), nil
	})
	if err != nil {
		return err
	}
	// A booking Apaleo made while answering 5xx shows that only the
	// idempotency key keeps the retry from booking it twice.
	made := 0
	for _, x := range []*canonical.Reservation{a, b} {
		if _, err := d.inApaleo(x, apaleo.StatusConfirmed); err == nil {
			made++
		}
	}
	if made > 0 {
		d.note("Apaleo already holds %d of them: it made the booking, then answered 5xx, so Roomwire does not know it succeeded.", made)
	}
	d.apaleo.SetFaults(apaleosim.Faults{})
	restored = true
	d.note("Apaleo recovers. The breaker lets a trial call through after %s, then the parked bookings go, in order.", d.cfg.Backbone.Breaker.OpenTimeout)
	_, err = d.waitFor(ctx, "breaker closed, nothing parked", func(ctx context.Context) (string, error) {
		state := breakers.State(apaleo.Name)
		n, err := d.parked(ctx)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("breaker %s, %d parked", state, n), boolErr(state == "closed" && n == 0, fmt.Sprintf("breaker %s, %d parked", state, n))
	})
	if err != nil {
		return err
	}
	for _, x := range []*canonical.Reservation{a, b} {
		if _, err := d.waitFor(ctx, x.ConfirmationNumber+" in Apaleo once", func(context.Context) (string, error) {
			return d.inApaleo(x, apaleo.StatusConfirmed)
		}); err != nil {
			return err
		}
	}
	return nil
}

// Step 5.
func (d *demo) stepDeadLetter(ctx context.Context) error {
	const unmapped = "BB-DBL" // the OTA channel's code of LIS's BB, left out of mappings.yaml
	stay := demoStay{property: "LIS", roomType: "DBL", ratePlan: "BB", arrival: d.today.AddDays(75), nights: 2, partnerRatePlan: unmapped}
	r, err := d.channelBooking("ota", stay, "OTA"+d.runID+"5", "pm_card_visa")
	if err != nil {
		return err
	}
	res, err := d.pushOTA(ctx, "Commit", r)
	if err != nil {
		return err
	}
	if err := d.check("OTA channel pushed a booking with rate code "+unmapped, "Roomwire answered: "+cli.TruncateLine(otaErrors(res), 140),
		boolErr(res.RS.Success == nil && strings.Contains(otaErrors(res), unmapped), "Roomwire did not name the unmapped code: "+otaErrors(res))); err != nil {
		return err
	}
	var dl ops.DeadLetter
	if _, err := d.waitFor(ctx, "dead-lettered", func(ctx context.Context) (string, error) {
		var page struct {
			DeadLetters []ops.DeadLetter `json:"dead_letters"`
		}
		if err := d.api(ctx, "GET", "/v1/ops/dlq?reason=unmapped&status=dead", nil, &page); err != nil {
			return "", err
		}
		for _, x := range page.DeadLetters {
			if x.Consumer == "inbound.ota" && strings.Contains(x.Error, unmapped) {
				dl = x
				return fmt.Sprintf("dead letter %d, reason %s, consumer %s: %s", x.ID, x.Reason, x.Consumer, cli.TruncateLine(x.Error, 100)), nil
			}
		}
		return "", errors.New("no dead letter of inbound.ota names " + unmapped)
	}); err != nil {
		return err
	}
	_, n, err := d.reservationByChannel(ctx, "ota", r.ExternalID)
	if err := d.check("nothing half-applied", "no reservation for booking "+r.ExternalID, boolErr(n == 0 && err != nil, "the quarantined booking is in Roomwire")); err != nil {
		return err
	}

	var current struct {
		Mappings []connectors.Mapping `json:"mappings"`
	}
	if err := d.api(ctx, "GET", "/v1/connectors/ota/mappings", nil, &current); err != nil {
		return err
	}
	add := connectors.Mapping{Kind: connectors.KindRatePlan, Property: "LIS", Partner: unmapped, Roomwire: "BB"}
	if err := d.api(ctx, "PUT", "/v1/connectors/ota/mappings", map[string]any{"mappings": append(current.Mappings, add)}, nil); err != nil {
		return d.check("mapping added", "", err)
	}
	if err := d.check("mapping added", fmt.Sprintf("PUT /v1/connectors/ota/mappings: rate plan %s of LIS is Roomwire's BB", unmapped), nil); err != nil {
		return err
	}
	var replay struct {
		Count int `json:"count"`
	}
	err = d.api(ctx, "POST", "/v1/ops/dlq/replay", map[string]any{"ids": []int64{dl.ID}}, &replay)
	if err := d.check("replayed", fmt.Sprintf("POST /v1/ops/dlq/replay %d (roomwire dlq replay %d)", dl.ID, dl.ID), err); err != nil {
		return err
	}
	got, err := d.waitReservation(ctx, "ota", r.ExternalID, canonical.StatusConfirmed)
	if err != nil {
		return err
	}
	if _, err := d.waitFor(ctx, "dead letter resolved", func(ctx context.Context) (string, error) {
		var x ops.DeadLetter
		if err := d.api(ctx, "GET", fmt.Sprintf("/v1/ops/dlq/%d", dl.ID), nil, &x); err != nil {
			return "", err
		}
		return fmt.Sprintf("dead letter %d is %s after %d replay", x.ID, x.Status, x.ReplayCount), boolErr(x.Status == "resolved", "status "+x.Status)
	}); err != nil {
		return err
	}
	return d.waitInApaleo(ctx, got, apaleo.StatusConfirmed)
}

// Step 6.
func (d *demo) stepCancel(ctx context.Context) error {
	if d.first == nil || d.firstOTA == nil || d.nonRefund == nil {
		return errors.New("the bookings of steps 1 and 4 are missing")
	}
	first := d.first
	cancel := d.firstOTA.Clone()
	cancel.ModifiedAt = time.Now().UTC().Truncate(time.Second).Add(time.Second)
	res, err := d.pushOTA(ctx, "Cancel", cancel)
	if err != nil {
		return err
	}
	if err := d.check("OTA channel cancelled booking "+cancel.ExternalID, fmt.Sprintf("%s, flexible: free cancellation until 3 days before arrival on %s", first.ConfirmationNumber, first.Arrival()),
		boolErr(res.RS.Success != nil, "Roomwire answered "+otaErrors(res))); err != nil {
		return err
	}
	cancelled, err := d.waitReservation(ctx, "ota", cancel.ExternalID, canonical.StatusCancelled)
	if err != nil {
		return err
	}
	if _, err := d.waitFor(ctx, "payment voided", func(ctx context.Context) (string, error) {
		return d.payment(ctx, cancelled, canonical.PaymentVoided, gatewaysim.StatusVoided)
	}); err != nil {
		return err
	}
	if err := d.waitInApaleo(ctx, cancelled, apaleo.StatusCanceled); err != nil {
		return err
	}
	nights := canonical.Nights(first.Arrival(), first.Departure())
	d.note("Its rooms are back: every channel must sell %d DBL rooms again on %s.", d.units("LIS", "DBL"), nightList(nights))
	if err := d.waitAvailability(ctx, "LIS", "DBL", nights, d.units("LIS", "DBL"), "ota", "bookingcom", "expedia"); err != nil {
		return err
	}

	nr := d.nonRefund
	var after canonical.Reservation
	err = d.api(ctx, "POST", "/v1/reservations/"+nr.ID+"/cancel", nil, &after)
	if err := d.check("the hotel cancels the non-refundable "+nr.ConfirmationNumber, "POST /v1/reservations/{id}/cancel: "+string(after.Status), err); err != nil {
		return err
	}
	if _, err := d.waitFor(ctx, "payment kept, as the policy says", func(ctx context.Context) (string, error) {
		handled, err := d.consumerHandled(ctx, nr.ID, "payments.stripe", string(canonical.EventReservationCancelled))
		if err != nil || !handled {
			return "", boolErr(false, "the payment flow has not handled the cancellation yet")
		}
		detail, err := d.payment(ctx, nr, canonical.PaymentCaptured, gatewaysim.StatusCaptured)
		if err != nil {
			return "", err
		}
		p, _ := d.h.Payments.Payment(ctx, nr.ID)
		if p.Refunded != 0 || p.Captured != nr.Total.Minor {
			return "", fmt.Errorf("captured %d, refunded %d; want the whole %s kept", p.Captured, p.Refunded, nr.Total)
		}
		return "non-refundable, charged at booking: " + detail, nil
	}); err != nil {
		return err
	}
	arrival := nr.Arrival()
	return d.waitAvailability(ctx, "LIS", "DBL", []canonical.Date{arrival}, d.units("LIS", "DBL")-1, "ota", "bookingcom", "expedia")
}

type timelineEntry struct {
	Direction string    `json:"direction"`
	Consumer  string    `json:"consumer"`
	Connector string    `json:"connector"`
	EventType string    `json:"event_type"`
	Status    string    `json:"status"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error"`
	LastAt    time.Time `json:"last_at"`
}

func (d *demo) timeline(ctx context.Context, reservationID string) ([]timelineEntry, error) {
	var tl struct {
		Entries []timelineEntry `json:"entries"`
	}
	err := d.api(ctx, "GET", "/v1/reservations/"+reservationID+"/timeline", nil, &tl)
	return tl.Entries, err
}

// consumerHandled reports whether consumer has processed an event of the
// type about the reservation.
func (d *demo) consumerHandled(ctx context.Context, reservationID, consumer, eventType string) (bool, error) {
	entries, err := d.timeline(ctx, reservationID)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.Consumer == consumer && e.EventType == eventType && e.Status == router.StatusProcessed {
			return true, nil
		}
	}
	return false, nil
}

// Step 7.
func (d *demo) stepTimeline(ctx context.Context) error {
	r := d.first
	if r == nil {
		return errors.New("the booking of step 1 is missing")
	}
	want := []struct{ consumer, event string }{
		{"outbound.apaleo", string(canonical.EventReservationCreated)},
		{"payments.stripe", string(canonical.EventReservationCreated)},
		{"outbound.apaleo", string(canonical.EventReservationCancelled)},
		{"payments.stripe", string(canonical.EventReservationCancelled)},
	}
	var entries []timelineEntry
	_, err := d.waitFor(ctx, "timeline of "+r.ConfirmationNumber, func(ctx context.Context) (string, error) {
		var err error
		if entries, err = d.timeline(ctx, r.ID); err != nil {
			return "", err
		}
		for _, w := range want {
			found := false
			for _, e := range entries {
				if e.Consumer == w.consumer && (w.event == "" || e.EventType == w.event) && e.Status == router.StatusProcessed {
					found = true
				}
			}
			if !found {
				return "", fmt.Errorf("no processed %s %s yet", w.consumer, w.event)
			}
		}
		return fmt.Sprintf("%d entries: each event as published, and what Apaleo and Stripe did with it", len(entries)), nil
	})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "      TIME\tDIR\tEVENT\tBY\tSTATUS\tATTEMPTS")
	for _, e := range entries {
		by := e.Consumer
		if e.Connector != "" && !strings.HasSuffix(by, "."+e.Connector) {
			by += " (" + e.Connector + ")"
		}
		fmt.Fprintf(tw, "      %s\t%s\t%s\t%s\t%s\t%d\n", e.LastAt.Local().Format("15:04:05.000"), e.Direction, cli.Dash(e.EventType), by, e.Status, e.Attempts)
	}
	tw.Flush()
	d.note("The same from a shell: roomwire timeline %s", r.ConfirmationNumber)
	return nil
}

// printTour says where everything listens and what to try.
func (d *demo) printTour(logFile string) {
	key := d.adminKey
	d.say("")
	d.say("Roomwire keeps running. Ctrl-C (or kill -INT %d, or SIGTERM) stops it: simulators, hub, broker and any private PostgreSQL.", os.Getpid())
	d.say("")
	d.say("  API        %s   (admin key: %s)", d.hubURL, key)
	d.say("  metrics    %s/metrics   (same key)", d.hubURL)
	d.say("  OpenAPI    %s/v1/openapi.json", d.hubURL)
	d.say("  log        %s", logFile)
	d.say("  simulators Apaleo %s   (GET /_sim/stats, PUT /_sim/faults)", d.simURL["apaleo"])
	d.say("             OTA channel %s   (GET /_sim/ari, POST /_sim/push)", d.simURL["ota"])
	d.say("             Booking.com %s   (GET /_sim/ari, /_sim/acks)", d.simURL["bookingcom"])
	d.say("             Expedia %s   (GET /_sim/ari, /_sim/acks)", d.simURL["expedia"])
	d.say("             Stripe %s   (GET /_sim/stats)", d.simURL["stripe"])
	d.say("")
	d.say("Try, in another shell:")
	d.say("  export ROOMWIRE_URL=%s ROOMWIRE_ADMIN_KEY=%s", d.hubURL, key)
	d.say(`  curl -s -H "Authorization: Bearer $ROOMWIRE_ADMIN_KEY" "$ROOMWIRE_URL/v1/reservations?property_id=LIS"`)
	d.say(`  curl -s -H "Authorization: Bearer $ROOMWIRE_ADMIN_KEY" "$ROOMWIRE_URL/v1/properties/OPO/availability?arrival=%s&departure=%s&adults=2"`,
		d.today.AddDays(45), d.today.AddDays(46))
	d.say(`  curl -s -H "Authorization: Bearer $ROOMWIRE_ADMIN_KEY" "$ROOMWIRE_URL/metrics" | grep roomwire_`)
	d.say(`  curl -s %s/_sim/ari | head -20                       # what the OTA channel believes`, d.simURL["ota"])
	d.say(`  curl -s -X PUT %s/_sim/faults -d '{"error_rate": 1}'  # take Apaleo down ('{}' brings it back)`, d.simURL["apaleo"])
	d.say("  go run ./cmd/roomwire dlq list")
	if d.first != nil {
		d.say("  go run ./cmd/roomwire timeline %s", d.first.ConfirmationNumber)
	}
}

// serveDemoHTTP serves h on ln until the returned stop is called.
func serveDemoHTTP(ln net.Listener, h http.Handler, logger *slog.Logger) (stop func()) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed at Shutdown
	var once sync.Once
	return func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(ctx) //nolint:errcheck // best effort on the way out
		})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
