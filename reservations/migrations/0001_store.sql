-- The core reservation store: catalogue, per-night inventory and rates,
-- reservations with every revision, idempotency keys, API keys, and the
-- transactional outbox written in the same transaction as every change.

CREATE TABLE properties (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    timezone    text NOT NULL,
    currency    text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE room_types (
    property_id   text NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    code          text NOT NULL,
    name          text NOT NULL,
    units         int  NOT NULL CHECK (units >= 0),
    max_occupancy int CHECK (max_occupancy > 0), -- NULL: no limit
    PRIMARY KEY (property_id, code)
);

CREATE TABLE rate_plans (
    property_id text NOT NULL,
    code        text NOT NULL,
    room_type   text NOT NULL,
    name        text NOT NULL,
    policy      jsonb NOT NULL DEFAULT '{}', -- canonical.RatePolicy: payment and cancellation
    PRIMARY KEY (property_id, code),
    FOREIGN KEY (property_id, room_type) REFERENCES room_types (property_id, code) ON DELETE CASCADE
);

-- One row per room type and night once anything touched that night.
-- units_sellable NULL means "the room type's units"; units_sold may exceed
-- the sellable units only for channel bookings flagged overbooked.
CREATE TABLE inventory (
    property_id    text NOT NULL,
    room_type      text NOT NULL,
    night          date NOT NULL,
    units_sellable int CHECK (units_sellable >= 0),
    units_sold     int NOT NULL DEFAULT 0 CHECK (units_sold >= 0),
    PRIMARY KEY (property_id, room_type, night),
    FOREIGN KEY (property_id, room_type) REFERENCES room_types (property_id, code) ON DELETE CASCADE
);

-- The price of one night of a rate plan, in minor units of the currency.
CREATE TABLE rates (
    property_id text   NOT NULL,
    rate_plan   text   NOT NULL,
    night       date   NOT NULL,
    amount      bigint NOT NULL CHECK (amount >= 0),
    currency    text   NOT NULL,
    PRIMARY KEY (property_id, rate_plan, night),
    FOREIGN KEY (property_id, rate_plan) REFERENCES rate_plans (property_id, code) ON DELETE CASCADE
);

CREATE TABLE reservations (
    id                  uuid PRIMARY KEY,
    confirmation_number text NOT NULL UNIQUE,
    property_id         text NOT NULL REFERENCES properties (id),
    channel             text NOT NULL,
    external_id         text,
    channel_revision    text,          -- the channel's stamp of the version last applied
    status              text NOT NULL,
    version             int  NOT NULL,
    arrival             date NOT NULL,
    departure           date NOT NULL,
    guest_search        text NOT NULL, -- lower-cased guest names and email, for search
    request_hash        bytea,         -- of the creating request: tells a replay from a conflict
    document            jsonb NOT NULL, -- the canonical reservation
    created_at          timestamptz NOT NULL,
    modified_at         timestamptz NOT NULL,
    UNIQUE (channel, external_id)
);
CREATE INDEX reservations_property_created ON reservations (property_id, created_at DESC, id DESC);
CREATE INDEX reservations_created ON reservations (created_at DESC, id DESC);
CREATE INDEX reservations_property_arrival ON reservations (property_id, arrival);

-- Every version of every reservation, as it stood after the change.
CREATE TABLE reservation_revisions (
    reservation_id uuid NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
    version        int  NOT NULL,
    change         text NOT NULL, -- the event type that made this version
    document       jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (reservation_id, version)
);

-- Idempotency-Key values, per caller, with a hash of the request they came with.
CREATE TABLE idempotency_keys (
    principal      text  NOT NULL,
    key            text  NOT NULL,
    request_hash   bytea NOT NULL,
    reservation_id uuid  NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);

-- API keys are stored as SHA-256 hashes of the secret; the secret is shown once.
CREATE TABLE api_keys (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    secret_hash bytea NOT NULL UNIQUE,
    properties  text[] NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- Events to publish, written in the same transaction as the change they
-- describe. The relay publishes them in id order per partition key.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    event_id      uuid NOT NULL UNIQUE,
    topic         text NOT NULL,
    partition_key text NOT NULL, -- the property id
    event_type    text NOT NULL,
    reservation_id uuid,
    payload       jsonb NOT NULL, -- the canonical event
    headers       jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_reservation ON outbox (reservation_id) WHERE reservation_id IS NOT NULL;
