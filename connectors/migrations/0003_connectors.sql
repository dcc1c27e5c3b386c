-- Connectors: code mappings between partner and Roomwire codes, partner ids
-- kept against Roomwire ids, and partner message ids already handled.

-- One partner code and the Roomwire code it stands for. property_id is the
-- Roomwire property a room type or rate plan code belongs to, and '' for
-- property and status codes, which are not per property.
CREATE TABLE connector_mappings (
    connector     text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('property', 'room_type', 'rate_plan', 'status')),
    property_id   text NOT NULL DEFAULT '',
    partner_code  text NOT NULL,
    roomwire_code text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connector, kind, property_id, partner_code)
);
-- Outbound calls map the other way, so a Roomwire code has one partner code
-- (statuses excepted: several partner statuses may mean one of Roomwire's).
CREATE UNIQUE INDEX connector_mappings_reverse ON connector_mappings (connector, kind, property_id, roomwire_code)
    WHERE kind <> 'status';

-- A Roomwire reservation and the partner's ids for it. partner_ids lists the
-- partner's per-room ids in room-stay order (Apaleo's reservations of one
-- booking); partner_group_id is the partner's id of the whole (Apaleo's booking).
CREATE TABLE connector_links (
    connector        text NOT NULL,
    reservation_id   uuid NOT NULL,
    partner_group_id text NOT NULL DEFAULT '',
    partner_ids      text[] NOT NULL,
    synced_version   int NOT NULL DEFAULT 0, -- the Roomwire version the partner has
    -- 'roomwire': Roomwire made the booking at the partner (outbound);
    -- 'partner': the partner sent it in. Inbound webhooks skip the former,
    -- which would otherwise come back as echoes.
    origin           text NOT NULL CHECK (origin IN ('roomwire', 'partner')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connector, reservation_id)
);
CREATE INDEX connector_links_partner_ids ON connector_links USING gin (partner_ids);

-- Partner message ids (e.g. webhook delivery ids) already made durable, so
-- that a repeated delivery is answered without doing the work again.
CREATE TABLE connector_receipts (
    connector   text NOT NULL,
    message_id  text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connector, message_id)
);
CREATE INDEX connector_receipts_received ON connector_receipts (received_at);
