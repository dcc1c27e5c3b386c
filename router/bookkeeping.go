package router

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// groupRounds is how many rounds of a group run at once. While they run,
// the items of deliveries arriving meanwhile queue up and go together in
// the next one.
const groupRounds = 2

// maxGroup bounds the items of one round.
const maxGroup = 500

var errGroupStopped = errors.New("router: stopped")

// group runs the PostgreSQL work of many concurrent deliveries together: a
// round takes every item queued and does all of them in one round trip
// (run), so that consumers handling many messages at once take one pool
// connection and one transaction per round, not one per message. Each
// caller waits for the round that took its item.
type group[T any] struct {
	run      func(items []*T) error
	queue    chan groupItem[T]
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

type groupItem[T any] struct {
	item *T
	done chan error
}

func newGroup[T any](run func(items []*T) error) *group[T] {
	g := &group[T]{run: run, queue: make(chan groupItem[T]), stop: make(chan struct{})}
	for range groupRounds {
		g.wg.Add(1)
		go g.rounds()
	}
	return g
}

// do has item done in the next round and returns that round's error.
func (g *group[T]) do(item *T) error {
	gi := groupItem[T]{item: item, done: make(chan error, 1)}
	select {
	case g.queue <- gi:
	case <-g.stop:
		return errGroupStopped
	}
	return <-gi.done
}

// close stops the group once no round is running.
func (g *group[T]) close() {
	g.stopOnce.Do(func() { close(g.stop) })
	g.wg.Wait()
}

func (g *group[T]) rounds() {
	defer g.wg.Done()
	for {
		var queued []groupItem[T]
		select {
		case gi := <-g.queue:
			queued = append(queued, gi)
		case <-g.stop:
			return
		}
	more:
		for len(queued) < maxGroup {
			select {
			case gi := <-g.queue:
				queued = append(queued, gi)
			default:
				break more
			}
		}
		items := make([]*T, len(queued))
		for i, gi := range queued {
			items[i] = gi.item
		}
		err := g.run(items)
		for _, gi := range queued {
			gi.done <- err
		}
	}
}

// bookkeeping is what one delivery records once handled: its dedup record
// (when it was handled) and its timeline entry.
type bookkeeping struct {
	mark    *[2]string  // consumer, message id
	covered [][2]string // consumer, id of each waiting message the handling covered
	entry   *TimelineEntry
	// durable asks for a commit that waits for the WAL flush: the handler
	// committed a write asynchronously under the delivery's flush promise
	// (canonical.WithFlushPromise), and this commit makes it durable.
	durable bool
}

// recordBookkeeping writes the bookkeeping of items in one transaction,
// committed asynchronously (asyncCommitSQL) unless an item is durable.
// Each delivery waits for its own records before its message is
// acknowledged, exactly as with a commit of its own, so which crash loses
// what does not change.
func recordBookkeeping(pool *pgxpool.Pool, timeline *MessageTimeline) func([]*bookkeeping) error {
	return func(items []*bookkeeping) error {
		b, err := bookkeepingBatch(timeline, items)
		if b == nil || err != nil {
			return err
		}
		ctx := context.Background()
		return withDBRetry(ctx, func() error { return pool.SendBatch(ctx, b).Close() })
	}
}

// bookkeepingBatch is the transaction that records items; nil when there
// is nothing to record.
func bookkeepingBatch(timeline *MessageTimeline, items []*bookkeeping) (*pgx.Batch, error) {
	var consumers, ids []string
	var entries []TimelineEntry
	durable := false
	for _, it := range items {
		if it.mark != nil {
			consumers, ids = append(consumers, it.mark[0]), append(ids, it.mark[1])
		}
		for _, m := range it.covered {
			consumers, ids = append(consumers, m[0]), append(ids, m[1])
		}
		if it.entry != nil {
			entries = append(entries, *it.entry)
		}
		durable = durable || it.durable
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	if !durable {
		b.Queue(asyncCommitSQL)
	}
	begun := b.Len()
	if len(ids) > 0 {
		b.Queue(`INSERT INTO processed_messages (consumer, message_id)
			SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`, consumers, ids)
	}
	if err := timeline.queueRecordAll(b, entries); err != nil {
		return nil, err
	}
	if b.Len() == begun {
		return nil, nil
	}
	b.Queue("COMMIT")
	return b, nil
}

// arrival is what a consumer reads before handling a message: whether its
// property has messages parked ahead of it, and whether it was handled
// before.
type arrival struct {
	consumer, key, messageID string
	parked, seen             bool
}

// readArrivals reads the arrivals of items in one query.
func readArrivals(pool *pgxpool.Pool) func([]*arrival) error {
	return func(items []*arrival) error {
		consumers, keys, ids := make([]string, len(items)), make([]string, len(items)), make([]string, len(items))
		for i, a := range items {
			consumers[i], keys[i], ids[i] = a.consumer, a.key, a.messageID
		}
		// Lateral look-ups, one index probe each. As EXISTS sub-selects
		// the planner may hash the whole of processed_messages on every
		// call instead (it did, once the table had grown under load).
		rows, err := pool.Query(context.Background(), `SELECT p.found IS NOT NULL, m.found IS NOT NULL
			FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS q(consumer, key, id, n)
			LEFT JOIN LATERAL (SELECT true AS found FROM parked_messages
				WHERE consumer = q.consumer AND partition_key = q.key LIMIT 1) p ON true
			LEFT JOIN LATERAL (SELECT true AS found FROM processed_messages
				WHERE consumer = q.consumer AND message_id = q.id LIMIT 1) m ON true
			ORDER BY q.n`,
			consumers, keys, ids)
		if err != nil {
			return fmt.Errorf("parking and dedup: %w", err)
		}
		defer rows.Close()
		i := 0
		for rows.Next() {
			if i == len(items) {
				return fmt.Errorf("parking and dedup: more rows than asked for")
			}
			if err := rows.Scan(&items[i].parked, &items[i].seen); err != nil {
				return fmt.Errorf("parking and dedup: %w", err)
			}
			i++
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("parking and dedup: %w", err)
		}
		if i != len(items) {
			return fmt.Errorf("parking and dedup: %d rows for %d messages", i, len(items))
		}
		return nil
	}
}
