package router

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// parkingLockClass is the first key of the advisory locks that keep one
// drainer per (consumer, partition key) across processes.
const parkingLockClass = 0x5061726b // "Park"

// parkedMessages holds messages waiting behind an open circuit breaker.
//
// Order is kept per (consumer, partition key): once a property has a parked
// message, every later message of that property is parked behind it, and
// the drainer hands them to the handler in id order. Other properties, and
// other consumers, are not held up.
type parkedMessages struct{ pool *pgxpool.Pool }

// parkedMessage is one row of parked_messages.
type parkedMessage struct {
	id          int64
	msg         *message.Message
	topic       string
	breaker     string
	attempts    int
	lastError   string
	firstFailed *time.Time
	parkedAt    time.Time
}

func (p parkedMessages) hasParked(ctx context.Context, consumer, key string) (bool, error) {
	var parked bool
	err := p.pool.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM parked_messages WHERE consumer = $1 AND partition_key = $2)`,
		consumer, key).Scan(&parked)
	if err != nil {
		return false, fmt.Errorf("parking: %w", err)
	}
	return parked, nil
}

// park stores msg. Parking the same message twice (a redelivery after a
// crash) keeps the first.
func (p parkedMessages) park(ctx context.Context, consumer, topic, breaker string, msg *message.Message, st *attemptState, retryIn time.Duration) error {
	var first *time.Time
	if !st.first.IsZero() {
		first = &st.first
	}
	_, err := p.pool.Exec(ctx, `
		INSERT INTO parked_messages (consumer, partition_key, message_id, topic, breaker, payload, metadata,
			attempts, last_error, first_failed_at, next_attempt_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now() + make_interval(secs => $11))
		ON CONFLICT (consumer, message_id) DO NOTHING`,
		consumer, msg.Metadata.Get(MetadataPartitionKey), msg.UUID, topic, breaker, []byte(msg.Payload),
		map[string]string(msg.Metadata), st.handlerCalls, redactError(st.lastErr), first, retryIn.Seconds())
	if err != nil {
		return fmt.Errorf("parking: park %s: %w", msg.UUID, err)
	}
	return nil
}

// dueKey is a partition key whose oldest parked message is due for a retry.
type dueKey struct {
	key     string
	breaker string
	headID  int64
}

// due returns the partition keys of consumer whose oldest parked message is
// due, oldest first.
func (p parkedMessages) due(ctx context.Context, consumer string) ([]dueKey, error) {
	rows, err := p.pool.Query(ctx, `
		SELECT partition_key, breaker, id FROM (
			SELECT DISTINCT ON (partition_key) partition_key, breaker, id, next_attempt_at
			FROM parked_messages WHERE consumer = $1 ORDER BY partition_key, id) heads
		WHERE next_attempt_at <= now()`, consumer)
	if err != nil {
		return nil, fmt.Errorf("parking: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (dueKey, error) {
		var k dueKey
		return k, r.Scan(&k.key, &k.breaker, &k.headID)
	})
	if err != nil {
		return nil, fmt.Errorf("parking: %w", err)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].headID < keys[j].headID })
	return keys, nil
}

// head returns the oldest parked message of (consumer, key), or nil.
func (p parkedMessages) head(ctx context.Context, db dbtx, consumer, key string) (*parkedMessage, error) {
	var (
		pm       parkedMessage
		id       string
		payload  []byte
		metadata map[string]string
	)
	err := db.QueryRow(ctx, `
		SELECT id, message_id, topic, breaker, payload, metadata, attempts, last_error, first_failed_at, parked_at
		FROM parked_messages WHERE consumer = $1 AND partition_key = $2 ORDER BY id LIMIT 1`, consumer, key).
		Scan(&pm.id, &id, &pm.topic, &pm.breaker, &payload, &metadata, &pm.attempts, &pm.lastError, &pm.firstFailed, &pm.parkedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("parking: %w", err)
	}
	pm.msg = message.NewMessage(id, payload)
	for k, v := range metadata {
		pm.msg.Metadata.Set(k, v)
	}
	return &pm, nil
}

func (p parkedMessages) remove(ctx context.Context, db dbtx, id int64) error {
	if _, err := db.Exec(ctx, `DELETE FROM parked_messages WHERE id = $1`, id); err != nil {
		return fmt.Errorf("parking: %w", err)
	}
	return nil
}

// postpone pushes the next try of parked message id out by after.
func (p parkedMessages) postpone(ctx context.Context, db dbtx, id int64, st *attemptState, after time.Duration) error {
	_, err := db.Exec(ctx, `UPDATE parked_messages SET attempts = attempts + $2,
			last_error = CASE WHEN $3 = '' THEN last_error ELSE $3 END,
			first_failed_at = coalesce(first_failed_at, $4),
			next_attempt_at = now() + make_interval(secs => $5)
		WHERE id = $1`, id, st.handlerCalls, redactError(st.lastErr), nullTime(st.first), after.Seconds())
	if err != nil {
		return fmt.Errorf("parking: %w", err)
	}
	return nil
}

// counts returns the parked messages per consumer.
func (p parkedMessages) counts(ctx context.Context) (map[string]float64, error) {
	rows, err := p.pool.Query(ctx, `SELECT consumer, count(*) FROM parked_messages GROUP BY consumer`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var c string
		var n int64
		if err := rows.Scan(&c, &n); err != nil {
			return nil, err
		}
		out[c] = float64(n)
	}
	return out, rows.Err()
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
