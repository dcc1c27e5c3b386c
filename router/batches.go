package router

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill/message"
)

// TopicMessage is a message and the topic it goes to.
type TopicMessage struct {
	Topic   string
	Message *message.Message
}

// errBatchFull marks messages PublishBatches left for a later call: their
// partition's record batch was full.
var errBatchFull = errors.New("kafka: record batch full; publish again")

// maxBatchBytes bounds one partition's record batch (before compression),
// below the brokers' default message.max.bytes (1 MB), which limits a
// whole batch.
const maxBatchBytes = 900 << 10

// PublishBatches publishes msgs with one produce request per broker, each
// partition's messages (in the order given) as one record batch. A broker
// appends a record batch whole or not at all, so for every partition the
// messages written are a prefix of those given for it, never a later
// message without an earlier one; that holds however a request fails,
// which the producer behind Publish cannot promise (after giving up on one
// record it may still send the ones queued behind it).
//
// It returns one error per message: nil when the cluster acknowledged it.
// A partition whose batch would exceed maxBatchBytes takes what fits, and
// its later messages get errBatchFull, to be published by a later call.
func (p *Publisher) PublishBatches(msgs []TopicMessage) []error {
	errs := make([]error, len(msgs))
	fail := func(idx []int, err error) {
		for _, i := range idx {
			errs[i] = err
		}
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		fail(allIndexes(len(msgs)), errors.New("kafka: publisher closed"))
		return errs
	}

	type tp struct {
		topic     string
		partition int32
	}
	type partitionBatch struct {
		batch *sarama.RecordBatch
		idx   []int // the messages in the batch
		bytes int
		full  bool
	}
	type brokerRequest struct {
		broker  *sarama.Broker
		batches map[tp]*partitionBatch
	}
	now := time.Now().Truncate(time.Millisecond)
	requests := map[int32]*brokerRequest{}
	partitioners := map[string]sarama.Partitioner{}
	for i, tm := range msgs {
		rec, err := p.marshaler.Marshal(tm.Topic, tm.Message)
		if err != nil {
			errs[i] = fmt.Errorf("kafka: marshal message %s: %w", tm.Message.UUID, err)
			continue
		}
		partitions, err := p.client.Partitions(tm.Topic)
		if err != nil {
			errs[i] = fmt.Errorf("kafka: partitions of %s: %w", tm.Topic, err)
			continue
		}
		partitioner := partitioners[tm.Topic]
		if partitioner == nil {
			partitioner = newPartitioner(tm.Topic)
			partitioners[tm.Topic] = partitioner
		}
		partition, err := partitioner.Partition(rec, int32(len(partitions)))
		if err != nil {
			errs[i] = fmt.Errorf("kafka: partition of %s: %w", tm.Message.UUID, err)
			continue
		}
		leader, err := p.client.Leader(tm.Topic, partition)
		if err != nil {
			errs[i] = fmt.Errorf("kafka: leader of %s/%d: %w", tm.Topic, partition, err)
			continue
		}
		req := requests[leader.ID()]
		if req == nil {
			req = &brokerRequest{broker: leader, batches: map[tp]*partitionBatch{}}
			requests[leader.ID()] = req
		}
		key := tp{tm.Topic, partition}
		pb := req.batches[key]
		if pb == nil {
			pb = &partitionBatch{batch: &sarama.RecordBatch{
				Version: 2, FirstTimestamp: now, MaxTimestamp: now,
				Codec: p.config.Producer.Compression, CompressionLevel: p.config.Producer.CompressionLevel,
				ProducerID: -1, ProducerEpoch: -1, // not idempotent: see saramaConfig
			}}
			req.batches[key] = pb
		}
		if pb.full {
			// Once a message waits, so does every later one of its
			// partition: what is written stays a prefix.
			errs[i] = errBatchFull
			continue
		}
		r, size, err := toRecord(rec)
		if err != nil {
			pb.full = true
			errs[i] = fmt.Errorf("kafka: encode message %s: %w", tm.Message.UUID, err)
			continue
		}
		if len(pb.idx) > 0 && pb.bytes+size > maxBatchBytes {
			pb.full = true
			errs[i] = errBatchFull
			continue
		}
		r.OffsetDelta = int64(len(pb.batch.Records))
		pb.batch.Records = append(pb.batch.Records, r)
		pb.batch.LastOffsetDelta = int32(len(pb.batch.Records) - 1)
		pb.idx = append(pb.idx, i)
		pb.bytes += size
	}

	var (
		wg      sync.WaitGroup
		refresh sync.Once
	)
	for _, req := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pr := &sarama.ProduceRequest{
				RequiredAcks: p.config.Producer.RequiredAcks,
				Timeout:      int32(p.config.Producer.Timeout / time.Millisecond),
				Version:      produceRequestVersion(p.config.Version),
			}
			for k, pb := range req.batches {
				if len(pb.idx) > 0 {
					pr.AddBatch(k.topic, k.partition, pb.batch)
				}
			}
			resp, err := req.broker.Produce(pr)
			if err != nil {
				// The connection is in doubt: reopen it next time, and
				// ask again who leads what.
				_ = req.broker.Close()
				refresh.Do(func() { _ = p.client.RefreshMetadata() })
				for k, pb := range req.batches {
					fail(pb.idx, fmt.Errorf("kafka: produce to %s/%d: %w", k.topic, k.partition, err))
				}
				return
			}
			for k, pb := range req.batches {
				if len(pb.idx) == 0 {
					continue
				}
				block := resp.GetBlock(k.topic, k.partition)
				switch {
				case block == nil:
					fail(pb.idx, fmt.Errorf("kafka: produce to %s/%d: no answer for the partition", k.topic, k.partition))
				case !errors.Is(block.Err, sarama.ErrNoError):
					refresh.Do(func() { _ = p.client.RefreshMetadata() })
					fail(pb.idx, fmt.Errorf("kafka: produce to %s/%d: %w", k.topic, k.partition, block.Err))
				}
			}
		}()
	}
	wg.Wait()
	return errs
}

// toRecord turns a marshalled message into a record of a batch, with an
// upper bound of its encoded size.
func toRecord(pm *sarama.ProducerMessage) (*sarama.Record, int, error) {
	r := &sarama.Record{}
	size := 64 // record overhead: lengths, deltas, attributes (varints)
	var err error
	if pm.Key != nil {
		if r.Key, err = pm.Key.Encode(); err != nil {
			return nil, 0, err
		}
	}
	if pm.Value != nil {
		if r.Value, err = pm.Value.Encode(); err != nil {
			return nil, 0, err
		}
	}
	size += len(r.Key) + len(r.Value)
	for i := range pm.Headers {
		r.Headers = append(r.Headers, &pm.Headers[i])
		size += len(pm.Headers[i].Key) + len(pm.Headers[i].Value) + 10
	}
	return r, size, nil
}

// produceRequestVersion is the produce request version sarama's own
// producer speaks at version v (at least 0.11: record batches).
func produceRequestVersion(v sarama.KafkaVersion) int16 {
	switch {
	case v.IsAtLeast(sarama.V2_1_0_0):
		return 7
	case v.IsAtLeast(sarama.V2_0_0_0):
		return 6
	case v.IsAtLeast(sarama.V1_0_0_0):
		return 5
	default:
		return 3
	}
}

func allIndexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
