package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomwire/roomwire/config"
)

func TestExampleFileLoadsToTheDefaults(t *testing.T) {
	for name := range config.EnvVars() {
		t.Setenv(name, "")
	}
	c, err := config.Load("roomwire.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := &config.Config{}
	d.SetDefaults()
	if c.Database.URL != d.Database.URL || c.HTTP.Addr != d.HTTP.Addr || c.Kafka.Version != d.Kafka.Version ||
		c.HTTP.RequestTimeout != d.HTTP.RequestTimeout || c.StateDir != d.StateDir || !c.UsesEmbeddedBroker() {
		t.Fatalf("example file differs from the defaults: %+v", c)
	}
}

func TestEnvironmentOverridesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("http:\n  addr: 127.0.0.1:9000\nkafka:\n  brokers: [a:9092]\n"), 0o600)
	t.Setenv("ROOMWIRE_HTTP_ADDR", "0.0.0.0:8081")
	t.Setenv("ROOMWIRE_KAFKA_BROKERS", "k1:9092, k2:9092")
	t.Setenv("ROOMWIRE_ADMIN_KEY", "0123456789abcdef0123")
	t.Setenv("DATABASE_URL", "postgres://u@db:5432/rw")
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != "0.0.0.0:8081" || strings.Join(c.Kafka.Brokers, ",") != "k1:9092,k2:9092" ||
		c.HTTP.AdminKey != "0123456789abcdef0123" || c.Database.URL != "postgres://u@db:5432/rw" {
		t.Fatalf("env not applied: %+v", c)
	}
}

func TestValidationNamesEveryBadKey(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "http:\n  adress: x\n", []string{`line 2: unknown key "adress" in http`}},
		{"bad values", "http:\n  addr: nowhere\n  admin_key: short\nkafka:\n  version: new\n  sasl:\n    mechanism: GSSAPI\nlog:\n  level: loud\n",
			[]string{"http.addr", "http.admin_key", "kafka.version", "kafka.sasl.mechanism", "log.level"}},
		{"bad duration", "http:\n  request_timeout: soon\n", []string{`line 2: "soon" is not a duration`}},
		{"sasl without password", "kafka:\n  sasl:\n    mechanism: PLAIN\n    user: u\n", []string{"kafka.sasl: mechanism PLAIN needs user and password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for name := range config.EnvVars() {
				t.Setenv(name, "")
			}
			path := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(path, []byte(tt.yaml), 0o600)
			_, err := config.Load(path)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestRequireAdminKeySaysHowToSetIt(t *testing.T) {
	c := &config.Config{}
	c.SetDefaults()
	if err := c.RequireAdminKey(); err == nil || !strings.Contains(err.Error(), "ROOMWIRE_ADMIN_KEY") {
		t.Fatalf("err = %v", err)
	}
}
