-- Indexes and a column delivery needs: fallbacks looked up by parent, contacts by
-- email (unsubscribes and bounces), and whether a parked receipt said the address
-- will never work. IF NOT EXISTS: databases made by early development builds of
-- migration 001 already have an email index of this name.
CREATE INDEX IF NOT EXISTS messages_parent_idx ON messages (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS contacts_email_idx ON contacts (email) WHERE email IS NOT NULL;
ALTER TABLE receipts ADD COLUMN IF NOT EXISTS permanent boolean NOT NULL DEFAULT false;
