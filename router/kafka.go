package router

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// saramaConfig returns the sarama settings every Roomwire producer and
// consumer uses. c must have had its defaults applied.
func (c KafkaConfig) saramaConfig() (*sarama.Config, error) {
	version, err := c.saramaVersion()
	if err != nil {
		return nil, err
	}
	sc := sarama.NewConfig()
	sc.Version = version // sarama otherwise speaks 2.1 features it must not assume
	sc.ClientID = c.ClientID

	// Producer: no loss, order kept per partition. Acks from every in-sync
	// replica and one request in flight per broker keep order through
	// retries. sarama's idempotent producer is off unless asked for: after a
	// failed send it restarts its sequence numbers under a new epoch but can
	// still send a message numbered under the old epoch with the new one, so
	// the broker takes a new message for a retry of an old one, answers
	// success and drops it (docs/backbone.md). A retry may instead write a
	// message twice; every consumer skips message ids it has handled.
	sc.Producer.Idempotent = c.IdempotentProducer
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Net.MaxOpenRequests = 1
	sc.Producer.Retry.Max = 10
	sc.Producer.Retry.Backoff = 250 * time.Millisecond
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	// Keyed messages go where Kafka's reference clients would put them
	// (murmur2), so non-Go producers and consumers agree on partitions.
	sc.Producer.Partitioner = newPartitioner
	sc.Producer.Compression = sarama.CompressionSnappy

	// Consumer: a new group starts at the oldest offset, so nothing published
	// before a consumer first ran is skipped.
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Consumer.Return.Errors = true
	sc.Consumer.Offsets.AutoCommit.Enable = true
	sc.Consumer.Offsets.AutoCommit.Interval = time.Second
	// Hear of a rebalance within a second rather than three.
	sc.Consumer.Group.Heartbeat.Interval = time.Second
	sc.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategySticky()}

	sc.Metadata.Retry.Backoff = 500 * time.Millisecond
	sc.Admin.Timeout = 30 * time.Second

	if c.TLS.Enabled {
		tc, err := c.TLS.load()
		if err != nil {
			return nil, err
		}
		sc.Net.TLS.Enable = true
		sc.Net.TLS.Config = tc
	}
	if c.SASL.Mechanism != "" {
		sc.Net.SASL.Enable = true
		sc.Net.SASL.Handshake = true
		sc.Net.SASL.Version = sarama.SASLHandshakeV1
		sc.Net.SASL.User = c.SASL.User
		sc.Net.SASL.Password = c.SASL.Password
		switch c.SASL.Mechanism {
		case SASLPlain:
			sc.Net.SASL.Mechanism = sarama.SASLTypePlaintext
		case SASLScramSHA256:
			sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
			sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient {
				return &scramClient{mechanism: func(a scram.Auth) sasl.Mechanism { return a.AsSha256Mechanism() }}
			}
		case SASLScramSHA512:
			sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
			sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient {
				return &scramClient{mechanism: func(a scram.Auth) sasl.Mechanism { return a.AsSha512Mechanism() }}
			}
		}
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	return sc, nil
}

// adminOptions returns the franz-go client options of the admin client used
// for topic creation, readiness and consumer lag.
func (c KafkaConfig) adminOptions() ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.ClientID(c.ClientID + "-admin"),
		kgo.RequestRetries(2),
		kgo.RetryTimeout(10 * time.Second),
	}
	if c.TLS.Enabled {
		tc, err := c.TLS.load()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	switch c.SASL.Mechanism {
	case SASLPlain:
		opts = append(opts, kgo.SASL(plain.Auth{User: c.SASL.User, Pass: c.SASL.Password}.AsMechanism()))
	case SASLScramSHA256:
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASL.User, Pass: c.SASL.Password}.AsSha256Mechanism()))
	case SASLScramSHA512:
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASL.User, Pass: c.SASL.Password}.AsSha512Mechanism()))
	}
	return opts, nil
}

// load builds the tls.Config from the files named.
func (t TLSConfig) load() (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // an explicit operator choice for test clusters
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: tls: ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka: tls: ca_file %s holds no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: tls: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// scramClient adapts franz-go's SCRAM implementation to sarama, which ships
// none of its own.
type scramClient struct {
	mechanism func(scram.Auth) sasl.Mechanism
	session   sasl.Session
	first     []byte
	done      bool
}

func (s *scramClient) Begin(user, password, authzID string) error {
	m := s.mechanism(scram.Auth{User: user, Pass: password, Zid: authzID})
	session, first, err := m.Authenticate(context.Background(), "")
	if err != nil {
		return err
	}
	s.session, s.first = session, first
	return nil
}

func (s *scramClient) Step(challenge string) (string, error) {
	if s.session == nil {
		return "", errors.New("scram: Step before Begin")
	}
	if s.first != nil {
		first := s.first
		s.first = nil
		return string(first), nil
	}
	done, resp, err := s.session.Challenge([]byte(challenge))
	if err != nil {
		return "", err
	}
	s.done = done
	return string(resp), nil
}

func (s *scramClient) Done() bool { return s.done }
