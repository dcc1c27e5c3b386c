package apaleo_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/roomwire/roomwire/connectors"
	"github.com/roomwire/roomwire/connectors/apaleo"
	"github.com/roomwire/roomwire/connectors/apaleo/apaleosim"
	"github.com/roomwire/roomwire/connectors/inbound"
	"github.com/roomwire/roomwire/router"
)

// kafkaPubSub starts the embedded Kafka-protocol broker with a synchronous,
// idempotent publisher and a subscriber in consumer group group.
func kafkaPubSub(t *testing.T, group string, topics ...string) (message.Publisher, message.Subscriber) {
	t.Helper()
	// Topics exist before the consumer joins, as the router creates them at start.
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.SeedTopics(2, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	logger := watermill.NopLogger{}
	pcfg := kafka.DefaultSaramaSyncPublisherConfig()
	pcfg.Version = sarama.V2_1_0_0
	pcfg.Producer.Idempotent = true
	pcfg.Producer.RequiredAcks = sarama.WaitForAll
	pcfg.Net.MaxOpenRequests = 1
	marshaler := kafka.NewWithPartitioningMarshaler(func(_ string, msg *message.Message) (string, error) {
		return msg.Metadata.Get(router.MetadataPartitionKey), nil
	})
	pub, err := kafka.NewPublisher(kafka.PublisherConfig{Brokers: cluster.ListenAddrs(), Marshaler: marshaler, OverwriteSaramaConfig: pcfg}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	scfg := kafka.DefaultSaramaSubscriberConfig()
	scfg.Version = sarama.V2_1_0_0
	scfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	sub, err := kafka.NewSubscriber(kafka.SubscriberConfig{Brokers: cluster.ListenAddrs(), Unmarshaler: marshaler,
		OverwriteSaramaConfig: scfg, ConsumerGroup: group}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return pub, sub
}

// Over Kafka: a webhook is acknowledged once its booking is on the inbound
// topic; the applier consumes it, an unmapped code sends it to the dead
// letters naming the code, and once the mapping is put through the admin
// handler, replaying it applies it exactly once.
func TestUnmappedInboundCodeIsQuarantinedAndReplaysOnceMapped(t *testing.T) {
	w := newWorld(t, apaleosim.Faults{DuplicateWebhooks: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var withoutSingles []connectors.Mapping
	for _, m := range testMappings {
		if m.Partner != "LIS-FLEX-SGL" {
			withoutSingles = append(withoutSingles, m)
		}
	}
	if err := w.res.Mappings.Replace(ctx, apaleo.Name, withoutSingles); err != nil {
		t.Fatal(err)
	}
	pub, sub := kafkaPubSub(t, "roomwire-inbound-apaleo", inbound.Topic(apaleo.Name))
	hooks := httptest.NewServer(http.StripPrefix("/v1/connectors/apaleo", w.conn.Webhook(inbound.NewSink(pub, apaleo.Name, w.res.Logger))))
	defer hooks.Close()
	w.sim.SetWebhook(hooks.URL+"/v1/connectors/apaleo/webhooks", "apaleo", webhookPassword)

	msgs, err := sub.Subscribe(ctx, inbound.Topic(apaleo.Name))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var dead []*message.Message
	var reasons []error
	go func() {
		for msg := range msgs {
			err := w.applier.Handle(msg)
			if err != nil && !connectors.IsRetryable(err) {
				mu.Lock()
				dead, reasons = append(dead, msg.Copy()), append(reasons, err)
				mu.Unlock()
			}
			if err != nil && connectors.IsRetryable(err) {
				msg.Nack()
				continue
			}
			msg.Ack()
		}
	}()

	booked, err := w.sim.CreateBooking(frontDeskBooking("LIS-FLEX-SGL", "2027-05-10", 2))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the unmapped booking is dead-lettered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(dead) > 0
	})
	mu.Lock()
	reason := reasons[0]
	msg := dead[0]
	mu.Unlock()
	if connectors.ClassOf(reason) != connectors.ClassUnmapped || !strings.Contains(reason.Error(), `"LIS-FLEX-SGL"`) {
		t.Fatalf("reason %q (class %s); want unmapped naming LIS-FLEX-SGL", reason, connectors.ClassOf(reason))
	}
	if msg.Metadata.Get(router.MetadataPartitionKey) != "LIS" {
		t.Errorf("partition key %q, want the property", msg.Metadata.Get(router.MetadataPartitionKey))
	}

	// The operator adds the mapping (PUT /v1/connectors/apaleo/mappings).
	if err := w.res.Mappings.Replace(ctx, apaleo.Name, testMappings); err != nil {
		t.Fatalf("mappings: %v", err)
	}

	// Replaying (twice, as an operator might) applies it once.
	for i := 0; i < 2; i++ {
		if err := w.applier.Handle(msg.Copy()); err != nil {
			t.Fatalf("replay %d: %v", i+1, err)
		}
	}
	r, err := w.store.FindByExternalID(ctx, "LIS", apaleo.Channel, booked.ReservationIDs[0].ID)
	if err != nil || r.Version != 1 || r.RoomStays[0].RatePlan != "FLEX-SGL" {
		t.Fatalf("after replay: %+v, %v", r, err)
	}
}
