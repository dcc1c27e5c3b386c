-- Outbound webhooks: who wants to hear of what. The secret signs each
-- delivery (Standard Webhooks); it is never returned after creation.
-- properties empty: every property the creating key may see (all for the
-- admin key). A subscription that keeps failing is disabled, with the reason.
CREATE TABLE webhook_subscriptions (
    id               text PRIMARY KEY,
    url              text NOT NULL,
    events           text[] NOT NULL,
    properties       text[] NOT NULL DEFAULT '{}',
    all_properties   boolean NOT NULL DEFAULT false,
    secret           text NOT NULL,
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz,
    failures         integer NOT NULL DEFAULT 0,
    failing_since    timestamptz,
    disabled_at      timestamptz,
    disabled_reason  text
);
CREATE INDEX webhook_subscriptions_live ON webhook_subscriptions (created_at) WHERE deleted_at IS NULL;

-- Every attempt to deliver a webhook, for the subscriber's delivery log.
CREATE TABLE webhook_deliveries (
    id               bigserial PRIMARY KEY,
    subscription_id  text NOT NULL,
    webhook_id       text NOT NULL,
    event_type       text NOT NULL,
    attempted_at     timestamptz NOT NULL DEFAULT now(),
    status_code      integer NOT NULL DEFAULT 0,
    error            text NOT NULL DEFAULT '',
    duration_ms      integer NOT NULL DEFAULT 0,
    delivered        boolean NOT NULL
);
CREATE INDEX webhook_deliveries_sub ON webhook_deliveries (subscription_id, id);
CREATE INDEX webhook_deliveries_age ON webhook_deliveries (attempted_at);

-- Per-property notification settings: the language of guest and hotel
-- e-mails, where the hotel's copy goes, and which messages guests get.
CREATE TABLE notification_settings (
    property_id    text PRIMARY KEY,
    language       text NOT NULL,
    hotel_email    text NOT NULL DEFAULT '',
    guest_email    boolean NOT NULL DEFAULT true,
    guest_sms      boolean NOT NULL DEFAULT false,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- A property's own wording of a message, per language; built-in templates
-- apply where a property has none.
CREATE TABLE notification_templates (
    property_id  text NOT NULL,
    kind         text NOT NULL,
    language     text NOT NULL,
    subject      text NOT NULL,
    text_body    text NOT NULL,
    html_body    text NOT NULL DEFAULT '',
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (property_id, kind, language)
);

-- One row per message sent (or being sent) for an event: a redelivered
-- event finds it and sends nothing new. No recipient address is kept.
CREATE TABLE notification_sends (
    event_id     text NOT NULL,
    kind         text NOT NULL,
    property_id  text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    attempts     integer NOT NULL DEFAULT 1,
    PRIMARY KEY (event_id, kind)
);
CREATE INDEX notification_sends_age ON notification_sends (started_at);
