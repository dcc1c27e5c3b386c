-- A channel's reservation ids are unique within one property, not across
-- properties: two hotels may each hold a booking the same channel numbered
-- alike, and a booking at one property must never collide with, reveal or
-- take over another property's.
ALTER TABLE reservations DROP CONSTRAINT reservations_channel_external_id_key;
ALTER TABLE reservations ADD CONSTRAINT reservations_property_channel_external_id_key
    UNIQUE (property_id, channel, external_id);
