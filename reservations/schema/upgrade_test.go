package schema_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	// Every package that owns tables, as the roomwire binary links them.
	_ "github.com/roomwire/roomwire/connectors"
	_ "github.com/roomwire/roomwire/connectors/arifanout"
	_ "github.com/roomwire/roomwire/connectors/notify"
	_ "github.com/roomwire/roomwire/reservations"
	"github.com/roomwire/roomwire/reservations/pgtest"
	"github.com/roomwire/roomwire/reservations/schema"
	_ "github.com/roomwire/roomwire/router"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// released is testdata/released.txt: every migration a released Roomwire
// applied, by name, with the SHA-256 of its SQL, as one folder
// (reservations/migrations) held them all.
type released struct{ name, sum string }

func readReleased(t *testing.T) []released {
	t.Helper()
	f, err := os.Open("testdata/released.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []released
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, sum, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			t.Fatalf("testdata/released.txt: %q", sc.Text())
		}
		out = append(out, released{name, sum})
	}
	return out
}

// registered returns every registered migration in order, and by name.
func registered(t *testing.T) ([]schema.Migration, map[string]schema.Migration) {
	t.Helper()
	all, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]schema.Migration{}
	for _, m := range all {
		byName[m.Name] = m
	}
	return all, byName
}

func sum(sql string) string {
	h := sha256.Sum256([]byte(sql))
	return hex.EncodeToString(h[:])
}

func TestReleasedMigrationsKeepTheirNumberNameAndSQL(t *testing.T) {
	all, byName := registered(t)
	for _, r := range readReleased(t) {
		m, ok := byName[r.name]
		switch {
		case !ok:
			t.Errorf("%s: no package registers it any more; a database that applied it would not know it", r.name)
		case sum(m.SQL) != r.sum:
			t.Errorf("%s (%s): its SQL changed since it was released; write a new migration instead", r.name, m.Owner)
		}
	}
	// The run is deterministic: by number, the same on every call.
	again, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(all, again) {
		t.Fatal("two calls listed the migrations differently")
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].Version >= all[i].Version {
			t.Fatalf("%s before %s", all[i-1].Name, all[i].Name)
		}
	}
}

// TestADatabaseOfTheOldLayoutUpgradesWithoutRerunningAnything migrates a
// database as Roomwire did when one folder held every migration, then runs
// the per-package migrations on it: nothing released runs again, and the
// schema ends as a fresh database's.
func TestADatabaseOfTheOldLayoutUpgradesWithoutRerunningAnything(t *testing.T) {
	ctx := context.Background()
	old := pool(t, pgtest.EmptyURL(t))
	all, byName := registered(t)
	// The old run: schema_migrations as it created it, then each file in
	// order of its number, recorded by number and name.
	if _, err := old.Exec(ctx, `CREATE TABLE schema_migrations (
		version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	releasedNames := map[string]bool{}
	for _, r := range readReleased(t) {
		m, ok := byName[r.name]
		if !ok {
			t.Fatalf("%s: no package registers it any more", r.name)
		}
		releasedNames[r.name] = true
		if _, err := old.Exec(ctx, m.SQL); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		if _, err := old.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}

	applied, err := schema.Migrate(ctx, old)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	var want []string
	for _, m := range all {
		if !releasedNames[m.Name] {
			want = append(want, m.Name)
		}
	}
	if !reflect.DeepEqual(applied, want) {
		t.Fatalf("the upgrade applied %v, want only the migrations released since: %v", applied, want)
	}
	again, err := schema.Migrate(ctx, old)
	if err != nil || len(again) != 0 {
		t.Fatalf("a second run applied %v (%v)", again, err)
	}
	states, unknown, err := schema.Status(ctx, old)
	if err != nil || len(unknown) != 0 {
		t.Fatalf("status: unknown %v, %v", unknown, err)
	}
	for _, s := range states {
		if s.AppliedAt.IsZero() {
			t.Errorf("%s (%s) is pending after the upgrade", s.Name, s.Owner)
		}
	}

	fresh := pool(t, pgtest.EmptyURL(t))
	if _, err := schema.Migrate(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if a, b := describe(t, old), describe(t, fresh); !reflect.DeepEqual(a, b) {
		t.Fatalf("the upgraded schema differs from a fresh one:\nupgraded %v\nfresh    %v", a, b)
	}
}

func pool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// describe lists a database's columns, indexes, constraints and recorded
// migrations, in order.
func describe(t *testing.T, p *pgxpool.Pool) []string {
	t.Helper()
	rows, _ := p.Query(context.Background(), `
		SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
		FROM information_schema.columns WHERE table_schema = 'public'
		UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
		UNION ALL SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
		FROM pg_constraint WHERE connamespace = 'public'::regnamespace
		UNION ALL SELECT 'migration ' || version || ' ' || name FROM schema_migrations
		ORDER BY 1`)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}
