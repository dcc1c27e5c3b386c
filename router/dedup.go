package router

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// dbtx is what the stores need of a pool or a transaction.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// processedMessages is the deduplication record: which consumer has handled
// which message id. It lives in PostgreSQL so that every process, and a
// restarted one, sees it.
type processedMessages struct{ pool *pgxpool.Pool }

func (p processedMessages) seen(ctx context.Context, consumer, messageID string) (bool, error) {
	var seen bool
	err := p.pool.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM processed_messages WHERE consumer = $1 AND message_id = $2)`,
		consumer, messageID).Scan(&seen)
	if err != nil {
		return false, fmt.Errorf("dedup: %w", err)
	}
	return seen, nil
}

// markProcessedSQL records that consumer $1 handled message $2.
const markProcessedSQL = `INSERT INTO processed_messages (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`

func (p processedMessages) mark(ctx context.Context, db dbtx, consumer, messageID string) error {
	mark := func() error {
		_, err := db.Exec(ctx, markProcessedSQL, consumer, messageID)
		return err
	}
	var err error
	if _, inTx := db.(pgx.Tx); inTx {
		err = mark() // the caller's transaction decides
	} else {
		err = withDBRetry(ctx, mark)
	}
	if err != nil {
		return fmt.Errorf("dedup: %w", err)
	}
	return nil
}

// withDBRetry runs fn up to ten times, pausing longer between tries (about
// ten seconds in all): a record written after a message was handled must
// survive dropped connections, which the pool replaces one by one (a pool
// whose connections were all cut hands out several dead ones in a row).
func withDBRetry(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(min(time.Duration(attempt)*100*time.Millisecond, 2*time.Second)):
			}
		}
		if err = fn(); err == nil {
			return nil
		}
	}
	return err
}

// forget removes ids older than retention and returns how many went.
func (p processedMessages) forget(ctx context.Context, retention time.Duration) (int64, error) {
	tag, err := p.pool.Exec(ctx,
		`DELETE FROM processed_messages WHERE processed_at < now() - make_interval(secs => $1)`,
		retention.Seconds())
	if err != nil {
		return 0, fmt.Errorf("dedup: forget: %w", err)
	}
	return tag.RowsAffected(), nil
}

// MarkProcessed records, inside the caller's transaction, that the message
// the handler is working on (ctx is the message's context) has been
// handled. A handler whose effect is a PostgreSQL write calls it in the same
// transaction, so the effect and the dedup record commit together and a
// redelivery can never apply the effect twice. Handlers that do not call it
// are still deduplicated, right after they return.
func MarkProcessed(ctx context.Context, tx pgx.Tx) error {
	d, ok := DeliveryFrom(ctx)
	if !ok {
		return fmt.Errorf("dedup: MarkProcessed outside a handler")
	}
	return processedMessages{}.mark(ctx, tx, d.Consumer, d.MessageID)
}
