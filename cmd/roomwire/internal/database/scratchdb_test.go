package database

import (
	"context"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/reservations/pgtest"
)

func TestScratchDatabaseIsCreatedAndDropped(t *testing.T) {
	ctx := context.Background()
	server := pgtest.ServerURL()
	name, dbURL, err := CreateScratch(ctx, server, "scratchtest")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(name, "roomwire_scratchtest_") || !strings.Contains(dbURL, "/"+name) {
		t.Fatalf("scratch database %q at %s", name, dbURL)
	}
	exists := func() bool {
		conn, err := ConnectServer(ctx, server)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !exists() {
		t.Fatalf("%s was not created", name)
	}
	// A connection still open does not keep it.
	conn, err := ConnectServer(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := DropScratch(ctx, server, name); err != nil {
		t.Fatal(err)
	}
	if exists() {
		t.Fatalf("%s is still there", name)
	}
}

func TestServerAddrHidesCredentials(t *testing.T) {
	got := ServerAddr("postgres://roomwire:s3cret@db.example:5433/roomwire?sslmode=disable")
	if strings.Contains(got, "s3cret") || strings.Contains(got, "roomwire:") || !strings.Contains(got, "db.example:5433") {
		t.Fatalf("ServerAddr = %q", got)
	}
}

// Runs started together (a script starting several chaos runs) each get a
// database of their own, even within one millisecond.
func TestScratchDatabasesStartedTogetherGetTheirOwn(t *testing.T) {
	ctx := context.Background()
	server := pgtest.ServerURL()
	const runs = 6
	names := make(chan string, runs)
	errs := make(chan error, runs)
	start := make(chan struct{})
	for range runs {
		go func() {
			<-start
			name, _, err := CreateScratch(ctx, server, "togethertest")
			names <- name
			errs <- err
		}()
	}
	close(start)
	seen := map[string]bool{}
	for range runs {
		name, err := <-names, <-errs
		if err != nil {
			t.Error(err)
			continue
		}
		t.Cleanup(func() { DropScratch(context.Background(), server, name) })
		if seen[name] {
			t.Errorf("two runs got %s", name)
		}
		seen[name] = true
	}
}
