// Package config loads Roomwire's configuration: one YAML file, then
// environment variables over it, then defaults for what is still unset. The
// defaults suit local development; Validate names every bad key and says what
// it expects.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/roomwire/roomwire/config/spec"
	"github.com/roomwire/roomwire/connectors/notify"
	"github.com/roomwire/roomwire/connectors/payments"
	"github.com/roomwire/roomwire/router"
	"go.yaml.in/yaml/v3"
)

// Config is the whole configuration of a Roomwire process. Its tags, and
// those of the sections it embeds from the packages they configure (the
// router's backbone, payments, notifications), are its spec (package
// config/spec): each setting's key, default, environment variable and
// documentation, declared once. roomwire.example.yaml is generated from it.
type Config struct {
	Database Database      `yaml:"database" doc:"the PostgreSQL the reservation store lives in"`
	HTTP     HTTP          `yaml:"http" doc:"the API server"`
	Kafka    Kafka         `yaml:"kafka" doc:"the Kafka cluster; with no brokers, serve runs an embedded Kafka-protocol broker in the process, keeping its data under state_dir"`
	Backbone router.Config `yaml:"backbone" doc:"the event backbone: topics, retries, circuit breakers, parking, the outbox relay"`
	// Connectors configures the partner connectors to run, by instance
	// name: each key names one instance, and its kind key names the
	// registered connector, defaulting to the instance's name. A connector
	// runs when it is named here, even with no keys (its secrets may come
	// from the environment). Two OpenTravel channels are two instances of
	// kind ota under different names.
	Connectors    map[string]map[string]any `yaml:"connectors" doc:"partner connectors to run, by instance name; each instance's kind names its connector (the instance's name by default), and roomwire connectors --fields lists each kind's keys and the environment variables best used for its secrets"`
	MappingsFile  string                    `yaml:"mappings_file" env:"ROOMWIRE_MAPPINGS_FILE" doc:"partner codes to Roomwire codes, loaded at start"`
	Payments      payments.Config           `yaml:"payments" doc:"the payment gateway of each property"`
	Notifications notify.Config             `yaml:"notifications" doc:"webhooks to integrators, e-mail to guests and hotels, SMS; per-property language, hotel address and templates are set over the API (/v1/properties/{id}/notifications and /v1/properties/{id}/templates)"`
	Log           Log                       `yaml:"log"`
	StateDir      string                    `yaml:"state_dir" default:".roomwire" env:"ROOMWIRE_STATE_DIR" doc:"what the process keeps on local disk: the embedded broker's data and the demo's database"`

	// given holds the keys set by the file (with their line) or the
	// environment (line 0): a key given as 0 is not defaulted but validated.
	given map[string]int
}

// Database is the PostgreSQL the reservation store lives in.
type Database struct {
	URL      string `yaml:"url" default:"postgres://postgres@127.0.0.1:5432/roomwire?sslmode=disable" env:"DATABASE_URL" doc:"migrate creates the database if the user may"`
	MaxConns int32  `yaml:"max_conns" default:"20" min:"1" max:"1000" env:"ROOMWIRE_DB_MAX_CONNS" doc:"connections of the pool of the booking API and the operators' endpoints"`
	// DeliveryConns is a pool of its own so that delivery never queues
	// behind requests: at full load every API connection is busy and more
	// requests wait, and a delivery needing several connections in turn
	// would wait behind all of them each time.
	DeliveryConns  int32 `yaml:"delivery_conns" default:"20" min:"1" max:"1000" env:"ROOMWIRE_DB_DELIVERY_CONNS" doc:"connections of a second pool, for what happens after the commit: the outbox relay, the consumers and what they read and write (dedup and timeline records, links, mappings, ARI snapshots, inbound bookings, payments, notifications), and the connectors' receipts of partners' messages; the process opens up to max_conns + delivery_conns"`
	MigrateOnStart *bool `yaml:"migrate_on_start" default:"true" doc:"serve applies pending migrations before it starts"`
}

// HTTP is the API server.
type HTTP struct {
	Addr     string `yaml:"addr" default:"127.0.0.1:8080" env:"ROOMWIRE_HTTP_ADDR" doc:"where the API listens"`
	AdminKey string `yaml:"admin_key" env:"ROOMWIRE_ADMIN_KEY" secret:"true" doc:"the admin key, required by serve (16+ characters)"`
	// MetricsKey lets Prometheus scrape without holding the admin key.
	MetricsKey      string        `yaml:"metrics_key" env:"ROOMWIRE_METRICS_KEY" secret:"true" doc:"a key for GET /metrics only, for Prometheus (16+ characters)"`
	MaxBodyBytes    int64         `yaml:"max_body_bytes" default:"1048576" min:"1024" max:"67108864" doc:"largest request body"`
	RequestTimeout  time.Duration `yaml:"request_timeout" default:"15s" min:"100ms" max:"10m" doc:"bounds one request"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" default:"30s" min:"1s" max:"10m" doc:"how long in-flight requests may take to finish on SIGTERM"`
	// MaxDeliveryLag keeps channels and the PMS current at full load: a
	// channel manager had rather take bookings a little slower than let
	// channels sell rooms that are gone.
	MaxDeliveryLag time.Duration `yaml:"max_delivery_lag" default:"500ms" zero:"no admission control" max:"10m" doc:"while delivery runs further behind the commits than this (how long the messages consumers start on waited since their commit), fewer booking writes of the API (creates, modifications, cancellations) run at once, down to none while it stays behind; as it catches up, more again, up to database.max_conns"`
	AdmissionWait  time.Duration `yaml:"admission_wait" default:"5s" min:"10ms" max:"10m" doc:"longest a booking write waits for its turn before it is refused with 503 unavailable and Retry-After"`
}

// Kafka is the broker connection, and where the embedded broker listens
// when there are no brokers.
type Kafka struct {
	router.KafkaConfig `yaml:",inline"`
	// EmbeddedAddr is off 9092, so that it never collides with a real
	// Kafka on the same machine.
	EmbeddedAddr string `yaml:"embedded_addr" default:"127.0.0.1:19092" env:"ROOMWIRE_KAFKA_EMBEDDED_ADDR" doc:"where the embedded broker listens when brokers is empty"`
	// EmbeddedFsync is off as in Apache Kafka: records reach the log file
	// before they are acknowledged, which a killed process cannot undo.
	EmbeddedFsync bool `yaml:"embedded_fsync" doc:"fsync the embedded broker's log after every write, so acknowledged records survive a power loss; every request then waits for the disk"`
}

// Log is logging.
type Log struct {
	Level  string `yaml:"level" default:"info" env:"ROOMWIRE_LOG_LEVEL" doc:"debug, info, warn or error"`
	Format string `yaml:"format" default:"text" enum:"text,json" env:"ROOMWIRE_LOG_FORMAT"`
}

// DefaultDatabaseURL is database.url's default, for help texts.
var DefaultDatabaseURL = defaultOf("database.url")

// defaultOf is the default of the setting key.
func defaultOf(key string) string {
	f, ok := spec.Lookup[Config](key)
	if !ok {
		panic("config: no setting " + key)
	}
	return f.Default
}

// EnvVars lists the environment variables Load reads, with the key each sets.
func EnvVars() map[string]string {
	m := map[string]string{}
	for _, f := range spec.Of[Config]() {
		if f.Env != "" {
			m[f.Env] = f.Name
		}
	}
	return m
}

// Load reads the file at path (none if path is ""), applies the environment
// and the defaults, and validates the result.
func Load(path string) (*Config, error) {
	c := &Config{}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := Parse(b, c); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	for _, f := range spec.Of[Config]() {
		if v, ok := os.LookupEnv(f.Env); ok && v != "" && f.Env != "" {
			if err := spec.Set(c, f.Name, v); err != nil {
				return nil, fmt.Errorf("config: %s (%s): %w", f.Env, f.Name, err)
			}
			c.give(f.Name, 0)
		}
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Parse decodes YAML into c, refusing keys Roomwire does not know, so that a
// misspelt key is an error rather than a silently ignored setting. Every bad
// key and value is reported at once, with its line and its dotted key.
func Parse(b []byte, c *Config) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return err // a syntax error: yaml names its line
	}
	if len(doc.Content) == 0 {
		return nil // an empty file sets nothing
	}
	keys := indexKeys(doc.Content[0], "")
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	err := dec.Decode(c)
	for _, k := range keys {
		c.give(k.path, k.keyLine)
	}
	var te *yaml.TypeError
	if err != nil && !errors.Is(err, io.EOF) && !errors.As(err, &te) {
		return err
	}
	var p Problems
	if te != nil {
		for _, e := range te.Errors {
			p = append(p, explainYAMLError(e, keys))
		}
	}
	// yaml truncates 1.5 into a whole-number key without a word.
	whole := map[string]bool{}
	for _, f := range spec.Of[Config]() {
		whole[f.Name] = f.Type == "int"
	}
	for _, k := range keys {
		if k.tag == "!!float" && whole[k.path] {
			p = append(p, Problem{Key: k.path, Line: k.valueLine, Message: fmt.Sprintf("%q is not a whole number", k.value)})
		}
	}
	if len(p) > 0 {
		return p
	}
	return nil
}

// yamlKey is one key of the file: its dotted path, and the lines of the key
// and of its value.
type yamlKey struct {
	path      string
	keyLine   int
	valueLine int
	value     string
	tag       string
}

func indexKeys(n *yaml.Node, prefix string) []yamlKey {
	var out []yamlKey
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		path := k.Value
		if prefix != "" {
			path = prefix + "." + k.Value
		}
		out = append(out, yamlKey{path: path, keyLine: k.Line, valueLine: v.Line, value: v.Value, tag: v.ShortTag()})
		out = append(out, indexKeys(v, path)...)
	}
	return out
}

var (
	yamlFieldNotFound = regexp.MustCompile(`^line (\d+): field (\S+) not found in type`)
	yamlCannotDecode  = regexp.MustCompile("^line (\\d+): cannot unmarshal !!(\\w+)(?: `([^`]*)`)? into (\\S+)")
)

// explainYAMLError turns one of yaml's type errors into a Problem naming the
// key, its line, and what the key expects.
func explainYAMLError(e string, keys []yamlKey) Problem {
	if m := yamlFieldNotFound.FindStringSubmatch(e); m != nil {
		line, _ := strconv.Atoi(m[1])
		path := m[2]
		for _, k := range keys {
			if k.keyLine == line && (k.path == m[2] || strings.HasSuffix(k.path, "."+m[2])) {
				path = k.path
			}
		}
		return Problem{Key: path, Line: line, Message: "unknown key (see config/roomwire.example.yaml for the known keys)"}
	}
	if m := yamlCannotDecode.FindStringSubmatch(e); m != nil {
		line, _ := strconv.Atoi(m[1])
		path := "?"
		for _, k := range keys {
			if k.valueLine == line && (k.value == m[3] || path == "?") {
				path = k.path
			}
		}
		what := fmt.Sprintf("%q", m[3])
		switch m[2] {
		case "seq":
			what = "a list"
		case "map":
			what = "a mapping"
		}
		return Problem{Key: path, Line: line, Message: fmt.Sprintf("%s is not %s", what, goTypeWords(m[4]))}
	}
	return Problem{Key: "?", Message: e}
}

// goTypeWords says what a Go type expects, in a reader's words.
func goTypeWords(t string) string {
	switch {
	case t == "time.Duration":
		return "a duration; write it like 15s, 500ms or 2m"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a whole number"
	case t == "bool", t == "*bool":
		return "true or false"
	case t == "string":
		return "a text value"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case strings.HasPrefix(t, "[]"):
		return "a list, such as [a, b]"
	case strings.HasPrefix(t, "map["), strings.Contains(t, "."):
		return "a mapping of keys"
	}
	return "of type " + t
}

// IsSet reports whether the key (e.g. "database.url") was given by the file
// or the environment rather than left to its default.
func (c *Config) IsSet(key string) bool {
	_, ok := c.given[key]
	return ok
}

func (c *Config) give(key string, line int) {
	if c.given == nil {
		c.given = map[string]int{}
	}
	c.given[key] = line
}

// SetDefaults fills what is unset with values that suit local development:
// every setting's default from the spec. A number the file or the
// environment gave as 0 is kept, for Validate to judge.
func (c *Config) SetDefaults() { spec.SetDefaults(c, c.IsSet) }

// Problem is one bad configuration key.
type Problem struct {
	Key string
	// Line is the line of the file the key is on; 0 for a key not in a file
	// (set by the environment or a default).
	Line    int
	Message string
}

// Problems lists every bad key.
type Problems []Problem

func (p Problems) Error() string {
	lines := make([]string, len(p))
	for i, x := range p {
		if x.Line > 0 {
			lines[i] = fmt.Sprintf("  line %d: %s: %s", x.Line, x.Key, x.Message)
		} else {
			lines[i] = "  " + x.Key + ": " + x.Message
		}
	}
	return "configuration is not valid:\n" + strings.Join(lines, "\n")
}

// Validate checks every key and returns all problems at once.
func (c *Config) Validate() error {
	var p Problems
	add := func(key, format string, args ...any) {
		p = append(p, Problem{Key: key, Line: c.given[key], Message: fmt.Sprintf(format, args...)})
	}

	if u, err := url.Parse(c.Database.URL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		add("database.url", "must be a postgres:// URL such as %s (env DATABASE_URL)", DefaultDatabaseURL)
	}
	if !validHostPort(c.HTTP.Addr) {
		add("http.addr", "must be host:port such as 127.0.0.1:8080 (env ROOMWIRE_HTTP_ADDR), got %q", c.HTTP.Addr)
	}
	if c.HTTP.AdminKey != "" && len(c.HTTP.AdminKey) < 16 {
		add("http.admin_key", "must be at least 16 characters; make one with: openssl rand -hex 24")
	}
	if c.HTTP.MetricsKey != "" && len(c.HTTP.MetricsKey) < 16 {
		add("http.metrics_key", "must be at least 16 characters; make one with: openssl rand -hex 24")
	}
	if c.HTTP.MetricsKey != "" && c.HTTP.MetricsKey == c.HTTP.AdminKey {
		add("http.metrics_key", "must differ from the admin key: Prometheus should not hold the admin key")
	}
	for i, b := range c.Kafka.Brokers {
		if !validHostPort(b) {
			add(fmt.Sprintf("kafka.brokers[%d]", i), "must be host:port such as kafka-1:9092, got %q", b)
		}
	}
	if msg := checkKafkaVersion(c.Kafka.Version); msg != "" {
		add("kafka.version", "%s", msg)
	}
	if !validHostPort(c.Kafka.EmbeddedAddr) {
		add("kafka.embedded_addr", "must be host:port such as 127.0.0.1:19092, got %q", c.Kafka.EmbeddedAddr)
	}
	for _, bad := range spec.Check(c) {
		add(bad.Key, "%s", bad.Message)
	}
	if m := c.Kafka.SASL.Mechanism; m != "" && (c.Kafka.SASL.User == "" || c.Kafka.SASL.Password == "") {
		add("kafka.sasl", "mechanism %s needs user and password (env ROOMWIRE_KAFKA_SASL_PASSWORD)", m)
	}
	if (c.Kafka.TLS.CertFile == "") != (c.Kafka.TLS.KeyFile == "") {
		add("kafka.tls", "cert_file and key_file go together")
	}
	for key, f := range map[string]string{"kafka.tls.ca_file": c.Kafka.TLS.CAFile, "kafka.tls.cert_file": c.Kafka.TLS.CertFile, "kafka.tls.key_file": c.Kafka.TLS.KeyFile} {
		if f != "" {
			if _, err := os.Stat(f); err != nil {
				add(key, "cannot read %s: %v", f, errors.Unwrap(err))
			}
		}
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	if c.Backbone.Retry.InitialInterval <= 0 || c.Backbone.Retry.MaxInterval < c.Backbone.Retry.InitialInterval {
		add("backbone.retry_max", "must be at least backbone.retry_initial (%s), got %s", c.Backbone.Retry.InitialInterval, c.Backbone.Retry.MaxInterval)
	}
	for name := range c.Connectors {
		if !connectorName.MatchString(name) {
			add("connectors."+name, "is not a connector instance name (lower-case letters, digits, _ and -, starting with a letter); see roomwire connectors")
		}
		if k, ok := c.Connectors[name]["kind"]; ok {
			if s, ok := k.(string); !ok || !connectorName.MatchString(s) {
				add("connectors."+name+".kind", "must name a connector (see roomwire connectors)")
			}
		}
	}
	for p, g := range c.Payments.Properties {
		if _, ok := c.Connectors[g]; !ok {
			add("payments.properties."+p, "names gateway %q, which is not configured under connectors", g)
		}
	}
	if g := c.Payments.DefaultGateway; g != "" {
		if _, ok := c.Connectors[g]; !ok {
			add("payments.default_gateway", "names gateway %q, which is not configured under connectors", g)
		}
	}
	validateNotifications(c.Notifications, add)
	if c.StateDir == "" || strings.ContainsRune(c.StateDir, 0) {
		add("state_dir", "must be a directory path (env ROOMWIRE_STATE_DIR)")
	}
	if len(p) > 0 {
		return p
	}
	return nil
}

// connectorName is what a connector instance (and a kind) may be called; it
// appears in URLs, Kafka names, metrics labels and environment variables.
var connectorName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// Kafka versions as the Kafka client parses them: 0.a.b.c before 1.0, a.b.c after.
var (
	kafkaVersionPre1 = regexp.MustCompile(`^0\.(\d+)\.\d+\.\d+$`)
	kafkaVersion     = regexp.MustCompile(`^[1-9]\d*\.\d+\.\d+$`)
)

// checkKafkaVersion says what is wrong with a protocol version, or "".
// Roomwire needs 0.11 or newer: record headers and idempotent writes.
func checkKafkaVersion(v string) string {
	if kafkaVersion.MatchString(v) {
		return ""
	}
	if m := kafkaVersionPre1.FindStringSubmatch(v); m != nil {
		if minor, _ := strconv.Atoi(m[1]); minor >= 11 {
			return ""
		}
		return fmt.Sprintf("must be 0.11.0.0 or newer (Roomwire needs record headers), got %q", v)
	}
	if strings.HasPrefix(v, "0.") {
		return fmt.Sprintf("must be 0.11.0.0 or newer, written with four numbers before 1.0 (0.11.0.2) and three after (2.1.0), got %q", v)
	}
	return fmt.Sprintf("must be a Kafka version such as 2.1.0 or 3.6.0 (0.11.0.0 at least), got %q", v)
}

func validHostPort(s string) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

// RequireAdminKey reports the missing admin key in words that say how to fix it.
func (c *Config) RequireAdminKey() error {
	if c.HTTP.AdminKey == "" {
		return errors.New("no admin key: set ROOMWIRE_ADMIN_KEY (or http.admin_key in the config file) to a secret of 16+ characters, e.g. export ROOMWIRE_ADMIN_KEY=$(openssl rand -hex 24)")
	}
	return nil
}

// EmbeddedBrokerDir is where the embedded broker keeps its data.
func (c *Config) EmbeddedBrokerDir() string { return filepath.Join(c.StateDir, "kafka") }

// UsesEmbeddedBroker reports whether serve must start the embedded broker.
func (c *Config) UsesEmbeddedBroker() bool { return len(c.Kafka.Brokers) == 0 }
