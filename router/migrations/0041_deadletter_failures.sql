-- Notifications look for dead letters by their last failure.
CREATE INDEX dead_letters_last_failed ON dead_letters (last_failed_at);
