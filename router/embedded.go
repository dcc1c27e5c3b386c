package router

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/twmb/franz-go/pkg/kfake"
)

// DefaultEmbeddedBrokerAddress is where the embedded broker listens unless
// told otherwise: loopback only, on a port the system picks.
const DefaultEmbeddedBrokerAddress = "127.0.0.1:0"

// EmbeddedBroker is a single-node Kafka-protocol broker running inside the
// process (franz-go's kfake), persisting its log in a directory so messages
// and committed offsets survive a restart on the same directory.
//
// serve starts one when no brokers are configured; the tests use it over the
// network, as they would a real cluster.
type EmbeddedBroker struct {
	cluster *kfake.Cluster
	addrs   []string
	logger  *slog.Logger
}

// EmbeddedBrokerOption tunes StartEmbeddedBroker.
type EmbeddedBrokerOption func(*embeddedBrokerSettings)

type embeddedBrokerSettings struct {
	address    string
	partitions int
	fsync      bool
	extra      []kfake.Opt
}

// WithListenAddress makes the broker listen on address (host:port; port 0
// picks a free one) instead of DefaultEmbeddedBrokerAddress.
func WithListenAddress(address string) EmbeddedBrokerOption {
	return func(s *embeddedBrokerSettings) { s.address = address }
}

// WithDefaultPartitions sets the partition count of topics the broker
// creates on first use (default 12).
func WithDefaultPartitions(n int) EmbeddedBrokerOption {
	return func(s *embeddedBrokerSettings) { s.partitions = n }
}

// WithFsync makes the broker fsync its log after every batch and offset
// commit, so that what it acknowledged survives the machine losing power,
// at the cost of serializing every request behind the disk.
func WithFsync(on bool) EmbeddedBrokerOption {
	return func(s *embeddedBrokerSettings) { s.fsync = on }
}

// WithKfakeOptions passes further options to kfake, e.g. kfake.EnableSASL
// and kfake.Superuser to test authentication.
func WithKfakeOptions(opts ...kfake.Opt) EmbeddedBrokerOption {
	return func(s *embeddedBrokerSettings) { s.extra = append(s.extra, opts...) }
}

// StartEmbeddedBroker starts a broker persisting to dataDir (created if
// missing). Starting it again on the same directory brings back every topic,
// record and committed offset that was there.
func StartEmbeddedBroker(dataDir string, logger *slog.Logger, opts ...EmbeddedBrokerOption) (*EmbeddedBroker, error) {
	if dataDir == "" {
		return nil, errors.New("embedded broker: a data directory is required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := embeddedBrokerSettings{address: DefaultEmbeddedBrokerAddress, partitions: 12}
	for _, o := range opts {
		o(&s)
	}
	if _, _, err := net.SplitHostPort(s.address); err != nil {
		return nil, fmt.Errorf("embedded broker: listen address %q: %w", s.address, err)
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	address := s.address
	kopts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.DataDir(dataDir),
		kfake.ClusterID("roomwire-embedded"),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(s.partitions),
		// kfake always asks for 127.0.0.1; listen where we were told instead.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, address) }),
		kfake.WithLogger(kfakeLogger{logger}),
	}
	// Every record is written to the log file before it is acknowledged,
	// so a killed process loses nothing: the file is in the kernel's page
	// cache. An fsync of every batch (and of every offset commit) guards
	// against the machine losing power too, but kfake does it in the one
	// loop that serves every request, so each fsync stalls every producer
	// and consumer behind it: under load, publishing took 450 ms at p50
	// with fsyncs and 60 ms without. Apache Kafka does not fsync each
	// write either; it relies on replication.
	if s.fsync {
		kopts = append(kopts, kfake.SyncWrites())
	}
	cluster, err := kfake.NewCluster(append(kopts, s.extra...)...)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	b := &EmbeddedBroker{cluster: cluster, addrs: cluster.ListenAddrs(), logger: logger}
	logger.Info("embedded Kafka broker started", "addrs", b.addrs, "data_dir", dataDir)
	return b, nil
}

// Addrs returns the host:port the broker listens on, for KafkaConfig.Brokers.
func (b *EmbeddedBroker) Addrs() []string { return append([]string(nil), b.addrs...) }

// Cluster returns the kfake cluster, whose control hooks (ControlKey,
// KeepControl, DropControl ...) let tests inject produce and fetch errors.
func (b *EmbeddedBroker) Cluster() *kfake.Cluster { return b.cluster }

// Close stops the broker, writing its state to the data directory.
func (b *EmbeddedBroker) Close() {
	b.cluster.Close()
	b.logger.Info("embedded Kafka broker stopped", "addrs", b.addrs)
}

// kfakeLogger sends kfake's warnings and errors to slog; its info and debug
// lines are per request and too chatty for a service log.
type kfakeLogger struct{ logger *slog.Logger }

func (l kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		l.logger.Error("embedded broker: " + fmt.Sprintf(format, args...))
	case kfake.LogLevelWarn:
		l.logger.Warn("embedded broker: " + fmt.Sprintf(format, args...))
	}
}

// watermillLogger adapts slog for Watermill, demoting its per-subscription
// info lines to debug.
func watermillLogger(logger *slog.Logger) watermill.LoggerAdapter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return watermill.NewSlogLoggerWithLevelMapping(logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
}
