package router

import (
	"context"
	"testing"
	"time"

	"github.com/roomwire/roomwire/reservations/pgtest"
)

func TestHousekeepingExpiresOldOutboxRowsDedupRecordsAndTimelineEntries(t *testing.T) {
	pool := pgtest.Pool(t)
	b := newBackbone(t, testConfig(startBroker(t)), pool)
	ctx := context.Background()
	for _, sql := range []string{
		`INSERT INTO outbox (event_id, topic, partition_key, event_type, payload, created_at, published_at)
			SELECT gen_random_uuid(), 't', 'P', 'x', '{}', now() - interval '10 days', now() - interval '10 days' FROM generate_series(1, 6000)`,
		`INSERT INTO outbox (event_id, topic, partition_key, event_type, payload, published_at) VALUES (gen_random_uuid(), 't', 'P', 'x', '{}', now())`,
		`INSERT INTO outbox (event_id, topic, partition_key, event_type, payload, created_at) VALUES (gen_random_uuid(), 't', 'P', 'x', '{}', now() - interval '10 days')`,
		// Written long ago but published only now: kept for its retention
		// from the publish.
		`INSERT INTO outbox (event_id, topic, partition_key, event_type, payload, created_at, published_at) VALUES (gen_random_uuid(), 't', 'P', 'x', '{}', now() - interval '10 days', now())`,
		`INSERT INTO message_timeline (reservation_id, property_id, message_id, direction, consumer, topic, status, first_at, last_at)
			VALUES (gen_random_uuid(), 'P', 'm1', 'out', 'c', 't', 'processed', now() - interval '40 days', now() - interval '40 days'),
			       (gen_random_uuid(), 'P', 'm2', 'out', 'c', 't', 'processed', now(), now()),
			       ('r3', 'P', 'm3', 'out', 'outbox-relay', 't', 'published', now() - interval '40 days', now() - interval '40 days'),
			       ('r3', 'P', 'm3', 'out', 'c', 't', 'processed', now() - interval '40 days', now())`,
		`INSERT INTO processed_messages (consumer, message_id, processed_at)
			VALUES ('c', 'old', now() - interval '10 days'), ('c', 'new', now())`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := b.processed.forget(ctx, 7*24*time.Hour); err != nil || n != 1 {
		t.Fatalf("dedup records expired: %d (%v), want 1", n, err)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM processed_messages WHERE message_id = 'new'`); n != 1 {
		t.Fatalf("recent dedup records left: %d, want 1", n)
	}
	b.expire(ctx, "published outbox rows", "outbox", expiredOutboxRows, 7*24*time.Hour)
	b.expire(ctx, "timeline entries", "message_timeline", expiredTimelineEntries, 30*24*time.Hour)
	// Recent rows stay, and an old row not yet published is never deleted.
	if n := countRows(t, pool, `SELECT count(*) FROM outbox`); n != 3 {
		t.Fatalf("outbox rows left: %d, want 3", n)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM outbox WHERE published_at IS NULL`); n != 1 {
		t.Fatalf("unpublished rows left: %d, want 1", n)
	}
	// A message's entries go together: the relay's entry of m3 holds the
	// payload its consumer's recent entry shows.
	if n := countRows(t, pool, `SELECT count(*) FROM message_timeline WHERE message_id IN ('m2', 'm3')`); n != 3 {
		t.Fatalf("recent timeline entries left: %d, want 3", n)
	}
	if n := countRows(t, pool, `SELECT count(*) FROM message_timeline`); n != 3 {
		t.Fatalf("timeline entries left: %d, want 3 (m1 expired)", n)
	}
}
