package router

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
)

// Publisher publishes Watermill messages to Kafka with Roomwire's producer
// settings (acks from all in-sync replicas, keyed by property).
//
// Unlike watermill-kafka's Publisher, which waits for each record's
// acknowledgement before sending the next, Publish hands all of its messages
// to the producer at once and waits for them together. Order within a
// partition is kept while sends succeed: the producer has one request in
// flight per broker and retries in sequence. PublishBatches keeps it
// through failures too, for the outbox relay.
type Publisher struct {
	// client is PublishBatches' own: its requests do not queue on the
	// producer's connections (one request in flight per broker) ahead of
	// a caller of Publish, such as a channel waiting for its answer.
	client    sarama.Client
	config    *sarama.Config
	producer  sarama.SyncProducer
	marshaler kafka.Marshaler
	logger    *slog.Logger

	mu     sync.RWMutex
	closed bool
}

var _ message.Publisher = (*Publisher)(nil)

// NewPublisher connects a publisher to the cluster of cfg.
func NewPublisher(cfg KafkaConfig, logger *slog.Logger) (*Publisher, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sc, err := cfg.saramaConfig()
	if err != nil {
		return nil, err
	}
	producer, err := sarama.NewSyncProducer(cfg.Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("kafka: producer: %w", err)
	}
	client, err := sarama.NewClient(cfg.Brokers, sc)
	if err != nil {
		producer.Close()
		return nil, fmt.Errorf("kafka: producer: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Publisher{client: client, config: sc, producer: producer, marshaler: NewMarshaler(), logger: logger}, nil
}

// Publish publishes msgs to topic and returns once the cluster has
// acknowledged every one of them. On error some of the messages may have
// been published, and not necessarily a prefix: where order per key must
// survive errors, publish a key's next message only after the previous one
// succeeded (as the outbox relay does). Publishing again is safe, as
// consumers deduplicate by message id.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return errors.New("kafka: publisher closed")
	}
	if len(msgs) == 0 {
		return nil
	}
	records := make([]*sarama.ProducerMessage, 0, len(msgs))
	for _, msg := range msgs {
		rec, err := p.marshaler.Marshal(topic, msg)
		if err != nil {
			return fmt.Errorf("kafka: marshal message %s: %w", msg.UUID, err)
		}
		records = append(records, rec)
	}
	if len(records) == 1 {
		if _, _, err := p.producer.SendMessage(records[0]); err != nil {
			return fmt.Errorf("kafka: publish %s to %s: %w", msgs[0].UUID, topic, err)
		}
		return nil
	}
	if err := p.producer.SendMessages(records); err != nil {
		var perrs sarama.ProducerErrors
		if errors.As(err, &perrs) && len(perrs) > 0 {
			return fmt.Errorf("kafka: publish to %s: %d of %d messages failed, first: %w", topic, len(perrs), len(records), perrs[0].Err)
		}
		return fmt.Errorf("kafka: publish to %s: %w", topic, err)
	}
	return nil
}

// Close flushes and closes the producer. It waits for Publish calls in
// progress.
func (p *Publisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	err := p.producer.Close()
	if cerr := p.client.Close(); err == nil && !errors.Is(cerr, sarama.ErrClosedClient) {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("kafka: close producer: %w", err)
	}
	return nil
}

// SubscriberOptions tune a subscriber beyond the cluster configuration.
type SubscriberOptions struct {
	// ConsumerGroup is the full group name (ConsumerGroupPrefix is not
	// added). Empty reads every partition without a group, from the oldest
	// offset, committing nothing.
	ConsumerGroup string
	// Partitions and ReplicationFactor apply when SubscribeInitialize
	// creates a topic (defaults 12 and the broker's default).
	Partitions        int32
	ReplicationFactor int16
	// NackResendSleep is the pause before a nacked message is redelivered
	// (default 100 ms). The consumer pipeline nacks only when storage is
	// down or on shutdown, and waits itself first.
	NackResendSleep time.Duration
	// RebalanceTimeout is how long a rebalancing group waits for its members
	// to rejoin (default 60 s). A member rejoins only after the
	// messages it is handling are done, so it must exceed the longest
	// handling, retries included; Backbone.AddConsumer works it out.
	RebalanceTimeout time.Duration
	// Lanes is how many messages of one partition a LaneSubscriber hands
	// out at once, each of another key (default 16).
	Lanes int
	// MaxInFlight is how many messages a LaneSubscriber hands out at once
	// over all its partitions (default 32).
	MaxInFlight int
	// ReadAhead is how many messages of one partition a LaneSubscriber
	// holds, in flight or waiting for their key's turn (default 256).
	ReadAhead int
}

// NewSubscriber returns a watermill-kafka subscriber with Roomwire's
// consumer settings and the never-failing unmarshaler. It hands out one
// message per partition at a time; the backbone's consumers use
// NewLaneSubscriber, which handles a partition's keys side by side.
func NewSubscriber(cfg KafkaConfig, opts SubscriberOptions, logger *slog.Logger) (*kafka.Subscriber, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sc, err := cfg.saramaConfig()
	if err != nil {
		return nil, err
	}
	if opts.Partitions <= 0 {
		opts.Partitions = 12
	}
	if opts.ReplicationFactor == 0 {
		opts.ReplicationFactor = -1
	}
	if opts.NackResendSleep <= 0 {
		opts.NackResendSleep = 100 * time.Millisecond
	}
	if opts.RebalanceTimeout > 0 {
		sc.Consumer.Group.Rebalance.Timeout = opts.RebalanceTimeout
	}
	return kafka.NewSubscriber(kafka.SubscriberConfig{
		Brokers:               cfg.Brokers,
		Unmarshaler:           NewMarshaler(),
		OverwriteSaramaConfig: sc,
		ConsumerGroup:         opts.ConsumerGroup,
		// A nacked message is redelivered in place, holding up its
		// partition: retries happen in the pipeline, not through nacks.
		NackResendSleep:     opts.NackResendSleep,
		ReconnectRetrySleep: time.Second,
		InitializeTopicDetails: &sarama.TopicDetail{
			NumPartitions:     opts.Partitions,
			ReplicationFactor: opts.ReplicationFactor,
		},
	}, watermillLogger(logger))
}
