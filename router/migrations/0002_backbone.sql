-- The event backbone's state: processed message ids for deduplication,
-- messages parked behind an open circuit breaker, dead letters with their
-- audit trail, and the message timeline of every reservation. Also wakes the
-- outbox relay whenever outbox rows are written.

-- One row per message a consumer has handled successfully. A redelivered or
-- replayed message with the same id is skipped by that consumer.
CREATE TABLE processed_messages (
    consumer     text NOT NULL,
    message_id   text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);
CREATE INDEX processed_messages_age ON processed_messages (processed_at);

-- Messages a consumer could not hand to its partner because the partner's
-- circuit breaker was open, and the messages of the same property that came
-- after them (kept in order). Retried in id order per (consumer, partition key).
CREATE TABLE parked_messages (
    id              bigserial PRIMARY KEY,
    consumer        text NOT NULL,
    partition_key   text NOT NULL,
    message_id      text NOT NULL,
    topic           text NOT NULL,
    breaker         text NOT NULL DEFAULT '',
    payload         bytea NOT NULL,
    metadata        jsonb NOT NULL DEFAULT '{}',
    attempts        int NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '',
    first_failed_at timestamptz,
    parked_at       timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (consumer, message_id)
);
CREATE INDEX parked_messages_key ON parked_messages (consumer, partition_key, id);

-- Messages a consumer gave up on, indexed for operators. The payload has card
-- numbers and secrets redacted. status: dead (waiting for an operator),
-- replaying (replay requested, not yet published), replayed (published again),
-- resolved (a replay was handled successfully).
CREATE TABLE dead_letters (
    id                  bigserial PRIMARY KEY,
    message_id          text NOT NULL,
    consumer            text NOT NULL,
    connector           text NOT NULL DEFAULT '',
    original_topic      text NOT NULL,
    dead_letter_topic   text NOT NULL,
    partition_key       text NOT NULL DEFAULT '',
    property_id         text NOT NULL DEFAULT '',
    reservation_id      text NOT NULL DEFAULT '',
    event_type          text NOT NULL DEFAULT '',
    correlation_id      text NOT NULL DEFAULT '',
    reason              text NOT NULL,
    error               text NOT NULL,
    attempts            int NOT NULL,
    first_failed_at     timestamptz NOT NULL,
    last_failed_at      timestamptz NOT NULL,
    first_seen_at       timestamptz NOT NULL DEFAULT now(),
    payload             bytea NOT NULL,
    payload_redacted    boolean NOT NULL DEFAULT false,
    metadata            jsonb NOT NULL DEFAULT '{}',
    status              text NOT NULL DEFAULT 'dead'
                        CHECK (status IN ('dead', 'replaying', 'replayed', 'resolved')),
    replay_count        int NOT NULL DEFAULT 0,
    replay_requested_at timestamptz,
    replayed_at         timestamptz,
    UNIQUE (consumer, message_id)
);
CREATE INDEX dead_letters_topic ON dead_letters (original_topic, reason, id);
CREATE INDEX dead_letters_replaying ON dead_letters (id) WHERE status = 'replaying';

-- Who replayed or purged which dead letter, and when. Kept after a purge.
CREATE TABLE dead_letter_audit (
    id             bigserial PRIMARY KEY,
    dead_letter_id bigint NOT NULL,
    message_id     text NOT NULL,
    consumer       text NOT NULL,
    action         text NOT NULL CHECK (action IN ('replay', 'purge')),
    actor          text NOT NULL DEFAULT '',
    replay_count   int NOT NULL DEFAULT 0,
    requested_at   timestamptz NOT NULL DEFAULT now(),
    completed_at   timestamptz
);
CREATE INDEX dead_letter_audit_letter ON dead_letter_audit (dead_letter_id, id);

-- Every message in and out concerning a reservation: one row per message and
-- consumer (or publisher), updated as its status changes. Payloads have card
-- numbers and secrets redacted.
CREATE TABLE message_timeline (
    id             bigserial PRIMARY KEY,
    reservation_id text NOT NULL,
    property_id    text NOT NULL DEFAULT '',
    message_id     text NOT NULL,
    direction      text NOT NULL CHECK (direction IN ('in', 'out')),
    consumer       text NOT NULL, -- the consumer, or 'outbox-relay' for published events
    connector      text NOT NULL DEFAULT '',
    topic          text NOT NULL,
    event_type     text NOT NULL DEFAULT '',
    correlation_id text NOT NULL DEFAULT '',
    status         text NOT NULL,
    attempts       int NOT NULL DEFAULT 0,
    last_error     text NOT NULL DEFAULT '',
    payload        bytea,
    first_at       timestamptz NOT NULL DEFAULT now(),
    last_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (message_id, consumer, direction)
);
CREATE INDEX message_timeline_reservation ON message_timeline (reservation_id, first_at, id);

-- Wake the outbox relay (LISTEN roomwire_outbox) when rows are written. One
-- notification per statement; PostgreSQL folds repeats within a transaction.
CREATE FUNCTION roomwire_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('roomwire_outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION roomwire_outbox_notify();
