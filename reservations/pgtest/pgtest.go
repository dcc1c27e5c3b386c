// Package pgtest gives each test its own fresh, migrated PostgreSQL database on
// the real server at DATABASE_URL (default: the local server on 127.0.0.1:5432),
// and drops it when the test ends. A test database has the tables of every
// package linked into the test binary (see package schema).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	// The store's tables are in every test database; each other package's
	// are there when its test binary links that package.
	_ "github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/schema"
)

// DefaultURL is the server tests use when DATABASE_URL is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ServerURL returns DATABASE_URL or DefaultURL.
func ServerURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// template migrates one database per test binary; every test database is a
// copy of it, which is much faster than migrating each one.
func template(ctx context.Context) (string, error) {
	templateOnce.Do(func() {
		name := "roomwire_tpl_" + randomSuffix()
		if templateErr = createDatabase(ctx, name, ""); templateErr != nil {
			return
		}
		pool, err := pgxpool.New(ctx, WithDatabase(ServerURL(), name))
		if err != nil {
			templateErr = err
			return
		}
		defer pool.Close()
		if _, err := schema.Migrate(ctx, pool); err != nil {
			templateErr = err
			return
		}
		templateName = name
	})
	return templateName, templateErr
}

// URL creates a fresh migrated database for t and returns its connection URL.
// The database is dropped when t ends.
func URL(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	tpl, err := template(ctx)
	if err != nil {
		t.Fatalf("pgtest: PostgreSQL at %s is needed for this test (set DATABASE_URL): %v", redact(ServerURL()), err)
	}
	name := "roomwire_test_" + randomSuffix()
	if err := createDatabase(ctx, name, tpl); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() { dropDatabase(context.Background(), name) })
	return WithDatabase(ServerURL(), name)
}

// EmptyURL creates a fresh database with no tables for t, dropped when t
// ends, and returns its connection URL: for tests of migrating itself.
func EmptyURL(t testing.TB) string {
	t.Helper()
	name := "roomwire_test_" + randomSuffix()
	if err := createDatabase(context.Background(), name, ""); err != nil {
		t.Fatalf("pgtest: PostgreSQL at %s is needed for this test (set DATABASE_URL): %v", redact(ServerURL()), err)
	}
	t.Cleanup(func() { dropDatabase(context.Background(), name) })
	return WithDatabase(ServerURL(), name)
}

// Pool creates a fresh migrated database for t and returns a pool of 20
// connections on it (pgxpool's default would be as many as the CPUs).
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return PoolWithSize(t, 20)
}

// PoolWithSize is Pool with at most maxConns connections.
func PoolWithSize(t testing.TB, maxConns int32) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(URL(t))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// DropTemplate drops the template database; call it from TestMain after m.Run.
func DropTemplate() {
	if templateName != "" {
		dropDatabase(context.Background(), templateName)
	}
}

// WithDatabase returns the server URL u pointing at database name.
func WithDatabase(u, name string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return u
	}
	parsed.Path = "/" + name
	return parsed.String()
}

func createDatabase(ctx context.Context, name, template string) error {
	conn, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		sql += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	_, err = conn.Exec(ctx, sql)
	return err
}

func dropDatabase(ctx context.Context, name string) {
	conn, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)") //nolint:errcheck
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "DATABASE_URL"
	}
	if p.User != nil {
		if _, has := p.User.Password(); has {
			p.User = url.UserPassword(p.User.Username(), "xxxxx")
		}
	}
	return p.String()
}

// Main runs a test binary's tests and drops the template afterwards:
// func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	DropTemplate()
	return code
}
