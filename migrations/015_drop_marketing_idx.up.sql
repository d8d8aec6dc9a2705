-- The frequency cap now counts a contact's marketing messages by send time,
-- fallbacks included, through messages_contact_idx; this partial index on
-- (contact_id, created_at) of root marketing messages served the old count
-- and only costs every insert and update of a marketing message.
DROP INDEX IF EXISTS messages_marketing_idx;
