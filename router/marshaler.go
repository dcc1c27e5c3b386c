package router

import (
	"fmt"
	"unicode/utf8"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
)

// Metadata keys Roomwire messages carry (as Kafka record headers).
const (
	// MetadataPartitionKey holds the partition key: the property id.
	MetadataPartitionKey = "partition_key"
	// MetadataCorrelationID follows one request through every message and
	// partner call it causes. Same key as Watermill's correlation middleware.
	MetadataCorrelationID = "correlation_id"
	// MetadataEventType holds the canonical event type, when there is one.
	MetadataEventType = "event_type"
	// MetadataPropertyID holds the property the message concerns.
	MetadataPropertyID = "property_id"
	// MetadataReservationID holds the reservation the message concerns.
	MetadataReservationID = "reservation_id"
	// MetadataConnector names the connector an inbound message came from.
	MetadataConnector = "connector"
	// MetadataKind is what an inbound message carries: booking or ari.
	MetadataKind = "kind"
	// MetadataCommittedAt is when the message's event was committed to the
	// outbox (RFC 3339): delivery latency is measured from it.
	MetadataCommittedAt = "roomwire_committed_at"
	// MetadataReplayCount is set on a message replayed from a dead letter: how
	// many times it has been replayed.
	MetadataReplayCount = "roomwire_replay_count"

	// MetadataMalformed is set by the unmarshaler on a record it could not
	// read properly; the message goes straight to the dead-letter topic.
	MetadataMalformed = "roomwire_malformed"

	// Metadata of a message on a dead-letter topic.
	MetadataDLQReason        = "roomwire_dlq_reason"
	MetadataDLQError         = "roomwire_dlq_error"
	MetadataDLQHandler       = "roomwire_dlq_handler"
	MetadataDLQConnector     = "roomwire_dlq_connector"
	MetadataDLQOriginalTopic = "roomwire_dlq_original_topic"
	MetadataDLQAttempts      = "roomwire_dlq_attempts"
	MetadataDLQFirstFailure  = "roomwire_dlq_first_failure"
	MetadataDLQLastFailure   = "roomwire_dlq_last_failure"
)

// Marshaler turns Watermill messages into Kafka records keyed by the
// partition_key metadata, and Kafka records back into messages.
//
// Unmarshal never fails. Watermill-kafka stops the whole consumer group when
// an unmarshaler returns an error, so one bad record would stop every
// property on the partition. Instead a record that cannot be read properly
// becomes a message flagged with MetadataMalformed, which the consumer
// pipeline sends to the dead-letter topic.
type Marshaler struct {
	partitioning kafka.MarshalerUnmarshaler
}

var _ kafka.MarshalerUnmarshaler = Marshaler{}

// NewMarshaler returns the marshaler every Roomwire publisher and subscriber
// uses.
func NewMarshaler() Marshaler {
	return Marshaler{partitioning: kafka.NewWithPartitioningMarshaler(partitionKeyOf)}
}

// partitionKeyOf keys a record by its partition_key metadata. A message
// without one is keyed by the empty string: such messages still share one
// partition and keep their order.
func partitionKeyOf(_ string, msg *message.Message) (string, error) {
	return msg.Metadata.Get(MetadataPartitionKey), nil
}

// Marshal implements kafka.Marshaler.
func (m Marshaler) Marshal(topic string, msg *message.Message) (*sarama.ProducerMessage, error) {
	if m.partitioning == nil {
		m = NewMarshaler()
	}
	return m.partitioning.Marshal(topic, msg)
}

// Unmarshal implements kafka.Unmarshaler; it never returns an error.
func (m Marshaler) Unmarshal(rec *sarama.ConsumerMessage) (*message.Message, error) {
	var (
		id        string
		problem   string
		sawID     bool
		metadata  = make(message.Metadata, len(rec.Headers))
		malformed = func(p string) {
			if problem == "" {
				problem = p
			}
		}
	)
	for _, h := range rec.Headers {
		if h == nil {
			continue
		}
		key := string(h.Key)
		if !utf8.Valid(h.Key) || !utf8.Valid(h.Value) {
			malformed("a header is not valid UTF-8")
			continue
		}
		switch key {
		case kafka.UUIDHeaderKey:
			if sawID {
				malformed("two message ids")
			}
			id, sawID = string(h.Value), true
		case MetadataMalformed:
			// Only the unmarshaler sets this; a producer cannot.
		default:
			metadata.Set(key, string(h.Value))
		}
	}
	if id == "" {
		malformed("no message id")
		// A stable id, so redeliveries of the same record dedupe and
		// dead-letter as one.
		id = fmt.Sprintf("kafka:%s/%d/%d", rec.Topic, rec.Partition, rec.Offset)
	}
	if metadata.Get(MetadataPartitionKey) == "" && len(rec.Key) > 0 && utf8.Valid(rec.Key) {
		metadata.Set(MetadataPartitionKey, string(rec.Key))
	}
	if problem != "" {
		metadata.Set(MetadataMalformed, problem)
	}
	msg := message.NewMessage(id, rec.Value)
	msg.Metadata = metadata
	return msg, nil
}
