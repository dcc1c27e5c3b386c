// Package reservations is Roomwire's core store: properties, per-night
// inventory and rates, reservations with every revision, idempotency keys,
// API keys and the transactional outbox, in PostgreSQL through pgx.
//
// Every change happens in one transaction that also writes the outbox events
// describing it, so an event is published if and only if its change committed.
// Inventory is exact: a booking takes its units with a conditional UPDATE of
// the per-night rows, so of many concurrent bookings for the last unit exactly
// one wins.
package reservations

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Domain errors. Wrapped errors carry the detail; test with errors.Is.
var (
	ErrNotFound            = errors.New("not found")
	ErrNoAvailability      = errors.New("no availability")
	ErrVersionConflict     = errors.New("version conflict")
	ErrIdempotencyConflict = errors.New("idempotency key reused with a different request")
	ErrInvalidState        = errors.New("invalid state")
)

// Store is the reservation store. It is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	now     func() time.Time
	catalog catalogCache
	// onBooking, when set, hears the outcome of every booking attempt.
	onBooking func(channel string, outcome BookingOutcome)
	// onOutbox is called after a commit that may have written outbox rows.
	onOutbox atomic.Pointer[func()]
}

// OnOutboxWritten sets fn to be called, in the committing goroutine, after
// each of this store's transactions that may have added outbox rows: the
// outbox relay of the same process wakes at once, without a trigger that
// would serialize every commit. fn must be quick and must not block.
func (s *Store) OnOutboxWritten(fn func()) { s.onOutbox.Store(&fn) }

func (s *Store) outboxWritten() {
	if fn := s.onOutbox.Load(); fn != nil {
		(*fn)()
	}
}

// New returns a store on pool. The schema must be migrated (see Migrate).
func New(pool *pgxpool.Pool) *Store {
	return &Store{
		pool:    pool,
		now:     func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		catalog: catalogCache{ttl: catalogTTL},
	}
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Scope is the set of properties a caller may see and change.
type Scope struct {
	All        bool     // every property (the admin key)
	Properties []string // otherwise, only these
}

// AllProperties is the scope of the admin key.
var AllProperties = Scope{All: true}

// Allows reports whether the scope includes property id.
func (s Scope) Allows(id string) bool {
	if s.All {
		return true
	}
	for _, p := range s.Properties {
		if p == id {
			return true
		}
	}
	return false
}

// inTx runs fn in a transaction and retries it when PostgreSQL aborts it for a
// deadlock or a serialization failure, which concurrent bookings of overlapping
// nights can cause.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = pgx.BeginFunc(ctx, s.pool, fn)
		if err == nil {
			s.outboxWritten()
		}
		if !isRetryableTxError(err) {
			return err
		}
	}
	return err
}

func isRetryableTxError(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40P01" || pg.Code == "40001"
	}
	return false
}

func isUniqueViolation(err error, constraint string) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505" && (constraint == "" || pg.ConstraintName == constraint)
}

func notFound(what, id string) error { return fmt.Errorf("%s %q: %w", what, id, ErrNotFound) }

// SetClock replaces the store's clock, which dates changes and decides what
// the lifecycle allows (a check-in from the arrival day, say). Tests and
// simulations use it; nil restores the wall clock.
func (s *Store) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.now = func() time.Time { return now().UTC().Truncate(time.Microsecond) }
}
