-- Delivery: the outbox (messages), receipts kept raw, inbound replies, and the
-- emergency stop.

CREATE TABLE messages (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  dedupe_key          text NOT NULL UNIQUE CHECK (dedupe_key <> ''),
  contact_id          bigint REFERENCES contacts (id),
  manager_id          bigint REFERENCES managers (id),
  source              text NOT NULL,               -- care_rule, campaign_run, reminder, api
  source_id           text NOT NULL DEFAULT '',
  purpose             text NOT NULL CHECK (purpose IN ('service', 'marketing')),
  template_key        text NOT NULL,
  template_version    integer,
  vars                jsonb NOT NULL DEFAULT '{}',
  channels            text[] NOT NULL CHECK (cardinality(channels) > 0),
  channel             text,                        -- the channel this message went out on
  parent_id           bigint REFERENCES messages (id),
  status              text NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'suppressed', 'cancelled')),
  reason              text NOT NULL DEFAULT '',
  provider            text,
  provider_message_id text,
  address_masked      text,
  body                text,                        -- rendered text, scrubbed on erasure
  send_at             timestamptz NOT NULL,
  window_start        smallint,                    -- the source's own send window: minutes after local midnight
  window_end          smallint,
  attempts            integer NOT NULL DEFAULT 0,
  test                boolean NOT NULL DEFAULT false,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  sent_at             timestamptz,
  final_at            timestamptz,
  CHECK (contact_id IS NOT NULL OR manager_id IS NOT NULL)
);
CREATE INDEX messages_provider_id_idx ON messages (provider, provider_message_id) WHERE provider_message_id IS NOT NULL;
CREATE INDEX messages_contact_idx ON messages (contact_id, created_at DESC);
CREATE INDEX messages_source_idx ON messages (source, source_id);
CREATE INDEX messages_open_idx ON messages (status, send_at) WHERE status IN ('queued', 'sending');
-- The marketing frequency cap counts a contact's recent marketing messages.
CREATE INDEX messages_marketing_idx ON messages (contact_id, created_at) WHERE purpose = 'marketing' AND parent_id IS NULL;

-- Receipts as the providers sent them, matched or not (unmatched ones are kept 30 days).
CREATE TABLE receipts (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  provider            text NOT NULL,
  provider_message_id text NOT NULL DEFAULT '',
  message_id          bigint,
  status              text NOT NULL,
  code                text NOT NULL DEFAULT '',
  detail              text NOT NULL DEFAULT '',
  address             text,                        -- raw, scrubbed on erasure
  at                  timestamptz,
  received_at         timestamptz NOT NULL DEFAULT now(),
  applied             boolean NOT NULL DEFAULT false
);
CREATE INDEX receipts_unapplied_idx ON receipts (provider, provider_message_id) WHERE NOT applied;
CREATE INDEX receipts_message_idx ON receipts (message_id);

-- Replies and events from customers. Text is kept here (scrubbed on erasure), not
-- in the timeline.
CREATE TABLE inbound_messages (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  provider    text NOT NULL,
  kind        text NOT NULL,
  contact_id  bigint REFERENCES contacts (id),
  address     text,
  text        text,
  unsubscribe boolean NOT NULL DEFAULT false,
  forwarded   boolean NOT NULL DEFAULT false,  -- to the customer's manager (their digest)
  at          timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbound_contact_idx ON inbound_messages (contact_id, at DESC);

-- Emergency stops: 'all', 'channel:<c>' or 'provider:<name>'.
CREATE TABLE send_stops (
  scope      text PRIMARY KEY CHECK (scope = 'all' OR scope LIKE 'channel:%' OR scope LIKE 'provider:%'),
  reason     text NOT NULL DEFAULT '',
  actor      text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Status only moves forward: queued < sending < sent < delivered | failed; suppressed
-- and cancelled are final too.
CREATE FUNCTION status_rank(s text) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE s WHEN 'queued' THEN 0 WHEN 'sending' THEN 1 WHEN 'sent' THEN 2 ELSE 3 END
$$;

-- The key that signs unsubscribe (and later open and click) links, made once per
-- database so every node signs alike and links outlive restarts.
CREATE TABLE link_keys (
  id  integer PRIMARY KEY CHECK (id = 1),
  key bytea NOT NULL
);
INSERT INTO link_keys (id, key)
SELECT 1, decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex');
