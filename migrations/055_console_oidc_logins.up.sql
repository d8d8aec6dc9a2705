-- An OIDC sign-in under way: created at /console/oidc/start, deleted (single use)
-- at /console/oidc/callback or once expired. Only hashes of the state and of the
-- browser's binding cookie are kept; the nonce and the PKCE verifier are random
-- values that are worthless once the row is gone.
CREATE TABLE console_oidc_logins (
  state_hash   bytea PRIMARY KEY CHECK (length(state_hash) = 32),
  browser_hash bytea NOT NULL CHECK (length(browser_hash) = 32),
  nonce        text NOT NULL CHECK (length(nonce) >= 32),
  verifier     text NOT NULL CHECK (length(verifier) >= 43),
  next         text NOT NULL DEFAULT '',
  addr         text NOT NULL DEFAULT '', -- who started it: at most console.MaxOIDCLoginsPerAddr pending each
  created_at   timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL
);
CREATE INDEX console_oidc_logins_expires_idx ON console_oidc_logins (expires_at);
CREATE INDEX console_oidc_logins_addr_idx ON console_oidc_logins (addr, expires_at);
