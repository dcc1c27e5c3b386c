-- The outbox no longer notifies on insert: pg_notify takes a lock that
-- serializes every committing transaction. The relay is woken by the
-- committing process instead, and polls for rows of other processes.
DROP TRIGGER IF EXISTS outbox_notify ON outbox;
DROP FUNCTION IF EXISTS roomwire_outbox_notify();
