package router

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations/pgtest"
	"github.com/roomwire/roomwire/router/kafkatest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// testLogger logs warnings and errors to the test log when -v is given.
func testLogger(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// startBroker starts an embedded broker on a fresh directory for t.
func startBroker(t testing.TB, opts ...EmbeddedBrokerOption) *EmbeddedBroker {
	t.Helper()
	b, err := StartEmbeddedBroker(t.TempDir(), testLogger(t), opts...)
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// testBroker is a broker as the tests use it: where it listens.
type testBroker interface{ Addrs() []string }

// externalKafka is the cluster of kafkatest.EnvBrokers, prepared for one test.
type externalKafka struct {
	addrs       []string
	groupPrefix string
}

func (k externalKafka) Addrs() []string { return k.addrs }

// testKafka returns the cluster of ROOMWIRE_TEST_KAFKA_BROKERS when it is
// set, cleared of earlier tests' topics, and a fresh embedded broker
// otherwise. Tests that need kfake's fault hooks use startBroker.
func testKafka(t testing.TB) testBroker {
	t.Helper()
	brokers := kafkatest.Brokers()
	if brokers == nil {
		return startBroker(t)
	}
	k := externalKafka{addrs: brokers, groupPrefix: kafkatest.Fresh(t, brokers)}
	// Relay tests publish without a backbone to create the outbox's topics
	// first, as serve does; a publish racing the cluster's creation of a
	// topic fails in part and is published again, in duplicate.
	if err := kafkatest.CreateTopics(context.Background(), brokers, TopicReservationEvents, TopicAvailabilityEvents); err != nil {
		t.Fatal(err)
	}
	return k
}

// testKafkaConfig is the client configuration for broker.
func testKafkaConfig(broker testBroker) KafkaConfig {
	return KafkaConfig{Brokers: broker.Addrs(), ClientID: "roomwire-test"}
}

// testGroupPrefix keeps the consumer groups of a test on an external
// cluster apart from other runs'.
func testGroupPrefix(broker testBroker) string {
	if k, ok := broker.(externalKafka); ok {
		return k.groupPrefix
	}
	return ""
}

// testConfig returns a backbone configuration with short waits.
func testConfig(broker testBroker) Config {
	return Config{
		Kafka:               testKafkaConfig(broker),
		ConsumerGroupPrefix: testGroupPrefix(broker),
		Topics:              TopicsConfig{Partitions: 4},
		Retry: RetryConfig{
			MaxRetries:      2,
			InitialInterval: 5 * time.Millisecond,
			MaxInterval:     20 * time.Millisecond,
		},
		Breaker:             BreakerConfig{ConsecutiveFailures: 3, OpenTimeout: 300 * time.Millisecond},
		Relay:               RelayConfig{PollInterval: 200 * time.Millisecond, RetryInterval: 100 * time.Millisecond},
		HandlerTimeout:      5 * time.Second,
		ParkedRetryInterval: 100 * time.Millisecond,
		MetricsInterval:     time.Second,
		CloseTimeout:        10 * time.Second,
	}
}

// newBackbone builds a backbone for t; Close runs at cleanup.
func newBackbone(t testing.TB, cfg Config, pool *pgxpool.Pool) *Backbone {
	t.Helper()
	b, err := New(cfg, pool, testLogger(t), prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("new backbone: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// runBackbone runs b until the test ends (or the returned stop is called)
// and waits until its consumers have subscribed.
func runBackbone(t testing.TB, b *Backbone) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("backbone run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-b.Running():
	case err := <-done:
		t.Fatalf("backbone stopped at once: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("backbone did not start")
	}
	return stop
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// uniqueTopic returns a fresh inbound topic name.
func uniqueTopic(prefix string) string {
	return InboundTopic(prefix + "-" + uuid.NewString()[:8])
}

// outboxEvent is an event for insertOutbox.
type outboxEvent struct {
	eventID       string
	property      string
	reservationID string
	eventType     canonical.EventType
	correlationID string
	comment       string
}

// insertOutbox writes events to the outbox as the store would, in order.
func insertOutbox(t testing.TB, pool *pgxpool.Pool, events ...outboxEvent) {
	t.Helper()
	ctx := context.Background()
	for _, e := range events {
		if e.eventID == "" {
			e.eventID = uuid.NewString()
		}
		if e.eventType == "" {
			e.eventType = canonical.EventReservationCreated
		}
		ev := canonical.Event{
			SchemaVersion: canonical.SchemaVersion, ID: e.eventID, Type: e.eventType, PropertyID: e.property,
			OccurredAt: time.Now().UTC(), CorrelationID: e.correlationID,
		}
		var resID any
		if e.reservationID != "" {
			resID = e.reservationID
			ev.Reservation = &canonical.Reservation{ID: e.reservationID, PropertyID: e.property, Status: canonical.StatusConfirmed}
			if e.comment != "" {
				ev.Reservation.Comments = []string{e.comment}
			}
		}
		payload, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		headers := map[string]string{}
		if e.correlationID != "" {
			headers[MetadataCorrelationID] = e.correlationID
		}
		hj, _ := json.Marshal(headers)
		_, err = pool.Exec(ctx, `INSERT INTO outbox (event_id, topic, partition_key, event_type, reservation_id, payload, headers)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.eventID, e.eventType.Topic(), e.property, string(e.eventType), resID, payload, hj)
		if err != nil {
			t.Fatalf("insert outbox: %v", err)
		}
	}
}

// record is a Kafka record as read back by readTopic.
type record struct {
	id        string
	key       string
	partition int32
	offset    int64
	value     []byte
	headers   map[string]string
}

// readTopic reads topic from the start with a separate franz-go client
// until want records arrived (or the timeout, failing the test).
func readTopic(t testing.TB, broker testBroker, topic string, want int, timeout time.Duration) []record {
	t.Helper()
	return readTopicUntil(t, broker, topic, func(recs []record) bool { return len(recs) >= want }, timeout)
}

// readTopicUntilIDs reads topic until every id in want has been seen.
func readTopicUntilIDs(t testing.TB, broker testBroker, topic string, want []string, timeout time.Duration) []record {
	t.Helper()
	return readTopicUntil(t, broker, topic, func(recs []record) bool {
		seen := map[string]bool{}
		for _, r := range recs {
			seen[r.id] = true
		}
		for _, id := range want {
			if !seen[id] {
				return false
			}
		}
		return true
	}, timeout)
}

// readTopicUntil reads topic from the start until done says so.
func readTopicUntil(t testing.TB, broker testBroker, topic string, done func([]record) bool, timeout time.Duration) []record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []record
	read := map[[2]int64]bool{} // partition, offset: a record read twice is one record
	for !done(out) {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: gave up after %d records", topic, len(out))
		}
		fetches.EachRecord(func(r *kgo.Record) {
			at := [2]int64{int64(r.Partition), r.Offset}
			if read[at] {
				return
			}
			read[at] = true
			rec := record{key: string(r.Key), partition: r.Partition, offset: r.Offset, value: r.Value, headers: map[string]string{}}
			for _, h := range r.Headers {
				rec.headers[h.Key] = string(h.Value)
			}
			rec.id = rec.headers["_watermill_message_uuid"]
			out = append(out, rec)
		})
	}
	return out
}

// countRows runs a count query.
func countRows(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// effects counts handler effects per message id, safely across goroutines.
type effects struct {
	mu    sync.Mutex
	count map[string]int
	order map[string][]string // per partition key, message ids in handling order
}

func newEffects() *effects {
	return &effects{count: map[string]int{}, order: map[string][]string{}}
}

func (e *effects) add(key, id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.count[id]++
	e.order[key] = append(e.order[key], id)
}

func (e *effects) times(id string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.count[id]
}

func (e *effects) distinct() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.count)
}

func (e *effects) sequence(key string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.order[key]...)
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return out
}
