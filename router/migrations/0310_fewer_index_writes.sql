-- Fewer index entries written per message. Each outbox event is inserted
-- and then rewritten once published, and each handled message gets a dedup
-- record; every B-tree on those tables takes an entry for each.
--
-- No query of the hub looks up outbox rows by reservation: the relay reads
-- them by id and partition key, and the timeline holds a reservation's
-- messages.
DROP INDEX outbox_reservation;

-- Retention deletes published rows past a cutoff and dedup records past
-- theirs. Both tables are written in time order, so a BRIN index (a few
-- pages, near free to keep) finds the old rows as well as a B-tree did.
-- Retention of the outbox looks by created_at, which is never after
-- published_at.
DROP INDEX outbox_published;
CREATE INDEX outbox_created_at ON outbox USING brin (created_at);
DROP INDEX processed_messages_age;
CREATE INDEX processed_messages_processed_at ON processed_messages USING brin (processed_at);
