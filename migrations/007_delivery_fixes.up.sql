-- Indexes and a column delivery needs: fallbacks looked up by parent, contacts by
-- email (unsubscribes and bounces), and whether a parked receipt said the address
-- will never work.
CREATE INDEX messages_parent_idx ON messages (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX contacts_email_idx ON contacts (email) WHERE email IS NOT NULL;
ALTER TABLE receipts ADD COLUMN permanent boolean NOT NULL DEFAULT false;
