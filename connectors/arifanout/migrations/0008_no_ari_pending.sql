-- ARI pushes run as router consumers: undelivered changes are in flight,
-- parked or dead-lettered like every other message, not in a table of
-- their own.
DROP TABLE IF EXISTS ari_pending;
DROP SEQUENCE IF EXISTS ari_pending_seq;
