package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// relayLockClass is the first key of the per-partition-key advisory locks
// that keep each property's events with one relay at a time.
const relayLockClass = 0x52656c79 // "Rely"

// OutboxRelay publishes the store's outbox to Kafka: every row, at least
// once, in id order per partition key (property).
//
// Each pass takes a transaction, locks the partition keys it will publish
// with transaction-scoped advisory locks (skipping keys another process
// holds), publishes their oldest rows (each partition's as one record
// batch, written whole or not at all), marks the acknowledged ones
// published and commits. A crash anywhere before the commit leaves the rows unpublished and
// unlocked, so the next pass (here or in another process) publishes them
// again: consumers deduplicate by message id (the event id). Several relays
// can run at once; each key is relayed by one at a time, so order holds.
type OutboxRelay struct {
	pool      *pgxpool.Pool
	publisher *Publisher
	timeline  *MessageTimeline
	metrics   *Metrics
	logger    *slog.Logger
	cfg       RelayConfig

	// afterPublish runs between publishing a batch and marking it; a
	// non-nil error abandons the batch as a crash would. For tests.
	afterPublish func(ctx context.Context, eventIDs []string) error

	wakeMu sync.Mutex
	wakes  []chan struct{} // one per worker while Run runs
}

// Wake tells a running relay that outbox rows were committed, so that it
// publishes them now rather than at its next poll. The store of the same
// process calls it after each commit (reservations.Store.OnOutboxWritten);
// rows written by other processes are found by polling. It never blocks.
func (r *OutboxRelay) Wake() {
	r.wakeMu.Lock()
	defer r.wakeMu.Unlock()
	for _, w := range r.wakes {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

// NewOutboxRelay returns a relay from pool's outbox to publisher. metrics
// may be nil.
func NewOutboxRelay(pool *pgxpool.Pool, publisher *Publisher, cfg RelayConfig, metrics *Metrics, logger *slog.Logger) *OutboxRelay {
	cfg.setDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &OutboxRelay{
		pool: pool, publisher: publisher, timeline: NewMessageTimeline(pool),
		metrics: metrics, logger: logger, cfg: cfg,
	}
}

// Run relays until ctx is done. It wakes on Wake and polls every
// PollInterval for rows that other processes committed.
//
// Workers relay side by side, each the partition keys whose hash falls to
// it, so that each key stays with one worker (order holds) while the
// round trips of one worker's batch (PostgreSQL, then Kafka acknowledgements)
// overlap with the others': a single loop spent most of its time waiting.
func (r *OutboxRelay) Run(ctx context.Context) error {
	wakes := make([]chan struct{}, r.cfg.Workers)
	for i := range wakes {
		wakes[i] = make(chan struct{}, 1)
		wakes[i] <- struct{}{} // rows may be waiting from before the start
	}
	r.wakeMu.Lock()
	r.wakes = wakes
	r.wakeMu.Unlock()
	defer func() {
		r.wakeMu.Lock()
		r.wakes = nil
		r.wakeMu.Unlock()
	}()

	r.logger.Info("outbox relay started", "workers", len(wakes))
	var wg sync.WaitGroup
	for i, wake := range wakes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(ctx, i, len(wakes), wake)
		}()
	}
	wg.Wait()
	r.logger.Info("outbox relay stopped")
	return nil
}

// work relays the keys of shard (of shards) until ctx is done.
func (r *OutboxRelay) work(ctx context.Context, shard, shards int, wake <-chan struct{}) {
	for {
		n, err := r.relayShard(ctx, shard, shards)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if r.metrics != nil {
				r.metrics.relayErrors.Inc()
			}
			r.logger.Error("outbox relay batch failed; will retry", "error", err)
			if sleepContext(ctx, r.cfg.RetryInterval) != nil {
				return
			}
			continue
		}
		if n > 0 {
			continue // more may be waiting
		}
		timer := time.NewTimer(r.cfg.PollInterval)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// outboxRow is one row of the outbox.
type outboxRow struct {
	id            int64
	eventID       string
	topic         string
	partitionKey  string
	eventType     string
	reservationID *string
	payload       []byte
	headers       map[string]any
	createdAt     time.Time
}

// RelayOnce publishes one batch and returns how many rows it published.
func (r *OutboxRelay) RelayOnce(ctx context.Context) (int, error) { return r.relayShard(ctx, 0, 1) }

// relayShard publishes one batch of the keys of shard (of shards).
func (r *OutboxRelay) relayShard(ctx context.Context, shard, shards int) (int, error) {
	keys, err := r.candidateKeys(ctx, shard, shards)
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	published := 0
	var partial error
	err = pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		// Lock and read in one round trip. A CTE that calls a volatile
		// function is evaluated once and in full before the rows are read,
		// so only rows of keys this relay now holds are read; keys another
		// relay holds are skipped. The statement's snapshot is older than
		// its locks: a relay that held a key and committed in between had
		// marked rows this snapshot still shows unpublished. FOR UPDATE
		// reads each row's latest committed version, so those are left out
		// rather than published twice.
		rows, err := tx.Query(ctx, `
			WITH locked AS (SELECT k FROM unnest($1::text[]) AS k WHERE pg_try_advisory_xact_lock($2, hashtext(k)))
			SELECT id, event_id::text, topic, partition_key, event_type, reservation_id::text, payload, headers, created_at
			FROM outbox WHERE published_at IS NULL AND partition_key IN (SELECT k FROM locked)
			ORDER BY id LIMIT $3 FOR UPDATE OF outbox`, keys, relayLockClass, r.cfg.BatchSize)
		if err != nil {
			return err
		}
		batch, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (outboxRow, error) {
			var o outboxRow
			err := row.Scan(&o.id, &o.eventID, &o.topic, &o.partitionKey, &o.eventType, &o.reservationID, &o.payload, &o.headers, &o.createdAt)
			return o, err
		})
		if err != nil || len(batch) == 0 {
			return err
		}
		sent, err := r.publish(batch)
		if len(sent) == 0 {
			return err
		}
		// Mark what went out even if some keys failed: their rows stay
		// unpublished and come first in the next pass.
		partial = err
		batch = sent
		eventIDs := make([]string, len(batch))
		ids := make([]int64, len(batch))
		for i, o := range batch {
			eventIDs[i], ids[i] = o.eventID, o.id
		}
		if r.afterPublish != nil {
			if err := r.afterPublish(ctx, eventIDs); err != nil {
				return err
			}
		}
		// The mark and the timeline travel in one round trip, committed
		// without waiting for the WAL flush: losing them in a PostgreSQL
		// crash only publishes the rows again, and consumers deduplicate.
		b := &pgx.Batch{}
		b.Queue(asyncCommitSQL)
		b.Queue(`UPDATE outbox SET published_at = now() WHERE id = ANY($1)`, ids)
		entries := make([]TimelineEntry, 0, len(batch))
		for _, o := range batch {
			if o.reservationID == nil {
				continue
			}
			entries = append(entries, TimelineEntry{
				ReservationID: *o.reservationID,
				PropertyID:    o.partitionKey,
				MessageID:     o.eventID,
				Direction:     DirectionOut,
				Consumer:      relayConsumer,
				Topic:         o.topic,
				EventType:     o.eventType,
				CorrelationID: correlationOf(o),
				Status:        StatusPublished,
				Attempts:      1,
				Payload:       o.payload,
			})
		}
		if err := r.timeline.queueRecordAll(b, entries); err != nil {
			return err
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		published = len(batch)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("outbox relay: %w", err)
	}
	if published > 0 && r.metrics != nil {
		r.metrics.outboxPublished.Add(float64(published))
	}
	if partial != nil {
		return published, fmt.Errorf("outbox relay: %w", partial)
	}
	return published, nil
}

// candidateKeys returns the partition keys of shard (of shards) of the
// oldest unpublished rows, oldest first.
func (r *OutboxRelay) candidateKeys(ctx context.Context, shard, shards int) ([]string, error) {
	rows, err := r.pool.Query(ctx, `SELECT partition_key FROM outbox WHERE published_at IS NULL
		AND ($2 = 1 OR (hashtext(partition_key) & 2147483647) % $2 = $3) ORDER BY id LIMIT $1`,
		r.cfg.BatchSize, shards, shard)
	if err != nil {
		return nil, fmt.Errorf("outbox relay: %w", err)
	}
	all, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("outbox relay: %w", err)
	}
	seen := map[string]bool{}
	var keys []string
	for _, k := range all {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// publish sends the batch and returns the rows that went out.
//
// Each property's run of rows goes out in one produce request, as part of
// its partition's record batch, which the broker writes whole or not at
// all (Publisher.PublishBatches): if the broker refuses a partition's batch,
// none of its rows are in the log, so a later event of a property is never
// there without the earlier ones; they are marked published only once
// acknowledged, and go out again, in order, in the next pass. Rows a full
// record batch left out wait for the next pass too.
func (r *OutboxRelay) publish(batch []outboxRow) ([]outboxRow, error) {
	msgs := make([]TopicMessage, len(batch))
	for i, o := range batch {
		msgs[i] = TopicMessage{Topic: o.topic, Message: outboxMessage(o)}
	}
	errs := r.publisher.PublishBatches(msgs)
	var (
		sent     []outboxRow
		firstErr error
	)
	for i, o := range batch {
		switch {
		case errs[i] == nil:
			sent = append(sent, o)
		case errors.Is(errs[i], errBatchFull):
		case firstErr == nil:
			firstErr = fmt.Errorf("publish %s to %s: %w", o.eventID, o.topic, errs[i])
		}
	}
	return sent, firstErr
}

// outboxMessage turns an outbox row into the message consumers see: id =
// event id, payload = canonical event JSON, headers as metadata.
func outboxMessage(o outboxRow) *message.Message {
	msg := message.NewMessage(o.eventID, o.payload)
	for k, v := range o.headers {
		switch v := v.(type) {
		case string:
			msg.Metadata.Set(k, v)
		case nil:
		default:
			b, _ := json.Marshal(v)
			msg.Metadata.Set(k, string(b))
		}
	}
	msg.Metadata.Set(MetadataPartitionKey, o.partitionKey)
	msg.Metadata.Set(MetadataPropertyID, o.partitionKey)
	msg.Metadata.Set(MetadataEventType, o.eventType)
	if o.reservationID != nil {
		msg.Metadata.Set(MetadataReservationID, *o.reservationID)
	}
	msg.Metadata.Set(MetadataCorrelationID, correlationOf(o))
	if !o.createdAt.IsZero() {
		msg.Metadata.Set(MetadataCommittedAt, o.createdAt.UTC().Format(time.RFC3339Nano))
	}
	return msg
}

// correlationOf returns the row's correlation id: from its headers, else
// from the event, else the event id (stable across republishing).
func correlationOf(o outboxRow) string {
	if v, ok := o.headers[MetadataCorrelationID].(string); ok && v != "" {
		return v
	}
	var ev struct {
		CorrelationID string `json:"correlation_id"`
	}
	if json.Unmarshal(o.payload, &ev) == nil && ev.CorrelationID != "" {
		return ev.CorrelationID
	}
	return o.eventID
}

// Backlog returns how many outbox rows wait to be published and the age of
// the oldest.
func (r *OutboxRelay) Backlog(ctx context.Context) (int64, time.Duration, error) {
	var n int64
	var age float64
	err := r.pool.QueryRow(ctx, `SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
		FROM outbox WHERE published_at IS NULL`).Scan(&n, &age)
	if err != nil {
		return 0, 0, fmt.Errorf("outbox relay: backlog: %w", err)
	}
	return n, time.Duration(age * float64(time.Second)), nil
}
