package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/roomwire/roomwire/cmd/roomwire/internal/database"
	"github.com/roomwire/roomwire/reservations/pgtest"
)

func roomwireWithDB(t *testing.T, dbURL string, args ...string) (int, string) {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// migrate creates a missing database and says so; status and --dry-run
// change nothing.
func TestMigrateCreatesTheDatabaseAndReportsStatus(t *testing.T) {
	name := fmt.Sprintf("roomwire_migtest_%d", time.Now().UnixNano())
	dbURL := pgtest.WithDatabase(pgtest.ServerURL(), name)
	t.Cleanup(func() {
		if err := database.DropScratch(context.Background(), pgtest.ServerURL(), name); err != nil {
			t.Log(err)
		}
	})
	code, out := roomwireWithDB(t, dbURL, "migrate", "--dry-run")
	if code != 1 || !strings.Contains(out, fmt.Sprintf("has no database %q", name)) || !strings.Contains(out, "roomwire migrate") {
		t.Fatalf("dry run on a missing database: exit %d\n%s", code, out)
	}
	code, out = roomwireWithDB(t, dbURL, "migrate")
	if code != 0 || !strings.Contains(out, "created the database") || !strings.Contains(out, "applied 0001_") {
		t.Fatalf("migrate: exit %d\n%s", code, out)
	}
	code, out = roomwireWithDB(t, dbURL, "migrate", "status")
	if code != 0 || !strings.Contains(out, "0 pending") || strings.Contains(out, "pending\n") {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
	code, out = roomwireWithDB(t, dbURL, "migrate", "--dry-run")
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
}

// A server that does not answer, a missing role and a refused password are
// each told in their own words.
func TestMigrateTellsConnectionFailuresApart(t *testing.T) {
	u, err := url.Parse(pgtest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	noRole := *u
	noRole.User = url.UserPassword("roomwire_no_such_role", "x")
	down := *u
	down.Host = freeAddr(t)
	for _, tc := range []struct {
		url, want string
	}{
		{down.String(), "cannot reach PostgreSQL at " + down.Host},
		// With password authentication the server does not tell a missing
		// role from a wrong password; with trust it says the role is missing.
		{noRole.String(), `user "roomwire_no_such_role"`},
	} {
		code, out := roomwireWithDB(t, tc.url, "migrate", "status")
		if code != 1 || !strings.Contains(out, tc.want) || strings.Count(out, "\n") > 2 {
			t.Errorf("%s: exit %d, want %q:\n%s", tc.want, code, tc.want, out)
		}
	}
}
