package router

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"
)

// TestPubSub runs Watermill's universal pub/sub suite against Roomwire's
// Kafka configuration (Publisher, NewSubscriber and NewLaneSubscriber,
// Marshaler) on the embedded broker, or on the cluster of
// ROOMWIRE_TEST_KAFKA_BROKERS.
func TestPubSub(t *testing.T) {
	t.Run("watermill-kafka", func(t *testing.T) {
		testPubSub(t, func(cfg KafkaConfig, opts SubscriberOptions, logger *slog.Logger) (message.Subscriber, error) {
			return NewSubscriber(cfg, opts, logger)
		})
	})
	t.Run("lanes", func(t *testing.T) {
		testPubSub(t, func(cfg KafkaConfig, opts SubscriberOptions, logger *slog.Logger) (message.Subscriber, error) {
			return NewLaneSubscriber(cfg, opts, logger)
		})
	})
}

func testPubSub(t *testing.T, newSubscriber func(KafkaConfig, SubscriberOptions, *slog.Logger) (message.Subscriber, error)) {
	broker := testKafka(t)
	cfg := testKafkaConfig(broker)
	cfg.ClientID = "roomwire-pubsub-test"
	logger := testLogger(t)

	newPubSub := func(t *testing.T, group string) (message.Publisher, message.Subscriber) {
		pub, err := NewPublisher(cfg, logger)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := newSubscriber(cfg, SubscriberOptions{ConsumerGroup: group, Partitions: 8, NackResendSleep: 5 * time.Millisecond,
			// The suite subscribes one group to two topics from one goroutine;
			// a member stuck handing over an unread message is dropped sooner.
			RebalanceTimeout: 3 * time.Second}, logger)
		if err != nil {
			t.Fatal(err)
		}
		return pub, sub
	}
	// Subscribers made for one test share a group, so a second subscriber
	// continues where the first stopped, as the suite expects of Kafka.
	byTest := func(t *testing.T) (message.Publisher, message.Subscriber) {
		return newPubSub(t, testGroupPrefix(broker)+"pubsub-"+strings.ReplaceAll(t.Name(), "/", "-"))
	}

	tests.TestPubSub(t, tests.Features{
		ConsumerGroups: true,
		// At least once: a message can come again after a rebalance.
		ExactlyOnceDelivery: false,
		// The suite's messages share one (empty) key, so one partition.
		GuaranteedOrder: true,
		Persistent:      true,
		// A new member of an existing group continues from the group's
		// offsets rather than reading everything again.
		NewSubscriberReceivesOldMessages: false,
		// Keeps the suite to a few hundred messages per test.
		ForceShort: testing.Short(),
	}, byTest, newPubSub)
}
