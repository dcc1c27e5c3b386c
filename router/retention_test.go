package router

import (
	"context"
	"testing"
	"time"

	"github.com/roomwire/roomwire/reservations/pgtest"
)

func TestHousekeepingExpiresOldOutboxRowsAndTimelineEntries(t *testing.T) {
	pool := pgtest.Pool(t)
	b := newBackbone(t, testConfig(startBroker(t)), pool)
	ctx := context.Background()
	for _, sql := range []string{
		`INSERT INTO outbox (event_id, topic, partition_key, event_type, payload, created_at, published_at)
			SELECT gen_random_uuid(), 't', 'P', 'x', '{}', now() - interval '10 days', now() - interval '10 days' FROM generate_series(1, 6000)`,
		`INSERT INTO outbox (event_id, topic, partition_key, event_type, payload, published_at) VALUES (gen_random_uuid(), 't', 'P', 'x', '{}', now())`,
		`INSERT INTO outbox (event_id, topic, partition_key, event_type, payload, created_at) VALUES (gen_random_uuid(), 't', 'P', 'x', '{}', now() - interval '10 days')`,
		`INSERT INTO message_timeline (reservation_id, property_id, message_id, direction, consumer, topic, status, first_at, last_at)
			VALUES (gen_random_uuid(), 'P', 'm1', 'out', 'c', 't', 'processed', now() - interval '40 days', now() - interval '40 days'),
			       (gen_random_uuid(), 'P', 'm2', 'out', 'c', 't', 'processed', now(), now())`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	b.expire(ctx, "published outbox rows", "outbox", "published_at", 7*24*time.Hour)
	b.expire(ctx, "timeline entries", "message_timeline", "last_at", 30*24*time.Hour)
	// Recent rows stay, and an old row not yet published is never deleted.
	if n := countRows(t, pool, `SELECT count(*) FROM outbox`); n != 2 {
		t.Fatalf("outbox rows left: %d, want 2", n)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM outbox WHERE published_at IS NULL`); n != 1 {
		t.Fatalf("unpublished rows left: %d, want 1", n)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM message_timeline`); n != 1 {
		t.Fatalf("timeline entries left: %d, want 1", n)
	}
}
