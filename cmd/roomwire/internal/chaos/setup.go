package chaos

import (
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
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.yaml.in/yaml/v3"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/database"
	"github.com/roomwire/roomwire/cmd/roomwire/internal/rig"
	"github.com/roomwire/roomwire/connectors/apaleo/apaleosim"
	"github.com/roomwire/roomwire/connectors/ota"
	"github.com/roomwire/roomwire/connectors/ota/otasim"
	"github.com/roomwire/roomwire/connectors/payments/gatewaysim"
	"github.com/roomwire/roomwire/connectors/stripe/stripesim"
	"github.com/roomwire/roomwire/router"
)

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
