package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/roomwire/roomwire/router/kafkatest"
)

// Broker faults of a run against Apache Kafka processes (--kafka-brokers).
const (
	faultBrokerKill     = "broker_kill"
	faultControllerKill = "controller_kill"
)

// chaosKafka is a cluster of Apache Kafka processes brought up by
// deploy/kafka/cluster: chaos SIGKILLs its brokers and starts them again
// through the cluster's control script.
type chaosKafka struct {
	brokers     []string
	control     string // <cluster dir>/control
	groupPrefix string // this run's consumer groups
	cl          *kgo.Client
	adm         *kadm.Client

	mu    sync.Mutex
	kills int // broker kills so far, to take the brokers in turn
}

// newChaosKafka connects to brokers and checks that clusterDir is the
// directory deploy/kafka/cluster keeps them in.
func newChaosKafka(ctx context.Context, brokers []string, clusterDir, runID string) (*chaosKafka, error) {
	control := filepath.Join(clusterDir, "control")
	if _, err := os.Stat(control); err != nil {
		return nil, fmt.Errorf("--kafka-cluster %s: no cluster brought up by deploy/kafka/cluster there (%w); broker kills need its processes", clusterDir, err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RequestRetries(3), kgo.RetryTimeout(30*time.Second))
	if err != nil {
		return nil, err
	}
	k := &chaosKafka{brokers: brokers, control: control, groupPrefix: "roomwire-chaos-" + runID + ".", cl: cl, adm: kadm.NewClient(cl)}
	bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	listed, err := k.adm.ListBrokers(bctx)
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("kafka brokers %s: %w", strings.Join(brokers, ","), err)
	}
	for _, b := range listed {
		port, err := os.ReadFile(filepath.Join(clusterDir, fmt.Sprintf("node%d", b.NodeID), "port"))
		if err != nil || strings.TrimSpace(string(port)) != strconv.Itoa(int(b.Port)) {
			cl.Close()
			return nil, fmt.Errorf("broker %d (%s:%d) is not a node of the cluster in %s", b.NodeID, b.Host, b.Port, clusterDir)
		}
	}
	return k, nil
}

func (k *chaosKafka) close() { k.cl.Close() }

// deleteTopics deletes the backbone's topics, so that a run reads back only
// what it wrote.
func (k *chaosKafka) deleteTopics(ctx context.Context) error {
	return kafkatest.DeleteTopics(ctx, k.brokers, kafkatest.TopicPrefix)
}

// controller returns the node leading the KRaft quorum: the active
// controller. (Metadata names a random broker as "controller" on KRaft.)
func (k *chaosKafka) controller(ctx context.Context) (int32, error) {
	req := kmsg.NewPtrDescribeQuorumRequest()
	rt := kmsg.NewDescribeQuorumRequestTopic()
	rt.Topic = "__cluster_metadata"
	rp := kmsg.NewDescribeQuorumRequestTopicPartition()
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, k.cl)
	if err != nil {
		return -1, err
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return -1, errors.New("describe quorum: no metadata partition in the answer")
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		return -1, fmt.Errorf("describe quorum: error code %d", p.ErrorCode)
	}
	return p.LeaderID, nil
}

// victim returns the broker to kill: the controller, or for a plain broker
// kill the next broker in turn that is not the controller.
func (k *chaosKafka) victim(ctx context.Context, wantController bool) (int32, error) {
	ctrl, err := k.controller(ctx)
	if err != nil {
		return -1, err
	}
	if wantController {
		return ctrl, nil
	}
	listed, err := k.adm.ListBrokers(ctx)
	if err != nil {
		return -1, err
	}
	ids := listed.NodeIDs()
	k.mu.Lock()
	defer k.mu.Unlock()
	for range ids {
		id := ids[k.kills%len(ids)]
		k.kills++
		if id != ctrl || len(ids) == 1 {
			return id, nil
		}
	}
	return -1, errors.New("no broker to kill")
}

// killAndRestart SIGKILLs node, leaves it down for down, and starts it again
// on its data and ports, returning once it is back in the cluster.
func (k *chaosKafka) killAndRestart(ctx context.Context, node int32, down time.Duration) error {
	if out, err := exec.CommandContext(ctx, k.control, "kill", strconv.Itoa(int(node))).CombinedOutput(); err != nil {
		return fmt.Errorf("kill node %d: %v: %s", node, err, out)
	}
	chaosSleep(ctx, down)
	return k.start(context.WithoutCancel(ctx), node)
}

func (k *chaosKafka) start(ctx context.Context, node int32) error {
	if out, err := exec.CommandContext(ctx, k.control, "start", strconv.Itoa(int(node))).CombinedOutput(); err != nil {
		return fmt.Errorf("start node %d: %v: %s", node, err, out)
	}
	return nil
}

// startAll starts any node a fault left down (the run was cut short).
func (k *chaosKafka) startAll(ctx context.Context) {
	listed, _ := k.adm.ListBrokers(ctx)
	up := map[int32]bool{}
	for _, b := range listed {
		up[b.NodeID] = true
	}
	dirs, _ := filepath.Glob(filepath.Join(filepath.Dir(k.control), "node*"))
	for _, d := range dirs {
		n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), "node"))
		if err == nil && !up[int32(n)] {
			k.start(ctx, int32(n)) //nolint:errcheck // best effort at the end of a run
		}
	}
}

// moveLeaders makes another replica the preferred leader of every
// partition of the backbone's topics (AlterPartitionReassignments, the same
// replicas in another order) and elects it (ElectLeaders), as an operator
// rebalancing leaders would. It returns how many partitions changed leader.
func (k *chaosKafka) moveLeaders(ctx context.Context) (int, error) {
	topics, err := k.adm.ListTopics(ctx)
	if err != nil {
		return 0, err
	}
	var req kadm.AlterPartitionAssignmentsReq
	elect := kadm.TopicsSet{}
	for _, t := range topics.Sorted() {
		if !strings.HasPrefix(t.Topic, kafkatest.TopicPrefix) {
			continue
		}
		for _, p := range t.Partitions.Sorted() {
			if len(p.Replicas) < 2 || p.Leader < 0 {
				continue
			}
			at := -1
			for i, r := range p.Replicas {
				if r == p.Leader {
					at = i
				}
			}
			if at < 0 {
				continue
			}
			// The replica after the leader goes first; the leader last.
			order := append(append([]int32(nil), p.Replicas[at+1:]...), p.Replicas[:at+1]...)
			req.Assign(t.Topic, p.Partition, order)
			elect.Add(t.Topic, p.Partition)
		}
	}
	if len(elect) == 0 {
		return 0, nil
	}
	if _, err := k.adm.AlterPartitionAssignments(ctx, req); err != nil {
		return 0, fmt.Errorf("alter partition assignments: %w", err)
	}
	res, err := k.adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, elect)
	if err != nil {
		return 0, fmt.Errorf("elect leaders: %w", err)
	}
	moved := 0
	for _, ps := range res {
		for _, r := range ps {
			if r.Err == nil {
				moved++
			}
		}
	}
	return moved, nil
}

// injectRealKafka applies a broker fault to the real cluster; it reports
// whether kind was one.
func (c *chaosRun) injectRealKafka(ctx context.Context, kind string, release func()) bool {
	start := time.Now()
	switch kind {
	case faultBrokerKill, faultControllerKill:
		release()
		node, err := c.kafka.victim(ctx, kind == faultControllerKill)
		if err != nil {
			c.say("fault %s: no broker to kill: %v", kind, err)
			return true
		}
		if err := c.kafka.killAndRestart(ctx, node, chaosFaultWindow); err != nil {
			c.say("fault %s: %v", kind, err)
			return true
		}
		c.faults.add(kind, kind+"_node_"+strconv.Itoa(int(node)), 1)
		c.say("fault %s: node %d SIGKILLed, started again and back in %s", kind, node, time.Since(start).Round(time.Millisecond))
	case faultLeaderMove:
		release()
		moved, err := c.kafka.moveLeaders(ctx)
		if err != nil {
			c.say("fault %s: %v", kind, err)
		}
		c.faults.add(kind, "partitions_moved", moved)
		c.say("fault %s: %d partition leaders moved through the admin API", kind, moved)
	default:
		return false
	}
	return true
}

// setUpRealKafka connects to the cluster of --kafka-brokers and deletes the
// backbone's topics left by earlier runs.
func (c *chaosRun) setUpRealKafka(ctx context.Context) error {
	k, err := newChaosKafka(ctx, c.o.kafkaBrokers, c.o.kafkaCluster, strings.TrimPrefix(c.dbName, "roomwire_chaos_"))
	if err != nil {
		return err
	}
	c.kafka = k
	if err := k.deleteTopics(ctx); err != nil {
		return fmt.Errorf("delete the topics of earlier runs: %w", err)
	}
	c.say("Apache Kafka at %s (cluster in %s): topics %s* deleted, consumer groups %s*",
		strings.Join(k.brokers, ","), filepath.Dir(k.control), kafkatest.TopicPrefix, k.groupPrefix)
	return nil
}

// tearDownRealKafka starts any node left down and, unless the run is kept
// for inspection, deletes the run's topics.
func (c *chaosRun) tearDownRealKafka(keep bool) {
	if c.kafka == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c.kafka.startAll(ctx)
	if !keep {
		if err := c.kafka.deleteTopics(ctx); err != nil {
			c.say("could not delete the run's topics: %v", err)
		}
	}
	c.kafka.close()
}

// brokerSeeds are the brokers serve and the checks talk to.
func (c *chaosRun) brokerSeeds() []string {
	if c.kafka != nil {
		return c.kafka.brokers
	}
	return []string{c.brokerAddr}
}

// groupPrefix is the consumer group prefix of serve: a fresh one on a real
// cluster, which outlives the run.
func (c *chaosRun) groupPrefix() string {
	if c.kafka != nil {
		return c.kafka.groupPrefix
	}
	return ""
}

// ownGroups keeps the consumer groups of this run's serve.
func (c *chaosRun) ownGroups(groups []string) []string {
	if c.kafka == nil {
		return groups
	}
	var own []string
	for _, g := range groups {
		if strings.HasPrefix(g, c.kafka.groupPrefix) {
			own = append(own, g)
		}
	}
	return own
}

// faultKinds are the kinds of fault this run injects. On a real cluster,
// broker processes are killed instead of kfake's produce and fetch errors
// and restarts, and leaders move through the admin API.
func (c *chaosRun) faultKinds() []string {
	if c.kafka == nil {
		return chaosFaultKinds
	}
	var kinds []string
	for _, k := range chaosFaultKinds {
		if k != faultProduceErrors && k != faultFetchErrors && k != faultBrokerRestart {
			kinds = append(kinds, k)
		}
	}
	return append(kinds, faultBrokerKill, faultControllerKill)
}
