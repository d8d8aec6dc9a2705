// Package identity owns Carillon's users, their roles, API tokens and console
// passwords, and turns a bearer token into a Principal: who is calling, with which
// roles, and — for a customer manager — which managers' customers they may see.
//
// Roles are admin, marketer, approver, manager and auditor; a user may hold
// several. A user with the manager role is linked to a manager record; a team lead
// (other managers name them as lead) also sees the team's customers
// (Principal.ManagerIDs).
//
// Tokens are "crl_" followed by the base64url of 32 random bytes. Only the SHA-256
// of those bytes is stored, so a token is shown once, when created, and looked up by
// its hash (no secret is ever compared byte by byte). Authenticate reads the token
// and its user on every call, so revoking a token or disabling a user takes effect
// at once. last_used_at and last_seen_at are written at most once a minute per
// token, so a busy token does not write on every request.
//
// Passwords (for the console sign-in, later) are hashed with argon2id and stored as
// a PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash); the parameters travel
// with each hash, so they can be raised without invalidating old ones.
//
// Every write appends an audit row in the same transaction (user.create,
// user.disable, user.enable, user.set_password, user.grant, user.revoke,
// token.create, token.revoke); no password, secret or hash is ever put in one.
//
// The Authenticator interface is the seam for other identity sources: SSO or LDAP
// can later implement it beside Store, and the HTTP middleware depends only on it.
package identity
