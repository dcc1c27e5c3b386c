package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/roomwire/roomwire/config"
)

func TestExampleFileLoadsToTheDefaults(t *testing.T) {
	if c := loadsToTheDefaults(t, "roomwire.example.yaml"); !c.UsesEmbeddedBroker() {
		t.Fatal("the example runs no embedded broker")
	}
}

// loadsToTheDefaults loads the file at path, with no environment, and
// fails unless it sets every key to its default.
func loadsToTheDefaults(t *testing.T, path string) *config.Config {
	t.Helper()
	for name := range config.EnvVars() {
		t.Setenv(name, "")
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	d := &config.Config{}
	d.SetDefaults()
	if got, want := asYAML(t, c), asYAML(t, d); got != want {
		t.Fatalf("%s differs from the defaults:\n%s\nwant\n%s", path, got, want)
	}
	return c
}

func asYAML(t *testing.T, c *config.Config) string {
	t.Helper()
	b, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The example file is generated from the spec; editing the spec without
// generating it again fails here.
func TestExampleFileIsGeneratedFromTheSpec(t *testing.T) {
	b, err := os.ReadFile("roomwire.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(config.Example()) {
		t.Fatal("config/roomwire.example.yaml is out of step with the configuration spec: run go generate ./config")
	}
}

// Files written before the configuration had a spec (the example of that
// time; a file setting every key of that time to another value than its
// default) and the environment variables of that time keep their meaning.
func TestFilesAndEnvironmentOfBeforeTheSpecKeepWorking(t *testing.T) {
	loadsToTheDefaults(t, "testdata/before-spec.yaml")

	old := `
database: {url: "postgres://u@db:5432/x", max_conns: 7, migrate_on_start: false}
http: {addr: "0.0.0.0:9000", admin_key: "0123456789abcdef0", metrics_key: "fedcba98765432100", max_body_bytes: 2048, request_timeout: 2s, shutdown_timeout: 3s}
kafka:
  brokers: [k1:9092]
  client_id: rw
  version: 3.6.0
  embedded_addr: 127.0.0.1:29092
  idempotent_producer: true
  sasl: {mechanism: PLAIN, user: u, password: p}
backbone: {partitions: 3, consumer_group_prefix: "x.", retries: 0, retry_initial: 10ms, retry_max: 20ms, handler_timeout: 4s,
  breaker_failures: 9, breaker_open_for: 5s, parked_retry_interval: 6s}
mappings_file: m.yaml
notifications:
  default_language: pt
  retention: 2h
  webhooks: {allow_private_targets: true, allow_http: true, timeout: 1s, disable_after_failures: 3, disable_after: 1h, unhealthy_after: 1m}
  email: {host: smtp.example.com, port: 25, starttls: required, from: "H <h@example.com>", timeout: 2s}
  sms: {provider: webhook, url: "https://sms.example.com", token: t}
log: {level: debug, format: json}
state_dir: /var/lib/roomwire
`
	c := &config.Config{}
	if err := config.Parse([]byte(old), c); err != nil {
		t.Fatal(err)
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		key       string
		got, want any
	}{
		{"database.url", c.Database.URL, "postgres://u@db:5432/x"},
		{"database.max_conns", c.Database.MaxConns, int32(7)},
		{"database.migrate_on_start", *c.Database.MigrateOnStart, false},
		{"http.addr", c.HTTP.Addr, "0.0.0.0:9000"},
		{"http.max_body_bytes", c.HTTP.MaxBodyBytes, int64(2048)},
		{"http.request_timeout", c.HTTP.RequestTimeout, 2 * time.Second},
		{"http.shutdown_timeout", c.HTTP.ShutdownTimeout, 3 * time.Second},
		{"kafka.brokers", strings.Join(c.Kafka.Brokers, ","), "k1:9092"},
		{"kafka.client_id", c.Kafka.ClientID, "rw"},
		{"kafka.version", c.Kafka.Version, "3.6.0"},
		{"kafka.embedded_addr", c.Kafka.EmbeddedAddr, "127.0.0.1:29092"},
		{"kafka.idempotent_producer", c.Kafka.IdempotentProducer, true},
		{"kafka.sasl.password", c.Kafka.SASL.Password, "p"},
		{"backbone.partitions", c.Backbone.Topics.Partitions, int32(3)},
		{"backbone.consumer_group_prefix", c.Backbone.ConsumerGroupPrefix, "x."},
		{"backbone.retries", c.Backbone.Retry.MaxRetries, 0},
		{"backbone.retry_initial", c.Backbone.Retry.InitialInterval, 10 * time.Millisecond},
		{"backbone.retry_max", c.Backbone.Retry.MaxInterval, 20 * time.Millisecond},
		{"backbone.handler_timeout", c.Backbone.HandlerTimeout, 4 * time.Second},
		{"backbone.breaker_failures", c.Backbone.Breaker.ConsecutiveFailures, uint32(9)},
		{"backbone.breaker_open_for", c.Backbone.Breaker.OpenTimeout, 5 * time.Second},
		{"backbone.parked_retry_interval", c.Backbone.ParkedRetryInterval, 6 * time.Second},
		{"mappings_file", c.MappingsFile, "m.yaml"},
		{"notifications.default_language", c.Notifications.DefaultLanguage, "pt"},
		{"notifications.retention", c.Notifications.Retention, 2 * time.Hour},
		{"notifications.webhooks.allow_private_targets", c.Notifications.Webhooks.Targets.AllowPrivate, true},
		{"notifications.webhooks.allow_http", c.Notifications.Webhooks.Targets.AllowHTTP, true},
		{"notifications.webhooks.timeout", c.Notifications.Webhooks.Timeout, time.Second},
		{"notifications.webhooks.disable_after_failures", c.Notifications.Webhooks.DisableAfterFailures, 3},
		{"notifications.webhooks.disable_after", c.Notifications.Webhooks.DisableAfter, time.Hour},
		{"notifications.webhooks.unhealthy_after", c.Notifications.Webhooks.UnhealthyAfter, time.Minute},
		{"notifications.email.host", c.Notifications.Email.Host, "smtp.example.com"},
		{"notifications.email.port", c.Notifications.Email.Port, 25},
		{"notifications.email.timeout", c.Notifications.Email.Timeout, 2 * time.Second},
		{"notifications.sms.token", c.Notifications.SMS.Token, "t"},
		{"log.level", c.Log.Level, "debug"},
		{"log.format", c.Log.Format, "json"},
		{"state_dir", c.StateDir, "/var/lib/roomwire"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.key, ck.got, ck.want)
		}
	}

	// Every environment variable of before the spec, with the key it set.
	before := map[string]string{
		"DATABASE_URL": "database.url", "ROOMWIRE_HTTP_ADDR": "http.addr", "ROOMWIRE_ADMIN_KEY": "http.admin_key",
		"ROOMWIRE_METRICS_KEY": "http.metrics_key", "ROOMWIRE_STATE_DIR": "state_dir", "ROOMWIRE_KAFKA_BROKERS": "kafka.brokers",
		"ROOMWIRE_KAFKA_EMBEDDED_ADDR": "kafka.embedded_addr", "ROOMWIRE_KAFKA_SASL_PASSWORD": "kafka.sasl.password",
		"ROOMWIRE_CONSUMER_GROUP_PREFIX": "backbone.consumer_group_prefix", "ROOMWIRE_MAPPINGS_FILE": "mappings_file",
		"ROOMWIRE_LOG_LEVEL": "log.level", "ROOMWIRE_LOG_FORMAT": "log.format", "ROOMWIRE_DB_MAX_CONNS": "database.max_conns",
		"ROOMWIRE_SMTP_PASSWORD": "notifications.email.password", "ROOMWIRE_SMS_TOKEN": "notifications.sms.token",
	}
	now := config.EnvVars()
	for name, key := range before {
		if now[name] != key {
			t.Errorf("%s sets %q, want %q", name, now[name], key)
		}
	}
	t.Setenv("ROOMWIRE_DB_MAX_CONNS", "9")
	t.Setenv("ROOMWIRE_KAFKA_SASL_PASSWORD", "from-env")
	t.Setenv("ROOMWIRE_CONSUMER_GROUP_PREFIX", "env.")
	t.Setenv("ROOMWIRE_SMTP_PASSWORD", "smtp-env")
	t.Setenv("ROOMWIRE_LOG_FORMAT", "json")
	c, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.MaxConns != 9 || c.Kafka.SASL.Password != "from-env" || c.Backbone.ConsumerGroupPrefix != "env." ||
		c.Notifications.Email.Password != "smtp-env" || c.Log.Format != "json" || !c.IsSet("database.max_conns") {
		t.Fatalf("environment not applied: %+v", c)
	}
	t.Setenv("ROOMWIRE_DB_MAX_CONNS", "many")
	if _, err := config.Load(""); err == nil || !strings.Contains(err.Error(), "ROOMWIRE_DB_MAX_CONNS (database.max_conns): must be a whole number") {
		t.Fatalf("bad number from the environment: %v", err)
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
		{"notifications out of range", "notifications:\n  retention: 1m\n  webhooks:\n    timeout: 1ms\n  email: {port: 70000}\n  sms: {provider: webhook, url: \"ftp://x\"}\n",
			[]string{"line 2: notifications.retention: must be at least 1h, got 1m0s", "line 4: notifications.webhooks.timeout: must be between 100ms and 5m, got 1ms",
				"notifications.email.port: must be between 1 and 65535, got 70000", "notifications.sms.url: must be an http(s) URL"}},
		{"sms without url", "notifications:\n  sms: {provider: webhook}\n", []string{"notifications.sms.url: is required with a provider"}},
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
		if c.Backbone.Retry.MaxRetries != 0 {
			t.Errorf("retries: 0 became %d", c.Backbone.Retry.MaxRetries)
		}
	}
}

// Every exported field of the configuration, down to the sections other
// packages own, is a key of the spec or says it is none (yaml:"-"): a field
// added without tags would otherwise be read from files under a name
// nobody chose, with no default or documentation.
func TestEveryFieldIsInTheSpec(t *testing.T) {
	var walk func(typ reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct {
			return
		}
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			tag, ok := f.Tag.Lookup("yaml")
			if !ok {
				t.Errorf("%s%s has no yaml tag: give it a key (with its default and doc) or yaml:\"-\"", path, f.Name)
				continue
			}
			if tag != "-" {
				walk(f.Type, path+f.Name+".")
			}
		}
	}
	walk(reflect.TypeFor[config.Config](), "")
}
