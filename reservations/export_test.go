package reservations

import "github.com/jackc/pgx/v5/pgxpool"

// Pool returns the store's connection pool, for this package's tests to
// look at its tables. Others ask the store.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }
