-- A run's audience is keyed by a hash of each address; the hash is salted per
-- run with a random key, so a dedupe key in the outbox does not let anyone
-- recover a phone number by hashing every number there is.
ALTER TABLE campaign_runs ADD COLUMN salt bytea NOT NULL DEFAULT decode(replace(gen_random_uuid()::text, '-', ''), 'hex');
