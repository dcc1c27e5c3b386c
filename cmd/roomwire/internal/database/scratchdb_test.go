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
