package router

import (
	"fmt"
	"strings"

	"github.com/roomwire/roomwire/canonical"
)

// The topics of the backbone. Every message on them is keyed by property id.
const (
	// TopicReservationEvents carries reservation.created|modified|cancelled|
	// overbooked events published from the store's outbox.
	TopicReservationEvents = canonical.TopicReservationEvents
	// TopicAvailabilityEvents carries availability.changed and rates.changed.
	TopicAvailabilityEvents = canonical.TopicAvailabilityEvents

	// inboundTopicPrefix starts the topic of each inbound connector.
	inboundTopicPrefix = "roomwire.inbound."
	// deadLetterSuffix ends every dead-letter topic.
	deadLetterSuffix = ".dlq"
)

// InboundTopic returns the topic a connector publishes the partner messages
// it receives to: roomwire.inbound.<connector>.
func InboundTopic(connector string) string { return inboundTopicPrefix + connector }

// DeadLetterTopic returns the dead-letter topic of topic: <topic>.dlq.
func DeadLetterTopic(topic string) string { return topic + deadLetterSuffix }

// IsDeadLetterTopic reports whether topic is a dead-letter topic.
func IsDeadLetterTopic(topic string) bool { return strings.HasSuffix(topic, deadLetterSuffix) }

// validateTopicName rejects names Kafka would refuse, so that a typo in a
// connector name fails at start-up rather than at the first publish.
func validateTopicName(topic string) error {
	if topic == "" || topic == "." || topic == ".." || len(topic) > 249 {
		return fmt.Errorf("router: invalid topic name %q", topic)
	}
	for _, r := range topic {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("router: invalid topic name %q: only letters, digits, '.', '_' and '-' are allowed", topic)
		}
	}
	return nil
}
