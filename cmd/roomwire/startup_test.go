package main

import (
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/reservations/pgtest"
)

// Every way serve can fail to start ends with its cause and what to do, a
// non-zero exit, and no panic.
func TestServeStartupFailuresNameTheirCause(t *testing.T) {
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	closedPort := freeAddr(t) // nothing listens there once freeAddr returns
	dbURL := pgtest.URL(t)
	otherDB := func(user, db string) string {
		u, _ := url.Parse(dbURL)
		if user != "" {
			u.User = url.UserPassword(user, "wrong")
		}
		if db != "" {
			u.Path = "/" + db
		}
		return u.String()
	}
	unreachableDB := func() string {
		u, _ := url.Parse(dbURL)
		u.Host = closedPort
		return u.String()
	}()
	tests := []struct {
		name   string
		args   []string
		db     string
		env    []string
		config string
		want   []string // each must appear in the output
	}{
		{"PostgreSQL unreachable", nil, unreachableDB, nil, "", []string{"cannot reach PostgreSQL", closedPort, "DATABASE_URL"}},
		{"unknown role", nil, otherDB("no_such_role_x", ""), nil, "", []string{"no_such_role_x", "DATABASE_URL"}},
		{"missing database", []string{"--no-migrate"}, otherDB("", "no_such_database_x"), nil, "", []string{"no_such_database_x", "roomwire migrate"}},
		{"embedded Kafka port busy", nil, dbURL, []string{"ROOMWIRE_KAFKA_EMBEDDED_ADDR=" + busy.Addr().String()}, "",
			[]string{busy.Addr().String(), "address already in use", "kafka.embedded_addr"}},
		{"brokers unreachable", nil, dbURL, []string{"ROOMWIRE_KAFKA_BROKERS=" + closedPort}, "", []string{closedPort, "kafka.brokers"}},
		{"unknown connector", nil, dbURL, nil, "connectors:\n  nosuch: {}\n", []string{"connectors.nosuch", "no such connector", "ota"}},
		{"bad connector keys", nil, dbURL, nil, "connectors:\n  ota:\n    inbound_user: x\n    bogus_key: 1\n",
			[]string{"bogus_key", "inbound_password", "ROOMWIRE_OTA_INBOUND_PASSWORD"}},
		{"unknown kind", nil, dbURL, nil, "connectors:\n  channel-a: {kind: nosuch}\n", []string{"connectors.channel-a", `no such connector "nosuch"`, "ota"}},
		{"second instance without its secret", nil, dbURL, []string{"ROOMWIRE_OTA_INBOUND_PASSWORD=the-kind-s-password"},
			"connectors:\n  channel-b: {kind: ota, inbound_user: x}\n", []string{"connectors.channel-b", "ROOMWIRE_CHANNEL_B_INBOUND_PASSWORD"}},
		{"Kafka version too old", nil, dbURL, nil, "kafka:\n  version: 0.8.0\n", []string{"kafka.version", "0.8.0", "0.11"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"serve"}, tt.args...)
			if tt.config != "" {
				path := filepath.Join(t.TempDir(), "roomwire.yaml")
				if err := os.WriteFile(path, []byte(tt.config), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", path)
			}
			cmd := exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), "DATABASE_URL="+tt.db, "ROOMWIRE_HTTP_ADDR="+freeAddr(t), "ROOMWIRE_ADMIN_KEY="+testAdminKey,
				"ROOMWIRE_STATE_DIR="+t.TempDir(), "ROOMWIRE_KAFKA_EMBEDDED_ADDR=127.0.0.1:0", "ROOMWIRE_KAFKA_BROKERS=")
			cmd.Env = append(cmd.Env, tt.env...)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("serve started (or exited 0):\n%s", out)
			}
			if _, ok := err.(*exec.ExitError); !ok {
				t.Fatalf("serve did not run: %v", err)
			}
			text := string(out)
			if strings.Contains(text, "panic") || strings.Contains(text, "goroutine ") {
				t.Fatalf("serve panicked instead of naming the cause:\n%s", text)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("the output does not say %q:\n%s", w, text)
				}
			}
		})
	}
}
