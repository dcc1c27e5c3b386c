package router

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// SASL mechanisms KafkaConfig accepts.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// Defaults of KafkaConfig.
const (
	DefaultClientID            = "roomwire"
	DefaultKafkaVersion        = "2.1.0"
	DefaultConsumerGroupPrefix = "roomwire."
)

// KafkaConfig says how to reach a Kafka cluster. It is a plain struct so the
// config package can fill it from YAML and the environment.
type KafkaConfig struct {
	// Brokers are the bootstrap brokers, host:port.
	Brokers []string
	// ClientID names this process to the brokers (default "roomwire").
	ClientID string
	// Version is the Kafka protocol version to speak, e.g. "2.1.0" (the
	// default). It must be 0.11.0 or newer: the idempotent producer and record
	// headers need it. Keep the default with the embedded broker: sarama
	// 1.43 cannot decode some of kfake's answers when told 2.8 or later.
	Version string
	// SASL authentication; empty Mechanism means none.
	SASL SASLConfig
	// TLS to the brokers.
	TLS TLSConfig
	// ConsumerGroupPrefix starts the name of every consumer group
	// (default "roomwire."), so several installations can share a cluster.
	ConsumerGroupPrefix string
	// IdempotentProducer turns on sarama's idempotent producer. Off by
	// default: docs/backbone.md ("The idempotent producer") shows how it
	// loses acknowledged records after a failed send.
	IdempotentProducer bool
}

// SASLConfig is the SASL authentication to the brokers.
type SASLConfig struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty disables SASL.
	Mechanism string
	User      string
	Password  string
}

// TLSConfig is the TLS setting of the connections to the brokers.
type TLSConfig struct {
	Enabled bool
	// CAFile is a PEM bundle of the CAs to trust; empty uses the system pool.
	CAFile string
	// CertFile and KeyFile are a client certificate and key (PEM), both or
	// neither.
	CertFile string
	KeyFile  string
	// InsecureSkipVerify disables verification of the brokers' certificates.
	// For test clusters only.
	InsecureSkipVerify bool
}

func (c *KafkaConfig) setDefaults() {
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.Version == "" {
		c.Version = DefaultKafkaVersion
	}
	if c.ConsumerGroupPrefix == "" {
		c.ConsumerGroupPrefix = DefaultConsumerGroupPrefix
	}
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
		slog.String("consumer_group_prefix", c.ConsumerGroupPrefix),
	)
}

// RetryConfig is the in-place retry of a failed handler: exponential backoff
// with jitter. The defaults wait 100 ms, 200 ms, 400 ms, 800 ms and 1.6 s.
type RetryConfig struct {
	// MaxRetries is how many times a failed message is retried before it is
	// dead-lettered (default 5; negative: no retries).
	MaxRetries int
	// InitialInterval is the wait before the first retry (default 100 ms).
	InitialInterval time.Duration
	// MaxInterval caps the wait between retries (default 1.6 s).
	MaxInterval time.Duration
	// Multiplier grows the wait after each retry (default 2).
	Multiplier float64
	// Jitter spreads each wait over ±Jitter of its length (default 0.2;
	// negative: none), so that many consumers failing together do not retry
	// in lockstep.
	Jitter float64
}

func (c *RetryConfig) setDefaults() {
	if c.MaxRetries == 0 {
		c.MaxRetries = 5
	}
	if c.MaxRetries < 0 {
		c.MaxRetries = 0
	}
	if c.InitialInterval == 0 {
		c.InitialInterval = 100 * time.Millisecond
	}
	if c.MaxInterval == 0 {
		c.MaxInterval = 1600 * time.Millisecond
	}
	if c.Multiplier == 0 {
		c.Multiplier = 2
	}
	if c.Jitter == 0 {
		c.Jitter = 0.2
	}
	if c.Jitter < 0 {
		c.Jitter = 0
	}
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

// BreakerConfig configures the circuit breaker of each partner.
type BreakerConfig struct {
	// ConsecutiveFailures trips the breaker (default 5). Permanent errors do
	// not count: the partner answered.
	ConsecutiveFailures uint32
	// OpenTimeout is how long the breaker stays open before one trial call is
	// let through (default 30 s).
	OpenTimeout time.Duration
	// HalfOpenRequests is how many trial calls must succeed to close the
	// breaker again (default 1).
	HalfOpenRequests uint32
}

func (c *BreakerConfig) setDefaults() {
	if c.ConsecutiveFailures == 0 {
		c.ConsecutiveFailures = 5
	}
	if c.OpenTimeout == 0 {
		c.OpenTimeout = 30 * time.Second
	}
	if c.HalfOpenRequests == 0 {
		c.HalfOpenRequests = 1
	}
}

// RelayConfig configures the outbox relay.
type RelayConfig struct {
	// Disabled turns the relay off in this process (another process relays).
	Disabled bool
	// BatchSize is the most rows published in one batch (default 200).
	BatchSize int
	// PollInterval is how often the outbox is polled when nothing woke the
	// relay (default 100 ms). Commits in the relay's own process wake it at
	// once (OutboxRelay.Wake); polling finds rows other processes committed.
	PollInterval time.Duration
	// RetryInterval is the wait after a failed batch (default 1 s).
	RetryInterval time.Duration
	// Workers relay in parallel, each the partition keys whose hash falls
	// to it (default 4): one key's events keep their order, and one
	// batch's waits on PostgreSQL and Kafka overlap with another's.
	Workers int
}

func (c *RelayConfig) setDefaults() {
	if c.BatchSize <= 0 {
		c.BatchSize = 200
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 100 * time.Millisecond
	}
	if c.RetryInterval <= 0 {
		c.RetryInterval = time.Second
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
}

// TopicsConfig says how the backbone creates its topics.
type TopicsConfig struct {
	// SkipCreate leaves topic creation to the cluster's operators. By
	// default the backbone creates every topic it uses (and its dead-letter
	// topic) at start-up if missing.
	SkipCreate bool
	// Partitions of a created topic (default 12). More partitions spread
	// properties over more consumers; order is kept per property either way.
	Partitions int32
	// ReplicationFactor of a created topic (default: 3 on a cluster of
	// three or more brokers, else the brokers' default).
	ReplicationFactor int16
	// MinInsyncReplicas of a created topic: how many replicas must have a
	// record before the producer (acks=all) is told it is written (default:
	// 2 when ReplicationFactor is 3 or more, else the brokers' default).
	MinInsyncReplicas int
}

func (c *TopicsConfig) setDefaults() {
	if c.Partitions <= 0 {
		c.Partitions = 12
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = -1
	}
}

// Config configures the Backbone.
type Config struct {
	Kafka  KafkaConfig
	Topics TopicsConfig
	Retry  RetryConfig
	// Breaker applies to every consumer with a connector.
	Breaker BreakerConfig
	Relay   RelayConfig

	// HandlerTimeout bounds one attempt of a handler (default 30 s).
	HandlerTimeout time.Duration
	// ParkedRetryInterval is how often messages parked behind an open breaker
	// are tried again (default 5 s).
	ParkedRetryInterval time.Duration
	// ParkedMaxAge is how long a message may stay parked behind an open
	// breaker before it is dead-lettered for an operator (default 24 h).
	// A message whose own failures keep tripping the breaker would otherwise
	// hold up its property for ever.
	ParkedMaxAge time.Duration
	// DedupRetention is how long processed message ids are kept for
	// deduplication (default 7 days). It must exceed the longest time a
	// message can be redelivered after (Kafka retention, replays).
	DedupRetention time.Duration
	// OutboxRetention is how long published outbox rows are kept, for
	// inspection, before the housekeeping deletes them (default 7 days).
	OutboxRetention time.Duration
	// TimelineRetention is how long message timeline entries are kept
	// (default 30 days).
	TimelineRetention time.Duration
	// MetricsInterval is how often the gauges read from PostgreSQL and Kafka
	// (backlog, dead letters, consumer lag) are refreshed (default 15 s).
	MetricsInterval time.Duration
	// CloseTimeout bounds how long Close waits for running handlers (default 30 s).
	CloseTimeout time.Duration
}

func (c *Config) setDefaults() {
	c.Kafka.setDefaults()
	c.Topics.setDefaults()
	c.Retry.setDefaults()
	c.Breaker.setDefaults()
	c.Relay.setDefaults()
	if c.HandlerTimeout <= 0 {
		c.HandlerTimeout = 30 * time.Second
	}
	if c.ParkedRetryInterval <= 0 {
		c.ParkedRetryInterval = 5 * time.Second
	}
	if c.ParkedMaxAge <= 0 {
		c.ParkedMaxAge = 24 * time.Hour
	}
	if c.DedupRetention <= 0 {
		c.DedupRetention = 7 * 24 * time.Hour
	}
	if c.OutboxRetention <= 0 {
		c.OutboxRetention = 7 * 24 * time.Hour
	}
	if c.TimelineRetention <= 0 {
		c.TimelineRetention = 30 * 24 * time.Hour
	}
	if c.MetricsInterval <= 0 {
		c.MetricsInterval = 15 * time.Second
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = 30 * time.Second
	}
}

// Validate checks the configuration after defaults are applied.
func (c Config) Validate() error {
	return errors.Join(c.Kafka.Validate(), c.Retry.Validate())
}
