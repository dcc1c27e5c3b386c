// Package router is Roomwire's event backbone: Kafka through Watermill
// (watermill-kafka/v3 over sarama), the outbox relay, the consumer
// middleware, dead-letter operations and the message timeline.
//
// # Topics
//
// Every message is keyed by property id (metadata "partition_key"), so all
// messages of one property land on one partition and stay in order.
//
//	roomwire.reservation.events    reservation.created|modified|cancelled|overbooked, from the outbox
//	roomwire.availability.events   availability.changed, rates.changed, from the outbox
//	roomwire.inbound.<connector>   what an inbound connector received from its partner
//	<topic>.dlq                    dead letters of <topic>, with why (see Metadata* keys)
//
// The backbone creates missing topics at start (TopicsConfig). Partitioning
// follows Kafka's Java client (murmur2), so any well-behaved client agrees
// on which partition holds a property.
//
// # Using it
//
//	b, err := router.New(cfg, pool, logger, registry)
//	b.AddConsumer("apaleo-push", router.TopicReservationEvents, handler, router.WithConnector("apaleo"))
//	go b.Run(ctx)                    // consumers, outbox relay, housekeeping
//	b.Publisher()                    // synchronous, idempotent Kafka publisher
//	b.Ready(ctx)                     // broker and database answer
//	b.DeadLetters().Handler(opts)    // mount at /v1/ops/dlq behind the admin key
//	b.Timeline().Handler(opts)       // mount at GET /v1/reservations/{id}/timeline
//	b.Close()
//
// With no brokers configured, serve starts StartEmbeddedBroker (franz-go's
// kfake, persisting to a directory) and puts its Addrs in KafkaConfig.
//
// # Delivery
//
// Kafka delivers at least once. Each consumer has its own consumer group
// (ConsumerGroupPrefix + name) and this pipeline around its handler:
//
//   - correlation: the message's correlation id (generated if absent) goes
//     into the context (CorrelationID, canonical.CorrelationID) and every
//     log line written with it through ContextLogHandler;
//   - a record the unmarshaler could not read (MetadataMalformed) goes to the
//     dead letters at once: the unmarshaler never fails, because
//     watermill-kafka stops the consumer group when one does;
//   - parking: while a property has messages parked behind an open breaker,
//     its later messages park behind them, to keep order;
//   - dedup: a message id the consumer has handled before (table
//     processed_messages) is skipped;
//   - retry: in place, exponential backoff with jitter (default 100 ms
//     doubling to 1.6 s, 5 retries), at least as long as a Retry-After the
//     error carries; not for Permanent errors;
//   - circuit breaker per connector (WithConnector) or per any key
//     (WithBreakerKey): when open, the message is parked in PostgreSQL and
//     acknowledged, so neither other partners (other groups) nor other
//     properties wait; parked messages are retried in order once the breaker
//     lets calls through, and never dropped;
//   - timeout per attempt, and a recoverer turning panics into errors;
//   - dead-lettering: permanent errors, exhausted retries and timeouts go to
//     <topic>.dlq with reason, consumer, original topic, attempts and first
//     and last failure time, and are indexed in PostgreSQL for operators.
//
// Errors are classified with errors.As through small interfaces, so other
// packages' error classes work: Permanent() bool, Unmapped() bool,
// RetryAfter() time.Duration. Permanent and RetryAfter make such errors.
//
// A handler that writes to PostgreSQL can call MarkProcessed in its own
// transaction, so its effect and the dedup record commit together.
//
// Only failures of Roomwire's own storage (and shutdown) nack a message;
// it is then redelivered in place.
//
// Consumers read through LaneSubscriber: within a partition, different
// partition keys' messages are handled side by side, each key's in order,
// and the group's offset is marked only up to the lowest message not yet
// acknowledged.
//
// A handler sees the messages of its key waiting behind the one it handles
// (WaitingInLane) and, when its work did theirs too, says so before
// returning nil (CoverWaiting): they are recorded as handled with it and
// leave the lane with its acknowledgement, without being handed out. The
// ARI fan-out pushes one read of a property's current values for all of
// its waiting events this way.
//
// # Outbox relay
//
// OutboxRelay publishes the store's outbox table in id order per
// partition key, at least once: each partition's rows of a pass go out as
// one record batch, written whole or not at all, and only acknowledged
// rows are marked; a crash between publishing and marking publishes the
// batch again, and consumers deduplicate by the event id. Several
// processes can relay at once; per-key advisory locks keep each property
// with one relay at a time. The store of the same process wakes the relay
// after each commit (Wake); it also polls.
//
// # Operations
//
// DeadLetters lists, shows, replays (crash-safe: marked "replaying" first,
// finished by the housekeeping if interrupted) and purges dead letters, with
// an audit trail. MessageTimeline records every message in and out about a
// reservation. Payloads stored for either have card numbers and secrets
// removed. Metrics (type Metrics) go to the Prometheus registry given to New.
//
// See docs/backbone.md for the operator's view.
package router
