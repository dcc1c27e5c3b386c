package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
)

// Defaults of a LaneSubscriber.
const (
	// defaultLanes is how many messages of one partition are handled at
	// once (each of another partition key).
	defaultLanes = 16
	// defaultMaxInFlight is how many messages of all its partitions one
	// subscription hands out at once: handlers share the database pool
	// with the booking API, and more at once would only queue there.
	defaultMaxInFlight = 32
	// defaultReadAhead is how many messages of one partition are held in
	// memory, handled or waiting, beyond the committed offset's reach.
	defaultReadAhead = 256
)

// LaneSubscriber consumes topics in a Kafka consumer group and hands out the
// messages of one partition concurrently where order allows: messages with
// different record keys (partition keys: properties) are handled side by
// side, each key's in offset order, its next message only once the previous
// one is acknowledged.
//
// watermill-kafka's subscriber hands out one message per partition at a
// time (it waits for each acknowledgement before reading the next record),
// so a partition's properties wait for each other's partner calls. This
// subscriber is built on sarama's consumer-group handler instead, with
// watermill-kafka's Unmarshaler, and keeps its guarantees:
//
//   - the group's offset is marked only up to the lowest message not yet
//     acknowledged: it never moves past a message that is not handled, so a
//     crash redelivers whatever was in flight and nothing is skipped (a
//     message handled after one that is not yet done is delivered again
//     after a crash, and skipped as a duplicate by the consumer);
//   - a nacked message is redelivered in place after NackResendSleep, and
//     its key's later messages wait behind it;
//   - on a rebalance the messages in flight are finished (and marked)
//     before the partition is given up, as watermill-kafka does; on Close
//     they are abandoned unmarked.
type LaneSubscriber struct {
	brokers     []string
	sarama      *sarama.Config
	group       string
	unmarshaler kafka.Unmarshaler
	opts        SubscriberOptions
	logger      *slog.Logger

	closing chan struct{}
	closed  atomic.Bool
	wg      sync.WaitGroup
}

var _ message.Subscriber = (*LaneSubscriber)(nil)

// NewLaneSubscriber returns a subscriber in consumer group opts.ConsumerGroup
// (required) with Roomwire's consumer settings and the never-failing
// unmarshaler.
func NewLaneSubscriber(cfg KafkaConfig, opts SubscriberOptions, logger *slog.Logger) (*LaneSubscriber, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.ConsumerGroup == "" {
		return nil, errors.New("kafka: a lane subscriber needs a consumer group")
	}
	sc, err := cfg.saramaConfig()
	if err != nil {
		return nil, err
	}
	if opts.NackResendSleep <= 0 {
		opts.NackResendSleep = 100 * time.Millisecond
	}
	if opts.RebalanceTimeout > 0 {
		sc.Consumer.Group.Rebalance.Timeout = opts.RebalanceTimeout
	}
	if opts.Lanes <= 0 {
		opts.Lanes = defaultLanes
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = defaultMaxInFlight
	}
	if opts.ReadAhead < opts.Lanes {
		opts.ReadAhead = max(defaultReadAhead, opts.Lanes)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &LaneSubscriber{
		brokers: cfg.Brokers, sarama: sc, group: opts.ConsumerGroup, unmarshaler: NewMarshaler(),
		opts: opts, logger: logger.With("consumer_group", opts.ConsumerGroup), closing: make(chan struct{}),
	}, nil
}

// Subscribe joins the group for topic and returns the messages it is
// assigned. The channel is closed once ctx is done or the subscriber is
// closed, and the group left.
func (s *LaneSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if s.closed.Load() {
		return nil, errors.New("kafka: subscriber closed")
	}
	group, err := sarama.NewConsumerGroup(s.brokers, s.group, s.sarama)
	if err != nil {
		return nil, fmt.Errorf("kafka: consumer group %s: %w", s.group, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan *message.Message)
	h := &laneHandler{s: s, ctx: ctx, out: out, slots: make(chan struct{}, s.opts.MaxInFlight), logger: s.logger.With("topic", topic)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case <-s.closing:
		case <-ctx.Done():
		}
		cancel()
	}()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer func() {
			if err := group.Close(); err != nil {
				h.logger.Warn("closing consumer group", "error", err)
			}
		}()
		go func() {
			for err := range group.Errors() {
				h.logger.Warn("consumer group", "error", err)
			}
		}()
		for ctx.Err() == nil {
			// Consume returns at each rebalance; join again.
			if err := group.Consume(ctx, []string{topic}, h); err != nil && ctx.Err() == nil {
				if errors.Is(err, sarama.ErrClosedConsumerGroup) {
					return
				}
				h.logger.Warn("consumer group session failed; joining again", "error", err)
				_ = sleepContext(ctx, time.Second)
			}
		}
	}()
	return out, nil
}

// Close leaves the groups and closes the subscribed channels. Messages
// being handled are abandoned: their offsets are not marked.
func (s *LaneSubscriber) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		close(s.closing)
	}
	s.wg.Wait()
	return nil
}

// laneHandler is the sarama consumer-group handler of one subscription.
type laneHandler struct {
	s      *LaneSubscriber
	ctx    context.Context // done when the subscription ends
	out    chan<- *message.Message
	slots  chan struct{} // one per message handed out, across partitions
	logger *slog.Logger
}

func (h *laneHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *laneHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

// laneMsg is one record of a claimed partition.
type laneMsg struct {
	record *sarama.ConsumerMessage
	msg    *message.Message
	key    string
	done   bool // acknowledged
}

// laneResult is what became of one delivery of a message.
type laneResult struct {
	lm    *laneMsg
	acked bool
	// covered are the ids of messages waiting behind it that its handling
	// covered (CoverWaiting) and the consumer recorded as handled.
	covered []string
}

// ConsumeClaim hands out the records of one partition: each key's in order,
// different keys' side by side, and marks the offset up to the lowest
// record not yet acknowledged.
func (h *laneHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	opts := h.s.opts
	var (
		pending   []*laneMsg                // received and not yet marked, in offset order
		lanes     = map[string][]*laneMsg{} // per key: the one in flight first, then those waiting
		unhandled int                       // received and not yet acknowledged
		inFlight  int                       // handed out, result not yet in
		waiting   []string                  // keys with a message waiting for a free slot, in arrival order
		draining  bool                      // the session ends: finish what is in flight, start nothing
	)
	results := make(chan laneResult, opts.Lanes)
	// stop is closed when this claim returns, and the claim waits for its
	// deliveries to see it: the subscription's channel is closed once every
	// claim has returned, and no delivery may send on it after that.
	stop := make(chan struct{})
	var deliveries sync.WaitGroup
	defer deliveries.Wait()
	defer close(stop)
	// lanesMu guards lanes against handlers reading their look-ahead
	// (WaitingInLane); only this goroutine changes it.
	var lanesMu sync.Mutex
	// lookahead returns up to limit messages waiting behind lm in its lane.
	lookahead := func(lm *laneMsg, limit int) []WaitingMessage {
		lanesMu.Lock()
		defer lanesMu.Unlock()
		q := lanes[lm.key]
		if len(q) == 0 || q[0] != lm {
			return nil // lm's result is in: nothing waits behind it any more
		}
		q = q[1:min(len(q), limit+1)]
		out := make([]WaitingMessage, len(q))
		for i, w := range q {
			out[i] = WaitingMessage{UUID: w.msg.UUID, Metadata: w.msg.Metadata, Payload: w.msg.Payload}
		}
		return out
	}

	// behind returns those of ids that wait behind lm in its lane.
	behind := func(lm *laneMsg, ids []string) []string {
		lanesMu.Lock()
		defer lanesMu.Unlock()
		q := lanes[lm.key]
		if len(q) == 0 || q[0] != lm {
			return nil
		}
		var out []string
		for _, w := range q[1:] {
			// A replayed dead letter is handled on its own: that resolves it.
			replayed := w.msg.Metadata.Get(MetadataReplayCount) != ""
			if !replayed && slices.Contains(ids, w.msg.UUID) && !slices.Contains(out, w.msg.UUID) {
				out = append(out, w.msg.UUID)
			}
		}
		return out
	}
	// deliver hands a message to the subscriber's reader and reports its
	// acknowledgement; after a nack it waits NackResendSleep first.
	deliver := func(lm *laneMsg, after time.Duration) {
		inFlight++
		msg := lm.msg.Copy() // a fresh acknowledgement for each delivery
		ld := &laneDelivery{lookahead: func(limit int) []WaitingMessage { return lookahead(lm, limit) },
			behind: func(ids []string) []string { return behind(lm, ids) }}
		mctx, cancel := context.WithCancel(context.WithValue(h.ctx, laneKey{}, ld))
		msg.SetContext(mctx)
		deliveries.Go(func() {
			defer cancel()
			if after > 0 {
				select {
				case <-time.After(after):
				case <-stop:
					return
				}
			}
			select {
			case h.slots <- struct{}{}:
			case <-stop:
				return
			}
			defer func() { <-h.slots }()
			select {
			case h.out <- msg:
			case <-stop:
				return
			case <-h.ctx.Done():
				return
			}
			var r laneResult
			select {
			case <-msg.Acked():
				r = laneResult{lm: lm, acked: true, covered: ld.confirmedIDs()}
			case <-msg.Nacked():
				r = laneResult{lm: lm}
			case <-stop:
				return
			}
			select {
			case results <- r:
			case <-stop:
			}
		})
	}
	// startWaiting hands out waiting keys' heads while slots are free.
	startWaiting := func() {
		for !draining && inFlight < opts.Lanes && len(waiting) > 0 {
			key := waiting[0]
			waiting = waiting[1:]
			deliver(lanes[key][0], 0)
		}
	}
	// acknowledge marks r's message done, and the messages waiting behind
	// it that its handling covered, which leave the lane without being
	// handed out. It returns how many messages it marked done.
	acknowledge := func(r laneResult) int {
		r.lm.done = true
		n := 1
		if len(r.covered) == 0 {
			return n
		}
		ids := make(map[string]bool, len(r.covered))
		for _, id := range r.covered {
			ids[id] = true
		}
		lanesMu.Lock()
		defer lanesMu.Unlock()
		q := lanes[r.lm.key]
		if len(q) == 0 || q[0] != r.lm {
			return n
		}
		kept := q[:1]
		for _, w := range q[1:] {
			if ids[w.msg.UUID] {
				w.done = true
				n++
				continue
			}
			kept = append(kept, w)
		}
		lanes[r.lm.key] = kept
		return n
	}
	// mark moves the group's offset past the acknowledged prefix.
	mark := func() {
		var last *laneMsg
		for len(pending) > 0 && pending[0].done {
			last, pending = pending[0], pending[1:]
		}
		if last != nil {
			sess.MarkMessage(last.record, "")
		}
	}

	records := claim.Messages()
	sessDone := sess.Context().Done()
	for {
		if draining && inFlight == 0 {
			return nil
		}
		in := records
		if draining || unhandled >= opts.ReadAhead {
			in = nil
		}
		select {
		case rec, ok := <-in:
			if !ok {
				draining = true
				continue
			}
			msg, err := h.s.unmarshaler.Unmarshal(rec)
			if err != nil {
				// Roomwire's unmarshaler never fails; another could.
				return fmt.Errorf("kafka: unmarshal %s/%d@%d: %w", rec.Topic, rec.Partition, rec.Offset, err)
			}
			lm := &laneMsg{record: rec, msg: msg, key: string(rec.Key)}
			pending = append(pending, lm)
			unhandled++
			lanesMu.Lock()
			lanes[lm.key] = append(lanes[lm.key], lm)
			lanesMu.Unlock()
			if len(lanes[lm.key]) == 1 {
				waiting = append(waiting, lm.key)
				startWaiting()
			}
		case r := <-results:
			inFlight--
			if !r.acked {
				if draining {
					continue // the next owner of the partition redelivers it
				}
				deliver(r.lm, opts.NackResendSleep)
				continue
			}
			unhandled -= acknowledge(r)
			lanesMu.Lock()
			q := lanes[r.lm.key][1:]
			if len(q) == 0 {
				delete(lanes, r.lm.key)
			} else {
				lanes[r.lm.key] = q
				waiting = append(waiting, r.lm.key)
			}
			lanesMu.Unlock()
			mark()
			startWaiting()
		case <-sessDone:
			// A rebalance: finish what is in flight, then give the
			// partition up (sarama waits for ConsumeClaim to return).
			draining, sessDone = true, nil
		case <-h.ctx.Done():
			// Closing: mark what was acknowledged meanwhile; what is in
			// flight stays unmarked and is delivered again.
			for {
				select {
				case r := <-results:
					if r.acked {
						acknowledge(r)
					}
				default:
					mark()
					return nil
				}
			}
		}
	}
}

// WaitingMessage is a message waiting in its lane behind the one being
// handled: the same partition key's next messages, already read from Kafka.
// Payload and Metadata are shared with the message that will be handed out
// later: read them, never change them.
type WaitingMessage struct {
	UUID     string
	Metadata message.Metadata
	Payload  []byte
}

// laneKey is the context key of a delivery's laneDelivery.
type laneKey struct{}

// laneDelivery is what the handling of one lane delivery can see of its
// lane and tell it.
type laneDelivery struct {
	lookahead func(limit int) []WaitingMessage
	behind    func(ids []string) []string // those waiting behind the message

	mu        sync.Mutex
	covered   []string // by the handler's attempt in progress (CoverWaiting)
	confirmed []string // recorded as handled by the consumer
}

func laneDeliveryOf(ctx context.Context) *laneDelivery {
	ld, _ := ctx.Value(laneKey{}).(*laneDelivery)
	return ld
}

// WaitingInLane returns up to limit messages waiting behind the message
// whose context ctx is (a handler's msg.Context()), in the order they will
// be handed out: the same partition key's later messages that the
// LaneSubscriber has read and not yet handed out. It returns nil for a
// message that did not come from a LaneSubscriber (a parked message retried,
// a dead letter replayed) or when none waits.
//
// A handler can do the work of waiting messages with its own (e.g. push one
// read of current values that covers them all) and say so with
// CoverWaiting.
func WaitingInLane(ctx context.Context, limit int) []WaitingMessage {
	ld := laneDeliveryOf(ctx)
	if ld == nil || limit <= 0 {
		return nil
	}
	return ld.lookahead(limit)
}

// CoverWaiting tells the consumer that handling the message whose context
// ctx is also did the work of the waiting messages ids (from WaitingInLane).
// A handler calls it when its work succeeded, just before returning nil.
// When the message is then handled (not retried, parked or dead-lettered),
// the consumer records each of them as handled with it, in the same round
// trip, and they leave the lane without being handed to the handler: no
// read, no partner call, no timeline entry of their own, and an
// acknowledgement only together with the message that covered them. Ids
// that are not waiting behind the message, and replayed dead letters (each
// resolves its dead letter when handled), are ignored: they are handed out
// as usual. A failed attempt's covers are forgotten before the next one.
func CoverWaiting(ctx context.Context, ids ...string) {
	if ld := laneDeliveryOf(ctx); ld != nil {
		// What waits now still waits when the message is acknowledged: a
		// lane only grows behind the message in flight.
		ids = ld.behind(ids)
		ld.mu.Lock()
		ld.covered = append(ld.covered, ids...)
		ld.mu.Unlock()
	}
}

// resetCovered forgets the covers of an attempt before the next one.
func resetCovered(ctx context.Context) {
	if ld := laneDeliveryOf(ctx); ld != nil {
		ld.mu.Lock()
		ld.covered = nil
		ld.mu.Unlock()
	}
}

// coveredBy returns the ids the handling of ctx's message covered.
func coveredBy(ctx context.Context) []string {
	ld := laneDeliveryOf(ctx)
	if ld == nil {
		return nil
	}
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return slices.Clone(ld.covered)
}

// confirmCovered notes that the consumer recorded ids as handled: the lane
// may let them go with the message's acknowledgement.
func confirmCovered(ctx context.Context, ids []string) {
	if ld := laneDeliveryOf(ctx); ld != nil {
		ld.mu.Lock()
		ld.confirmed = ids
		ld.mu.Unlock()
	}
}

func (ld *laneDelivery) confirmedIDs() []string {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return ld.confirmed
}
