package router

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/roomwire/roomwire/reservations/pgtest"
)

// onePartition is a backbone configuration whose topics have one
// partition, so that every key shares it.
func onePartition(broker testBroker) Config {
	cfg := testConfig(broker)
	cfg.Topics.Partitions = 1
	return cfg
}

// interleaved returns n message ids per key, in the order they are
// published: key 0's first, key 1's first, ..., key 0's second, ...
func interleaved(keys []string, n int) (order []string, byKey map[string][]string) {
	byKey = map[string][]string{}
	for i := range n {
		for _, k := range keys {
			id := fmt.Sprintf("%s-%03d", k, i)
			order = append(order, id)
			byKey[k] = append(byKey[k], id)
		}
	}
	return order, byKey
}

func keyOf(id string) string { return id[:strings.LastIndex(id, "-")] }

// TestKeysOfOnePartitionAreHandledSideBySideInOrder puts eight properties
// on one partition: their first messages are all in their handlers at once
// (no property waits for another's partner call), and each property's
// messages are handled in the order they were published.
func TestKeysOfOnePartitionAreHandledSideBySideInOrder(t *testing.T) {
	pool := pgtest.Pool(t)
	broker := testKafka(t)
	topic := uniqueTopic("lanes")
	keys := []string{"hotel-a", "hotel-b", "hotel-c", "hotel-d", "hotel-e", "hotel-f", "hotel-g", "hotel-h"}
	order, byKey := interleaved(keys, 10)

	handled := newEffects()
	var (
		mu        sync.Mutex
		firsts    = map[string]bool{}
		together  = make(chan struct{})
		apartOnce sync.Once
	)
	handler := func(msg *message.Message) error {
		key := msg.Metadata.Get(MetadataPartitionKey)
		if strings.HasSuffix(msg.UUID, "-000") {
			// Each property's first message waits until every property's
			// first message is being handled.
			mu.Lock()
			firsts[key] = true
			if len(firsts) == len(keys) {
				close(together)
			}
			mu.Unlock()
			select {
			case <-together:
			case <-time.After(20 * time.Second):
				apartOnce.Do(func() { t.Error("the properties' first messages were never handled at the same time") })
			}
		}
		handled.add(key, msg.UUID)
		return nil
	}
	b := newBackbone(t, onePartition(broker), pool)
	if err := b.AddConsumer("lanes", topic, handler); err != nil {
		t.Fatal(err)
	}
	runBackbone(t, b)
	for _, id := range order {
		publishKeyed(t, b.Publisher(), topic, keyOf(id), "{}", id)
	}
	eventually(t, 60*time.Second, "every message handled", func() bool { return handled.distinct() == len(order) })
	for _, k := range keys {
		if got := handled.sequence(k); !slices.Equal(got, byKey[k]) {
			t.Errorf("%s handled in the order %v, want %v", k, got, byKey[k])
		}
	}
	for _, id := range order {
		if n := handled.times(id); n != 1 {
			t.Errorf("%s handled %d times", id, n)
		}
	}
}

// committedOffset returns the offset group has committed on partition 0 of
// topic (-1 if none).
func committedOffset(t *testing.T, broker testBroker, group, topic string) int64 {
	t.Helper()
	cl, ctx := testClient(t, broker)
	offsets, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offsets.Lookup(topic, 0); ok {
		return o.At
	}
	return -1
}

// TestConsumerStoppedMidBatchSkipsNothing stops a consumer while one
// property's message is stuck in its handler and the other properties of
// the partition have gone on past it. The group's offset stays at the stuck
// message; the next consumer of the group handles it and everything after,
// each property in order, and calls the partner once more only for the
// message that was in flight: the rest were recorded as handled before
// they were acknowledged, so their redelivery is skipped. The partner's
// effects are keyed by message id (its idempotency key), and each message
// has exactly one.
func TestConsumerStoppedMidBatchSkipsNothing(t *testing.T) {
	pool := pgtest.Pool(t)
	broker := testKafka(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE partner_effects (idempotency_key text PRIMARY KEY, key text NOT NULL, seq bigserial)`); err != nil {
		t.Fatal(err)
	}
	topic := uniqueTopic("midbatch")
	keys := []string{"hotel-a", "hotel-b", "hotel-c", "hotel-d"}
	order, byKey := interleaved(keys, 25)
	const stuck = "hotel-a-005"

	var (
		callsMu sync.Mutex
		calls   = map[string]int{}
	)
	partner := func(msg *message.Message) error {
		callsMu.Lock()
		calls[msg.UUID]++
		callsMu.Unlock()
		_, err := pool.Exec(msg.Context(), `INSERT INTO partner_effects (idempotency_key, key) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			msg.UUID, msg.Metadata.Get(MetadataPartitionKey))
		return err
	}
	effectsOf := func(key string) []string {
		rows, err := pool.Query(ctx, `SELECT idempotency_key FROM partner_effects WHERE key = $1 ORDER BY seq`, key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	var stuckIn atomic.Bool
	first := newBackbone(t, onePartition(broker), pool)
	err := first.AddConsumer("midbatch", topic, func(msg *message.Message) error {
		if msg.UUID == stuck {
			stuckIn.Store(true)
			<-msg.Context().Done() // until the consumer stops
			return msg.Context().Err()
		}
		return partner(msg)
	}, WithHandlerTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	stop := runBackbone(t, first)
	for _, id := range order {
		publishKeyed(t, first.Publisher(), topic, keyOf(id), "{}", id)
	}
	// The other properties go on past the stuck message.
	eventually(t, 60*time.Second, "the other properties handled", func() bool {
		for _, k := range keys[1:] {
			if len(effectsOf(k)) != len(byKey[k]) {
				return false
			}
		}
		return stuckIn.Load() && len(effectsOf("hotel-a")) == 5
	})
	stuckOffset := int64(slices.Index(order, stuck))
	// Offsets are committed every second; the group's must not pass the
	// stuck message however long it waits.
	time.Sleep(1500 * time.Millisecond)
	if got := committedOffset(t, broker, first.ConsumerGroup("midbatch"), topic); got > stuckOffset {
		t.Fatalf("committed offset %d is past the unhandled message at %d", got, stuckOffset)
	}
	stop()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if got := committedOffset(t, broker, first.ConsumerGroup("midbatch"), topic); got > stuckOffset {
		t.Fatalf("after the stop, committed offset %d is past the unhandled message at %d", got, stuckOffset)
	}

	second := newBackbone(t, onePartition(broker), pool)
	if err := second.AddConsumer("midbatch", topic, partner); err != nil {
		t.Fatal(err)
	}
	runBackbone(t, second)
	eventually(t, 60*time.Second, "every message's effect", func() bool {
		return countRows(t, pool, `SELECT count(*) FROM partner_effects`) == len(order)
	})
	for _, k := range keys {
		if got := effectsOf(k); !slices.Equal(got, byKey[k]) {
			t.Errorf("%s: partner effects in the order %v, want %v", k, got, byKey[k])
		}
	}
	callsMu.Lock()
	defer callsMu.Unlock()
	for _, id := range order {
		if calls[id] != 1 {
			t.Errorf("%s: partner called %d times, want once", id, calls[id])
		}
	}
}

// TestWaitingInLaneShowsAndCoversTheKeysNextMessages holds one property's
// first message in its handler until its lane's look-ahead shows the
// property's other messages: in the order they will be handed out, bounded
// by the limit, none of another property sharing the partition. The
// handler covers two of them (CoverWaiting) and an id of another property:
// the two are recorded as handled and never handed out, the other one is.
// A message whose handling covers one and then fails covers nothing. A
// context that is not a lane delivery's has no look-ahead.
func TestWaitingInLaneShowsAndCoversTheKeysNextMessages(t *testing.T) {
	pool := pgtest.Pool(t)
	broker := testKafka(t)
	topic := uniqueTopic("lookahead")
	keys := []string{"hotel-a", "hotel-b"}
	order, byKey := interleaved(keys, 6)
	if got := WaitingInLane(context.Background(), 10); got != nil {
		t.Fatalf("a plain context has a look-ahead: %v", got)
	}
	covered := []string{"hotel-a-002", "hotel-a-003"}

	handled := newEffects()
	var (
		mu      sync.Mutex
		seen    []string // hotel-a's look-ahead from its first message
		limited []string
	)
	handler := func(msg *message.Message) error {
		handled.add(msg.Metadata.Get(MetadataPartitionKey), msg.UUID)
		switch msg.UUID {
		case "hotel-a-000":
			deadline := time.Now().Add(30 * time.Second)
			for {
				var got []string
				for _, w := range WaitingInLane(msg.Context(), 100) {
					got = append(got, w.UUID)
					if string(w.Payload) != `{"n":"`+w.UUID+`"}` || w.Metadata.Get(MetadataPartitionKey) != "hotel-a" {
						t.Errorf("waiting %s: payload %s, key %q", w.UUID, w.Payload, w.Metadata.Get(MetadataPartitionKey))
					}
				}
				if len(got) == len(byKey["hotel-a"])-1 || time.Now().After(deadline) {
					mu.Lock()
					seen = got
					for _, w := range WaitingInLane(msg.Context(), 2) {
						limited = append(limited, w.UUID)
					}
					mu.Unlock()
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			CoverWaiting(msg.Context(), append(covered, "hotel-b-004")...)
		case "hotel-b-001":
			// Covers, then fails for good: covers nothing.
			CoverWaiting(msg.Context(), "hotel-b-002")
			return Permanentf("refused")
		}
		return nil
	}
	b := newBackbone(t, onePartition(broker), pool)
	if err := b.AddConsumer("lookahead", topic, handler); err != nil {
		t.Fatal(err)
	}
	runBackbone(t, b)
	for _, id := range order {
		publishKeyed(t, b.Publisher(), topic, keyOf(id), `{"n":"`+id+`"}`, id)
	}
	eventually(t, 60*time.Second, "every message handled or covered", func() bool { return handled.distinct() == len(order)-len(covered) })
	mu.Lock()
	defer mu.Unlock()
	if want := byKey["hotel-a"][1:]; !slices.Equal(seen, want) {
		t.Errorf("look-ahead %v, want %v", seen, want)
	}
	if want := byKey["hotel-a"][1:3]; !slices.Equal(limited, want) {
		t.Errorf("look-ahead limited to 2: %v, want %v", limited, want)
	}
	for _, k := range keys {
		want := slices.DeleteFunc(slices.Clone(byKey[k]), func(id string) bool { return slices.Contains(covered, id) })
		if got := handled.sequence(k); !slices.Equal(got, want) {
			t.Errorf("%s handled in the order %v, want %v", k, got, want)
		}
	}
	for _, id := range covered {
		if n := countRows(t, pool, `SELECT count(*) FROM processed_messages WHERE consumer = 'lookahead' AND message_id = $1`, id); n != 1 {
			t.Errorf("covered %s: %d dedup records, want 1", id, n)
		}
	}
	for _, id := range order {
		if n := handled.times(id); n > 1 {
			t.Errorf("%s handled %d times", id, n)
		}
	}
	// Everything is acknowledged: the group's offset reaches the end.
	eventually(t, 30*time.Second, "the offset past every message", func() bool {
		return committedOffset(t, broker, b.ConsumerGroup("lookahead"), topic) == int64(len(order))
	})
}

// TestLaneSubscriberClosedMidDeliveryLeavesNoSenderBehind closes a lane
// subscriber while many deliveries are under way (handed out, nacked and
// waiting to be handed out again, waiting for a slot). Its channel is
// closed when Close returns, so no delivery may still be running then: a
// late one would send on the closed channel and bring the process down.
// The window is short: under the race detector (as CI runs it) a late send
// is reported even when it did not crash.
func TestLaneSubscriberClosedMidDeliveryLeavesNoSenderBehind(t *testing.T) {
	broker := testKafka(t)
	cfg := testKafkaConfig(broker)
	topic := uniqueTopic("lanes-close")
	pub, err := NewPublisher(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	for i := range 200 {
		publishKeyed(t, pub, topic, fmt.Sprintf("hotel-%03d", i), "{}", fmt.Sprintf("m-%03d", i))
	}
	for round := range 10 {
		sub, err := NewLaneSubscriber(cfg, SubscriberOptions{
			ConsumerGroup: testGroupPrefix(broker) + "lanes-close", Partitions: 1,
			Lanes: 64, MaxInFlight: 8, NackResendSleep: time.Millisecond,
		}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := sub.Subscribe(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		// Nack everything, so that deliveries keep starting again.
		var read atomic.Int64
		go func() {
			for msg := range msgs {
				read.Add(1)
				msg.Nack()
			}
		}()
		eventually(t, 30*time.Second, "deliveries under way", func() bool { return read.Load() > int64(100*(round+1)) })
		if err := sub.Close(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		if strings.Contains(stacks, "(*laneHandler).ConsumeClaim") {
			t.Fatalf("round %d: a delivery still runs after Close returned:\n%s", round, stacks)
		}
	}
}
