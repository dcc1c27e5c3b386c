package router

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/roomwire/roomwire/config/spec"
)

// SASL mechanisms KafkaConfig accepts.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// KafkaConfig says how to reach a Kafka cluster. Its tags are its
// configuration spec (package config/spec): the keys of the kafka section
// of the configuration file.
type KafkaConfig struct {
	Brokers []string `yaml:"brokers" env:"ROOMWIRE_KAFKA_BROKERS" zero:"run the embedded broker" doc:"bootstrap brokers, host:port"`
	// Keep the default Version with the embedded broker: sarama 1.43 cannot
	// decode some of kfake's answers when told 2.8 or later.
	ClientID string `yaml:"client_id" default:"roomwire" doc:"names this process to the brokers"`
	Version  string `yaml:"version" default:"2.1.0" doc:"Kafka protocol version to speak (0.11 or newer: the idempotent producer and record headers need it)"`
	// IdempotentProducer is off by default: docs/backbone.md ("The
	// idempotent producer") shows how it loses acknowledged records after a
	// failed send.
	IdempotentProducer bool       `yaml:"idempotent_producer" doc:"sarama's idempotent producer: see docs/backbone.md before turning it on"`
	SASL               SASLConfig `yaml:"sasl" doc:"SASL authentication to the brokers"`
	TLS                TLSConfig  `yaml:"tls" doc:"TLS to the brokers"`
}

// SASLConfig is the SASL authentication to the brokers.
type SASLConfig struct {
	Mechanism string `yaml:"mechanism" enum:"PLAIN,SCRAM-SHA-256,SCRAM-SHA-512" zero:"no SASL"`
	User      string `yaml:"user"`
	Password  string `yaml:"password" env:"ROOMWIRE_KAFKA_SASL_PASSWORD" secret:"true"`
}

// TLSConfig is the TLS setting of the connections to the brokers.
type TLSConfig struct {
	Enabled bool `yaml:"enabled"`
	// CertFile and KeyFile go together.
	CAFile             string `yaml:"ca_file" zero:"the system's CAs" doc:"PEM bundle of the CAs to trust"`
	CertFile           string `yaml:"cert_file" doc:"client certificate (PEM), with key_file"`
	KeyFile            string `yaml:"key_file" doc:"client key (PEM), with cert_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify" doc:"skip verifying the brokers' certificates: test clusters only"`
}

func (c *KafkaConfig) setDefaults() {
	spec.SetDefaults(c, nil)
	c.SASL.Mechanism = strings.ToUpper(strings.TrimSpace(c.SASL.Mechanism))
}

// Validate reports every problem of the configuration at once.
func (c KafkaConfig) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("kafka: brokers: at least one broker is required"))
	}
	for _, b := range c.Brokers {
		if strings.TrimSpace(b) == "" || !strings.Contains(b, ":") {
			errs = append(errs, fmt.Errorf("kafka: brokers: %q is not host:port", b))
		}
	}
	if c.Version != "" {
		if _, err := c.saramaVersion(); err != nil {
			errs = append(errs, err)
		}
	}
	switch c.SASL.Mechanism {
	case "":
		if c.SASL.User != "" || c.SASL.Password != "" {
			errs = append(errs, errors.New("kafka: sasl: user or password given without a mechanism"))
		}
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		if c.SASL.User == "" {
			errs = append(errs, errors.New("kafka: sasl: user is required"))
		}
		if c.SASL.Password == "" {
			errs = append(errs, errors.New("kafka: sasl: password is required"))
		}
	default:
		errs = append(errs, fmt.Errorf("kafka: sasl: mechanism %q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", c.SASL.Mechanism))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("kafka: tls: cert_file and key_file go together"))
	}
	if !c.TLS.Enabled && (c.TLS.CAFile != "" || c.TLS.CertFile != "" || c.TLS.InsecureSkipVerify) {
		errs = append(errs, errors.New("kafka: tls: files or insecure_skip_verify given but tls is not enabled"))
	}
	return errors.Join(errs...)
}

// saramaVersion parses Version and checks it is at least 0.11.
func (c KafkaConfig) saramaVersion() (sarama.KafkaVersion, error) {
	v, err := sarama.ParseKafkaVersion(c.Version)
	if err != nil {
		return v, fmt.Errorf("kafka: version %q: %w", c.Version, err)
	}
	if !v.IsAtLeast(sarama.V0_11_0_0) {
		return v, fmt.Errorf("kafka: version %q: 0.11.0 or newer is required (idempotent producer, record headers)", c.Version)
	}
	return v, nil
}

// LogValue keeps the SASL password out of logs.
func (c KafkaConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("brokers", c.Brokers),
		slog.String("client_id", c.ClientID),
		slog.String("version", c.Version),
		slog.String("sasl_mechanism", c.SASL.Mechanism),
		slog.Bool("tls", c.TLS.Enabled),
	)
}

// RetryConfig is the in-place retry of a failed handler: exponential backoff
// with jitter. The defaults wait 100 ms, 200 ms, 400 ms, 800 ms and 1.6 s.
// Jitter spreads each wait so that many consumers failing together do not
// retry in lockstep. Zero MaxRetries and zero Jitter mean none (their
// defaults, 5 and 0.2, are those of a configuration file's keys left out).
type RetryConfig struct {
	MaxRetries      int           `yaml:"retries" default:"5" zero:"no retries" min:"0" max:"100" doc:"retries of a failing handler before its message goes to the topic's dead letters"`
	InitialInterval time.Duration `yaml:"retry_initial" default:"100ms" doc:"wait before the first retry"`
	MaxInterval     time.Duration `yaml:"retry_max" default:"1600ms" doc:"longest wait between retries"`
	Multiplier      float64       `yaml:"retry_multiplier" default:"2" doc:"growth of the wait after each retry"`
	Jitter          float64       `yaml:"retry_jitter" default:"0.2" zero:"no jitter" doc:"each wait is spread over this share of its length either way"`
}

func (c *RetryConfig) setDefaults() {
	spec.SetDefaults(c, nil)
	c.MaxRetries = max(c.MaxRetries, 0)
	c.Jitter = max(c.Jitter, 0)
}

// Validate checks the retry settings.
func (c RetryConfig) Validate() error {
	var errs []error
	if c.InitialInterval < 0 || c.MaxInterval < 0 {
		errs = append(errs, errors.New("retry: intervals must not be negative"))
	}
	if c.MaxInterval > 0 && c.InitialInterval > c.MaxInterval {
		errs = append(errs, errors.New("retry: initial_interval exceeds max_interval"))
	}
	if c.Multiplier < 0 || (c.Multiplier > 0 && c.Multiplier < 1) {
		errs = append(errs, errors.New("retry: multiplier must be at least 1"))
	}
	if c.Jitter >= 1 {
		errs = append(errs, errors.New("retry: jitter must be below 1"))
	}
	return errors.Join(errs...)
}

// BreakerConfig configures the circuit breaker of each partner. Permanent
// errors do not count as failures: the partner answered.
type BreakerConfig struct {
	ConsecutiveFailures uint32        `yaml:"breaker_failures" default:"5" min:"1" max:"1000" doc:"failed calls in a row that open a partner's circuit breaker"`
	OpenTimeout         time.Duration `yaml:"breaker_open_for" default:"30s" min:"100ms" doc:"how long an open breaker refuses calls (its messages parked meanwhile) before it lets a trial call through"`
	HalfOpenRequests    uint32        `yaml:"breaker_trial_calls" default:"1" doc:"trial calls that must succeed to close the breaker again"`
}

func (c *BreakerConfig) setDefaults() { spec.SetDefaults(c, nil) }

// RelayConfig configures the outbox relay. Commits in the relay's own
// process wake it at once (OutboxRelay.Wake); polling finds rows other
// processes committed. Each worker relays the partition keys whose hash
// falls to it: one key's events keep their order, and one batch's waits on
// PostgreSQL and Kafka overlap with another's.
type RelayConfig struct {
	Disabled      bool          `yaml:"disabled" doc:"turns the outbox relay off in this process (another process relays)"`
	BatchSize     int           `yaml:"batch_size" default:"200" doc:"most outbox rows published in one batch"`
	PollInterval  time.Duration `yaml:"poll_interval" default:"100ms" doc:"how often the outbox is polled when nothing woke the relay"`
	RetryInterval time.Duration `yaml:"retry_interval" default:"1s" doc:"wait after a failed batch"`
	Workers       int           `yaml:"workers" default:"4" doc:"relays working in parallel"`
}

func (c *RelayConfig) setDefaults() { spec.SetDefaults(c, nil) }

// TopicsConfig says how the backbone creates its topics: by default every
// topic it uses (and its dead-letter topic) at start-up if missing. More
// partitions spread properties over more consumers; order is kept per
// property either way.
type TopicsConfig struct {
	SkipCreate        bool  `yaml:"skip_topic_creation" doc:"leave creating topics to the cluster's operators"`
	Partitions        int32 `yaml:"partitions" default:"12" min:"1" max:"1000" doc:"partitions of each topic Roomwire creates; fixed once topics hold data"`
	ReplicationFactor int16 `yaml:"replication_factor" zero:"3 on a cluster of three or more brokers, else the brokers' default" doc:"replicas of each topic Roomwire creates"`
	MinInsyncReplicas int   `yaml:"min_insync_replicas" zero:"2 with three replicas or more, else the brokers' default" doc:"replicas that must hold a record before its write is acknowledged"`
}

func (c *TopicsConfig) setDefaults() {
	spec.SetDefaults(c, nil)
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = -1
	}
}

// Config configures the Backbone. Its tags are its configuration spec: the
// keys of the backbone section of the configuration file, where Kafka has a
// section of its own.
type Config struct {
	Kafka KafkaConfig `yaml:"-"`
	// ConsumerGroupPrefix lets several installations share a cluster.
	ConsumerGroupPrefix string       `yaml:"consumer_group_prefix" default:"roomwire." env:"ROOMWIRE_CONSUMER_GROUP_PREFIX" doc:"starts the name of every consumer group"`
	Topics              TopicsConfig `yaml:",inline"`
	Retry               RetryConfig  `yaml:",inline"`
	// Breaker applies to every consumer with a connector.
	Breaker BreakerConfig `yaml:",inline"`
	// ParkedMaxAge dead-letters a message whose own failures keep tripping
	// the breaker: it would otherwise hold up its property for ever.
	ParkedRetryInterval time.Duration `yaml:"parked_retry_interval" default:"5s" min:"10ms" doc:"how often parked messages are tried again once the breaker lets a call through"`
	ParkedMaxAge        time.Duration `yaml:"parked_max_age" default:"24h" doc:"how long a message may stay parked before it is dead-lettered for an operator"`
	HandlerTimeout      time.Duration `yaml:"handler_timeout" default:"30s" min:"100ms" doc:"bounds one attempt of a handler"`
	Relay               RelayConfig   `yaml:"relay" doc:"the outbox relay, which publishes committed events"`
	// DedupRetention must exceed the longest time after which a message can
	// be redelivered (Kafka retention, replays).
	DedupRetention    time.Duration `yaml:"dedup_retention" default:"168h" doc:"how long processed message ids are kept to drop redeliveries"`
	OutboxRetention   time.Duration `yaml:"outbox_retention" default:"168h" doc:"how long published outbox rows are kept for inspection"`
	TimelineRetention time.Duration `yaml:"timeline_retention" default:"720h" doc:"how long message timeline entries are kept"`
	MetricsInterval   time.Duration `yaml:"metrics_interval" default:"15s" doc:"how often the gauges read from PostgreSQL and Kafka (backlog, dead letters, lag) are refreshed"`
	CloseTimeout      time.Duration `yaml:"close_timeout" default:"30s" doc:"how long shutting down waits for running handlers"`
}

func (c *Config) setDefaults() {
	spec.SetDefaults(c, nil)
	c.Kafka.setDefaults()
	c.Topics.setDefaults()
	c.Retry.setDefaults()
}

// Validate checks the configuration after defaults are applied.
func (c Config) Validate() error {
	return errors.Join(c.Kafka.Validate(), c.Retry.Validate())
}
