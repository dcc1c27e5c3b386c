package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/roomwire/roomwire/canonical"
)

// Backbone is the event backbone of one process: the Kafka publisher, the
// consumers with their middleware, the outbox relay, dead-letter operations
// and the message timeline. Build it with New, add consumers, then Run.
type Backbone struct {
	cfg      Config
	pool     *pgxpool.Pool
	logger   *slog.Logger
	registry *prometheus.Registry
	metrics  *Metrics

	publisher   *Publisher
	router      *message.Router
	admin       *kadm.Client
	breakers    *Breakers
	processed   processedMessages
	parking     parkedMessages
	deadLetters *DeadLetters
	timeline    *MessageTimeline
	bookkeeping *group[bookkeeping]
	arrivals    *group[arrival]
	relay       *OutboxRelay

	mu        sync.Mutex
	consumers map[string]*consumer
	runCtx    context.Context // set while Run runs
	workers   sync.WaitGroup
	closeOnce sync.Once
}

// New builds a backbone from cfg (defaults applied, then validated) on the
// database of pool. Metrics are registered on reg; nil creates a registry
// (see Registry). logger is wrapped with NewContextLogHandler.
func New(cfg Config, pool *pgxpool.Pool, logger *slog.Logger, reg *prometheus.Registry) (*Backbone, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	if pool == nil {
		return nil, errors.New("router: a PostgreSQL pool is required")
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger = slog.New(NewContextLogHandler(logger.Handler()))
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	metrics, err := NewMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("router: metrics: %w", err)
	}
	publisher, err := NewPublisher(cfg.Kafka, logger)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	adminOpts, err := cfg.Kafka.adminOptions()
	if err != nil {
		publisher.Close()
		return nil, fmt.Errorf("router: %w", err)
	}
	kcl, err := kgo.NewClient(adminOpts...)
	if err != nil {
		publisher.Close()
		return nil, fmt.Errorf("router: kafka admin client: %w", err)
	}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.CloseTimeout}, watermillLogger(logger))
	if err != nil {
		kcl.Close()
		publisher.Close()
		return nil, fmt.Errorf("router: %w", err)
	}
	b := &Backbone{
		cfg:       cfg,
		pool:      pool,
		logger:    logger,
		registry:  reg,
		metrics:   metrics,
		publisher: publisher,
		router:    router,
		admin:     kadm.NewClient(kcl),
		breakers:  newBreakers(cfg.Breaker, metrics, logger),
		processed: processedMessages{pool: pool},
		parking:   parkedMessages{pool: pool},
		timeline:  NewMessageTimeline(pool),
		consumers: map[string]*consumer{},
	}
	b.bookkeeping = newGroup(recordBookkeeping(pool, b.timeline))
	b.arrivals = newGroup(readArrivals(pool))
	b.deadLetters = NewDeadLetters(pool, publisher, logger)
	b.deadLetters.metrics = metrics
	b.relay = NewOutboxRelay(pool, publisher, cfg.Relay, metrics, logger.With("component", "outbox-relay"))
	return b, nil
}

// Publisher returns the backbone's Kafka publisher. Messages should carry
// MetadataPartitionKey (NewMessage sets it).
func (b *Backbone) Publisher() message.Publisher { return b.publisher }

// DeadLetters returns the dead-letter operations.
func (b *Backbone) DeadLetters() *DeadLetters { return b.deadLetters }

// Timeline returns the message timeline.
func (b *Backbone) Timeline() *MessageTimeline { return b.timeline }

// Relay returns the outbox relay (Run runs it unless Relay.Disabled).
func (b *Backbone) Relay() *OutboxRelay { return b.relay }

// Breakers returns the partners' circuit breakers.
func (b *Backbone) Breakers() *Breakers { return b.breakers }

// Registry returns the Prometheus registry the metrics are on.
func (b *Backbone) Registry() *prometheus.Registry { return b.registry }

// Consumers returns the names of the consumers added so far, sorted.
func (b *Backbone) Consumers() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	names := make([]string, 0, len(b.consumers))
	for n := range b.consumers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ConsumerGroup returns the Kafka consumer group of consumer name.
func (b *Backbone) ConsumerGroup(name string) string { return b.cfg.ConsumerGroupPrefix + name }

// AddConsumer subscribes handler to topic as consumer name, in its own
// consumer group (ConsumerGroupPrefix + name), behind the full middleware
// chain: correlation id, recoverer, timeout, retry with backoff, dedup by
// message id, circuit breaker and parking (WithConnector), dead-lettering to
// <topic>.dlq, metrics and the timeline. name must be unique; it is also the
// dedup and dead-letter identity of the handler, so it must not change
// between releases. Consumers can be added before or while Run runs.
func (b *Backbone) AddConsumer(name, topic string, handler HandlerFunc, opts ...ConsumerOption) error {
	if err := validateTopicName(name); err != nil {
		return fmt.Errorf("router: consumer name: %w", err)
	}
	if err := validateTopicName(topic); err != nil {
		return err
	}
	if handler == nil {
		return errors.New("router: nil handler")
	}
	c := &consumer{
		b:         b,
		name:      name,
		group:     b.ConsumerGroup(name),
		topic:     topic,
		direction: defaultDirection(topic),
		handler:   handler,
		retry:     b.cfg.Retry,
		timeout:   b.cfg.HandlerTimeout,
	}
	for _, o := range opts {
		o(c)
	}
	if c.direction != DirectionIn && c.direction != DirectionOut {
		return fmt.Errorf("router: consumer %s: direction %q is neither in nor out", name, c.direction)
	}
	c.logger = b.logger.With("consumer", name, "topic", topic)

	b.mu.Lock()
	defer b.mu.Unlock()
	if _, dup := b.consumers[name]; dup {
		return fmt.Errorf("router: consumer %s added twice", name)
	}
	sub, err := NewLaneSubscriber(b.cfg.Kafka, SubscriberOptions{
		ConsumerGroup:     c.group,
		Partitions:        b.cfg.Topics.Partitions,
		ReplicationFactor: b.cfg.Topics.ReplicationFactor,
		RebalanceTimeout:  max(time.Minute, c.longestHandling()+10*time.Second),
	}, b.logger)
	if err != nil {
		return fmt.Errorf("router: consumer %s: %w", name, err)
	}
	b.router.AddConsumerHandler(name, topic, sub, message.NoPublishHandlerFunc(c.handle))
	b.consumers[name] = c
	if b.runCtx != nil {
		if err := b.ensureTopics(b.runCtx, topic, DeadLetterTopic(topic)); err != nil {
			return err
		}
		if err := b.router.RunHandlers(b.runCtx); err != nil {
			return fmt.Errorf("router: consumer %s: %w", name, err)
		}
		b.startDrainer(b.runCtx, c)
	}
	return nil
}

// Run creates missing topics, then runs the consumers, the outbox relay and
// the housekeeping (gauges, replay resumption, dedup expiry) until ctx is
// done or Close is called. It returns after all of them have stopped.
func (b *Backbone) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	b.mu.Lock()
	if b.runCtx != nil {
		b.mu.Unlock()
		return errors.New("router: backbone already running")
	}
	var topics []string
	for _, t := range []string{TopicReservationEvents, TopicAvailabilityEvents, canonical.TopicPaymentEvents} {
		topics = append(topics, t, DeadLetterTopic(t))
	}
	for _, c := range b.consumers {
		topics = append(topics, c.topic, DeadLetterTopic(c.topic))
	}
	b.mu.Unlock()
	if err := b.ensureTopics(ctx, topics...); err != nil {
		return err
	}

	b.mu.Lock()
	b.runCtx = ctx
	for _, c := range b.consumers {
		b.startDrainer(ctx, c)
	}
	b.mu.Unlock()

	if !b.cfg.Relay.Disabled {
		b.goWorker(func() {
			if err := b.relay.Run(ctx); err != nil {
				b.logger.Error("outbox relay stopped", "error", err)
			}
		})
	}
	b.goWorker(func() { b.housekeeping(ctx) })

	routerDone := make(chan error, 1)
	go func() { routerDone <- b.router.Run(ctx) }()
	var err error
	select {
	case <-ctx.Done():
		if cerr := b.router.Close(); cerr != nil {
			b.logger.Warn("router close", "error", cerr)
		}
		err = <-routerDone
	case err = <-routerDone:
		cancel()
	}
	b.workers.Wait()
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	return nil
}

// Running is closed once the consumers have subscribed.
func (b *Backbone) Running() <-chan struct{} { return b.router.Running() }

// Close stops the consumers (waiting up to CloseTimeout for handlers in
// progress) and closes the Kafka clients. Call it after Run has returned,
// or instead of cancelling Run's context.
func (b *Backbone) Close() error {
	var err error
	b.closeOnce.Do(func() {
		err = b.router.Close()
		b.workers.Wait()
		b.bookkeeping.close()
		b.arrivals.close()
		if perr := b.publisher.Close(); perr != nil {
			err = errors.Join(err, perr)
		}
		b.admin.Close()
	})
	return err
}

// Ready reports whether the broker answers and PostgreSQL is reachable.
func (b *Backbone) Ready(ctx context.Context) error {
	if err := b.BrokerReady(ctx); err != nil {
		return err
	}
	if err := b.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgresql: %w", err)
	}
	return nil
}

// BrokerReady reports whether at least one Kafka broker answers now. It
// asks every broker for its API versions: metadata alone may come from the
// client's cache.
func (b *Backbone) BrokerReady(ctx context.Context) error {
	versions, err := b.admin.ApiVersions(ctx)
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	var errs []error
	for _, v := range versions.Sorted() {
		if v.Err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("broker %d: %w", v.NodeID, v.Err))
	}
	if len(errs) == 0 {
		return errors.New("kafka: no brokers")
	}
	return fmt.Errorf("kafka: %w", errors.Join(errs...))
}

// ensureTopics creates the topics that do not exist yet (unless
// Topics.SkipCreate).
func (b *Backbone) ensureTopics(ctx context.Context, topics ...string) error {
	if b.cfg.Topics.SkipCreate {
		return nil
	}
	seen := map[string]bool{}
	var todo []string
	for _, t := range topics {
		if !seen[t] {
			seen[t] = true
			todo = append(todo, t)
		}
	}
	rf, minISR, err := b.replication(ctx)
	if err != nil {
		return fmt.Errorf("router: create topics: %w", err)
	}
	var configs map[string]*string
	if minISR > 0 {
		v := strconv.Itoa(minISR)
		configs = map[string]*string{"min.insync.replicas": &v}
	}
	resp, err := b.admin.CreateTopics(ctx, b.cfg.Topics.Partitions, rf, configs, todo...)
	if err != nil {
		return fmt.Errorf("router: create topics: %w", err)
	}
	var created []string
	for _, r := range resp.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("router: create topic %s: %w", r.Topic, r.Err)
		}
		if r.Err == nil {
			created = append(created, r.Topic)
			b.logger.Info("created topic", "topic", r.Topic, "partitions", b.cfg.Topics.Partitions,
				"replication_factor", rf, "min_insync_replicas", minISR)
		}
	}
	return b.awaitLeaders(ctx, created)
}

// awaitLeaders waits until every partition of topics has a leader. A
// cluster answers CreateTopics before its brokers know the topic; a publish
// in between is refused as for an unknown topic.
func (b *Backbone) awaitLeaders(ctx context.Context, topics []string) error {
	if len(topics) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		details, err := b.admin.ListTopics(ctx, topics...)
		led := err == nil && details.Error() == nil && len(details) == len(topics)
		for _, d := range details {
			for _, p := range d.Partitions {
				led = led && p.Err == nil && p.Leader >= 0
			}
		}
		if led {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("router: created topics %v have no leaders after 30s", topics)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// replication returns the replication factor and min.insync.replicas of
// the topics to create (-1 and 0: the brokers' defaults). Unless configured,
// a cluster of three or more brokers gets three replicas of which two must
// acknowledge (with acks=all, a write then survives the loss of any one
// broker and the partition keeps taking writes while one is down); a
// smaller cluster gets its brokers' default.
func (b *Backbone) replication(ctx context.Context) (int16, int, error) {
	rf, minISR := b.cfg.Topics.ReplicationFactor, b.cfg.Topics.MinInsyncReplicas
	if rf == -1 {
		brokers, err := b.admin.ListBrokers(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("list brokers: %w", err)
		}
		if len(brokers) >= 3 {
			rf = 3
		}
	}
	if minISR == 0 && rf >= 3 {
		minISR = 2
	}
	return rf, minISR, nil
}

func (b *Backbone) goWorker(fn func()) {
	b.workers.Add(1)
	go func() {
		defer b.workers.Done()
		fn()
	}()
}

// startDrainer retries the parked messages of c, if it has a breaker.
func (b *Backbone) startDrainer(ctx context.Context, c *consumer) {
	if c.breakerKey == nil {
		return
	}
	b.goWorker(func() {
		t := time.NewTicker(b.cfg.ParkedRetryInterval)
		defer t.Stop()
		for {
			if err := c.drainParked(ctx); err != nil && ctx.Err() == nil {
				c.logger.Error("retrying parked messages failed", "error", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}

// housekeeping refreshes the gauges, finishes interrupted replays and
// expires old dedup records.
func (b *Backbone) housekeeping(ctx context.Context) {
	t := time.NewTicker(b.cfg.MetricsInterval)
	defer t.Stop()
	lastExpiry := time.Time{}
	for {
		b.RefreshGauges(ctx)
		if n, err := b.deadLetters.ResumeReplays(ctx); err != nil && ctx.Err() == nil {
			b.logger.Error("resuming replays failed", "error", err)
		} else if n > 0 {
			b.logger.Info("resumed interrupted replays", "count", n)
		}
		if time.Since(lastExpiry) > time.Hour {
			if n, err := b.processed.forget(ctx, b.cfg.DedupRetention); err != nil && ctx.Err() == nil {
				b.logger.Error("expiring dedup records failed", "error", err)
			} else if n > 0 {
				b.logger.Info("expired dedup records", "count", n)
			}
			b.expire(ctx, "published outbox rows", "outbox", expiredOutboxRows, b.cfg.OutboxRetention)
			b.expire(ctx, "timeline entries", "message_timeline", expiredTimelineEntries, b.cfg.TimelineRetention)
			lastExpiry = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// What expires: the rows (t) of a table past a retention of $1 seconds.
const (
	// created_at (never after published_at) finds the candidates through
	// its BRIN index; unpublished rows never expire.
	expiredOutboxRows = `t.created_at < now() - make_interval(secs => $1)
		AND t.published_at < now() - make_interval(secs => $1)`
	// A message's timeline entries expire together: a consumer's entry
	// shows the payload the relay's entry holds. first_at (never after
	// last_at) finds the candidates through its BRIN index.
	expiredTimelineEntries = `t.first_at < now() - make_interval(secs => $1)
		AND t.last_at < now() - make_interval(secs => $1)
		AND NOT EXISTS (SELECT 1 FROM message_timeline u
			WHERE u.message_id = t.message_id AND u.last_at >= now() - make_interval(secs => $1))`
)

// expire deletes the rows of table that expired (a condition above) past
// retention, a slice at a time, so that a large backlog never holds long
// locks.
func (b *Backbone) expire(ctx context.Context, what, table, expired string, retention time.Duration) {
	sql := fmt.Sprintf(`DELETE FROM %[1]s WHERE ctid = ANY (ARRAY(
		SELECT ctid FROM %[1]s t WHERE %[2]s LIMIT 5000))`, table, expired)
	var total int64
	for ctx.Err() == nil {
		tag, err := b.pool.Exec(ctx, sql, retention.Seconds())
		if err != nil {
			if ctx.Err() == nil {
				b.logger.Error("expiring "+what+" failed", "error", err)
			}
			break
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < 5000 {
			break
		}
	}
	if total > 0 {
		b.logger.Info("expired "+what, "count", total, "older_than", retention)
	}
}

// RefreshGauges reads the gauges kept in PostgreSQL and Kafka now: outbox
// backlog and oldest age, dead letters by topic and reason, parked messages,
// consumer lag. Run calls it every MetricsInterval.
func (b *Backbone) RefreshGauges(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m := b.metrics
	if n, age, err := b.relay.Backlog(ctx); err == nil {
		m.outboxBacklog.Set(float64(n))
		m.outboxOldestAge.Set(age.Seconds())
	} else if ctx.Err() == nil {
		b.logger.Warn("outbox backlog gauge", "error", err)
	}
	if depth, err := b.deadLetters.depth(ctx); err == nil {
		m.deadLetters.Reset()
		total := 0.0
		for k, n := range depth {
			m.deadLetters.WithLabelValues(k[0], k[1]).Set(n)
			total += n
		}
		m.deadLettersAll.Set(total)
	} else if ctx.Err() == nil {
		b.logger.Warn("dead letter gauge", "error", err)
	}
	if parked, err := b.parking.counts(ctx); err == nil {
		m.parked.Reset()
		for c, n := range parked {
			m.parked.WithLabelValues(c).Set(n)
		}
	} else if ctx.Err() == nil {
		b.logger.Warn("parked gauge", "error", err)
	}
	if err := b.refreshLag(ctx); err != nil && ctx.Err() == nil {
		b.logger.Warn("consumer lag gauge", "error", err)
	}
	m.breakersOpen.Set(float64(b.breakers.openCount()))
}

// refreshLag sets roomwire_consumer_lag for every consumer's group.
func (b *Backbone) refreshLag(ctx context.Context) error {
	b.mu.Lock()
	groups := make([]string, 0, len(b.consumers))
	for _, c := range b.consumers {
		groups = append(groups, c.group)
	}
	b.mu.Unlock()
	if len(groups) == 0 {
		return nil
	}
	lags, err := b.admin.Lag(ctx, groups...)
	if err != nil {
		return err
	}
	b.metrics.consumerLag.Reset()
	var total int64
	defer func() { b.metrics.consumerLagAll.Set(float64(total)) }()
	for _, g := range lags.Sorted() {
		if err := g.Error(); err != nil {
			continue
		}
		for _, ml := range g.Lag.Sorted() {
			if ml.Err != nil || ml.Lag < 0 {
				continue
			}
			b.metrics.consumerLag.WithLabelValues(g.Group, ml.Topic, strconv.Itoa(int(ml.Partition))).Set(float64(ml.Lag))
			total += ml.Lag
		}
	}
	return nil
}

// ConsumerLag returns the lag of consumer name's group per topic and
// partition.
func (b *Backbone) ConsumerLag(ctx context.Context, name string) (map[string]map[int32]int64, error) {
	lags, err := b.admin.Lag(ctx, b.ConsumerGroup(name))
	if err != nil {
		return nil, fmt.Errorf("router: lag: %w", err)
	}
	out := map[string]map[int32]int64{}
	for _, g := range lags.Sorted() {
		if err := g.Error(); err != nil {
			return nil, fmt.Errorf("router: lag: %w", err)
		}
		for _, ml := range g.Lag.Sorted() {
			if out[ml.Topic] == nil {
				out[ml.Topic] = map[int32]int64{}
			}
			out[ml.Topic][ml.Partition] = ml.Lag
		}
	}
	return out, nil
}
