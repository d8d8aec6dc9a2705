-- Staff sign-in from a directory: a user is local (created by `user create`, may
-- have a password), or was provisioned at their first OIDC or LDAP sign-in, with no
-- local password, and is found again by the directory's own identifier (OIDC:
-- issuer and subject; LDAP: the entry's DN), never by login alone.
ALTER TABLE users
  ADD COLUMN source text NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'oidc', 'ldap')),
  ADD COLUMN external_id text,
  ADD CONSTRAINT users_external_id_check CHECK ((source = 'local') = (external_id IS NULL)),
  ADD CONSTRAINT users_directory_no_password CHECK (source = 'local' OR password_hash IS NULL);
CREATE UNIQUE INDEX users_external_idx ON users (source, external_id) WHERE external_id IS NOT NULL;
