package router

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

// An event handled by several consumers is stored once, on the relay's
// entry, and every entry shows it, a dead-lettered one too. A message the
// relay did not publish keeps its payload on its consumer's entry.
func TestTimelineStoresEachPayloadOnceAndShowsItOnEveryEntry(t *testing.T) {
	pool := pgtest.Pool(t)
	b := newBackbone(t, testConfig(startBroker(t)), pool)
	ok := func(*message.Message) error { return nil }
	refuse := func(*message.Message) error {
		return Permanentf("channel refused card 4111 1111 1111 1111 with cvv 737")
	}
	inboundTopic := uniqueTopic("inbound")
	for _, c := range []struct {
		name, topic string
		h           HandlerFunc
	}{{"pms", TopicReservationEvents, ok}, {"channel", TopicReservationEvents, refuse}, {"applier", inboundTopic, ok}} {
		if err := b.AddConsumer(c.name, c.topic, c.h, WithRetry(RetryConfig{MaxRetries: -1})); err != nil {
			t.Fatal(err)
		}
	}
	runBackbone(t, b)
	ctx := context.Background()

	reservationID, eventID := uuid.NewString(), uuid.NewString()
	insertOutbox(t, pool, outboxEvent{eventID: eventID, property: "hotel-3", reservationID: reservationID,
		correlationID: "req-3", comment: "paid with 4111-1111-1111-1111, security code 737"})
	inbound := NewMessage(ctx, uuid.NewString(), "hotel-3",
		[]byte(`{"reservation":"`+reservationID+`","card_number":"4111111111111111","password":"hunter2","note":"late"}`))
	inbound.Metadata.Set(MetadataReservationID, reservationID)
	if err := b.Publisher().Publish(inboundTopic, inbound); err != nil {
		t.Fatal(err)
	}

	var entries []TimelineEntry
	eventually(t, 30*time.Second, "the event's three entries and the inbound one", func() bool {
		var err error
		if entries, err = b.Timeline().Timeline(ctx, reservationID); err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, e := range entries {
			if e.Status == StatusPublished || e.Status == StatusProcessed || e.Status == StatusDeadLettered {
				done++
			}
		}
		return done == 4
	})

	// Stored: the event's payload once, the inbound message's on its entry.
	if n := countRows(t, pool, `SELECT count(*) FROM message_timeline WHERE message_id = $1 AND payload IS NOT NULL`, eventID); n != 1 {
		t.Errorf("the event's payload is stored %d times, want once", n)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM message_timeline WHERE message_id = $1 AND consumer = 'outbox-relay' AND payload IS NOT NULL`, eventID); n != 1 {
		t.Error("the relay's entry does not hold the event's payload")
	}
	if n := countRows(t, pool, `SELECT count(*) FROM message_timeline WHERE message_id = $1 AND payload IS NOT NULL`, inbound.UUID); n != 1 {
		t.Error("the inbound message's entry does not hold its payload")
	}
	// Nothing secret in any column of any entry.
	rows, err := pool.Query(ctx, `SELECT (to_jsonb(t) - 'payload')::text || convert_from(coalesce(payload, ''), 'UTF8') FROM message_timeline t`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var row string
		if err := rows.Scan(&row); err != nil {
			t.Fatal(err)
		}
		if canonical.ContainsCardData(row) || bytes.Contains([]byte(row), []byte("hunter2")) {
			t.Errorf("card data or a secret stored: %s", row)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	// Shown: every entry of the event with the event's payload, topic,
	// type and correlation id; the inbound entry with its own payload.
	var published *TimelineEntry
	for i, e := range entries {
		if e.Consumer == relayConsumer {
			published = &entries[i]
		}
	}
	if published == nil || len(published.Payload) == 0 || !bytes.Contains(published.Payload, []byte(canonical.Redacted)) {
		t.Fatalf("published entry: %+v", published)
	}
	seen := map[string]string{}
	for _, e := range entries {
		seen[e.Consumer] = e.Status
		if e.MessageID == inbound.UUID {
			if !bytes.Contains(e.Payload, []byte(`"note":"late"`)) || e.Topic != inboundTopic {
				t.Errorf("inbound entry: %+v %s", e, e.Payload)
			}
			continue
		}
		if !bytes.Equal(e.Payload, published.Payload) || e.Topic != TopicReservationEvents ||
			e.EventType != string(canonical.EventReservationCreated) || e.CorrelationID != "req-3" || e.PropertyID != "hotel-3" {
			t.Errorf("%s entry does not show the event: %+v %s", e.Consumer, e, e.Payload)
		}
	}
	if seen["pms"] != StatusProcessed || seen["channel"] != StatusDeadLettered || seen["applier"] != StatusProcessed {
		t.Errorf("entries: %v", seen)
	}
}

// The quick pass and the full redaction agree on the reservation events of
// the testdata, whatever they hold.
func TestRedactPayloadOfReservationEvents(t *testing.T) {
	withGuarantee, plain := reservationEvents(t)
	if out, changed := redactPayload(plain); changed || !bytes.Equal(out, plain) {
		t.Errorf("an event with nothing secret was changed: %s", out)
	}
	out, changed := redactPayload(withGuarantee)
	if !changed || bytes.Contains(out, []byte(`"stripe"`)) || !bytes.Contains(out, []byte("pm_1PqR7sT2uV3wX4yZ")) {
		t.Errorf("token vault not redacted, or the card token (replays deliver it) lost: %s", out)
	}
}
