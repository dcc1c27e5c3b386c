package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roomwire/roomwire/canonical"
)

// Reasons a message is dead-lettered.
const (
	// ReasonMalformed: the Kafka record could not be read (no message id,
	// headers that are not text).
	ReasonMalformed = "malformed"
	// ReasonPermanent: the handler marked the error Permanent.
	ReasonPermanent = "permanent"
	// ReasonUnmapped: a partner code has no mapping; replay once it has.
	ReasonUnmapped = "unmapped"
	// ReasonRetriesExhausted: a transient error outlasted every retry.
	ReasonRetriesExhausted = "retries_exhausted"
	// ReasonTimeout: the last attempt ran out of time and retries are exhausted.
	ReasonTimeout = "timeout"
)

// Statuses of a dead letter.
const (
	DeadLetterDead      = "dead"
	DeadLetterReplaying = "replaying"
	DeadLetterReplayed  = "replayed"
	DeadLetterResolved  = "resolved"
)

// ErrNotFound is returned for a dead letter (or timeline) that does not exist.
var ErrNotFound = errors.New("router: not found")

// ErrReplayInProgress is returned when purging a dead letter whose replay has
// been requested but not yet published.
var ErrReplayInProgress = errors.New("router: replay in progress")

// DeadLetter is one message a consumer gave up on.
type DeadLetter struct {
	ID              int64             `json:"id"`
	MessageID       string            `json:"message_id"`
	Consumer        string            `json:"consumer"`
	Connector       string            `json:"connector,omitempty"`
	OriginalTopic   string            `json:"original_topic"`
	DeadLetterTopic string            `json:"dead_letter_topic"`
	PartitionKey    string            `json:"partition_key"`
	PropertyID      string            `json:"property_id,omitempty"`
	ReservationID   string            `json:"reservation_id,omitempty"`
	EventType       string            `json:"event_type,omitempty"`
	CorrelationID   string            `json:"correlation_id,omitempty"`
	Reason          string            `json:"reason"`
	Error           string            `json:"error"`
	Attempts        int               `json:"attempts"`
	FirstFailedAt   time.Time         `json:"first_failed_at"`
	LastFailedAt    time.Time         `json:"last_failed_at"`
	FirstSeenAt     time.Time         `json:"first_seen_at"`
	Status          string            `json:"status"`
	ReplayCount     int               `json:"replay_count"`
	ReplayedAt      *time.Time        `json:"replayed_at,omitempty"`
	PayloadRedacted bool              `json:"payload_redacted"`
	Metadata        map[string]string `json:"metadata"`
	// Payload is the message body with card numbers and secrets removed.
	Payload []byte `json:"-"`
}

// DeadLetterFilter selects dead letters. Zero fields select everything.
type DeadLetterFilter struct {
	Topic    string // original topic
	Reason   string
	Consumer string
	Status   string
	// FailedSince selects dead letters whose last failure is at or after
	// it (a message dead-lettered again counts anew).
	FailedSince time.Time
	// After and Limit page through the list in id order: pass the last id
	// seen as After. Limit defaults to 100 and is at most 1000.
	After int64
	Limit int
}

// DeadLetters is the operators' view of dead-lettered messages: list,
// inspect, replay and purge. Every dead letter is also on its dead-letter
// topic in Kafka; PostgreSQL holds the index operators work from.
type DeadLetters struct {
	pool      *pgxpool.Pool
	publisher message.Publisher
	metrics   *Metrics
	logger    *slog.Logger
}

// NewDeadLetters returns the dead letters of pool's database, replaying
// through publisher.
func NewDeadLetters(pool *pgxpool.Pool, publisher message.Publisher, logger *slog.Logger) *DeadLetters {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &DeadLetters{pool: pool, publisher: publisher, logger: logger}
}

// failure is what the consumer pipeline knows of a message it gives up on.
type failure struct {
	consumer, connector, topic string
	reason                     string
	err                        error
	attempts                   int
	first, last                time.Time
}

// deadLetter indexes msg in PostgreSQL and publishes it to the dead-letter
// topic of f.topic, in that order: if the process dies in between, the
// message was not acknowledged and comes back, and both steps repeat
// harmlessly (the index row is updated, consumers of the dead-letter topic
// see the same message id).
func (d *DeadLetters) deadLetter(ctx context.Context, msg *message.Message, f failure) error {
	payload, redacted := redactPayload(msg.Payload)
	errText := redactError(f.err)
	dlqTopic := DeadLetterTopic(f.topic)
	meta := redactMetadata(dataMetadata(msg.Metadata))
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("dead letter: %w", err)
	}
	propertyID := msg.Metadata.Get(MetadataPropertyID)
	if propertyID == "" {
		propertyID = msg.Metadata.Get(MetadataPartitionKey)
	}
	_, err = d.pool.Exec(ctx, `
		INSERT INTO dead_letters (message_id, consumer, connector, original_topic, dead_letter_topic,
			partition_key, property_id, reservation_id, event_type, correlation_id, reason, error,
			attempts, first_failed_at, last_failed_at, payload, payload_redacted, metadata)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
		ON CONFLICT (consumer, message_id) DO UPDATE SET
			reason = EXCLUDED.reason,
			error = EXCLUDED.error,
			attempts = dead_letters.attempts + EXCLUDED.attempts,
			last_failed_at = EXCLUDED.last_failed_at,
			payload = EXCLUDED.payload,
			payload_redacted = EXCLUDED.payload_redacted,
			metadata = EXCLUDED.metadata,
			-- A replay requested meanwhile still has to happen.
			status = CASE WHEN dead_letters.status = 'replaying' THEN 'replaying' ELSE 'dead' END`,
		msg.UUID, f.consumer, f.connector, f.topic, dlqTopic,
		msg.Metadata.Get(MetadataPartitionKey), propertyID, msg.Metadata.Get(MetadataReservationID),
		msg.Metadata.Get(MetadataEventType), msg.Metadata.Get(MetadataCorrelationID), f.reason, errText,
		f.attempts, f.first, f.last, payload, redacted, metaJSON)
	if err != nil {
		return fmt.Errorf("dead letter: index %s: %w", msg.UUID, err)
	}

	out := message.NewMessage(msg.UUID, payload)
	maps.Copy(out.Metadata, meta)
	out.Metadata.Set(MetadataDLQReason, f.reason)
	out.Metadata.Set(MetadataDLQError, errText)
	out.Metadata.Set(MetadataDLQHandler, f.consumer)
	out.Metadata.Set(MetadataDLQConnector, f.connector)
	out.Metadata.Set(MetadataDLQOriginalTopic, f.topic)
	out.Metadata.Set(MetadataDLQAttempts, strconv.Itoa(f.attempts))
	out.Metadata.Set(MetadataDLQFirstFailure, f.first.UTC().Format(time.RFC3339Nano))
	out.Metadata.Set(MetadataDLQLastFailure, f.last.UTC().Format(time.RFC3339Nano))
	if err := d.publisher.Publish(dlqTopic, out); err != nil {
		return fmt.Errorf("dead letter: publish %s to %s: %w", msg.UUID, dlqTopic, err)
	}
	if d.metrics != nil {
		d.metrics.deadLettered.WithLabelValues(f.consumer, f.reason).Inc()
	}
	return nil
}

// dataMetadata copies the metadata a message carries as data, leaving out
// the dead-letter and malformed markers (a replay must not carry them).
func dataMetadata(m message.Metadata) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if strings.HasPrefix(k, "roomwire_dlq_") || k == MetadataMalformed {
			continue
		}
		out[k] = v
	}
	return out
}

// redactMetadata removes secret values and card numbers from metadata.
func redactMetadata(m map[string]string) map[string]string {
	for k, v := range m {
		if storedSecret(k) {
			m[k] = canonical.Redacted
			continue
		}
		if s, changed := redactCards(v); changed {
			m[k] = s
		}
	}
	return m
}

// resolve marks the dead letter of (consumer, messageID) resolved: its
// replay number replay has been handled. A dead letter replayed again since
// (a higher replay count) stays as it is, so that replay still happens. The
// handled replay may still be "replaying" if its publisher has not committed
// yet: the update then waits for that commit.
func (d *DeadLetters) resolve(ctx context.Context, consumer, messageID string, replay int) error {
	_, err := d.pool.Exec(ctx,
		`UPDATE dead_letters SET status = 'resolved'
		WHERE consumer = $1 AND message_id = $2 AND replay_count = $3 AND status <> 'resolved'`,
		consumer, messageID, replay)
	return err
}

const deadLetterColumns = `id, message_id, consumer, connector, original_topic, dead_letter_topic, partition_key,
	property_id, reservation_id, event_type, correlation_id, reason, error, attempts, first_failed_at,
	last_failed_at, first_seen_at, status, replay_count, replayed_at, payload_redacted, metadata, payload`

func scanDeadLetter(r pgx.CollectableRow) (DeadLetter, error) {
	var dl DeadLetter
	err := r.Scan(&dl.ID, &dl.MessageID, &dl.Consumer, &dl.Connector, &dl.OriginalTopic, &dl.DeadLetterTopic,
		&dl.PartitionKey, &dl.PropertyID, &dl.ReservationID, &dl.EventType, &dl.CorrelationID, &dl.Reason,
		&dl.Error, &dl.Attempts, &dl.FirstFailedAt, &dl.LastFailedAt, &dl.FirstSeenAt, &dl.Status,
		&dl.ReplayCount, &dl.ReplayedAt, &dl.PayloadRedacted, &dl.Metadata, &dl.Payload)
	return dl, err
}

// List returns the dead letters f selects, in id order.
func (d *DeadLetters) List(ctx context.Context, f DeadLetterFilter) ([]DeadLetter, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if f.Limit > 1000 {
		f.Limit = 1000
	}
	rows, err := d.pool.Query(ctx, `SELECT `+deadLetterColumns+` FROM dead_letters
		WHERE ($1 = '' OR original_topic = $1) AND ($2 = '' OR reason = $2)
		  AND ($3 = '' OR consumer = $3) AND ($4 = '' OR status = $4) AND id > $5
		  AND ($7::timestamptz IS NULL OR last_failed_at >= $7)
		ORDER BY id LIMIT $6`, f.Topic, f.Reason, f.Consumer, f.Status, f.After, f.Limit, nullTime(f.FailedSince))
	if err != nil {
		return nil, fmt.Errorf("dead letters: list: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanDeadLetter)
	if err != nil {
		return nil, fmt.Errorf("dead letters: list: %w", err)
	}
	return out, nil
}

// Get returns dead letter id, or ErrNotFound.
func (d *DeadLetters) Get(ctx context.Context, id int64) (DeadLetter, error) {
	rows, err := d.pool.Query(ctx, `SELECT `+deadLetterColumns+` FROM dead_letters WHERE id = $1`, id)
	if err != nil {
		return DeadLetter{}, fmt.Errorf("dead letters: get %d: %w", id, err)
	}
	dl, err := pgx.CollectExactlyOneRow(rows, scanDeadLetter)
	if errors.Is(err, pgx.ErrNoRows) {
		return DeadLetter{}, fmt.Errorf("dead letter %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return DeadLetter{}, fmt.Errorf("dead letters: get %d: %w", id, err)
	}
	return dl, nil
}

// Replay publishes the dead letters ids again to their original topics,
// with the same message id and MetadataReplayCount raised by one. Consumers
// that handled the message before skip it (they deduplicate by id); the one
// that failed gets another go.
//
// Replay is crash-safe: it first marks every dead letter "replaying" and
// writes an audit record, in one transaction; then publishes them and marks
// them "replayed". Dead letters left "replaying" by a crash are published by
// ResumeReplays, which the Backbone runs periodically. A dead letter already
// being replayed is left alone. It returns the ids accepted for replay;
// unknown ids are ignored.
func (d *DeadLetters) Replay(ctx context.Context, ids []int64, actor string) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	accepted, err := d.requestReplay(ctx, `id = ANY($1)`, []any{ids}, actor)
	if err != nil || len(accepted) == 0 {
		return accepted, err
	}
	if _, err := d.publishReplays(ctx, accepted); err != nil {
		return accepted, err
	}
	return accepted, nil
}

// ReplayMatching replays every dead letter with status "dead" that f
// selects (Topic, Reason, Consumer; paging fields are ignored).
func (d *DeadLetters) ReplayMatching(ctx context.Context, f DeadLetterFilter, actor string) ([]int64, error) {
	accepted, err := d.requestReplay(ctx,
		`status = 'dead' AND ($1 = '' OR original_topic = $1) AND ($2 = '' OR reason = $2) AND ($3 = '' OR consumer = $3)`,
		[]any{f.Topic, f.Reason, f.Consumer}, actor)
	if err != nil || len(accepted) == 0 {
		return accepted, err
	}
	if _, err := d.publishReplays(ctx, accepted); err != nil {
		return accepted, err
	}
	return accepted, nil
}

// requestReplay marks the selected dead letters "replaying" and audits the
// request, atomically.
func (d *DeadLetters) requestReplay(ctx context.Context, where string, args []any, actor string) ([]int64, error) {
	var ids []int64
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			WITH picked AS (
				UPDATE dead_letters SET status = 'replaying', replay_count = replay_count + 1,
					replay_requested_at = now()
				WHERE status <> 'replaying' AND `+where+`
				RETURNING id, message_id, consumer, replay_count)
			INSERT INTO dead_letter_audit (dead_letter_id, message_id, consumer, action, actor, replay_count)
			SELECT id, message_id, consumer, 'replay', $`+strconv.Itoa(len(args)+1)+`, replay_count FROM picked
			RETURNING dead_letter_id`, append(args, actor)...)
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dead letters: request replay: %w", err)
	}
	return ids, nil
}

// ResumeReplays publishes every dead letter left "replaying" (by a crash
// between a replay request and its publication) and returns how many it
// published. Concurrent callers split the work.
func (d *DeadLetters) ResumeReplays(ctx context.Context) (int, error) {
	return d.publishReplays(ctx, nil)
}

// publishReplays publishes "replaying" dead letters (those in ids, or all
// when ids is nil) in batches, each batch under row locks so two processes
// never publish the same one at once.
func (d *DeadLetters) publishReplays(ctx context.Context, ids []int64) (int, error) {
	if ids != nil && len(ids) == 0 {
		return 0, nil
	}
	total := 0
	for {
		n, err := d.publishReplayBatch(ctx, ids)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

func (d *DeadLetters) publishReplayBatch(ctx context.Context, ids []int64) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+deadLetterColumns+` FROM dead_letters
			WHERE status = 'replaying' AND ($1::bigint[] IS NULL OR id = ANY($1))
			ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED`, ids)
		if err != nil {
			return err
		}
		letters, err := pgx.CollectRows(rows, scanDeadLetter)
		if err != nil || len(letters) == 0 {
			return err
		}
		// Publish per original topic, keeping id order within each, so
		// that a property's replayed messages keep their order.
		var order []string
		byTopic := map[string][]*message.Message{}
		done := make([]int64, 0, len(letters))
		for _, dl := range letters {
			msg := message.NewMessage(dl.MessageID, dl.Payload)
			maps.Copy(msg.Metadata, dl.Metadata)
			msg.Metadata.Set(MetadataReplayCount, strconv.Itoa(dl.ReplayCount))
			if _, ok := byTopic[dl.OriginalTopic]; !ok {
				order = append(order, dl.OriginalTopic)
			}
			byTopic[dl.OriginalTopic] = append(byTopic[dl.OriginalTopic], msg)
			done = append(done, dl.ID)
		}
		for _, topic := range order {
			if err := d.publisher.Publish(topic, byTopic[topic]...); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE dead_letters SET status = 'replayed', replayed_at = now() WHERE id = ANY($1)`, done); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE dead_letter_audit SET completed_at = now()
			WHERE dead_letter_id = ANY($1) AND action = 'replay' AND completed_at IS NULL`, done); err != nil {
			return err
		}
		n = len(letters)
		for _, dl := range letters {
			d.logger.InfoContext(ctx, "dead letter replayed", "dead_letter_id", dl.ID, "message_id", dl.MessageID,
				"consumer", dl.Consumer, "topic", dl.OriginalTopic, "replay_count", dl.ReplayCount)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("dead letters: publish replays: %w", err)
	}
	return n, nil
}

// Purge deletes dead letter id (its message stays on the dead-letter topic
// until Kafka's retention removes it) and audits who did.
func (d *DeadLetters) Purge(ctx context.Context, id int64, actor string) error {
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var status, messageID, consumer string
		var replays int
		err := tx.QueryRow(ctx, `SELECT status, message_id, consumer, replay_count FROM dead_letters WHERE id = $1 FOR UPDATE`, id).
			Scan(&status, &messageID, &consumer, &replays)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("dead letter %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if status == DeadLetterReplaying {
			return fmt.Errorf("dead letter %d: %w", id, ErrReplayInProgress)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM dead_letters WHERE id = $1`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO dead_letter_audit (dead_letter_id, message_id, consumer, action, actor, replay_count, completed_at)
			VALUES ($1, $2, $3, 'purge', $4, $5, now())`, id, messageID, consumer, actor, replays)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrReplayInProgress) {
			return err
		}
		return fmt.Errorf("dead letters: purge %d: %w", id, err)
	}
	return nil
}

// DeadLetterAudit is one replay or purge of a dead letter.
type DeadLetterAudit struct {
	ID           int64      `json:"id"`
	DeadLetterID int64      `json:"dead_letter_id"`
	MessageID    string     `json:"message_id"`
	Consumer     string     `json:"consumer"`
	Action       string     `json:"action"`
	Actor        string     `json:"actor"`
	ReplayCount  int        `json:"replay_count"`
	RequestedAt  time.Time  `json:"requested_at"`
	CompletedAt  *time.Time `json:"completed_at,omitempty"`
}

// Audit returns the replays and purges of dead letter id, oldest first.
func (d *DeadLetters) Audit(ctx context.Context, id int64) ([]DeadLetterAudit, error) {
	rows, err := d.pool.Query(ctx, `SELECT id, dead_letter_id, message_id, consumer, action, actor, replay_count,
		requested_at, completed_at FROM dead_letter_audit WHERE dead_letter_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("dead letters: audit: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (DeadLetterAudit, error) {
		var a DeadLetterAudit
		err := r.Scan(&a.ID, &a.DeadLetterID, &a.MessageID, &a.Consumer, &a.Action, &a.Actor, &a.ReplayCount,
			&a.RequestedAt, &a.CompletedAt)
		return a, err
	})
}

// depth returns the dead letters waiting ("dead"), by topic and reason.
func (d *DeadLetters) depth(ctx context.Context) (map[[2]string]float64, error) {
	rows, err := d.pool.Query(ctx, `SELECT original_topic, reason, count(*) FROM dead_letters WHERE status = 'dead' GROUP BY 1, 2`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[[2]string]float64{}
	for rows.Next() {
		var topic, reason string
		var n int64
		if err := rows.Scan(&topic, &reason, &n); err != nil {
			return nil, err
		}
		out[[2]string{topic, reason}] = float64(n)
	}
	return out, rows.Err()
}
