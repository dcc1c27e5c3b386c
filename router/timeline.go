package router

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Directions of a timeline entry.
const (
	DirectionIn  = "in"  // from a partner into Roomwire
	DirectionOut = "out" // from Roomwire towards a partner (or onto the event topics)
)

// Statuses of a timeline entry.
const (
	StatusPublished    = "published"     // the outbox relay put the event on Kafka
	StatusProcessed    = "processed"     // a consumer handled it
	StatusParked       = "parked"        // waiting behind an open circuit breaker
	StatusDeadLettered = "dead_lettered" // given up on; see the dead letters
	StatusFailed       = "failed"        // failed this delivery; will be redelivered
)

// relayConsumer is the consumer name of entries the outbox relay writes.
const relayConsumer = "outbox-relay"

// TimelineEntry is one message in or out concerning a reservation, as one
// consumer (or the relay) saw it.
type TimelineEntry struct {
	ID            int64     `json:"id"`
	ReservationID string    `json:"reservation_id"`
	PropertyID    string    `json:"property_id"`
	MessageID     string    `json:"message_id"`
	Direction     string    `json:"direction"`
	Consumer      string    `json:"consumer"`
	Connector     string    `json:"connector,omitempty"`
	Topic         string    `json:"topic"`
	EventType     string    `json:"event_type,omitempty"`
	CorrelationID string    `json:"correlation_id,omitempty"`
	Status        string    `json:"status"`
	Attempts      int       `json:"attempts"`
	LastError     string    `json:"last_error,omitempty"`
	Payload       []byte    `json:"-"`
	FirstAt       time.Time `json:"first_at"`
	LastAt        time.Time `json:"last_at"`
}

// MessageTimeline records and reads the message history of reservations.
//
// A message's payload is stored once. The outbox relay's published entry
// of an event holds it (with the event's topic, type and correlation id);
// the entries of the consumers handling that event hold none of these, and
// Timeline shows them filled from the relay's entry. Every other message
// (inbound, published by a consumer, replayed from a dead letter) keeps
// its payload on its consumer's entry.
type MessageTimeline struct{ pool *pgxpool.Pool }

// NewMessageTimeline returns the timeline stored in pool's database.
func NewMessageTimeline(pool *pgxpool.Pool) *MessageTimeline { return &MessageTimeline{pool: pool} }

// Record writes e, or updates the entry of the same message, consumer and
// direction (status, attempts, last error, last time). Card numbers and
// secrets are removed from the payload and error first. Entries without a
// reservation id are ignored. Connectors record their outbound partner calls
// with it.
func (t *MessageTimeline) Record(ctx context.Context, e TimelineEntry) error {
	var b pgx.Batch
	if err := t.queueRecordAll(&b, []TimelineEntry{e}); err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	if err := t.pool.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("timeline: record %s: %w", e.MessageID, err)
	}
	return nil
}

// queueRecordAll queues on b one statement that writes entries; Record
// writes one this way. The relay records every reservation event of a
// batch, and a round trip each made the timeline most of the relay's time.
func (t *MessageTimeline) queueRecordAll(b *pgx.Batch, entries []TimelineEntry) error {
	n := len(entries)
	cols := struct {
		res, prop, msg, dir, cons, conn, topic, typ, corr, status, lastErr []string
		attempts                                                           []int32
		payload                                                            [][]byte
	}{}
	seen := make(map[[3]string]bool, n)
	for _, e := range entries {
		if e.ReservationID == "" {
			continue
		}
		if e.Direction != DirectionIn && e.Direction != DirectionOut {
			return fmt.Errorf("timeline: direction %q is neither in nor out", e.Direction)
		}
		// One statement may not update a row twice; a message is recorded
		// once per consumer and direction anyway.
		k := [3]string{e.MessageID, e.Consumer, e.Direction}
		if seen[k] {
			continue
		}
		seen[k] = true
		var payload []byte // NULL when the entry has none
		if e.Payload != nil {
			payload, _ = redactPayload(e.Payload)
		}
		lastError, _ := redactText(e.LastError)
		cols.res, cols.prop, cols.msg = append(cols.res, e.ReservationID), append(cols.prop, e.PropertyID), append(cols.msg, e.MessageID)
		cols.dir, cols.cons, cols.conn = append(cols.dir, e.Direction), append(cols.cons, e.Consumer), append(cols.conn, e.Connector)
		cols.topic, cols.typ, cols.corr = append(cols.topic, e.Topic), append(cols.typ, e.EventType), append(cols.corr, e.CorrelationID)
		cols.status, cols.lastErr = append(cols.status, e.Status), append(cols.lastErr, lastError)
		cols.attempts, cols.payload = append(cols.attempts, int32(e.Attempts)), append(cols.payload, payload)
	}
	if len(cols.msg) == 0 {
		return nil
	}
	b.Queue(`
		INSERT INTO message_timeline (reservation_id, property_id, message_id, direction, consumer, connector,
			topic, event_type, correlation_id, status, attempts, last_error, payload)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
			$7::text[], $8::text[], $9::text[], $10::text[], $11::int[], $12::text[], $13::bytea[])
		ON CONFLICT (message_id, consumer, direction) DO UPDATE SET
			status = EXCLUDED.status,
			attempts = message_timeline.attempts + EXCLUDED.attempts,
			last_error = EXCLUDED.last_error,
			last_at = now()`,
		cols.res, cols.prop, cols.msg, cols.dir, cols.cons, cols.conn,
		cols.topic, cols.typ, cols.corr, cols.status, cols.attempts, cols.lastErr, cols.payload)
	return nil
}

// Timeline returns every entry of reservationID, oldest first, each with
// its message's payload, topic, event type and correlation id (those of an
// event's consumer entries are read from the relay's entry of the event).
func (t *MessageTimeline) Timeline(ctx context.Context, reservationID string) ([]TimelineEntry, error) {
	rows, err := t.pool.Query(ctx, `
		SELECT t.id, t.reservation_id, t.property_id, t.message_id, t.direction, t.consumer, t.connector,
			coalesce(nullif(t.topic, ''), r.topic, ''), coalesce(nullif(t.event_type, ''), r.event_type, ''),
			coalesce(nullif(t.correlation_id, ''), r.correlation_id, ''), t.status, t.attempts, t.last_error,
			coalesce(t.payload, r.payload, ''::bytea), t.first_at, t.last_at
		FROM message_timeline t
		LEFT JOIN message_timeline r ON t.payload IS NULL AND r.message_id = t.message_id
			AND r.consumer = $2 AND r.direction = $3 AND r.property_id = t.property_id
		WHERE t.reservation_id = $1 ORDER BY t.first_at, t.id`, reservationID, relayConsumer, DirectionOut)
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	entries, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TimelineEntry, error) {
		var e TimelineEntry
		err := r.Scan(&e.ID, &e.ReservationID, &e.PropertyID, &e.MessageID, &e.Direction, &e.Consumer,
			&e.Connector, &e.Topic, &e.EventType, &e.CorrelationID, &e.Status, &e.Attempts, &e.LastError,
			&e.Payload, &e.FirstAt, &e.LastAt)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	return entries, nil
}
