-- Indexes for the backbone's housekeeping, which deletes published outbox
-- rows and timeline entries past their retention.
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX message_timeline_age ON message_timeline (last_at);
