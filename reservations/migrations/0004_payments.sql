-- Payments: one state machine per guaranteed reservation, every transition it
-- made, and the gateways' notifications. Card numbers and CVVs never reach
-- these tables: a payment knows its gateway's reference, a hash of the card
-- token (to tell a new card from the same one) and the card's mask.

-- Where the payment of one reservation stands. version rises with every
-- change, so that two workers (the event consumer and the hold-expiry
-- check) never overwrite each other.
CREATE TABLE payments (
    reservation_id      uuid PRIMARY KEY,
    property_id         text NOT NULL,
    gateway             text NOT NULL,
    status              text NOT NULL
                        CHECK (status IN ('authorized', 'captured', 'voided', 'refunded', 'failed', 'expired')),
    reference           text NOT NULL DEFAULT '', -- the gateway's id of the payment (pi_..., pspReference)
    currency            text NOT NULL,
    amount_due          bigint NOT NULL DEFAULT 0, -- what the reservation costs now, in minor units
    authorized          bigint NOT NULL DEFAULT 0, -- held on the card
    captured            bigint NOT NULL DEFAULT 0,
    refunded            bigint NOT NULL DEFAULT 0,
    token_hash          bytea,                     -- SHA-256 of the card token, never the token
    card_mask           text NOT NULL DEFAULT '',
    hold_expires_at     timestamptz,
    reservation_version int NOT NULL DEFAULT 0,    -- the reservation version last acted on
    declined            boolean NOT NULL DEFAULT false, -- the last authorization was declined: the reservation is flagged
    attention           text NOT NULL DEFAULT '',  -- why a person must look, e.g. a hold that could not be renewed
    version             int NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_hold_expiry ON payments (hold_expires_at) WHERE status = 'authorized';

-- Every transition of every payment, with the idempotency key of the gateway
-- call that made it and the payment event it published.
CREATE TABLE payment_transitions (
    id                  bigserial PRIMARY KEY,
    reservation_id      uuid NOT NULL,
    gateway             text NOT NULL,
    operation           text NOT NULL,
    from_status         text NOT NULL DEFAULT '', -- '' before the first transition
    to_status           text NOT NULL,
    amount              bigint NOT NULL DEFAULT 0,
    currency            text NOT NULL,
    reference           text NOT NULL DEFAULT '',
    idempotency_key     text NOT NULL DEFAULT '',
    reservation_version int NOT NULL DEFAULT 0,
    cause               text NOT NULL DEFAULT '', -- the reservation event, the expiry check or a notification
    reason              text NOT NULL DEFAULT '',
    event_id            uuid,                     -- the payment event published with it
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_transitions_reservation ON payment_transitions (reservation_id, id);

-- Notifications (webhooks) the gateways sent, stored before they are
-- acknowledged. Only the fields Roomwire reads are kept, never the raw body.
CREATE TABLE payment_notifications (
    gateway            text NOT NULL,
    notification_id    text NOT NULL,
    kind               text NOT NULL,             -- authorized, captured, voided, refunded, failed, expired, other
    event_code         text NOT NULL,             -- the gateway's own name of the event
    reference          text NOT NULL DEFAULT '',
    merchant_reference text NOT NULL DEFAULT '',
    success            boolean NOT NULL,
    amount             bigint NOT NULL DEFAULT 0,
    currency           text NOT NULL DEFAULT '',
    reason             text NOT NULL DEFAULT '',
    occurred_at        timestamptz,
    received_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (gateway, notification_id)
);
CREATE INDEX payment_notifications_reference ON payment_notifications (gateway, reference);
