-- Identity and governance: users with roles, API tokens, and the append-only audit log.

CREATE TABLE users (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  login         text NOT NULL UNIQUE CHECK (login ~ '^[a-z0-9][a-z0-9._@-]{0,63}$'),
  display_name  text NOT NULL,
  roles         text[] NOT NULL DEFAULT '{}'
                CHECK (roles <@ ARRAY['admin', 'marketer', 'approver', 'manager', 'auditor']::text[]),
  manager_id    bigint REFERENCES managers (id),
  service       boolean NOT NULL DEFAULT false, -- created by `token create --role`
  password_hash text,
  disabled_at   timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz,
  CHECK (NOT ('manager' = ANY (roles)) OR manager_id IS NOT NULL)
);

-- A token is shown once; only the SHA-256 of its secret is kept.
CREATE TABLE api_tokens (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id      bigint NOT NULL REFERENCES users (id),
  name         text NOT NULL DEFAULT '',
  secret_hash  bytea NOT NULL UNIQUE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz,
  revoked_at   timestamptz,
  last_used_at timestamptz
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

-- Every write through the API or the CLI: who, what, which object, the changed
-- fields (personal data masked), when and from where.
CREATE TABLE audit_log (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  actor       text NOT NULL,       -- api:<login>, cli:<os user>, cli:<os user> as <login>, system
  user_id     bigint,
  action      text NOT NULL,       -- contact.update, contacts.import, user.create, ...
  object_type text NOT NULL DEFAULT '',
  object_id   text NOT NULL DEFAULT '',
  changes     jsonb NOT NULL DEFAULT '{}',
  remote_addr text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id, at DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, at DESC);

CREATE FUNCTION carillon_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION carillon_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION carillon_append_only();
-- ALWAYS: the triggers fire even when a session sets session_replication_role =
-- replica, which otherwise silences triggers (a superuser's usual way around them).
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_update;
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;
ALTER TABLE contact_events ENABLE ALWAYS TRIGGER contact_events_no_update;
