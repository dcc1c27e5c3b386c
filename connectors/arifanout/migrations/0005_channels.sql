-- Channels: availability, restrictions and rates waiting to be pushed to a
-- channel by the ARI fan-out. One row per channel, property, kind, room type,
-- rate plan and night holds the latest value, so a burst of changes to the
-- same night is pushed once (coalesced). Codes are Roomwire's; they are mapped
-- to the channel's when pushed, so a mapping added meanwhile applies.
CREATE TABLE ari_pending (
    channel     text NOT NULL,
    property_id text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('availability', 'restrictions', 'rate')),
    room_type   text NOT NULL DEFAULT '',
    rate_plan   text NOT NULL DEFAULT '',
    night       date NOT NULL,
    value       jsonb NOT NULL,
    -- Raised on every change: a push removes only the rows it sent, so a
    -- value changed while the push was in flight goes out next.
    seq         bigint NOT NULL,
    -- When the row must be pushed: the end of the coalescing window, or at
    -- once for a close-out.
    due_at      timestamptz NOT NULL,
    PRIMARY KEY (channel, property_id, kind, room_type, rate_plan, night)
);
CREATE INDEX ari_pending_due ON ari_pending (channel, due_at);
CREATE SEQUENCE ari_pending_seq;
