-- Complete ARI: prices by occupancy, derived rate plans, restrictions per
-- rate plan and night, and availability rules per channel.

-- The whole canonical.Rate of a night (prices by adults, extra adult and
-- child amounts) when it is more than the one amount; amount stays the
-- standard occupancy's price.
ALTER TABLE rates ADD COLUMN rate jsonb;

-- canonical.Derivation: the plan's prices follow a parent plan's. NULL for a
-- plan priced on its own.
ALTER TABLE rate_plans ADD COLUMN derived jsonb;

-- Every restriction of a rate plan on one night, once anything set one.
-- A stay length of 0 means no limit.
CREATE TABLE restrictions (
    property_id         text NOT NULL,
    rate_plan           text NOT NULL,
    night               date NOT NULL,
    stop_sell           bool NOT NULL DEFAULT false,
    closed_to_arrival   bool NOT NULL DEFAULT false,
    closed_to_departure bool NOT NULL DEFAULT false,
    min_stay            int  NOT NULL DEFAULT 0 CHECK (min_stay >= 0),
    min_stay_through    int  NOT NULL DEFAULT 0 CHECK (min_stay_through >= 0),
    max_stay            int  NOT NULL DEFAULT 0 CHECK (max_stay >= 0),
    PRIMARY KEY (property_id, rate_plan, night),
    FOREIGN KEY (property_id, rate_plan) REFERENCES rate_plans (property_id, code) ON DELETE CASCADE
);

-- canonical.ChannelRules: what one channel is told of a property's availability.
CREATE TABLE channel_rules (
    property_id text NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    channel     text NOT NULL,
    rules       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (property_id, channel)
);

-- Reservations by flag (?flag=overbooked|restricted).
CREATE INDEX reservations_flags ON reservations USING gin ((document -> 'flags'));
