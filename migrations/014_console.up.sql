-- The web console: sign-in sessions, and the indexes its contact search uses.

-- One row per console sign-in. The cookie carries a random token; only its
-- SHA-256 is stored. A session ends at sign-out, after its idle or absolute
-- timeout, or as soon as its user is disabled (checked on every request).
CREATE TABLE console_sessions (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  csrf_token   text NOT NULL CHECK (length(csrf_token) >= 32),
  created_at   timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL,
  ended_at     timestamptz,
  ended_reason text CHECK (ended_reason IN ('signed_out', 'user_disabled', 'expired', 'idle')),
  addr         text NOT NULL DEFAULT '',
  user_agent   text NOT NULL DEFAULT ''
);
CREATE INDEX console_sessions_user_idx ON console_sessions (user_id) WHERE ended_at IS NULL;
CREATE INDEX console_sessions_ended_idx ON console_sessions (ended_at) WHERE ended_at IS NOT NULL;

-- Contact search: a name by its beginning (王 finds every 王…), and a phone
-- number by its last four digits, both by index on a million contacts.
CREATE INDEX contacts_name_prefix_idx ON contacts (lower(name) text_pattern_ops) WHERE name IS NOT NULL;
CREATE INDEX contacts_phone_tail_idx ON contacts (right(phone, 4)) WHERE phone IS NOT NULL;
