package router

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/roomwire/roomwire/reservations/pgtest"

	"github.com/roomwire/roomwire/canonical"
)

// TestRestartedConsumerResumesFromCommittedOffsets stops a consumer, keeps
// publishing, restarts the broker on its data directory, then starts the
// consumer again: it picks up exactly where it left off, nothing lost and
// nothing handled twice.
func TestRestartedConsumerResumesFromCommittedOffsets(t *testing.T) {
	pool := pgtest.Pool(t)
	dir := t.TempDir()
	broker, err := StartEmbeddedBroker(dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	addr := broker.Addrs()[0]
	topic := uniqueTopic("resume")
	handled := newEffects()
	var calls atomic.Int64
	handler := func(msg *message.Message) error {
		calls.Add(1)
		handled.add(msg.Metadata.Get(MetadataPartitionKey), msg.UUID)
		return nil
	}
	publish := func(b *Backbone, from, to int) {
		for i := from; i < to; i++ {
			publishKeyed(t, b.Publisher(), topic, fmt.Sprintf("hotel-%d", i%4), "{}", fmt.Sprintf("msg-%03d", i))
		}
	}

	first := newBackbone(t, testConfig(broker), pool)
	if err := first.AddConsumer("resumer", topic, handler); err != nil {
		t.Fatal(err)
	}
	stop := runBackbone(t, first)
	publish(first, 0, 20)
	eventually(t, 30*time.Second, "the first 20 messages", func() bool { return handled.distinct() == 20 })
	stop()
	publish(first, 20, 40) // nobody consumes these yet
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	broker.Close()

	broker, err = StartEmbeddedBroker(dir, testLogger(t), WithListenAddress(addr))
	if err != nil {
		t.Fatalf("restart broker: %v", err)
	}
	t.Cleanup(broker.Close)

	second := newBackbone(t, testConfig(broker), pool)
	if err := second.AddConsumer("resumer", topic, handler); err != nil {
		t.Fatal(err)
	}
	lag, err := second.ConsumerLag(context.Background(), "resumer")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, parts := range lag[topic] {
		total += parts
	}
	// The 20 unconsumed messages, plus at most one per partition whose
	// acknowledgement raced the shutdown (redelivered, then skipped by
	// dedup): the group resumes from its committed offsets, not the start.
	partitions := int64(testConfig(broker).Topics.Partitions)
	if total < 20 || total > 20+partitions {
		t.Errorf("lag after the restart = %d, want 20 to %d (offsets must survive the broker restart)", total, 20+partitions)
	}
	calls.Store(0)
	runBackbone(t, second)
	eventually(t, 30*time.Second, "all 40 messages", func() bool { return handled.distinct() == 40 })
	if n := calls.Load(); n != 20 {
		t.Errorf("the restarted consumer was handed %d messages, want the 20 it had not seen", n)
	}
	for id, n := range handled.count {
		if n != 1 {
			t.Errorf("%s handled %d times", id, n)
		}
	}
}

func TestTimelineRecordsEveryMessageOfAReservation(t *testing.T) {
	pool := pgtest.Pool(t)
	broker := startBroker(t)
	b := newBackbone(t, testConfig(broker), pool)
	var fail atomic.Bool
	fail.Store(true)
	err := b.AddConsumer("pms", TopicReservationEvents, func(msg *message.Message) error {
		if fail.Load() {
			return fmt.Errorf("pms rejected card 4111 1111 1111 1111")
		}
		return nil
	}, WithRetry(RetryConfig{MaxRetries: -1}))
	if err != nil {
		t.Fatal(err)
	}
	runBackbone(t, b)

	const reservationID = "2f0c7c3e-0d5b-4e55-9e77-0c1f2b3a4d5e"
	insertOutbox(t, pool, outboxEvent{property: "hotel-7", reservationID: reservationID, correlationID: "req-7",
		comment: "guest paid with 4111-1111-1111-1111"})

	var entries []TimelineEntry
	eventually(t, 30*time.Second, "the published and dead-lettered entries", func() bool {
		entries, err = b.Timeline().Timeline(context.Background(), reservationID)
		if err != nil {
			t.Fatal(err)
		}
		return len(entries) == 2 && entries[1].Status == StatusDeadLettered
	})
	pub, in := entries[0], entries[1]
	if pub.Consumer != relayConsumer || pub.Direction != DirectionOut || pub.Status != StatusPublished || pub.Topic != TopicReservationEvents ||
		pub.CorrelationID != "req-7" || pub.PropertyID != "hotel-7" {
		t.Errorf("published entry: %+v", pub)
	}
	if in.Consumer != "pms" || in.Direction != DirectionOut || in.Attempts != 1 || in.CorrelationID != "req-7" ||
		!strings.Contains(in.LastError, "pms rejected") || canonical.ContainsCardNumber(in.LastError) {
		t.Errorf("consumer entry: %+v", in)
	}
	for _, e := range entries {
		if canonical.ContainsCardNumber(string(e.Payload)) {
			t.Errorf("card number stored in the timeline: %s", e.Payload)
		}
	}

	// Replayed after the fix, the same entry moves on to processed.
	fail.Store(false)
	letters, err := b.DeadLetters().List(context.Background(), DeadLetterFilter{Consumer: "pms"})
	if err != nil || len(letters) != 1 {
		t.Fatalf("dead letters: %v %v", letters, err)
	}
	if _, err := b.DeadLetters().Replay(context.Background(), []int64{letters[0].ID}, "ops"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the processed entry", func() bool {
		entries, _ = b.Timeline().Timeline(context.Background(), reservationID)
		return len(entries) == 2 && entries[1].Status == StatusProcessed
	})
	if entries[1].Attempts != 2 {
		t.Errorf("attempts over both deliveries = %d, want 2", entries[1].Attempts)
	}

	h := b.Timeline().Handler(TimelineHandlerOptions{Allowed: func(r *http.Request, propertyID string) bool {
		return r.Header.Get("X-Property") == propertyID
	}})
	mux := http.NewServeMux()
	mux.Handle("GET /v1/reservations/{id}/timeline", h)
	get := func(id, property string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/v1/reservations/"+id+"/timeline", nil)
		req.Header.Set("X-Property", property)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec
	}
	rec := get(reservationID, "hotel-7")
	var body struct {
		PropertyID string `json:"property_id"`
		Entries    []struct {
			Status  string `json:"status"`
			Payload struct {
				Encoding string          `json:"encoding"`
				JSON     json.RawMessage `json:"json"`
			} `json:"payload"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 200 {
		t.Fatalf("timeline: %d %s", rec.Code, rec.Body)
	}
	// The consumer's entry shows the event as sent, though only the relay's
	// entry stores it.
	if body.PropertyID != "hotel-7" || len(body.Entries) != 2 || body.Entries[0].Payload.Encoding != "json" ||
		!bytes.Equal(body.Entries[1].Payload.JSON, body.Entries[0].Payload.JSON) ||
		canonical.ContainsCardNumber(rec.Body.String()) || !strings.Contains(rec.Body.String(), canonical.Redacted) {
		t.Errorf("timeline body: %s", rec.Body)
	}
	for _, c := range []struct{ id, property string }{{reservationID, "hotel-8"}, {"no-such-reservation", "hotel-7"}} {
		rec := get(c.id, c.property)
		if rec.Code != 404 || rec.Header().Get("Content-Type") != "application/problem+json" || !strings.Contains(rec.Body.String(), `"code":"not_found"`) {
			t.Errorf("%s as %s: %d %s", c.id, c.property, rec.Code, rec.Body)
		}
	}
}

func TestMetricsAndReadiness(t *testing.T) {
	pool := pgtest.Pool(t)
	broker := startBroker(t)
	b := newBackbone(t, testConfig(broker), pool)
	topic := uniqueTopic("metrics")
	release := make(chan struct{})
	var handled atomic.Int64
	err := b.AddConsumer("slow", topic, func(msg *message.Message) error {
		<-release
		handled.Add(1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.Ready(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
	runBackbone(t, b)
	publishKeyed(t, b.Publisher(), topic, "hotel-1", "{}", ids("m", 6)...)
	insertOutbox(t, pool, outboxEvent{property: "hotel-1"})

	// The handler holds the first message: the group lags by the rest.
	eventually(t, 30*time.Second, "consumer lag to show", func() bool {
		b.RefreshGauges(ctx)
		return gaugeSum(t, b, "roomwire_consumer_lag") >= 5
	})
	close(release)
	eventually(t, 30*time.Second, "the lag to clear and the outbox to drain", func() bool {
		b.RefreshGauges(ctx)
		return testutil.ToFloat64(b.metrics.handlerMessages.WithLabelValues("slow", StatusProcessed)) == 6 &&
			testutil.ToFloat64(b.metrics.outboxPublished) == 1 &&
			gaugeSum(t, b, "roomwire_consumer_lag") == 0 && gaugeSum(t, b, "roomwire_outbox_backlog") == 0
	})
	if handled.Load() != 6 {
		t.Errorf("handled %d, want 6", handled.Load())
	}
	if n := testutil.CollectAndCount(b.Registry(), "roomwire_handler_duration_seconds"); n != 1 {
		t.Errorf("latency histograms: %d", n)
	}

	broker.Close()
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := b.BrokerReady(cctx); err == nil {
		t.Error("broker reported ready after it stopped")
	}
}

// gaugeSum adds up every series of a gauge in the backbone's registry.
func gaugeSum(t *testing.T, b *Backbone, name string) float64 {
	t.Helper()
	families, err := b.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			sum += m.GetGauge().GetValue()
		}
	}
	return sum
}

func TestSASLAuthentication(t *testing.T) {
	for _, mech := range []string{SASLPlain, SASLScramSHA256, SASLScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			broker := startBroker(t, WithKfakeOptions(kfake.EnableSASL(), kfake.Superuser(mech, "roomwire", "s3cret")))
			cfg := KafkaConfig{Brokers: broker.Addrs(), SASL: SASLConfig{Mechanism: mech, User: "roomwire", Password: "s3cret"}}
			pub, err := NewPublisher(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer pub.Close()
			if err := pub.Publish("roomwire.sasl", NewMessage(context.Background(), "m-1", "hotel-1", []byte("{}"))); err != nil {
				t.Fatalf("publish: %v", err)
			}
			sub, err := NewSubscriber(cfg, SubscriberOptions{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			msgs, err := sub.Subscribe(ctx, "roomwire.sasl")
			if err != nil {
				t.Fatal(err)
			}
			select {
			case msg := <-msgs:
				msg.Ack()
				if msg.UUID != "m-1" {
					t.Errorf("got %s", msg.UUID)
				}
			case <-ctx.Done():
				t.Fatal("nothing consumed")
			}

			if mech != SASLScramSHA256 {
				return // one refusal is proof enough, and each takes the client's retries
			}
			wrong := cfg
			wrong.SASL.Password = "wrong"
			if _, err := NewPublisher(wrong, nil); err == nil {
				t.Error("a wrong password was accepted")
			}
		})
	}
}
