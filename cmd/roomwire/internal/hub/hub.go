// Package hub assembles one running Roomwire from its configuration: the
// store, the booking API, the event backbone, the connectors and the
// notifications. serve, demo and bench all run it.
package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/roomwire/roomwire/cmd/roomwire/internal/database"
	"github.com/roomwire/roomwire/config"
	"github.com/roomwire/roomwire/connectors"
	_ "github.com/roomwire/roomwire/connectors/all" // every connector the hub can plug
	"github.com/roomwire/roomwire/connectors/arifanout"
	"github.com/roomwire/roomwire/connectors/inbound"
	"github.com/roomwire/roomwire/connectors/notify"
	"github.com/roomwire/roomwire/connectors/payments"
	"github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/bookingapi"
	"github.com/roomwire/roomwire/reservations/schema"
	"github.com/roomwire/roomwire/router"
)

// Hub is one running Roomwire: the store, the booking API, the event
// backbone and the configured connectors. serve, demo and bench all run the
// same hub.
type Hub struct {
	cfg     *config.Config
	logger  *slog.Logger
	version string
	// Pool is the database pool of the booking API and the operators'
	// endpoints (the rigs read the store's tables through it too).
	Pool  *pgxpool.Pool
	store *reservations.Store
	// deliveryPool is the pool of everything after the commit: the
	// backbone, the connectors and the services the consumers run, with
	// deliveryStore on it. Requests never hold its connections, so a
	// delivery never waits behind queued requests for one.
	deliveryPool  *pgxpool.Pool
	deliveryStore *reservations.Store
	// API is the booking API, with every connector's routes mounted.
	API     *bookingapi.API
	metrics *prometheus.Registry
	broker  *router.EmbeddedBroker // nil with an external cluster
	// Backbone is the event backbone the hub's consumers run on.
	Backbone *router.Backbone
	// Resources are what the connectors share: mappings, HTTP client, logger.
	Resources connectors.Resources

	connectors map[string]*connectors.Instance // by instance name
	webhooks   map[string]http.Handler         // instance name -> its partner-facing handler
	fanout     *arifanout.Fanout
	// Payments is the payment service; nil without payment connectors.
	Payments *payments.Service
	notify   *notify.Service
	runners  []runner
}

// runner is work that lasts as long as the hub runs.
type runner struct {
	name string
	run  func(ctx context.Context) error
}

// Options are how Start starts the hub.
type Options struct {
	Migrate bool   // apply pending migrations (if the config allows it)
	Version string // the version Serve logs
}

// Start connects to the database, migrates it, starts (or connects to)
// Kafka, builds the API, the backbone and the connectors. The caller serves
// h.API, runs h.Run, and calls h.Close when done.
func Start(ctx context.Context, cfg *config.Config, logger *slog.Logger, opts Options) (_ *Hub, err error) {
	// h is not the named result: a failed start returns nil, and what was
	// started so far must still be closed.
	h := &Hub{cfg: cfg, logger: logger, version: opts.Version, connectors: map[string]*connectors.Instance{}, webhooks: map[string]http.Handler{}}
	defer func() {
		if err != nil {
			h.Close()
		}
	}()
	if h.Pool, err = database.OpenOrCreate(ctx, cfg.Database, opts.Migrate && *cfg.Database.MigrateOnStart, logger); err != nil {
		return nil, err
	}
	if opts.Migrate && *cfg.Database.MigrateOnStart {
		applied, err := schema.Migrate(ctx, h.Pool)
		if err != nil {
			return nil, err
		}
		if len(applied) > 0 {
			logger.Info("applied migrations", "migrations", strings.Join(applied, ", "))
		}
	}
	h.metrics = prometheus.NewRegistry()
	h.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h.metrics.MustRegister(connectors.MetricsCollectors()...)
	if h.deliveryPool, err = database.OpenDelivery(ctx, cfg.Database); err != nil {
		return nil, err
	}
	h.store, h.deliveryStore = reservations.New(h.Pool), reservations.New(h.deliveryPool)
	observe := bookingsCounter(h.metrics)
	h.store.ObserveBookings(observe)
	h.deliveryStore.ObserveBookings(observe) // inbound bookings
	h.API, err = bookingapi.New(bookingapi.Config{
		AdminKey:          cfg.HTTP.AdminKey,
		MetricsKey:        cfg.HTTP.MetricsKey,
		Metrics:           h.metrics,
		MaxBodyBytes:      cfg.HTTP.MaxBodyBytes,
		RequestTimeout:    cfg.HTTP.RequestTimeout,
		ConnectorChannels: connectorChannels(cfg),
		Admission: bookingapi.WriteAdmission{
			DeliveryLag: h.deliveryLag,
			MaxLag:      cfg.HTTP.MaxDeliveryLag,
			MaxWait:     cfg.HTTP.AdmissionWait,
			MaxWrites:   int(cfg.Database.MaxConns),
		},
	}, h.store, logger)
	if err != nil {
		return nil, err
	}
	if err := h.startBackbone(ctx); err != nil {
		return nil, err
	}
	if err := h.startConnectors(ctx); err != nil {
		return nil, err
	}
	if err := h.startNotifications(); err != nil {
		return nil, err
	}
	h.mountRoutes()
	return h, nil
}

// deliveryLag is how far the backbone's consumers run behind the commits
// (none before the backbone starts).
func (h *Hub) deliveryLag() time.Duration {
	if h.Backbone == nil {
		return 0
	}
	return h.Backbone.DeliveryLag()
}

// connectorChannels lists the channel names that belong to connectors:
// every registered connector's name, every configured instance's name (the
// channel of its bookings) and every configured channel setting.
func connectorChannels(cfg *config.Config) []string {
	out := connectors.Names()
	for name, c := range cfg.Connectors {
		out = append(out, name)
		if ch, ok := c["channel"].(string); ok && ch != "" {
			out = append(out, ch)
		}
	}
	return out
}

// startBackbone starts the embedded broker when no brokers are configured,
// then the backbone on the brokers.
func (h *Hub) startBackbone(ctx context.Context) error {
	cfg := h.cfg
	brokers := cfg.Kafka.Brokers
	if cfg.UsesEmbeddedBroker() {
		var err error
		h.broker, err = router.StartEmbeddedBroker(cfg.EmbeddedBrokerDir(), h.logger,
			router.WithListenAddress(cfg.Kafka.EmbeddedAddr), router.WithDefaultPartitions(int(cfg.Backbone.Topics.Partitions)),
			router.WithFsync(cfg.Kafka.EmbeddedFsync))
		if err != nil {
			return fmt.Errorf("embedded Kafka broker on %s: %w (set kafka.embedded_addr to a free port, or kafka.brokers to a cluster)", cfg.Kafka.EmbeddedAddr, err)
		}
		brokers = h.broker.Addrs()
		h.logger.Info("no Kafka brokers configured: running the embedded Kafka-protocol broker",
			"addr", strings.Join(brokers, ","), "data_dir", cfg.EmbeddedBrokerDir())
	}
	var err error
	bc := cfg.Backbone
	bc.Kafka = cfg.Kafka.KafkaConfig
	bc.Kafka.Brokers = brokers
	h.Backbone, err = router.New(bc, h.deliveryPool, h.logger, h.metrics)
	if err != nil && !cfg.UsesEmbeddedBroker() {
		return fmt.Errorf("Kafka at %s: %w (check that the brokers run and that this machine reaches them, or leave kafka.brokers empty to run the embedded broker)",
			strings.Join(brokers, ","), err)
	}
	if err != nil {
		return err
	}
	h.API.AddReadinessCheck("kafka", h.Backbone.BrokerReady)
	h.store.OnOutboxWritten(h.Backbone.Relay().Wake)
	h.deliveryStore.OnOutboxWritten(h.Backbone.Relay().Wake)
	h.runners = append(h.runners, runner{"backbone", h.Backbone.Run})
	return nil
}

// startConnectors builds every configured connector and plugs it into the
// backbone by what it declares it can do.
func (h *Hub) startConnectors(ctx context.Context) error {
	h.Resources = connectors.NewResources(h.deliveryPool, h.logger)
	h.Resources.Bookings = h.deliveryStore
	h.fanout = arifanout.New(arifanout.Config{}, h.deliveryStore, h.Resources.Mappings, h.logger)
	applier := inbound.NewApplier(h.deliveryStore, h.Resources.Mappings, h.Resources.Links, h.logger)
	names := make([]string, 0, len(h.cfg.Connectors))
	for name := range h.cfg.Connectors {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		inst, err := connectors.Build(name, h.cfg.Connectors[name], h.Resources)
		if err != nil {
			return fmt.Errorf("connectors.%s: %w; fix it or remove it from the configuration", name, err)
		}
		h.connectors[name] = inst
		if err := h.plug(inst, applier); err != nil {
			return fmt.Errorf("connectors.%s: %w", name, err)
		}
		h.logger.Info("connector ready", "connector", name, "kind", inst.Kind(), "capabilities", inst.Spec.Capabilities)
	}
	if f := h.cfg.MappingsFile; f != "" {
		if err := h.Resources.Mappings.LoadFile(ctx, f); err != nil {
			return fmt.Errorf("mappings_file %s: %w", f, err)
		}
	}
	if len(h.fanout.Channels()) > 0 {
		if err := h.fanout.AddConsumers(h.Backbone); err != nil {
			return err
		}
	}
	if h.Payments != nil {
		if err := h.Payments.CheckGateways(); err != nil {
			return err
		}
		h.runners = append(h.runners, runner{"payment holds", func(ctx context.Context) error { h.Payments.Run(ctx); return nil }})
	}
	return nil
}

// plug wires one connector instance by what the contract resolved
// (connectors.Plugs): its webhook, its pull loop, the consumer that applies
// what it receives, its place in the ARI fan-out and in the payment flow,
// and the consumer that tells it Roomwire's events.
func (h *Hub) plug(inst *connectors.Instance, applier *inbound.Applier) error {
	name := inst.Name
	sink := inbound.NewSink(h.Backbone.Publisher(), name, h.logger)
	if inst.Receiver != nil {
		h.webhooks[name] = inst.Receiver.Webhook(sink)
	}
	if p := inst.Puller; p != nil {
		h.runners = append(h.runners, runner{name + " pull", func(ctx context.Context) error { return p.Run(ctx, sink) }})
	}
	if inst.Inbound {
		if err := h.Backbone.AddConsumer("inbound."+name, inbound.Topic(name), applier.Handle); err != nil {
			return err
		}
	}
	if inst.ARI != nil {
		if err := h.fanout.AddChannel(inst.ARI); err != nil {
			return err
		}
	}
	if inst.Spec.Has(connectors.CapPayments) {
		if err := h.addGateway(inst); err != nil {
			return err
		}
	}
	if inst.Events != nil {
		return h.Backbone.AddConsumer(inst.EventsConsumer, router.TopicReservationEvents, connectors.EventHandler(inst.Events), router.WithConnector(name))
	}
	return nil
}

// addGateway adds a payments connector to the payment flow, starting the
// flow with the first.
func (h *Hub) addGateway(inst *connectors.Instance) error {
	g, ok := inst.Connector.(payments.Gateway)
	if !ok {
		return errors.New("declares payments but is no payments.Gateway")
	}
	if h.Payments == nil {
		var err error
		h.Payments, err = payments.New(h.cfg.Payments, h.deliveryStore, h.logger)
		if err != nil {
			return err
		}
	}
	return h.Payments.AddGateway(g)
}

// bookingsCounter counts booking attempts by channel and outcome on reg:
// roomwire_bookings_total{channel,outcome}.
func bookingsCounter(reg prometheus.Registerer) func(string, reservations.BookingOutcome) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roomwire_bookings_total",
		Help: "Booking attempts by channel and outcome (created, overbooked, replayed, no_availability, invalid, conflict, forbidden, failed).",
	}, []string{"channel", "outcome"})
	reg.MustRegister(c)
	return func(channel string, outcome reservations.BookingOutcome) {
		c.WithLabelValues(channel, string(outcome)).Inc()
	}
}

// mountRoutes adds the backbone's and the connectors' endpoints to the API.
func (h *Hub) mountRoutes() {
	allowed := func(r *http.Request, propertyID string) bool {
		p, ok := bookingapi.PrincipalFrom(r.Context())
		return ok && p.Scope.Allows(propertyID)
	}
	actor := func(r *http.Request) string {
		p, _ := bookingapi.PrincipalFrom(r.Context())
		return p.Name
	}
	dlq := h.Backbone.DeadLetters().Handler(router.DeadLetterHandlerOptions{Actor: actor})
	h.API.Handle("/v1/ops/dlq", bookingapi.AdminOnly, dlq)
	h.API.Handle("/v1/ops/dlq/", bookingapi.AdminOnly, dlq)
	h.API.Handle("GET /v1/reservations/{id}/timeline", bookingapi.AnyKey, h.Backbone.Timeline().Handler(router.TimelineHandlerOptions{Allowed: allowed}))
	h.API.Handle("GET /v1/ops/channels", bookingapi.AdminOnly, http.HandlerFunc(h.channelsHandler))
	// The console's page and script hold no data: the key it asks for
	// authorizes each API call it makes.
	console := consoleHandler()
	h.API.Handle("GET /console/", bookingapi.Public, console)
	h.API.Handle("GET /{$}", bookingapi.Public, console)
	h.API.Handle("GET /metrics", bookingapi.MetricsAccess, promhttp.HandlerFor(h.metrics, promhttp.HandlerOpts{}))
	h.API.Handle("GET /v1/connectors/{name}/mappings", bookingapi.AdminOnly, mappingsHandler(h.Resources.Mappings))
	h.API.Handle("PUT /v1/connectors/{name}/mappings", bookingapi.AdminOnly, mappingsHandler(h.Resources.Mappings))
	for name, inst := range h.connectors {
		if inst.Status != nil {
			h.API.Handle("GET /v1/connectors/"+name+"/status", bookingapi.AdminOnly, inst.Status.StatusHandler())
		}
	}
	// Partners authenticate themselves to their connector's handler (basic
	// auth, signatures), so these routes take no API key.
	h.API.Handle("/v1/connectors/", bookingapi.Public, http.HandlerFunc(h.serveWebhook))
}

// serveWebhook passes /v1/connectors/<name>/... to the connector's handler,
// with the prefix stripped.
func (h *Hub) serveWebhook(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/v1/connectors/")
	name, _, _ := strings.Cut(rest, "/")
	handler, ok := h.webhooks[name]
	if !ok {
		// Callers here are not authenticated: the answer names no connector.
		bookingapi.WriteProblem(w, r, http.StatusNotFound, bookingapi.CodeNotFound, "no connector receives messages here")
		return
	}
	http.StripPrefix("/v1/connectors/"+name, handler).ServeHTTP(w, r)
}

// Run runs the backbone, the pull loops, the fan-out and the payment checks
// until ctx ends or one of them fails.
func (h *Hub) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, len(h.runners))
	for _, r := range h.runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.run(ctx); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", r.name, err)
				cancel()
			}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// Close releases what Start acquired, in reverse order.
func (h *Hub) Close() {
	if h == nil {
		return
	}
	for name, inst := range h.connectors {
		if err := inst.Close(); err != nil {
			h.logger.Warn("closing connector", "connector", name, "error", err)
		}
	}
	if h.Backbone != nil {
		if err := h.Backbone.Close(); err != nil {
			h.logger.Warn("closing the backbone", "error", err)
		}
	}
	if h.broker != nil {
		h.broker.Close()
	}
	if h.deliveryPool != nil {
		h.deliveryPool.Close()
	}
	if h.Pool != nil {
		h.Pool.Close()
	}
}
