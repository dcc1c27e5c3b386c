// Package kafkatest lets the backbone's tests run against a real Kafka
// cluster instead of the embedded broker: the cluster named by
// ROOMWIRE_TEST_KAFKA_BROKERS (deploy/kafka/cluster up prints one).
//
// Roomwire's topics have fixed names, so a test on a shared cluster first
// deletes the topics earlier tests left (every topic named roomwire.*) and
// uses consumer groups of its own. Tests of one package run one after the
// other; run packages one at a time against the same cluster (go test -p 1).
package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// EnvBrokers names the cluster the tests use instead of the embedded broker:
// host:port,host:port,...
const EnvBrokers = "ROOMWIRE_TEST_KAFKA_BROKERS"

// TopicPrefix begins the name of every topic Roomwire creates.
const TopicPrefix = "roomwire."

// Brokers returns the brokers of EnvBrokers, or nil when it is not set.
func Brokers() []string {
	var out []string
	for _, b := range strings.Split(os.Getenv(EnvBrokers), ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

var (
	mu       sync.Mutex
	prepared = map[string]string{} // test name -> its consumer group prefix
)

// Fresh prepares the cluster at brokers for t, once per test: it deletes
// the roomwire.* topics and returns a consumer group prefix no other test
// uses. Later calls in the same test return the same prefix.
func Fresh(t testing.TB, brokers []string) (groupPrefix string) {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if p, ok := prepared[t.Name()]; ok {
		return p
	}
	if err := DeleteTopics(context.Background(), brokers, TopicPrefix); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	p := "roomwire-test-" + uuid.NewString()[:8] + "."
	prepared[t.Name()] = p
	return p
}

// DeleteTopics deletes the topics whose names begin with prefix and waits
// until the cluster no longer lists them.
func DeleteTopics(ctx context.Context, brokers []string, prefix string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RequestRetries(3))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		topics, err := adm.ListTopics(ctx)
		if err != nil {
			return fmt.Errorf("list topics on %s: %w", strings.Join(brokers, ","), err)
		}
		var doomed []string
		for _, name := range topics.Names() {
			if strings.HasPrefix(name, prefix) {
				doomed = append(doomed, name)
			}
		}
		if len(doomed) == 0 {
			return nil
		}
		if _, err := adm.DeleteTopics(ctx, doomed...); err != nil {
			return fmt.Errorf("delete topics: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topics %v still listed: %w", doomed, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// CreateTopics creates topics with the brokers' defaults, if missing, and
// waits until every partition has a leader.
func CreateTopics(ctx context.Context, brokers []string, topics ...string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RequestRetries(3))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	resp, err := adm.CreateTopics(ctx, -1, -1, nil, topics...)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", r.Topic, r.Err)
		}
	}
	for {
		details, err := adm.ListTopics(ctx, topics...)
		if err == nil && details.Error() == nil && len(details) == len(topics) && allLed(details) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topics %v have no leaders yet: %w", topics, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func allLed(details kadm.TopicDetails) bool {
	for _, t := range details {
		if len(t.Partitions) == 0 {
			return false
		}
		for _, p := range t.Partitions {
			if p.Leader < 0 || p.Err != nil {
				return false
			}
		}
	}
	return true
}
