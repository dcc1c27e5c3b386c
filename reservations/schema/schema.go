// Package schema applies the PostgreSQL migrations of every Roomwire package
// in one ordered run.
//
// Each package that keeps tables owns its migrations: files named
// NNNN_name.sql in its own migrations folder, embedded and registered from
// its init function (Register). A run applies every registered migration
// not yet applied, in the order of their numbers, whichever package owns
// them, each in its own transaction, and records it in schema_migrations by
// number and name. Numbers are unique across packages: the owner of a
// number never changes its SQL once released, and a migration moved from
// one package to another keeps its number and name, so a database that
// applied it before sees it as applied.
//
// A binary applies the migrations of the packages linked into it: `roomwire`
// links them all; a test binary gets the tables of the packages it tests.
package schema

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationLock is the advisory lock key held while migrating, so that several
// processes starting at once apply each migration exactly once.
const migrationLock = 0x526f6f6d77697265 // "Roomwire"

// Migration is one schema change.
type Migration struct {
	Version int
	Name    string // the file name without .sql: NNNN_name
	Owner   string // the package that registered it
	SQL     string
}

var (
	mu     sync.Mutex
	owners = map[string][]Migration{}
)

// Register adds the migrations of owner (a package's name): the files
// migrations/NNNN_name.sql of files, which is the package's
//
//	//go:embed migrations/*.sql
//
// Call it from the owner's init function. It panics on a second
// registration of owner or a file named otherwise: mistakes of the build,
// not of the database.
func Register(owner string, files fs.FS) {
	ms, err := read(owner, files)
	if err != nil {
		panic("schema: " + err.Error())
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := owners[owner]; dup {
		panic("schema: migrations of " + owner + " registered twice")
	}
	owners[owner] = ms
}

func read(owner string, files fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(files, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migrations of %s: %w", owner, err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s of %s: name must start with a positive number and an underscore", name, owner)
		}
		b, err := fs.ReadFile(files, "migrations/"+name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: strings.TrimSuffix(name, ".sql"), Owner: owner, SQL: string(b)})
	}
	return out, nil
}

// Migrations returns every registered migration in the order they apply:
// by number, whichever package owns them. Two migrations with one number
// are an error naming both.
func Migrations() ([]Migration, error) {
	mu.Lock()
	var out []Migration
	for _, ms := range owners {
		out = append(out, ms...)
	}
	mu.Unlock()
	return ordered(out)
}

func ordered(ms []Migration) ([]Migration, error) {
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if a, b := ms[i-1], ms[i]; a.Version == b.Version {
			return nil, fmt.Errorf("migrations %s (%s) and %s (%s) share version %d", a.Name, a.Owner, b.Name, b.Owner, a.Version)
		}
	}
	return ms, nil
}

// Migrate applies every registered migration not yet applied, each in its
// own transaction, and returns the names of those it applied.
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	migrations, err := Migrations()
	if err != nil {
		return nil, err
	}
	return apply(ctx, pool, migrations)
}

func apply(ctx context.Context, pool *pgxpool.Pool, migrations []Migration) ([]string, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLock)); err != nil {
		return nil, fmt.Errorf("migrate: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrationLock)) //nolint:errcheck
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	rows, err := conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	applied := map[int]bool{}
	for _, v := range versions {
		applied[v] = true
	}
	var done []string
	for _, m := range migrations {
		if applied[m.Version] {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
			return err
		})
		if err != nil {
			return done, fmt.Errorf("migrate: %s (%s): %w", m.Name, m.Owner, err)
		}
		done = append(done, m.Name)
	}
	return done, nil
}

// State is one registered migration and whether the database has it.
type State struct {
	Migration
	// AppliedAt is when it was applied; zero when it is pending.
	AppliedAt time.Time
}

// Status lists every registered migration with when it was applied, and
// any version the database has that this build does not know (applied by a
// newer Roomwire) as unknown. It changes nothing.
func Status(ctx context.Context, pool *pgxpool.Pool) (states []State, unknown []int, err error) {
	migrations, err := Migrations()
	if err != nil {
		return nil, nil, err
	}
	applied := map[int]time.Time{}
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return nil, nil, fmt.Errorf("migration status: %w", err)
	}
	if exists {
		rows, _ := pool.Query(ctx, "SELECT version, applied_at FROM schema_migrations ORDER BY version")
		var v int
		var at time.Time
		if _, err := pgx.ForEachRow(rows, []any{&v, &at}, func() error {
			applied[v] = at
			return nil
		}); err != nil {
			return nil, nil, fmt.Errorf("migration status: %w", err)
		}
	}
	for _, m := range migrations {
		states = append(states, State{Migration: m, AppliedAt: applied[m.Version]})
		delete(applied, m.Version)
	}
	for v := range applied {
		unknown = append(unknown, v)
	}
	sort.Ints(unknown)
	return states, unknown, nil
}
