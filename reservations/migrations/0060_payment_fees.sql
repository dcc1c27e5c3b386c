-- The cancellation or no-show fee each payment operation charged (a
-- capture of the fee), kept (a refund of everything beyond it) or paid back
-- (a no-show undone: negative), in minor units of its currency; so that the
-- settlement view sums fees without reading reasons.
ALTER TABLE payment_transitions ADD COLUMN fee bigint NOT NULL DEFAULT 0;

-- The settlement view reads a property's operations by time.
ALTER TABLE payment_transitions ADD COLUMN property_id text NOT NULL DEFAULT '';
UPDATE payment_transitions t SET property_id = p.property_id FROM payments p WHERE p.reservation_id = t.reservation_id;
CREATE INDEX payment_transitions_property_time ON payment_transitions (property_id, created_at);
