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
		{"unknown key", "http:\n  adress: x\n", []string{`line 2: http.adress: unknown key`}},
		{"bad values", "http:\n  addr: nowhere\n  admin_key: short\nkafka:\n  version: new\n  sasl:\n    mechanism: GSSAPI\nlog:\n  level: loud\n",
			[]string{"http.addr", "http.admin_key", "kafka.version", "kafka.sasl.mechanism", "log.level"}},
		{"bad duration", "http:\n  request_timeout: soon\n", []string{`line 2: http.request_timeout: "soon" is not a duration`}},
		{"every type error, with its key and line", "log:\n  level: info\nbackbone:\n  partitions: many\n  retries: [1]\n  breaker_open_for: 5 minutes\ndatabase:\n  migrate_on_start: sometimes\n",
			[]string{`line 4: backbone.partitions: "many" is not a whole number`, `line 5: backbone.retries:`, `line 6: backbone.breaker_open_for: "5 minutes" is not a duration`,
				`line 8: database.migrate_on_start: "sometimes" is not true or false`}},
		{"type and unknown-key errors together", "http:\n  adress: x\n  max_body_bytes: big\n", []string{`line 2: http.adress: unknown key`, `line 3: http.max_body_bytes: "big" is not a whole number`}},
		{"Kafka before 0.11", "kafka:\n  version: 0.10.2.1\n", []string{`line 2: kafka.version: must be 0.11.0.0 or newer`}},
		{"Kafka 0.x in three numbers", "kafka:\n  version: 0.8.0\n", []string{"kafka.version: must be 0.11.0.0 or newer"}},
		{"Kafka version that is no version", "kafka:\n  version: latest\n", []string{"kafka.version: must be a Kafka version"}},
		{"a fraction for a whole number", "backbone:\n  partitions: 1.5\n", []string{`line 2: backbone.partitions: "1.5" is not a whole number`}},
		{"no partitions", "backbone:\n  partitions: 0\n", []string{"line 2: backbone.partitions: must be between 1 and 1000, got 0"}},
		{"negative partitions", "backbone:\n  partitions: -3\n", []string{"backbone.partitions: must be between 1 and 1000, got -3"}},
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

func TestGoodKafkaVersionsAndZeroRetries(t *testing.T) {
	for _, v := range []string{"0.11.0.0", "0.11.0.2", "1.0.0", "2.1.0", "3.6.0", "4.0.0"} {
		c := &config.Config{}
		if err := config.Parse([]byte("kafka:\n  version: "+v+"\nbackbone:\n  retries: 0\n"), c); err != nil {
			t.Fatal(err)
		}
		c.SetDefaults()
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", v, err)
		}
		if c.Backbone.Retries != 0 {
			t.Errorf("retries: 0 became %d", c.Backbone.Retries)
		}
	}
}
