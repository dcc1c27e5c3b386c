package router

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/roomwire/roomwire/canonical"
)

// HandlerFunc handles one message. Return nil when done, an error to have
// the message retried, or Permanent(err) to send it to the dead-letter topic
// at once. The message's context (msg.Context()) carries the correlation id
// (CorrelationID), the delivery (DeliveryFrom) and the attempt's deadline;
// a handler must honour it.
type HandlerFunc func(msg *message.Message) error

// ConsumerOption tunes one consumer.
type ConsumerOption func(*consumer)

// WithConnector names the partner connector the consumer calls. It puts the
// consumer behind that partner's circuit breaker (shared by every consumer
// of the same connector) and labels its dead letters and timeline entries.
func WithConnector(name string) ConsumerOption {
	return func(c *consumer) {
		c.connector = name
		if c.breakerKey == nil {
			c.breakerKey = func(*message.Message) string { return name }
			c.breakerName = name
		}
	}
}

// WithBreakerKey chooses the circuit breaker per message, for partners
// reached through a separate account per hotel: e.g. connector name plus
// property id. One hotel's broken account then parks only that hotel's
// messages.
func WithBreakerKey(key func(msg *message.Message) string) ConsumerOption {
	return func(c *consumer) { c.breakerKey, c.breakerName = key, "" }
}

// WithRetry overrides the backbone's retry settings for this consumer.
func WithRetry(cfg RetryConfig) ConsumerOption {
	return func(c *consumer) {
		cfg.setDefaults()
		c.retry = cfg
	}
}

// WithHandlerTimeout overrides the backbone's per-attempt timeout.
func WithHandlerTimeout(d time.Duration) ConsumerOption {
	return func(c *consumer) { c.timeout = d }
}

// WithDirection sets the timeline direction of the consumer's messages. By
// default messages from roomwire.inbound.* topics are "in" (a partner
// telling Roomwire) and all others "out" (Roomwire telling a partner).
func WithDirection(direction string) ConsumerOption {
	return func(c *consumer) { c.direction = direction }
}

// consumer is one handler with its pipeline:
//
//	correlation -> malformed? -> parked behind others? -> dedup -> retry(
//	    breaker -> timeout -> recover -> handler) -> park | dead-letter
//
// plus metrics and the timeline around it all.
type consumer struct {
	b          *Backbone
	name       string
	group      string
	topic      string
	connector  string
	direction  string
	handler    HandlerFunc
	breakerKey func(*message.Message) string
	retry      RetryConfig
	timeout    time.Duration
	logger     *slog.Logger
	// breakerName is the one breaker of the consumer's partner; empty when
	// WithBreakerKey chooses one per message.
	breakerName string

	inFlight        atomic.Int64
	lastHandedOut   atomic.Int64  // unix nanoseconds of the last message handed to the pipeline
	lastWaited      atomic.Int64  // how long it waited since its commit, in nanoseconds
	lastDelivered   atomic.Int64  // unix nanoseconds of the last acknowledgement
	lastDeliveryAge atomic.Uint64 // its commit-to-acknowledgement seconds, as float64 bits
}

// longestHandling bounds one delivery: every attempt timing out, with the
// longest waits between them. A rebalance waits for a delivery in progress,
// so the group's rebalance timeout must exceed it.
func (c *consumer) longestHandling() time.Duration {
	n := time.Duration(c.retry.MaxRetries)
	return (n+1)*c.timeout + n*time.Duration(float64(c.retry.MaxInterval)*(1+c.retry.Jitter))
}

// outcomeDuplicate is the metrics outcome of a message skipped because the
// consumer had handled it before (the other outcomes are timeline statuses).
const outcomeDuplicate = "duplicate"

// outcomeCovered is the metrics outcome of waiting messages whose work the
// handling of another did (CoverWaiting).
const outcomeCovered = "covered"

// attemptState is what one delivery learned while trying a message.
type attemptState struct {
	handlerCalls int
	first, last  time.Time
	lastErr      error
	outcome      string
	// seen is the dedup record, when process read it with the parking
	// check (one round trip for both).
	seen *bool
	// deferMark leaves the dedup record of a handled message to finish,
	// which writes it with the timeline entry in one round trip.
	deferMark bool
	mark      bool // finish must record the message as processed
}

func (st *attemptState) failed(err error) {
	now := time.Now()
	if st.first.IsZero() {
		st.first = now
	}
	st.last = now
	st.lastErr = err
}

// infrastructureError is a failure of Roomwire's own storage, not of the
// message or the partner: the message is redelivered, never dead-lettered.
type infrastructureError struct{ err error }

func (e *infrastructureError) Error() string { return e.err.Error() }
func (e *infrastructureError) Unwrap() error { return e.err }

func isInfrastructure(err error) bool {
	var ie *infrastructureError
	return errors.As(err, &ie)
}

// handle is the Watermill handler of the consumer. It returns an error only
// when the message must be redelivered (shutdown, storage down); every other
// outcome acknowledges the message. A handled message is acknowledged only
// once its dedup record is written: Kafka's offset never moves past a
// message that is neither recorded as handled, parked nor dead-lettered.
func (c *consumer) handle(msg *message.Message) error {
	start := time.Now()
	c.observeHandOut(msg, start)
	ctx := c.prepare(msg.Context(), msg)
	msg.SetContext(ctx)
	c.inFlight.Add(1)
	c.b.metrics.inFlight.WithLabelValues(c.name).Inc()
	defer func() {
		c.inFlight.Add(-1)
		c.b.metrics.inFlight.WithLabelValues(c.name).Dec()
	}()

	st := &attemptState{deferMark: true}
	err := c.process(ctx, msg, st)
	if err != nil {
		st.outcome = StatusFailed
	}
	if ferr := c.finish(ctx, msg, st, start); ferr != nil && err == nil {
		err = ferr
	}
	if err != nil {
		if ctx.Err() == nil {
			c.logger.ErrorContext(ctx, "message will be redelivered", "error", redactError(err))
			// Storage is down: do not spin on redeliveries.
			sleepContext(ctx, time.Second)
		}
		return err
	}
	return nil
}

// prepare gives the message a correlation id and puts it, the delivery and
// a flush promise in the context: finish commits the delivery's records
// durably when the handler relied on it (canonical.WithFlushPromise), and
// the message is acknowledged only after.
func (c *consumer) prepare(ctx context.Context, msg *message.Message) context.Context {
	cid := msg.Metadata.Get(MetadataCorrelationID)
	if cid == "" {
		cid = NewCorrelationID()
		msg.Metadata.Set(MetadataCorrelationID, cid)
	}
	ctx = canonical.WithFlushPromise(ctx)
	return withDelivery(WithCorrelationID(ctx, cid), deliveryOf(c.name, c.connector, c.topic, msg))
}

// asyncCommitSQL lets a transaction of bookkeeping commit without waiting
// for its WAL flush. Only for records whose loss on a PostgreSQL crash
// costs a harmless redelivery (a dedup record of a partner call made with
// an idempotency key, a timeline entry), never for an effect itself.
const asyncCommitSQL = "SET LOCAL synchronous_commit TO off"

// finish records metrics, the delivery latency, the timeline entry and,
// when st.mark asks for it, the dedup record of a delivery, in a group
// commit with the records of other deliveries finishing at the same time
// (Backbone.bookkeeping). It returns an error only when the dedup
// record of a handled message could not be written: the message must then
// be redelivered (and is deduplicated by its partner's idempotency key),
// not acknowledged.
func (c *consumer) finish(ctx context.Context, msg *message.Message, st *attemptState, start time.Time) error {
	m := c.b.metrics
	m.handlerMessages.WithLabelValues(c.name, st.outcome).Inc()
	m.handlerDuration.WithLabelValues(c.name).Observe(time.Since(start).Seconds())
	if st.outcome == StatusProcessed {
		c.observeDelivery(msg)
	}
	d, _ := DeliveryFrom(ctx)
	// An event the relay published about a reservation has the relay's
	// timeline entry, which holds what this entry would repeat.
	relayed := d.ReservationID != "" && d.ReplayCount == 0 && msg.Metadata.Get(MetadataCommittedAt) != ""
	if d.ReservationID == "" {
		// A handler may learn the reservation only by handling the message
		// (an inbound booking); it then sets it, and its property, on msg.
		d.ReservationID = msg.Metadata.Get(MetadataReservationID)
		if p := msg.Metadata.Get(MetadataPropertyID); d.ReservationID != "" && p != "" {
			d.PropertyID = p
		}
	}
	item := &bookkeeping{}
	var covered []string
	if st.mark {
		item.mark = &[2]string{c.name, msg.UUID}
		covered = coveredBy(ctx)
		for _, id := range covered {
			item.covered = append(item.covered, [2]string{c.name, id})
		}
		// A handler's write that relied on the flush promise is made
		// durable by this commit. A message not marked was parked or
		// dead-lettered, each a durable commit of its own.
		item.durable = canonical.FlushPromiseRelied(ctx)
	}
	if st.outcome != outcomeDuplicate && d.ReservationID != "" {
		item.entry = &TimelineEntry{
			ReservationID: d.ReservationID,
			PropertyID:    d.PropertyID,
			MessageID:     msg.UUID,
			Direction:     c.direction,
			Consumer:      c.name,
			Connector:     c.connector,
			Topic:         c.topic,
			EventType:     msg.Metadata.Get(MetadataEventType),
			CorrelationID: CorrelationID(ctx),
			Status:        st.outcome,
			Attempts:      st.handlerCalls,
			Payload:       msg.Payload,
		}
		if st.lastErr != nil {
			item.entry.LastError = st.lastErr.Error()
		}
		if relayed {
			// Timeline reads them from the relay's entry: stored and
			// redacted once per message, not once per consumer.
			e := item.entry
			e.Topic, e.EventType, e.CorrelationID, e.Payload = "", "", "", nil
		}
	}
	if item.mark == nil && item.entry == nil {
		return nil // nothing to record
	}
	err := c.b.bookkeeping.do(item)
	if err == nil {
		if len(covered) > 0 {
			confirmCovered(ctx, covered)
			m.handlerMessages.WithLabelValues(c.name, outcomeCovered).Add(float64(len(covered)))
		}
		return nil
	}
	if st.mark {
		return &infrastructureError{fmt.Errorf("dedup record of a handled message not written: %w", err)}
	}
	c.logger.WarnContext(ctx, "timeline not recorded", "error", err)
	return nil
}

// observeHandOut records how long a message waited between its commit
// (MetadataCommittedAt) and now, when the consumer starts on it: how far
// the consumer runs behind (Backbone.DeliveryLag).
func (c *consumer) observeHandOut(msg *message.Message, now time.Time) {
	at, err := time.Parse(time.RFC3339Nano, msg.Metadata.Get(MetadataCommittedAt))
	if err != nil {
		return
	}
	c.lastWaited.Store(int64(now.Sub(at)))
	c.lastHandedOut.Store(now.UnixNano())
}

// observeDelivery records that a message was acknowledged now and, when it
// carries its commit time (MetadataCommittedAt), how long after its commit.
func (c *consumer) observeDelivery(msg *message.Message) {
	now := time.Now()
	age := math.NaN()
	if at, err := time.Parse(time.RFC3339Nano, msg.Metadata.Get(MetadataCommittedAt)); err == nil {
		age = now.Sub(at).Seconds()
		c.b.metrics.deliveryLatency.WithLabelValues(c.name, c.connector).Observe(age)
		c.b.metrics.lastDeliveryAge.WithLabelValues(c.name).Set(age)
	}
	c.lastDeliveryAge.Store(math.Float64bits(age))
	c.lastDelivered.Store(now.UnixNano())
}

// process takes a message through the pipeline and sets st.outcome.
func (c *consumer) process(ctx context.Context, msg *message.Message, st *attemptState) error {
	if problem := msg.Metadata.Get(MetadataMalformed); problem != "" {
		st.failed(Permanentf("malformed record: %s", problem))
		return c.deadLetter(ctx, msg, ReasonMalformed, st)
	}
	// Parked messages ahead and the dedup record, in one round trip
	// shared with the other messages arriving now.
	a := &arrival{consumer: c.name, key: msg.Metadata.Get(MetadataPartitionKey), messageID: msg.UUID}
	if err := c.b.arrivals.do(a); err != nil {
		return &infrastructureError{err}
	}
	st.seen = &a.seen
	if a.parked && c.breakerKey != nil {
		// Earlier messages of this property wait behind an open
		// breaker; this one must not overtake them.
		return c.park(ctx, msg, st)
	}
	err := c.attempt(ctx, msg, st)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil, isInfrastructure(err):
		return err
	case c.shouldPark(msg, err):
		return c.park(ctx, msg, st)
	default:
		return c.deadLetter(ctx, msg, reasonFor(err), st)
	}
}

// shouldPark reports whether a failed message waits for its partner rather
// than going to the dead letters: the breaker refused the call, or the
// message's own transient failures have just opened it (the partner is
// down, the message is not at fault).
func (c *consumer) shouldPark(msg *message.Message, err error) bool {
	if c.breakerKey == nil || IsPermanent(err) {
		return false
	}
	return errors.Is(err, ErrBreakerOpen) || c.b.breakers.isOpen(c.breakerKey(msg))
}

func reasonFor(err error) string {
	switch {
	case IsUnmapped(err):
		return ReasonUnmapped
	case IsPermanent(err):
		return ReasonPermanent
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	default:
		return ReasonRetriesExhausted
	}
}

// attempt runs the message through dedup and the retried handler. It
// returns nil when the message is handled (or was already), otherwise the
// last error.
func (c *consumer) attempt(ctx context.Context, msg *message.Message, st *attemptState) error {
	var seen bool
	if st.seen != nil {
		seen, st.seen = *st.seen, nil // only the first attempt's read is current
	} else {
		var err error
		if seen, err = c.b.processed.seen(ctx, c.name, msg.UUID); err != nil {
			return &infrastructureError{err}
		}
	}
	if seen {
		st.outcome = outcomeDuplicate
		c.logger.DebugContext(ctx, "duplicate message skipped")
		c.resolveReplay(ctx, msg)
		return nil
	}
	for retry := 0; ; retry++ {
		err := c.call(ctx, msg, st)
		if err == nil {
			break
		}
		st.failed(err)
		if IsPermanent(err) || errors.Is(err, ErrBreakerOpen) || ctx.Err() != nil || retry >= c.retry.MaxRetries {
			return err
		}
		delay := c.backoff(retry, err)
		c.b.metrics.handlerRetries.WithLabelValues(c.name).Inc()
		c.logger.WarnContext(ctx, "handler failed, retrying", "error", redactError(err),
			"attempt", st.handlerCalls, "retry_in", delay)
		if err := sleepContext(ctx, delay); err != nil {
			return err
		}
	}
	// Handled. A failure to record it only risks a duplicate on a later
	// redelivery, which partners' idempotency keys absorb; do not undo.
	if st.deferMark {
		st.mark = true
	} else if err := c.b.processed.mark(context.WithoutCancel(ctx), c.b.pool, c.name, msg.UUID); err != nil {
		c.logger.WarnContext(ctx, "processed message not recorded", "error", err)
	}
	c.resolveReplay(ctx, msg)
	st.outcome = StatusProcessed
	return nil
}

// resolveReplay marks the consumer's dead letter of a replayed message
// resolved once the consumer has it handled.
func (c *consumer) resolveReplay(ctx context.Context, msg *message.Message) {
	d, _ := DeliveryFrom(ctx)
	if d.ReplayCount == 0 {
		return
	}
	if err := c.b.deadLetters.resolve(context.WithoutCancel(ctx), c.name, msg.UUID, d.ReplayCount); err != nil {
		c.logger.WarnContext(ctx, "dead letter not marked resolved", "error", err)
	}
}

// call makes one attempt: under the breaker, with a deadline, panics
// turned into errors.
func (c *consumer) call(ctx context.Context, msg *message.Message, st *attemptState) error {
	attemptCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	msg.SetContext(attemptCtx)
	defer msg.SetContext(ctx)
	run := func() error {
		st.handlerCalls++
		resetCovered(ctx)
		return c.recoverPanic(attemptCtx, msg)
	}
	if c.breakerKey == nil {
		return run()
	}
	return c.b.breakers.call(c.breakerKey(msg), run)
}

func (c *consumer) recoverPanic(ctx context.Context, msg *message.Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.logger.ErrorContext(ctx, "handler panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return c.handler(msg)
}

// backoff returns the wait before retry number retry+1: exponential,
// capped, spread by jitter, and no shorter than a Retry-After the error
// carries (within the cap).
func (c *consumer) backoff(retry int, err error) time.Duration {
	r := c.retry
	d := float64(r.InitialInterval) * math.Pow(r.Multiplier, float64(retry))
	if d > float64(r.MaxInterval) {
		d = float64(r.MaxInterval)
	}
	if r.Jitter > 0 {
		d *= 1 + r.Jitter*(2*rand.Float64()-1)
	}
	wait := time.Duration(d)
	if hint, ok := retryDelayHint(err); ok && hint > wait {
		wait = min(hint, r.MaxInterval)
	}
	return wait
}

func (c *consumer) park(ctx context.Context, msg *message.Message, st *attemptState) error {
	breaker := ""
	if c.breakerKey != nil {
		breaker = c.breakerKey(msg)
	}
	if err := c.b.parking.park(ctx, c.name, c.topic, breaker, msg, st, c.b.cfg.ParkedRetryInterval); err != nil {
		return &infrastructureError{err}
	}
	st.outcome = StatusParked
	c.logger.WarnContext(ctx, "message parked behind open circuit breaker", "breaker", breaker)
	return nil
}

func (c *consumer) deadLetter(ctx context.Context, msg *message.Message, reason string, st *attemptState) error {
	f := failure{
		consumer: c.name, connector: c.connector, topic: c.topic, reason: reason,
		err: st.lastErr, attempts: st.handlerCalls, first: st.first, last: st.last,
	}
	if err := c.b.deadLetters.deadLetter(ctx, msg, f); err != nil {
		return &infrastructureError{err}
	}
	st.outcome = StatusDeadLettered
	c.logger.ErrorContext(ctx, "message dead-lettered", "reason", reason, "attempts", st.handlerCalls,
		"error", redactError(st.lastErr), "dead_letter_topic", DeadLetterTopic(c.topic))
	return nil
}

// drainParallelism is how many properties' parked messages one consumer
// retries at once: each property's stay in order, one at a time, while a
// large backlog left by a long outage drains several properties abreast.
const drainParallelism = 4

// drainParked retries the consumer's parked messages whose breaker lets
// calls through again, property by property in order, several properties
// at a time.
func (c *consumer) drainParked(ctx context.Context) error {
	keys, err := c.b.parking.due(ctx, c.name)
	if err != nil {
		return err
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		slots    = make(chan struct{}, drainParallelism)
	)
	for _, k := range keys {
		if c.b.breakers.isOpen(k.breaker) {
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := c.drainKey(ctx, k.key); err != nil {
				mu.Lock()
				firstErr = cmp.Or(firstErr, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return cmp.Or(firstErr, ctx.Err())
}

// drainKey hands the parked messages of one partition key to the handler,
// oldest first, until none is left or the breaker opens again. An advisory
// lock keeps other processes off the same key meanwhile.
func (c *consumer) drainKey(ctx context.Context, key string) error {
	conn, err := c.b.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var locked bool
	lockKey := c.name + "/" + key
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, parkingLockClass, lockKey).Scan(&locked); err != nil {
		return err
	}
	if !locked {
		return nil
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, hashtext($2))`, parkingLockClass, lockKey); err != nil {
			// A connection still holding the lock must not go back to the pool.
			_ = conn.Conn().Close(context.Background())
		}
	}()

	for ctx.Err() == nil {
		pm, err := c.b.parking.head(ctx, conn, c.name, key)
		if err != nil || pm == nil {
			return err
		}
		start := time.Now()
		mctx := c.prepare(ctx, pm.msg)
		pm.msg.SetContext(mctx)
		st := &attemptState{}
		err = c.attempt(mctx, pm.msg, st)
		switch {
		case err == nil:
		case ctx.Err() != nil || isInfrastructure(err):
			return err
		case c.shouldPark(pm.msg, err) && time.Since(pm.parkedAt) < c.b.cfg.ParkedMaxAge:
			return c.b.parking.postpone(ctx, conn, pm.id, st, c.b.cfg.ParkedRetryInterval)
		default:
			// Permanent, or retries exhausted with the breaker closed, or
			// parked for longer than ParkedMaxAge: an operator decides.
			// Carry the history of the parked message into the dead letter.
			if pm.firstFailed != nil {
				st.first = *pm.firstFailed
			}
			calls := st.handlerCalls
			st.handlerCalls += pm.attempts
			if err := c.deadLetter(mctx, pm.msg, reasonFor(err), st); err != nil {
				return err
			}
			st.handlerCalls = calls
		}
		if err := c.b.parking.remove(ctx, conn, pm.id); err != nil {
			return err
		}
		if err := c.finish(mctx, pm.msg, st, start); err != nil {
			c.logger.WarnContext(mctx, "parked message handled, but its dedup record was not written", "error", redactError(err))
		}
	}
	return ctx.Err()
}

// defaultDirection is "in" for inbound partner topics, "out" otherwise.
func defaultDirection(topic string) string {
	if strings.HasPrefix(topic, inboundTopicPrefix) {
		return DirectionIn
	}
	return DirectionOut
}

// sleepContext waits d or until ctx is done, and returns ctx.Err().
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
