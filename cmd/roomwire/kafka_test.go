package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/roomwire/roomwire/canonical"
	"github.com/roomwire/roomwire/reservations/pgtest"
	"github.com/roomwire/roomwire/router/kafkatest"
)

// TestServeOnKafka checks serve's production settings on the Apache Kafka
// cluster of ROOMWIRE_TEST_KAFKA_BROKERS: on three brokers or more, every
// topic it creates has three replicas of which two must have a record before
// it is acknowledged; and a second serve joining shares the partitions of
// every consumer group with the first.
func TestServeOnKafka(t *testing.T) {
	brokers := kafkatest.Brokers()
	if brokers == nil {
		t.Skip("needs " + kafkatest.EnvBrokers + " (deploy/kafka/cluster up)")
	}
	env := testKafkaEnv(t)
	groupPrefix := strings.TrimPrefix(env[1], "ROOMWIRE_CONSUMER_GROUP_PREFIX=")
	dbURL := pgtest.URL(t)
	startServe(t, dbURL, env...)

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	listed, err := adm.ListBrokers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// serve answers before its backbone has created every topic.
	var topics kadm.TopicDetails
	eventually(t, "serve creates its topics", func() bool {
		topics, err = adm.ListTopics(ctx)
		return err == nil && topics.Has(canonical.TopicReservationEvents) && topics.Has(canonical.TopicReservationEvents+".dlq")
	})
	var ours []string
	for _, td := range topics.Sorted() {
		if !strings.HasPrefix(td.Topic, kafkatest.TopicPrefix) {
			continue
		}
		ours = append(ours, td.Topic)
		for _, p := range td.Partitions.Sorted() {
			if want := min(len(listed), 3); len(listed) >= 3 && len(p.Replicas) != want {
				t.Errorf("%s/%d: %d replicas on %d brokers, want %d", td.Topic, p.Partition, len(p.Replicas), len(listed), want)
			}
		}
	}
	if len(ours) == 0 {
		t.Fatal("serve created no topics")
	}
	configs, err := adm.DescribeTopicConfigs(ctx, ours...)
	if err != nil {
		t.Fatal(err)
	}
	for _, rc := range configs {
		got := "(none)"
		for _, c := range rc.Configs {
			if c.Key == "min.insync.replicas" && c.Value != nil {
				got = *c.Value
			}
		}
		if want := map[bool]string{true: "2", false: "1"}[len(listed) >= 3]; got != want {
			t.Errorf("%s: min.insync.replicas %s on %d brokers, want %s (%v)", rc.Name, got, len(listed), want, rc.Err)
		}
	}

	// A second serve on the same database and groups: each group now has
	// two members, each consuming some of the partitions.
	startServe(t, dbURL, env...)
	var groups []string
	eventually(t, "both serves consume in every group", func() bool {
		lg, err := adm.ListGroups(ctx)
		if err != nil {
			return false
		}
		groups = groups[:0]
		for _, g := range lg.Groups() {
			if strings.HasPrefix(g, groupPrefix) {
				groups = append(groups, g)
			}
		}
		described, err := adm.DescribeGroups(ctx, groups...)
		if err != nil || len(groups) == 0 {
			return false
		}
		for _, g := range described.Sorted() {
			if g.State != "Stable" || len(g.Members) != 2 {
				return false
			}
			for _, m := range g.Members {
				c, ok := m.Assigned.AsConsumer()
				if !ok || len(c.Topics) == 0 || len(c.Topics[0].Partitions) == 0 {
					return false
				}
			}
		}
		return true
	})
	t.Logf("%d topics with their replication checked on %d brokers; %d consumer groups shared by two serves", len(ours), len(listed), len(groups))
}
