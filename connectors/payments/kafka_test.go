package payments_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/connectors/payments/gatewaysim"
	"github.com/roomwire/roomwire/reservations/pgtest"
	"github.com/roomwire/roomwire/router"
)

// backbone runs the event backbone on an embedded broker for w, with the
// gateway's consumer of reservation events added as the hub adds it.
func backbone(t *testing.T, w *world) (*router.Backbone, *router.EmbeddedBroker) {
	t.Helper()
	broker, err := router.StartEmbeddedBroker(t.TempDir(), w.logger, router.WithDefaultPartitions(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	bb, err := router.New(router.Config{
		Kafka:               router.KafkaConfig{Brokers: broker.Addrs(), ClientID: "roomwire-payments-test"},
		Topics:              router.TopicsConfig{Partitions: 2},
		Retry:               router.RetryConfig{MaxRetries: 4, InitialInterval: 5 * time.Millisecond, MaxInterval: 50 * time.Millisecond},
		Breaker:             router.BreakerConfig{ConsecutiveFailures: 50, OpenTimeout: 300 * time.Millisecond},
		Relay:               router.RelayConfig{PollInterval: 200 * time.Millisecond, RetryInterval: 100 * time.Millisecond},
		HandlerTimeout:      10 * time.Second,
		ParkedRetryInterval: 100 * time.Millisecond,
		MetricsInterval:     time.Second,
		CloseTimeout:        10 * time.Second,
	}, w.pool, w.logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	handler := func(msg *message.Message) error {
		var ev canonical.Event
		if err := json.Unmarshal(msg.Payload, &ev); err != nil {
			return router.Permanent(fmt.Errorf("not a canonical event: %w", err))
		}
		return w.out.HandleEvent(msg.Context(), ev)
	}
	if err := bb.AddConsumer("payments-"+w.gc.name, router.TopicReservationEvents, handler, router.WithConnector(w.gc.name)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bb.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("backbone: %v", err)
		}
		bb.Close()
	})
	select {
	case <-bb.Running():
	case err := <-done:
		t.Fatalf("backbone stopped: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("the backbone did not start")
	}
	return bb, broker
}

// TestPaymentFlowOverKafkaLeavesNoCardData books through the store; the
// outbox relay publishes to the embedded Kafka broker; the gateway's
// consumer calls the simulator (which fails now and then, and answers with
// signed webhooks); then every place card data could end up is scanned.
func TestPaymentFlowOverKafkaLeavesNoCardData(t *testing.T) {
	for _, gc := range gatewayCases {
		t.Run(gc.name, func(t *testing.T) {
			pool := pgtest.Pool(t)
			logs := &syncBuffer{}
			w := newWorld(t, gc, pool, logs)
			bb, broker := backbone(t, w)
			// A card the gateway does not know is refused as a bad request:
			// permanent, so it is dead-lettered.
			faults := gatewaysim.Faults{ErrorRate: 0.3, RejectTokens: []string{"pm_unknown", "unknown_card"}}
			w.sim.SetFaults(faults)
			unknown := map[string]string{"stripe": "pm_unknown", "adyen": "guest-9:unknown_card"}[gc.name]

			good := w.book("FLEX", 30, 2, gc.token)
			late := w.book("FLEX", 1, 2, gc.token)
			declined := w.book("FLEX", 30, 2, gc.declined)
			lost := w.book("FLEX", 40, 1, unknown)
			eventually(t, "the holds", func() bool {
				return w.status(good.ID) == canonical.PaymentAuthorized && w.status(late.ID) == canonical.PaymentAuthorized
			})
			w.update(late.ID, func(r *canonical.Reservation) { r.Status = canonical.StatusCancelled })
			eventually(t, "the late cancellation's fee", func() bool { return w.status(late.ID) == canonical.PaymentCaptured })
			eventually(t, "the decline's flag", func() bool {
				return w.reservation(declined.ID).HasFlag(canonical.FlagPaymentDeclined)
			})
			if w.status(declined.ID) != canonical.PaymentFailed {
				t.Errorf("the declined payment is %s", w.status(declined.ID))
			}
			eventually(t, "the dead letter of the unknown card", func() bool {
				dl, err := bb.DeadLetters().List(context.Background(), router.DeadLetterFilter{})
				for _, d := range dl {
					if d.ReservationID == lost.ID {
						return true
					}
				}
				return err != nil && false
			})
			faults.ErrorRate = 0
			w.sim.SetFaults(faults)
			for _, id := range []string{good.ID, late.ID} {
				if n := w.sim.Authorizations(id); n != 1 {
					t.Errorf("reservation %s: %d authorizations, want 1", id, n)
				}
			}
			// The flag is in the reservation's timeline, as the store's own event.
			eventually(t, "the flag in the timeline", func() bool {
				entries, _ := bb.Timeline().Timeline(context.Background(), declined.ID)
				for _, e := range entries {
					if e.EventType == string(canonical.EventReservationModified) && e.Status == router.StatusPublished {
						return true
					}
				}
				return false
			})
			// Payment events reach their topic; webhooks come back.
			eventually(t, "payment events on Kafka", func() bool {
				return w.count(`SELECT count(*) FROM outbox WHERE topic = $1 AND published_at IS NULL`, canonical.TopicPaymentEvents) == 0 &&
					w.count(`SELECT count(*) FROM outbox WHERE topic = $1`, canonical.TopicPaymentEvents) >= 4
			})
			eventually(t, "the gateway's notifications", func() bool {
				return w.count(`SELECT count(*) FROM payment_notifications`) >= 3
			})
			w.sim.WaitWebhooks()

			secrets := []string{stripeKey, stripeWebhook, adyenKey, adyenHMACHex, gc.token, gc.declined, unknown}
			scanned := scanDatabase(t, w)
			if !strings.Contains(scanned, "4111XXXXXXXX1111") {
				t.Error("the database scan did not see the card mask: is it scanning at all?")
			}
			scanKafka(t, broker)
			checkClean(t, "the log", logs.String(), secrets)
		})
	}
}

func (w *world) status(id string) canonical.PaymentStatus {
	st, err := w.svc.Payment(context.Background(), id)
	if err != nil || st == nil {
		return ""
	}
	return st.Status
}

// cvvField finds a field or parameter that would carry a card's security code.
var cvvField = regexp.MustCompile(`(?i)["']?\b(cvv2?|cvc2?|cid|card_?verification(_?(code|value))?|security_?code)["']?\s*[:=]`)

// checkClean fails when text holds a card number, a CVV field or a secret.
func checkClean(t *testing.T, where, text string, secrets []string) {
	t.Helper()
	if s, e, ok := canonical.FindCardNumber(text); ok {
		t.Errorf("%s holds a card number near %q", where, text[max(0, s-40):min(len(text), e+10)])
	}
	if loc := cvvField.FindStringIndex(text); loc != nil {
		t.Errorf("%s holds a CVV field near %q", where, text[max(0, loc[0]-40):min(len(text), loc[1]+20)])
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) && !strings.HasPrefix(where, "table") {
			t.Errorf("%s holds the secret or token %q", where, s)
		}
	}
}

// scanDatabase reads every text, jsonb, bytea and array column of every
// table, checks it, and returns all it read.
func scanDatabase(t *testing.T, w *world) string {
	t.Helper()
	ctx := context.Background()
	rows, _ := w.pool.Query(ctx, `SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = 'public' AND data_type IN ('text', 'jsonb', 'json', 'bytea', 'character varying', 'ARRAY')
		ORDER BY table_name, column_name`)
	type col struct{ table, column, typ string }
	var cols []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.table, &c.column, &c.typ); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil || len(cols) == 0 {
		t.Fatalf("columns: %d, %v", len(cols), err)
	}
	var all strings.Builder
	tables := map[string]bool{}
	for _, c := range cols {
		tables[c.table] = true
		expr := fmt.Sprintf("convert_to(coalesce(%q::text, ''), 'UTF8')", c.column)
		if c.typ == "bytea" {
			// Read byte for byte: payloads are JSON, hashes are not text.
			expr = fmt.Sprintf("coalesce(%q, ''::bytea)", c.column)
		}
		q := fmt.Sprintf("SELECT %s FROM %q", expr, c.table)
		vals, _ := w.pool.Query(ctx, q)
		for vals.Next() {
			var v []byte
			if err := vals.Scan(&v); err != nil {
				t.Fatalf("%s.%s: %v", c.table, c.column, err)
			}
			checkClean(t, "table "+c.table+"."+c.column, string(v), nil)
			all.Write(v)
			all.WriteByte('\n')
		}
		if err := vals.Err(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, want := range []string{"payments", "payment_transitions", "payment_notifications", "outbox", "dead_letters", "message_timeline"} {
		if !tables[want] {
			t.Errorf("the scan did not cover table %s", want)
		}
	}
	// No secret of the gateway accounts is stored anywhere.
	for _, s := range []string{stripeKey, stripeWebhook, adyenKey, adyenHMACHex} {
		if strings.Contains(all.String(), s) {
			t.Errorf("the database holds the secret %q", s)
		}
	}
	return all.String()
}

// scanKafka reads every record of every topic of the broker and checks its
// key, value and headers.
func scanKafka(t *testing.T, broker *router.EmbeddedBroker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	details, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var topics []string
	for _, d := range details.Sorted() {
		if !d.IsInternal && !strings.HasPrefix(d.Topic, "__") {
			topics = append(topics, d.Topic)
		}
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(0)
	ends.Each(func(o kadm.ListedOffset) { want += o.Offset })
	seen := map[string]int{}
	for _, tp := range topics {
		seen[tp] = 0
	}
	reader, err := kgo.NewClient(kgo.SeedBrokers(broker.Addrs()...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	got := int64(0)
	for got < want {
		fetches := reader.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records from %v", got, want, topics)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			got++
			seen[r.Topic]++
			text := string(r.Key) + "\n" + string(r.Value)
			for _, h := range r.Headers {
				text += "\n" + h.Key + "=" + string(h.Value)
			}
			checkClean(t, "topic "+r.Topic, text, []string{stripeKey, stripeWebhook, adyenKey, adyenHMACHex})
		})
	}
	for _, tp := range []string{canonical.TopicReservationEvents, canonical.TopicPaymentEvents, router.DeadLetterTopic(canonical.TopicReservationEvents)} {
		if seen[tp] == 0 {
			t.Errorf("no record read from %s (topics %v)", tp, topics)
		}
	}
}
