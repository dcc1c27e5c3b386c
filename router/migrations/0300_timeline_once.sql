-- The timeline stores a message's payload once. An event's consumer
-- entries hold no payload, topic, event type or correlation id: readers take
-- them from the outbox relay's published entry of the event.
--
-- Fewer indexes on a table written for every message and consumer: the
-- natural key (message, consumer, direction), which every write looks up,
-- becomes the primary key in place of the serial id; retention finds old
-- entries by first_at through a BRIN index, tiny and near free to keep, in
-- place of a B-tree on last_at, which every status update had to change
-- (entries updated in place can now be HOT updates).
ALTER TABLE message_timeline DROP CONSTRAINT message_timeline_pkey;
ALTER TABLE message_timeline ADD CONSTRAINT message_timeline_pkey PRIMARY KEY (message_id, consumer, direction);
ALTER TABLE message_timeline DROP CONSTRAINT message_timeline_message_id_consumer_direction_key;
DROP INDEX message_timeline_age;
CREATE INDEX message_timeline_first_at ON message_timeline USING brin (first_at);
