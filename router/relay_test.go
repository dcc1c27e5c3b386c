package router

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// interleavedEvents returns n reservation events spread over properties,
// in the order they are written.
func interleavedEvents(n int, properties ...string) []outboxEvent {
	out := make([]outboxEvent, n)
	for i := range out {
		out[i] = outboxEvent{
			eventID:       uuid.NewString(),
			property:      properties[i%len(properties)],
			reservationID: uuid.NewString(),
			correlationID: fmt.Sprintf("corr-%d", i),
		}
	}
	return out
}

// wantOrder returns the event ids of each property, in write order.
func wantOrder(events []outboxEvent) map[string][]string {
	out := map[string][]string{}
	for _, e := range events {
		out[e.property] = append(out[e.property], e.eventID)
	}
	return out
}

// firstSeenOrder returns, per key, record ids in the order they were first
// seen on the topic (later duplicates ignored) and how many duplicates there
// were.
func firstSeenOrder(recs []record) (map[string][]string, int) {
	seen := map[string]bool{}
	dups := 0
	out := map[string][]string{}
	for _, r := range recs {
		if seen[r.id] {
			dups++
			continue
		}
		seen[r.id] = true
		out[r.key] = append(out[r.key], r.id)
	}
	return out, dups
}

func assertOrder(t *testing.T, got, want map[string][]string) {
	t.Helper()
	for key, ids := range want {
		if strings.Join(got[key], ",") != strings.Join(ids, ",") {
			t.Errorf("property %s: published order\n got %v\nwant %v", key, got[key], ids)
		}
	}
}

func runRelay(t *testing.T, r *OutboxRelay) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Run(ctx); err != nil {
			t.Errorf("relay: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func newTestPublisher(t *testing.T, broker testBroker) *Publisher {
	t.Helper()
	pub, err := NewPublisher(testKafkaConfig(broker), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	return pub
}

func unpublished(t *testing.T, pool *pgxpool.Pool) int {
	return countRows(t, pool, `SELECT count(*) FROM outbox WHERE published_at IS NULL`)
}

func TestRelayPublishesEveryEventInOrderPerProperty(t *testing.T) {
	pool := pgtest.Pool(t)
	broker := testKafka(t)
	relay := NewOutboxRelay(pool, newTestPublisher(t, broker), RelayConfig{BatchSize: 7}, nil, testLogger(t))

	before := interleavedEvents(30, "prop-a", "prop-b", "prop-c")
	insertOutbox(t, pool, before...)
	// An availability event: no reservation, another topic.
	insertOutbox(t, pool, outboxEvent{property: "prop-a", eventType: canonical.EventAvailabilityChanged})
	runRelay(t, relay)
	eventually(t, 20*time.Second, "the backlog to drain", func() bool { return unpublished(t, pool) == 0 })

	// Rows written while the relay waits are picked up (it is woken by the
	// outbox trigger, or polls).
	after := interleavedEvents(12, "prop-a", "prop-b", "prop-c")
	insertOutbox(t, pool, after...)
	eventually(t, 20*time.Second, "the new rows to be published", func() bool { return unpublished(t, pool) == 0 })

	all := append(before, after...)
	recs := readTopic(t, broker, TopicReservationEvents, len(all), 20*time.Second)
	got, dups := firstSeenOrder(recs)
	if dups != 0 {
		t.Errorf("%d duplicates without any crash", dups)
	}
	assertOrder(t, got, wantOrder(all))

	partitionOf := map[string]int32{}
	for _, r := range recs {
		if p, ok := partitionOf[r.key]; ok && p != r.partition {
			t.Errorf("property %s on partitions %d and %d", r.key, p, r.partition)
		}
		partitionOf[r.key] = r.partition
		if r.headers[MetadataEventType] != string(canonical.EventReservationCreated) || r.headers[MetadataReservationID] == "" ||
			r.headers[MetadataPropertyID] != r.key || !strings.HasPrefix(r.headers[MetadataCorrelationID], "corr-") {
			t.Errorf("record %s lacks its metadata: %v", r.id, r.headers)
		}
	}
	if avail := readTopic(t, broker, TopicAvailabilityEvents, 1, 10*time.Second); avail[0].key != "prop-a" {
		t.Errorf("availability event keyed %q", avail[0].key)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM message_timeline WHERE status = 'published' AND direction = 'out'`); n != len(all) {
		t.Errorf("%d published timeline entries, want %d", n, len(all))
	}
}

func TestTwoRelaysShareTheOutboxWithoutReordering(t *testing.T) {
	pool := pgtest.Pool(t)
	broker := testKafka(t)
	events := interleavedEvents(120, "p1", "p2", "p3", "p4", "p5")
	insertOutbox(t, pool, events...)
	for i := 0; i < 2; i++ {
		runRelay(t, NewOutboxRelay(pool, newTestPublisher(t, broker), RelayConfig{BatchSize: 5}, nil, testLogger(t)))
	}
	eventually(t, 30*time.Second, "the backlog to drain", func() bool { return unpublished(t, pool) == 0 })
	got, dups := firstSeenOrder(readTopic(t, broker, TopicReservationEvents, len(events), 20*time.Second))
	if dups != 0 {
		t.Errorf("%d duplicates: two relays published the same rows", dups)
	}
	assertOrder(t, got, wantOrder(events))
}

// TestRelayKilledBetweenPublishAndMarkLosesNothing kills (SIGKILL) a relay
// process after it published a batch and before it marked it, then lets
// another relay take over: every event reaches Kafka, in order per
// property, and the outbox ends fully marked.
func TestRelayKilledBetweenPublishAndMarkLosesNothing(t *testing.T) {
	if os.Getenv("ROOMWIRE_RELAY_CHILD") != "" {
		t.Skip("running as the child process")
	}
	dbURL := pgtest.URL(t)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	broker := testKafka(t)
	events := interleavedEvents(25, "p1", "p2", "p3")
	insertOutbox(t, pool, events...)

	child := exec.Command(os.Args[0], "-test.run=^TestRelayChildProcess$", "-test.v")
	child.Env = append(os.Environ(),
		"ROOMWIRE_RELAY_CHILD=1",
		"ROOMWIRE_RELAY_CHILD_DB="+dbURL,
		"ROOMWIRE_RELAY_CHILD_BROKERS="+strings.Join(broker.Addrs(), ","))
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	published := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), "RELAY-PUBLISHED "); ok {
				published <- line
				return
			}
		}
		close(published)
	}()
	var batch string
	select {
	case b, ok := <-published:
		if !ok {
			t.Fatal("child relay exited without publishing")
		}
		batch = b
	case <-time.After(30 * time.Second):
		child.Process.Kill()
		t.Fatal("child relay did not publish")
	}
	if err := child.Process.Kill(); err != nil { // SIGKILL: no deferred code runs
		t.Fatal(err)
	}
	_ = child.Wait()

	inFlight := strings.Split(batch, ",")
	if n := unpublished(t, pool); n != len(events) {
		t.Fatalf("%d unpublished rows after the kill, want all %d: the batch must not be marked", n, len(events))
	}
	// The killed relay's batch is on Kafka although not marked.
	readTopicUntilIDs(t, broker, TopicReservationEvents, inFlight, 10*time.Second)

	runRelay(t, NewOutboxRelay(pool, newTestPublisher(t, broker), RelayConfig{BatchSize: 10}, nil, testLogger(t)))
	eventually(t, 30*time.Second, "the takeover relay to drain the outbox", func() bool { return unpublished(t, pool) == 0 })

	recs := readTopic(t, broker, TopicReservationEvents, len(events)+len(inFlight), 20*time.Second)
	got, dups := firstSeenOrder(recs)
	if dups != len(inFlight) {
		t.Errorf("%d duplicates, want exactly the %d in flight at the kill", dups, len(inFlight))
		for _, r := range recs {
			t.Logf("record %s/%d@%d %s", r.key, r.partition, r.offset, r.id)
		}
		t.Logf("in flight at the kill: %v", inFlight)
	}
	assertOrder(t, got, wantOrder(events))
	if n := countRows(t, pool, `SELECT count(*) FROM message_timeline WHERE status = 'published'`); n != len(events) {
		t.Errorf("%d published timeline entries, want %d (the killed batch's were rolled back)", n, len(events))
	}
}

// TestRelayChildProcess is the relay the test above kills. It publishes one
// batch, reports it on stdout and hangs before marking it.
func TestRelayChildProcess(t *testing.T) {
	if os.Getenv("ROOMWIRE_RELAY_CHILD") == "" {
		t.Skip("only run as a child of TestRelayKilledBetweenPublishAndMarkLosesNothing")
	}
	pool, err := pgxpool.New(context.Background(), os.Getenv("ROOMWIRE_RELAY_CHILD_DB"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := NewPublisher(KafkaConfig{Brokers: strings.Split(os.Getenv("ROOMWIRE_RELAY_CHILD_BROKERS"), ",")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// One worker: the parent counts on exactly one batch in flight at the kill.
	relay := NewOutboxRelay(pool, pub, RelayConfig{BatchSize: 10, Workers: 1}, nil, nil)
	relay.afterPublish = func(_ context.Context, eventIDs []string) error {
		fmt.Printf("RELAY-PUBLISHED %s\n", strings.Join(eventIDs, ","))
		os.Stdout.Sync()
		select {} // wait here for the SIGKILL
	}
	_ = relay.Run(context.Background())
}

// TestRelayRetriesWhenTheBrokerRefusesWrites injects produce errors with
// the embedded broker's fault hooks: the relay's batches fail, are retried,
// and every event still arrives, in order per property.
func TestRelayRetriesWhenTheBrokerRefusesWrites(t *testing.T) {
	pool := pgtest.Pool(t)
	broker := startBroker(t)
	metrics, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	events := interleavedEvents(20, "p1", "p2")
	insertOutbox(t, pool, events...)
	// Create the topic first, so the faults hit produce requests only.
	if err := newTestPublisher(t, broker).Publish(TopicReservationEvents, NewMessage(context.Background(), "warm-up", "p0", nil)); err != nil {
		t.Fatal(err)
	}
	faults := broker.Cluster().Fault(kfake.Fault{
		Keys:  []kmsg.Key{kmsg.Produce},
		Topic: TopicReservationEvents,
		Err:   kerr.MessageTooLarge, // not retried by the producer itself
		Count: 3,
	})
	defer faults.Remove()
	relay := NewOutboxRelay(pool, newTestPublisher(t, broker), RelayConfig{BatchSize: 8, RetryInterval: 50 * time.Millisecond}, metrics, testLogger(t))
	runRelay(t, relay)
	eventually(t, 30*time.Second, "the outbox to drain despite the faults", func() bool { return unpublished(t, pool) == 0 })
	if faults.Hits() == 0 {
		t.Fatal("no produce request was faulted")
	}
	if got := testutil.ToFloat64(metrics.relayErrors); got == 0 {
		t.Error("failed batches were not counted")
	}
	var want []string
	for _, e := range events {
		want = append(want, e.eventID)
	}
	got, _ := firstSeenOrder(readTopicUntilIDs(t, broker, TopicReservationEvents, want, 20*time.Second))
	assertOrder(t, got, wantOrder(events))
}

// TestRelayBatchRefusedByOnePartitionHoldsOnlyItsProperty has the broker
// refuse every write to the partition of one property: the other
// property's events are published and marked meanwhile, none of the refused
// property's events is in the log or marked (a partition's record batch is
// written whole or not at all), and once the broker accepts again they
// follow in order, none twice.
func TestRelayBatchRefusedByOnePartitionHoldsOnlyItsProperty(t *testing.T) {
	pool := pgtest.Pool(t)
	broker := startBroker(t)
	pub := newTestPublisher(t, broker)
	if err := pub.Publish(TopicReservationEvents, NewMessage(context.Background(), "warm-up", "p0", nil)); err != nil {
		t.Fatal(err)
	}
	partitions, err := pub.client.Partitions(TopicReservationEvents)
	if err != nil {
		t.Fatal(err)
	}
	partitionOf := func(key string) int32 {
		return int32(murmur2([]byte(key)) & 0x7fffffff % uint32(len(partitions)))
	}
	refused, other := "p1", ""
	for i := 2; other == ""; i++ {
		if k := fmt.Sprintf("p%d", i); partitionOf(k) != partitionOf(refused) {
			other = k
		}
	}
	events := interleavedEvents(24, refused, other)
	insertOutbox(t, pool, events...)
	faults := broker.Cluster().Fault(kfake.Fault{
		Keys:       []kmsg.Key{kmsg.Produce},
		Topic:      TopicReservationEvents,
		Partitions: []int32{partitionOf(refused)},
		Err:        kerr.NotEnoughReplicas,
		Count:      -1,
	})
	defer faults.Remove()

	runRelay(t, NewOutboxRelay(pool, pub, RelayConfig{BatchSize: 5, RetryInterval: 20 * time.Millisecond}, nil, testLogger(t)))
	eventually(t, 30*time.Second, "the other property's events published", func() bool {
		return countRows(t, pool, `SELECT count(*) FROM outbox WHERE partition_key = $1 AND published_at IS NULL`, other) == 0
	})
	// The refused partition's request may go to another broker than the
	// other property's and be answered after it: wait for its refusal.
	eventually(t, 30*time.Second, "a write to the refused partition to be refused", func() bool { return faults.Hits() > 0 })
	// While it is refused, the other property's new events still go out.
	later := interleavedEvents(3, other)
	insertOutbox(t, pool, later...)
	events = append(events, later...)
	eventually(t, 30*time.Second, "the other property's later events published", func() bool {
		return countRows(t, pool, `SELECT count(*) FROM outbox WHERE partition_key = $1 AND published_at IS NULL`, other) == 0
	})
	if n := countRows(t, pool, `SELECT count(*) FROM outbox WHERE partition_key = $1 AND published_at IS NOT NULL`, refused); n != 0 {
		t.Errorf("%d events of the refused property marked published", n)
	}
	want := wantOrder(events)
	for _, r := range readTopicUntilIDs(t, broker, TopicReservationEvents, want[other], 20*time.Second) {
		if r.key == refused {
			t.Errorf("%s of the refused property is in the log", r.id)
		}
	}

	faults.Remove()
	eventually(t, 30*time.Second, "the refused property's events published", func() bool { return unpublished(t, pool) == 0 })
	got, dups := firstSeenOrder(readTopicUntilIDs(t, broker, TopicReservationEvents, want[refused], 20*time.Second))
	if dups != 0 {
		t.Errorf("%d duplicates: a refused batch was written in part", dups)
	}
	assertOrder(t, got, want)
}
