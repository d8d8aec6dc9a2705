-- A run's audience is keyed by a hash of each address; the hash is salted per
-- run with a random key, so a dedupe key in the outbox does not let anyone
-- recover a phone number by hashing every number there is.
ALTER TABLE campaign_runs ADD COLUMN salt bytea NOT NULL DEFAULT decode(replace(gen_random_uuid()::text, '-', ''), 'hex');

-- A run's snapshot writes a row per recipient (a million at a time): the foreign
-- key check per row cost more than the insert itself. Recipients are written
-- only by the run that owns them, in its own transaction.
ALTER TABLE campaign_recipients DROP CONSTRAINT IF EXISTS campaign_recipients_run_id_fkey;

-- A pause holds messages in the outbox (they are cancelled, and written again
-- at resume), not recipients: the recipients' own hold columns are not used.
DROP INDEX IF EXISTS campaign_recipients_held_idx;
ALTER TABLE campaign_recipients DROP COLUMN IF EXISTS gen, DROP COLUMN IF EXISTS held;
