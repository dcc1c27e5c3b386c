package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// publishKeyed publishes one message per id, keyed by key, in order.
func publishKeyed(t *testing.T, pub message.Publisher, topic, key string, payload string, msgIDs ...string) {
	t.Helper()
	for _, id := range msgIDs {
		msg := NewMessage(context.Background(), id, key, []byte(payload))
		if err := pub.Publish(topic, msg); err != nil {
			t.Fatalf("publish %s: %v", id, err)
		}
	}
}

// produceRaw writes a record that did not come from a Roomwire publisher:
// no message id header, bytes that are not JSON. franz-go partitions keyed
// records with murmur2 as Kafka's Java client does, like the Publisher.
func produceRaw(t *testing.T, broker testBroker, topic, key string, value []byte) {
	t.Helper()
	cl, ctx := testClient(t, broker)
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(key), Value: value}).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// testClient returns a franz-go client of broker, closed when the test
// ends, and a context of ten seconds for its requests.
func testClient(t *testing.T, broker testBroker) (*kgo.Client, context.Context) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return cl, ctx
}

func deadLettersByMessage(t *testing.T, b *Backbone, consumer string) map[string]DeadLetter {
	t.Helper()
	letters, err := b.DeadLetters().List(context.Background(), DeadLetterFilter{Consumer: consumer})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]DeadLetter{}
	for _, dl := range letters {
		out[dl.MessageID] = dl
	}
	return out
}

func TestPoisonMessagesGoToTheDeadLetterTopicAndThePartitionKeepsFlowing(t *testing.T) {
	pool := pgtest.Pool(t)
	broker := testKafka(t)
	b := newBackbone(t, testConfig(broker), pool)
	topic := uniqueTopic("poison")
	handled := newEffects()
	err := b.AddConsumer("booker", topic, func(msg *message.Message) error {
		switch string(msg.Payload) {
		case "poison":
			return Permanent(errors.New("booking has no arrival date"))
		case "flaky":
			return errors.New("partner answered 503")
		case "panic":
			var m map[string]int
			m["boom"]++ // a bug: the recoverer turns it into an error
		case "slow":
			<-msg.Context().Done() // a partner that never answers
			return msg.Context().Err()
		}
		handled.add(msg.Metadata.Get(MetadataPartitionKey), msg.UUID)
		return nil
	}, WithHandlerTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	runBackbone(t, b)

	pub := b.Publisher()
	good := ids("good", 5)
	publishKeyed(t, pub, topic, "hotel-1", "ok", good[0])
	produceRaw(t, broker, topic, "hotel-1", []byte{0xff, 0xfe, 0x00})
	publishKeyed(t, pub, topic, "hotel-1", "poison", "poison-1")
	publishKeyed(t, pub, topic, "hotel-1", "flaky", "flaky-1")
	publishKeyed(t, pub, topic, "hotel-1", "panic", "panic-1")
	publishKeyed(t, pub, topic, "hotel-1", "slow", "slow-1")
	publishKeyed(t, pub, topic, "hotel-1", "ok", good[1:]...)

	eventually(t, 30*time.Second, "the good messages behind the poison", func() bool { return len(handled.sequence("hotel-1")) == len(good) })
	if got := strings.Join(handled.sequence("hotel-1"), ","); got != strings.Join(good, ",") {
		t.Errorf("handled %s, want %s", got, strings.Join(good, ","))
	}
	recs := readTopic(t, broker, topic, 10, 10*time.Second)
	for _, r := range recs {
		if r.partition != recs[0].partition {
			t.Fatalf("records of one key on partitions %d and %d", recs[0].partition, r.partition)
		}
	}

	var letters map[string]DeadLetter
	eventually(t, 10*time.Second, "five dead letters", func() bool {
		letters = deadLettersByMessage(t, b, "booker")
		return len(letters) == 5
	})
	maxAttempts := testConfig(broker).Retry.MaxRetries + 1
	for id, want := range map[string]struct {
		reason   string
		attempts int
		error    string
	}{
		fmt.Sprintf("kafka:%s/%d/1", topic, recs[0].partition): {ReasonMalformed, 0, "no message id"},
		"poison-1": {ReasonPermanent, 1, "no arrival date"},
		"flaky-1":  {ReasonRetriesExhausted, maxAttempts, "503"},
		"panic-1":  {ReasonRetriesExhausted, maxAttempts, "handler panicked"},
		"slow-1":   {ReasonTimeout, maxAttempts, "deadline exceeded"},
	} {
		dl, ok := letters[id]
		if !ok {
			t.Errorf("no dead letter for %s", id)
			continue
		}
		if dl.Reason != want.reason || dl.Attempts != want.attempts || !strings.Contains(dl.Error, want.error) || dl.OriginalTopic != topic ||
			dl.DeadLetterTopic != DeadLetterTopic(topic) || dl.PropertyID != "hotel-1" || dl.Status != DeadLetterDead {
			t.Errorf("%s: %+v", id, dl)
		}
	}

	dlq := readTopic(t, broker, DeadLetterTopic(topic), 5, 10*time.Second)
	for _, r := range dlq {
		h := r.headers
		if h[MetadataDLQHandler] != "booker" || h[MetadataDLQOriginalTopic] != topic || h[MetadataDLQReason] == "" ||
			h[MetadataDLQAttempts] == "" || h[MetadataDLQFirstFailure] == "" || h[MetadataDLQLastFailure] == "" || r.key != "hotel-1" {
			t.Errorf("dead-letter record %s lacks metadata: %v", r.id, h)
		}
		if _, err := time.Parse(time.RFC3339Nano, h[MetadataDLQLastFailure]); err != nil {
			t.Errorf("last failure %q: %v", h[MetadataDLQLastFailure], err)
		}
	}
	if got := testutil.ToFloat64(b.metrics.handlerRetries.WithLabelValues("booker")); got != float64(3*(maxAttempts-1)) {
		t.Errorf("retries metric = %v, want %d", got, 3*(maxAttempts-1))
	}
	if got := testutil.ToFloat64(b.metrics.deadLettered.WithLabelValues("booker", ReasonPermanent)); got != 1 {
		t.Errorf("dead-lettered metric = %v, want 1", got)
	}
}

func TestOpenBreakerOfOnePartnerDoesNotDelayAnother(t *testing.T) {
	pool := pgtest.Pool(t)
	broker := testKafka(t)
	b := newBackbone(t, testConfig(broker), pool)
	topic := uniqueTopic("fanout")
	var aDown atomic.Bool
	aDown.Store(true)
	var aCalls atomic.Int64
	handledA, handledB := newEffects(), newEffects()
	err := b.AddConsumer("partner-a-push", topic, func(msg *message.Message) error {
		aCalls.Add(1)
		if aDown.Load() {
			return errors.New("partner a answered 503")
		}
		handledA.add(msg.Metadata.Get(MetadataPartitionKey), msg.UUID)
		return nil
	}, WithConnector("partner-a"))
	if err != nil {
		t.Fatal(err)
	}
	err = b.AddConsumer("partner-b-push", topic, func(msg *message.Message) error {
		handledB.add(msg.Metadata.Get(MetadataPartitionKey), msg.UUID)
		return nil
	}, WithConnector("partner-b"))
	if err != nil {
		t.Fatal(err)
	}
	runBackbone(t, b)

	properties := []string{"p0", "p1", "p2", "p3"}
	sent := map[string][]string{}
	for i := 0; i < 10; i++ {
		for _, p := range properties {
			id := fmt.Sprintf("%s-%02d", p, i)
			publishKeyed(t, b.Publisher(), topic, p, "event", id)
			sent[p] = append(sent[p], id)
		}
	}

	eventually(t, 30*time.Second, "partner b to get every message", func() bool { return handledB.distinct() == 40 })
	// Partner b can be done before partner a's consumer has failed often
	// enough to open its breaker.
	eventually(t, 30*time.Second, "partner a's breaker to open while it fails", func() bool {
		return b.Breakers().State("partner-a") != "closed"
	})
	if handledA.distinct() != 0 {
		t.Fatalf("partner a handled %d messages while down", handledA.distinct())
	}
	if b.Breakers().State("partner-b") != "closed" {
		t.Errorf("partner b's breaker is %s", b.Breakers().State("partner-b"))
	}
	// The breaker spared the failing partner: fewer calls than 40 messages
	// times 3 attempts each, which it would have had without one.
	if calls := aCalls.Load(); calls >= 120 {
		t.Errorf("partner a was called %d times while its breaker was open", calls)
	}
	eventually(t, 10*time.Second, "partner a's messages to be parked", func() bool {
		return countRows(t, pool, `SELECT count(*) FROM parked_messages WHERE consumer = 'partner-a-push'`) == 40
	})
	// An operator sees where the messages are: parked behind partner a's
	// open breaker, none lost or waiting elsewhere.
	states, err := b.Deliveries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]DeliveryState{}
	for _, s := range states {
		byName[s.Consumer] = s
	}
	if a := byName["partner-a-push"]; a.Parked != 40 || a.Breaker == "closed" || a.OldestParkedAt == nil || a.Connector != "partner-a" || a.DeadLetters != 0 {
		t.Errorf("partner a's delivery state %+v: want 40 parked behind a breaker that is not closed", a)
	}
	if bs := byName["partner-b-push"]; bs.Parked != 0 || bs.Breaker != "closed" || bs.LastDeliveredAt == nil {
		t.Errorf("partner b's delivery state %+v: want nothing parked, breaker closed, a last delivery", bs)
	}

	aDown.Store(false) // the partner is back
	eventually(t, 30*time.Second, "partner a to catch up", func() bool { return handledA.distinct() == 40 })
	for _, p := range properties {
		if got := strings.Join(handledA.sequence(p), ","); got != strings.Join(sent[p], ",") {
			t.Errorf("partner a, %s: handled %s, want %s", p, got, strings.Join(sent[p], ","))
		}
	}
	if n := countRows(t, pool, `SELECT count(*) FROM dead_letters`); n != 0 {
		t.Errorf("%d dead letters: a partner outage must not dead-letter messages", n)
	}
	// A drained message is handled before its parked row goes.
	eventually(t, 10*time.Second, "no message left parked", func() bool {
		return countRows(t, pool, `SELECT count(*) FROM parked_messages`) == 0
	})
	eventually(t, 10*time.Second, "partner a's breaker to close", func() bool { return b.Breakers().State("partner-a") == "closed" })
}

// collidingKeys returns two property ids that land on the same partition of
// a topic with partitions partitions.
func collidingKeys(partitions int32) (string, string) {
	first := map[int32]string{}
	for i := 0; ; i++ {
		k := fmt.Sprintf("hotel-%d", i)
		p := int32(murmur2([]byte(k))&0x7fffffff) % partitions
		if other, ok := first[p]; ok {
			return other, k
		}
		first[p] = k
	}
}

func TestPerPropertyBreakerParksOnlyThatProperty(t *testing.T) {
	pool := pgtest.Pool(t)
	broker := testKafka(t)
	cfg := testConfig(broker)
	b := newBackbone(t, cfg, pool)
	topic := uniqueTopic("pms")
	// Two hotels on one partition: one's broken PMS account must not hold
	// up the other.
	broken, healthy := collidingKeys(cfg.Topics.Partitions)
	var fixed atomic.Bool
	handled := newEffects()
	err := b.AddConsumer("pms-push", topic, func(msg *message.Message) error {
		key := msg.Metadata.Get(MetadataPartitionKey)
		if key == broken && !fixed.Load() {
			return errors.New("pms account answered 500")
		}
		handled.add(key, msg.UUID)
		return nil
	}, WithConnector("pms"), WithBreakerKey(func(msg *message.Message) string {
		return "pms/" + msg.Metadata.Get(MetadataPartitionKey)
	}))
	if err != nil {
		t.Fatal(err)
	}
	runBackbone(t, b)
	var sentBroken, sentHealthy []string
	for i := 0; i < 8; i++ {
		sentBroken = append(sentBroken, fmt.Sprintf("broken-%d", i))
		sentHealthy = append(sentHealthy, fmt.Sprintf("healthy-%d", i))
		publishKeyed(t, b.Publisher(), topic, broken, "x", sentBroken[i])
		publishKeyed(t, b.Publisher(), topic, healthy, "x", sentHealthy[i])
	}
	eventually(t, 30*time.Second, "the healthy hotel's messages", func() bool { return len(handled.sequence(healthy)) == 8 })
	if got := strings.Join(handled.sequence(healthy), ","); got != strings.Join(sentHealthy, ",") {
		t.Errorf("healthy: %s", got)
	}
	if len(handled.sequence(broken)) != 0 || b.Breakers().State("pms/"+healthy) != "closed" {
		t.Fatalf("broken hotel handled %d, healthy breaker %s", len(handled.sequence(broken)), b.Breakers().State("pms/"+healthy))
	}
	fixed.Store(true)
	eventually(t, 30*time.Second, "the broken hotel's messages after the fix", func() bool { return len(handled.sequence(broken)) == 8 })
	if got := strings.Join(handled.sequence(broken), ","); got != strings.Join(sentBroken, ",") {
		t.Errorf("broken hotel handled out of order: %s", got)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM dead_letters`); n != 0 {
		t.Errorf("%d dead letters", n)
	}
}

func TestCorrelationIDReachesHandlersAndTheStoreContext(t *testing.T) {
	pool := pgtest.Pool(t)
	broker := testKafka(t)
	b := newBackbone(t, testConfig(broker), pool)
	topic := uniqueTopic("corr")
	got := make(chan [3]string, 4)
	err := b.AddConsumer("corr-check", topic, func(msg *message.Message) error {
		d, _ := DeliveryFrom(msg.Context())
		got <- [3]string{CorrelationID(msg.Context()), canonical.CorrelationID(msg.Context()), d.PropertyID}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	runBackbone(t, b)
	ctx := WithCorrelationID(context.Background(), "req-42")
	if err := b.Publisher().Publish(topic, NewMessage(ctx, "m-1", "hotel-9", []byte("{}"))); err != nil {
		t.Fatal(err)
	}
	select {
	case g := <-got:
		if g != [3]string{"req-42", "req-42", "hotel-9"} {
			t.Errorf("handler saw %v", g)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("message not handled")
	}
}

// A delivery's handler may commit a write asynchronously under the flush
// promise its context carries; the delivery's dedup record then commits
// with a WAL flush, which makes the write durable before the message is
// acknowledged. Records of deliveries that relied on nothing stay
// asynchronous.
func TestHandlerWritesUnderTheFlushPromiseAreFlushedByTheDedupRecord(t *testing.T) {
	pool := pgtest.Pool(t)
	broker := testKafka(t)
	b := newBackbone(t, testConfig(broker), pool)
	topic := uniqueTopic("flush")
	promised := make(chan bool, 1)
	err := b.AddConsumer("flush-check", topic, func(msg *message.Message) error {
		promised <- canonical.RelyOnFlushPromise(msg.Context())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	runBackbone(t, b)
	if err := b.Publisher().Publish(topic, NewMessage(context.Background(), "m-1", "hotel-1", []byte("{}"))); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-promised:
		if !p {
			t.Fatal("the handler's context carries no flush promise")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("message not handled")
	}
	eventually(t, 30*time.Second, "dedup record written", func() bool {
		return countRows(t, pool, `SELECT count(*) FROM processed_messages WHERE consumer = 'flush-check' AND message_id = 'm-1'`) == 1
	})

	for _, c := range []struct {
		items []*bookkeeping
		async bool
	}{
		{[]*bookkeeping{{mark: &[2]string{"a", "1"}}, {mark: &[2]string{"b", "2"}}}, true},
		{[]*bookkeeping{{mark: &[2]string{"a", "1"}}, {mark: &[2]string{"b", "2"}, durable: true}}, false},
	} {
		batch, err := bookkeepingBatch(b.timeline, c.items)
		if err != nil || batch == nil {
			t.Fatalf("bookkeepingBatch: %v, %v", batch, err)
		}
		async := false
		for _, q := range batch.QueuedQueries {
			async = async || q.SQL == asyncCommitSQL
		}
		if async != c.async {
			t.Errorf("durable items %v: commits asynchronously %v, want %v", c.items[1].durable, async, c.async)
		}
	}
}

// DeliveryLag is how long the messages consumers start on waited since
// their commit: a consumer handed a message committed a minute ago is a
// minute behind.
func TestDeliveryLagIsTheWaitOfTheMessagesConsumersStartOn(t *testing.T) {
	pool := pgtest.Pool(t)
	broker := testKafka(t)
	b := newBackbone(t, testConfig(broker), pool)
	topic := uniqueTopic("lag")
	seen := make(chan time.Duration, 1)
	err := b.AddConsumer("lag-check", topic, func(msg *message.Message) error {
		seen <- b.DeliveryLag()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if lag := b.DeliveryLag(); lag != 0 {
		t.Fatalf("lag %s before any message", lag)
	}
	runBackbone(t, b)
	msg := NewMessage(context.Background(), "m-1", "hotel-1", []byte("{}"))
	msg.Metadata.Set(MetadataCommittedAt, time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano))
	if err := b.Publisher().Publish(topic, msg); err != nil {
		t.Fatal(err)
	}
	select {
	case lag := <-seen:
		if lag < time.Minute {
			t.Errorf("lag %s while handling a message committed a minute ago", lag)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("message not handled")
	}
}
