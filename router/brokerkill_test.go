package router

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/roomwire/roomwire/router/kafkatest"
)

// envClusterControl names the control script of a cluster brought up by
// deploy/kafka/cluster (<state>/kafka-cluster/control), whose nodes the
// broker-kill test kills and starts again.
const envClusterControl = "ROOMWIRE_TEST_KAFKA_CONTROL"

// TestProducerKeepsAcknowledgedRecordsThroughBrokerKills publishes from
// several goroutines through one Publisher, each the next record only after
// the last was acknowledged (as the relay does), while two of three brokers
// (one of them a partition leader) are SIGKILLed, left down past the
// producer's retries and started again. Every acknowledged record must be in the topic. It runs the
// producer as configured by default, and with sarama's idempotence for the
// record in docs/backbone.md (logged, not asserted).
func TestProducerKeepsAcknowledgedRecordsThroughBrokerKills(t *testing.T) {
	brokers, control := kafkatest.Brokers(), os.Getenv(envClusterControl)
	if brokers == nil || control == "" {
		t.Skip("needs " + kafkatest.EnvBrokers + " and " + envClusterControl + " (deploy/kafka/cluster up)")
	}
	for _, idempotent := range []bool{false, true} {
		t.Run(fmt.Sprintf("idempotent=%v", idempotent), func(t *testing.T) {
			kafkatest.Fresh(t, brokers)
			topic := InboundTopic("brokerkill")
			if err := kafkatest.CreateTopics(context.Background(), brokers, topic); err != nil {
				t.Fatal(err)
			}
			acked, failed, lost := publishThroughKills(t, brokers, control, topic, idempotent)
			t.Logf("idempotent=%v: %d records acknowledged, %d publishes failed (retried), %d acknowledged records missing from the topic",
				idempotent, acked, failed, len(lost))
			if len(lost) > 0 && !idempotent {
				t.Errorf("%d acknowledged records are not in the topic, e.g. %s", len(lost), lost[0])
			}
		})
	}
}

func publishThroughKills(t *testing.T, brokers []string, control, topic string, idempotent bool) (acked, failed int, lost []string) {
	cfg := KafkaConfig{Brokers: brokers, ClientID: "roomwire-brokerkill", IdempotentProducer: idempotent}
	pub, err := NewPublisher(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()

	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var ackedIDs []string
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("w%d-%06d", w, i)
				msg := message.NewMessage(id, []byte(id))
				msg.Metadata.Set(MetadataPartitionKey, fmt.Sprintf("hotel-%d-%d", w, i%7))
				for ctx.Err() == nil {
					if err := pub.Publish(topic, msg); err == nil {
						mu.Lock()
						ackedIDs = append(ackedIDs, id)
						mu.Unlock()
						break
					}
					mu.Lock()
					failed++
					mu.Unlock()
					time.Sleep(200 * time.Millisecond)
				}
			}
		}()
	}
	// Two of three nodes down: the partitions lose their in-sync quorum and
	// the controllers theirs, so sends fail past the producer's retries
	// (the case where sarama's idempotent producer bumps its epoch) until
	// the nodes are back.
	time.Sleep(3 * time.Second)
	victims := killTargets(t, brokers, topic)
	for _, n := range victims {
		if out, err := exec.Command(control, "kill", strconv.Itoa(int(n))).CombinedOutput(); err != nil {
			t.Fatalf("kill node %d: %v %s", n, err, out)
		}
	}
	time.Sleep(12 * time.Second)
	for _, n := range victims {
		if out, err := exec.Command(control, "start", strconv.Itoa(int(n))).CombinedOutput(); err != nil {
			t.Fatalf("start node %d: %v %s", n, err, out)
		}
	}
	time.Sleep(3 * time.Second)
	cancel()
	wg.Wait()

	seen := map[string]bool{}
	for _, r := range readAll(t, brokers, topic) {
		seen[r] = true
	}
	for _, id := range ackedIDs {
		if !seen[id] {
			lost = append(lost, id)
		}
	}
	return len(ackedIDs), failed, lost
}

// killTargets returns the leader of partition 0 of topic and, on three or
// more brokers, one other broker.
func killTargets(t *testing.T, brokers []string, topic string) []int32 {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	details, err := adm.ListTopics(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	leader := details[topic].Partitions[0].Leader
	listed, err := adm.ListBrokers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := []int32{leader}
	for _, id := range listed.NodeIDs() {
		if id != leader && len(listed) >= 3 && len(out) < 2 {
			out = append(out, id)
		}
	}
	return out
}

// readAll returns the message ids of every record in topic, up to its end
// offsets of the moment.
func readAll(t *testing.T, brokers []string, topic string) []string {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	var ids []string
	for len(left) > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: %d partitions not read to the end", topic, len(left))
		}
		fetches.EachRecord(func(r *kgo.Record) {
			for _, h := range r.Headers {
				if h.Key == "_watermill_message_uuid" {
					ids = append(ids, string(h.Value))
				}
			}
			if end, ok := left[r.Partition]; ok && r.Offset+1 >= end {
				delete(left, r.Partition)
			}
		})
	}
	return ids
}
