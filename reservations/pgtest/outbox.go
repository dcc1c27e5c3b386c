package pgtest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roomwire/roomwire/canonical"
)

// OutboxEvent is an event in the store's transactional outbox and its row id.
type OutboxEvent struct {
	ID    int64
	Event canonical.Event
}

// OutboxQuery chooses outbox events: those of a topic, of one reservation
// when ReservationID is set, and only those not yet published when
// Unpublished is set.
type OutboxQuery struct {
	Topic         string
	ReservationID string
	Unpublished   bool
}

// Outbox returns the outbox events q chooses in the test database of pool,
// in the order the relay publishes them. Tests that stand in for the relay
// read the outbox with it.
func Outbox(t testing.TB, pool *pgxpool.Pool, q OutboxQuery) []OutboxEvent {
	t.Helper()
	rows, _ := pool.Query(context.Background(), `SELECT id, payload FROM outbox
		WHERE topic = $1 AND ($2 = '' OR reservation_id::text = $2) AND (NOT $3 OR published_at IS NULL) ORDER BY id`,
		q.Topic, q.ReservationID, q.Unpublished)
	var out []OutboxEvent
	var id int64
	var payload []byte
	_, err := pgx.ForEachRow(rows, []any{&id, &payload}, func() error {
		e := OutboxEvent{ID: id}
		if err := json.Unmarshal(payload, &e.Event); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		t.Fatalf("pgtest: outbox: %v", err)
	}
	return out
}

// MarkPublished marks an outbox event published, as the relay does.
func MarkPublished(t testing.TB, pool *pgxpool.Pool, id int64) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `UPDATE outbox SET published_at = now() WHERE id = $1`, id); err != nil {
		t.Fatalf("pgtest: mark published: %v", err)
	}
}
