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
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole configuration of a Roomwire process.
type Config struct {
	Database Database `yaml:"database"`
	HTTP     HTTP     `yaml:"http"`
	Kafka    Kafka    `yaml:"kafka"`
	Log      Log      `yaml:"log"`
	// StateDir holds what the process keeps on local disk: the embedded
	// broker's log segments, and the demo's private database.
	StateDir string   `yaml:"state_dir"`
	Backbone Backbone `yaml:"backbone"`
	// Connectors configures the partner connectors to run, by instance
	// name: each key names one instance, and its kind key names the
	// registered connector, defaulting to the instance's name (see
	// `roomwire connectors --fields` for each one's keys). A connector runs
	// when it is named here, even with no keys (its secrets may come from
	// the environment). Two OpenTravel channels are two instances of kind
	// ota under different names.
	Connectors map[string]map[string]any `yaml:"connectors"`
	// MappingsFile holds partner-to-Roomwire code mappings loaded at start.
	MappingsFile  string        `yaml:"mappings_file"`
	Payments      Payments      `yaml:"payments"`
	Notifications Notifications `yaml:"notifications"`

	// given holds the keys set by the file (with their line) or the
	// environment (line 0): a key given as 0 is not defaulted but validated.
	given map[string]int
}

// Backbone tunes the event backbone.
type Backbone struct {
	// Partitions of each topic Roomwire creates. Fixed once topics hold data.
	Partitions          int    `yaml:"partitions"`
	ConsumerGroupPrefix string `yaml:"consumer_group_prefix"`
	// Retries of a failing handler, with exponential backoff from
	// RetryInitial doubling to RetryMax.
	Retries        int           `yaml:"retries"`
	RetryInitial   time.Duration `yaml:"retry_initial"`
	RetryMax       time.Duration `yaml:"retry_max"`
	HandlerTimeout time.Duration `yaml:"handler_timeout"`
	// BreakerFailures failed calls in a row to one partner open its circuit
	// breaker for BreakerOpenFor; its messages are parked meanwhile and tried
	// again every ParkedRetryInterval once the breaker lets a call through.
	BreakerFailures     int           `yaml:"breaker_failures"`
	BreakerOpenFor      time.Duration `yaml:"breaker_open_for"`
	ParkedRetryInterval time.Duration `yaml:"parked_retry_interval"`
}

// Payments chooses the payment gateway of each property.
type Payments struct {
	DefaultGateway string            `yaml:"default_gateway"`
	Properties     map[string]string `yaml:"properties"`
	RenewBefore    time.Duration     `yaml:"renew_before"`
	CheckInterval  time.Duration     `yaml:"check_interval"`
}

// Database is the PostgreSQL the reservation store lives in.
type Database struct {
	URL            string `yaml:"url"`
	MaxConns       int32  `yaml:"max_conns"`
	MigrateOnStart *bool  `yaml:"migrate_on_start"`
}

// HTTP is the API server.
type HTTP struct {
	Addr     string `yaml:"addr"`
	AdminKey string `yaml:"admin_key"`
	// MetricsKey, when set, is accepted on GET /metrics only, so that
	// Prometheus scrapes without holding the admin key.
	MetricsKey      string        `yaml:"metrics_key"`
	MaxBodyBytes    int64         `yaml:"max_body_bytes"`
	RequestTimeout  time.Duration `yaml:"request_timeout"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Kafka is the broker connection. With no brokers, serve runs an embedded
// Kafka-protocol broker in the process, keeping its data under StateDir.
type Kafka struct {
	Brokers  []string `yaml:"brokers"`
	ClientID string   `yaml:"client_id"`
	// Version is the Kafka protocol version to speak, e.g. "2.1.0"; at least 0.11.
	Version string `yaml:"version"`
	// EmbeddedAddr is where the embedded broker listens when Brokers is empty.
	EmbeddedAddr string    `yaml:"embedded_addr"`
	SASL         KafkaSASL `yaml:"sasl"`
	TLS          KafkaTLS  `yaml:"tls"`
	// IdempotentProducer turns on sarama's idempotent producer; off by
	// default, for the reason in docs/backbone.md.
	IdempotentProducer bool `yaml:"idempotent_producer"`
}

// KafkaSASL is SASL authentication to the brokers.
type KafkaSASL struct {
	Mechanism string `yaml:"mechanism"` // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	User      string `yaml:"user"`
	Password  string `yaml:"password"`
}

// KafkaTLS is TLS to the brokers.
type KafkaTLS struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// Log is logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// Defaults.
const (
	DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/roomwire?sslmode=disable"
	DefaultHTTPAddr    = "127.0.0.1:8080"
	DefaultStateDir    = ".roomwire"
	// DefaultKafkaAddr is where the embedded broker listens: not 9092, so
	// that it never collides with a real Kafka on the same machine.
	DefaultKafkaAddr = "127.0.0.1:19092"
)

// Environment variables read over the file.
var envVars = []struct {
	name, key string
	set       func(*Config, string) error
}{
	{"DATABASE_URL", "database.url", func(c *Config, v string) error { c.Database.URL = v; return nil }},
	{"ROOMWIRE_HTTP_ADDR", "http.addr", func(c *Config, v string) error { c.HTTP.Addr = v; return nil }},
	{"ROOMWIRE_ADMIN_KEY", "http.admin_key", func(c *Config, v string) error { c.HTTP.AdminKey = v; return nil }},
	{"ROOMWIRE_METRICS_KEY", "http.metrics_key", func(c *Config, v string) error { c.HTTP.MetricsKey = v; return nil }},
	{"ROOMWIRE_STATE_DIR", "state_dir", func(c *Config, v string) error { c.StateDir = v; return nil }},
	{"ROOMWIRE_KAFKA_BROKERS", "kafka.brokers", func(c *Config, v string) error {
		c.Kafka.Brokers = nil
		for _, b := range strings.Split(v, ",") {
			if b = strings.TrimSpace(b); b != "" {
				c.Kafka.Brokers = append(c.Kafka.Brokers, b)
			}
		}
		return nil
	}},
	{"ROOMWIRE_KAFKA_EMBEDDED_ADDR", "kafka.embedded_addr", func(c *Config, v string) error { c.Kafka.EmbeddedAddr = v; return nil }},
	{"ROOMWIRE_KAFKA_SASL_PASSWORD", "kafka.sasl.password", func(c *Config, v string) error { c.Kafka.SASL.Password = v; return nil }},
	{"ROOMWIRE_CONSUMER_GROUP_PREFIX", "backbone.consumer_group_prefix", func(c *Config, v string) error { c.Backbone.ConsumerGroupPrefix = v; return nil }},
	{"ROOMWIRE_MAPPINGS_FILE", "mappings_file", func(c *Config, v string) error { c.MappingsFile = v; return nil }},
	{"ROOMWIRE_LOG_LEVEL", "log.level", func(c *Config, v string) error { c.Log.Level = v; return nil }},
	{"ROOMWIRE_LOG_FORMAT", "log.format", func(c *Config, v string) error { c.Log.Format = v; return nil }},
	{"ROOMWIRE_DB_MAX_CONNS", "database.max_conns", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("must be a whole number, got %q", v)
		}
		c.Database.MaxConns = int32(n)
		return nil
	}},
}

// EnvVars lists the environment variables Load reads, with the key each sets.
func EnvVars() map[string]string {
	m := map[string]string{}
	for _, e := range envVars {
		m[e.name] = e.key
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
	for _, e := range envVars {
		if v, ok := os.LookupEnv(e.name); ok && v != "" {
			if err := e.set(c, v); err != nil {
				return nil, fmt.Errorf("config: %s (%s): %w", e.name, e.key, err)
			}
			c.give(e.key, 0)
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
	for _, k := range keys {
		if t := goTypeAt(reflect.TypeFor[Config](), strings.Split(k.path, ".")); k.tag == "!!float" && t != nil && isWholeNumber(t) {
			p = append(p, Problem{Key: k.path, Line: k.valueLine, Message: fmt.Sprintf("%q is not a whole number", k.value)})
		}
	}
	if len(p) > 0 {
		return p
	}
	return nil
}

// goTypeAt is the Go type the key at path decodes into, or nil.
func goTypeAt(t reflect.Type, path []string) reflect.Type {
	for _, name := range path {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Map:
			t = t.Elem()
		case reflect.Struct:
			var next reflect.Type
			for i := 0; i < t.NumField(); i++ {
				if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag == name {
					next = t.Field(i).Type
				}
			}
			if next == nil {
				return nil
			}
			t = next
		default:
			return nil
		}
	}
	return t
}

func isWholeNumber(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return t != reflect.TypeFor[time.Duration]()
	}
	return false
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
	case strings.HasPrefix(t, "[]"):
		return "a list, such as [a, b]"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "config."):
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

// setDefault sets *v to def when it is its zero value and the key was not
// given: a number given as 0 is kept (and validated), an empty text is not.
func setDefault[T comparable](c *Config, key string, v *T, def T) {
	var zero T
	_, given := c.given[key]
	if _, text := any(zero).(string); text {
		given = false
	}
	if !given && *v == zero {
		*v = def
	}
}

// SetDefaults fills what is unset with values that suit local development.
func (c *Config) SetDefaults() {
	setDefault(c, "database.url", &c.Database.URL, DefaultDatabaseURL)
	setDefault(c, "database.max_conns", &c.Database.MaxConns, 20)
	if c.Database.MigrateOnStart == nil {
		yes := true
		c.Database.MigrateOnStart = &yes
	}
	setDefault(c, "http.addr", &c.HTTP.Addr, DefaultHTTPAddr)
	setDefault(c, "http.max_body_bytes", &c.HTTP.MaxBodyBytes, 1<<20)
	setDefault(c, "http.request_timeout", &c.HTTP.RequestTimeout, 15*time.Second)
	setDefault(c, "http.shutdown_timeout", &c.HTTP.ShutdownTimeout, 30*time.Second)
	setDefault(c, "state_dir", &c.StateDir, DefaultStateDir)
	setDefault(c, "kafka.client_id", &c.Kafka.ClientID, "roomwire")
	setDefault(c, "kafka.version", &c.Kafka.Version, "2.1.0")
	setDefault(c, "kafka.embedded_addr", &c.Kafka.EmbeddedAddr, DefaultKafkaAddr)
	setDefault(c, "backbone.partitions", &c.Backbone.Partitions, 12)
	setDefault(c, "backbone.retries", &c.Backbone.Retries, 5)
	setDefault(c, "backbone.retry_initial", &c.Backbone.RetryInitial, 100*time.Millisecond)
	setDefault(c, "backbone.retry_max", &c.Backbone.RetryMax, 1600*time.Millisecond)
	setDefault(c, "backbone.handler_timeout", &c.Backbone.HandlerTimeout, 30*time.Second)
	setDefault(c, "backbone.breaker_failures", &c.Backbone.BreakerFailures, 5)
	setDefault(c, "backbone.breaker_open_for", &c.Backbone.BreakerOpenFor, 30*time.Second)
	setDefault(c, "backbone.parked_retry_interval", &c.Backbone.ParkedRetryInterval, 5*time.Second)
	setDefault(c, "log.level", &c.Log.Level, "info")
	setDefault(c, "log.format", &c.Log.Format, "text")
	c.Notifications.setDefaults()
}

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
	if c.Database.MaxConns < 1 || c.Database.MaxConns > 1000 {
		add("database.max_conns", "must be between 1 and 1000, got %d", c.Database.MaxConns)
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
	if c.HTTP.MaxBodyBytes < 1024 || c.HTTP.MaxBodyBytes > 64<<20 {
		add("http.max_body_bytes", "must be between 1024 and 67108864, got %d", c.HTTP.MaxBodyBytes)
	}
	if c.HTTP.RequestTimeout < 100*time.Millisecond || c.HTTP.RequestTimeout > 10*time.Minute {
		add("http.request_timeout", "must be between 100ms and 10m, got %s", c.HTTP.RequestTimeout)
	}
	if c.HTTP.ShutdownTimeout < time.Second || c.HTTP.ShutdownTimeout > 10*time.Minute {
		add("http.shutdown_timeout", "must be between 1s and 10m, got %s", c.HTTP.ShutdownTimeout)
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
	switch c.Kafka.SASL.Mechanism {
	case "":
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		if c.Kafka.SASL.User == "" || c.Kafka.SASL.Password == "" {
			add("kafka.sasl", "mechanism %s needs user and password (env ROOMWIRE_KAFKA_SASL_PASSWORD)", c.Kafka.SASL.Mechanism)
		}
	default:
		add("kafka.sasl.mechanism", "must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got %q", c.Kafka.SASL.Mechanism)
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
	if c.Log.Format != "text" && c.Log.Format != "json" {
		add("log.format", "must be text or json, got %q", c.Log.Format)
	}
	if c.Backbone.Partitions < 1 || c.Backbone.Partitions > 1000 {
		add("backbone.partitions", "must be between 1 and 1000, got %d", c.Backbone.Partitions)
	}
	if c.Backbone.Retries < 0 || c.Backbone.Retries > 100 {
		add("backbone.retries", "must be between 0 and 100, got %d", c.Backbone.Retries)
	}
	if c.Backbone.RetryInitial <= 0 || c.Backbone.RetryMax < c.Backbone.RetryInitial {
		add("backbone.retry_max", "must be at least backbone.retry_initial (%s), got %s", c.Backbone.RetryInitial, c.Backbone.RetryMax)
	}
	if c.Backbone.HandlerTimeout < 100*time.Millisecond {
		add("backbone.handler_timeout", "must be at least 100ms, got %s", c.Backbone.HandlerTimeout)
	}
	if c.Backbone.BreakerFailures < 1 || c.Backbone.BreakerFailures > 1000 {
		add("backbone.breaker_failures", "must be between 1 and 1000, got %d", c.Backbone.BreakerFailures)
	}
	if c.Backbone.BreakerOpenFor < 100*time.Millisecond {
		add("backbone.breaker_open_for", "must be at least 100ms, got %s", c.Backbone.BreakerOpenFor)
	}
	if c.Backbone.ParkedRetryInterval < 10*time.Millisecond {
		add("backbone.parked_retry_interval", "must be at least 10ms, got %s", c.Backbone.ParkedRetryInterval)
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
	c.Notifications.validate(add)
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
