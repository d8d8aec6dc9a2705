package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/internal/audit"
)

// TokenPrefix starts every token, so a leaked one is easy to recognise (and scan for).
const TokenPrefix = "crl_"

const tokenBytes = 32

// Token describes an API token; its secret is never stored.
type Token struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	Login      string     `json:"login"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// Active reports whether the token is neither revoked nor expired at now.
func (t Token) Active(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

const tokenColumns = `t.id, t.user_id, u.login, t.name, t.created_at, t.expires_at, t.revoked_at, t.last_used_at`

func scanToken(row pgx.Row) (Token, error) {
	var t Token
	err := row.Scan(&t.ID, &t.UserID, &t.Login, &t.Name, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt, &t.LastUsedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Token{}, ErrNotFound
	}
	return t, err
}

// newSecret returns a fresh token and the SHA-256 of its random bytes.
func newSecret() (string, []byte, error) {
	raw := make([]byte, tokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, fmt.Errorf("token secret: %w", err)
	}
	sum := sha256.Sum256(raw)
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(raw), sum[:], nil
}

// secretHash returns the SHA-256 of a token's random bytes; false when bearer is not
// shaped like a token. An optional "Bearer " prefix is accepted.
func secretHash(bearer string) ([]byte, bool) {
	b := strings.TrimSpace(bearer)
	if len(b) > 7 && strings.EqualFold(b[:7], "bearer ") {
		b = strings.TrimSpace(b[7:])
	}
	enc, ok := strings.CutPrefix(b, TokenPrefix)
	if !ok || len(enc) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(raw) != tokenBytes {
		return nil, false
	}
	sum := sha256.Sum256(raw)
	return sum[:], true
}

// CreateToken creates a token for the user with login and returns its secret,
// which is shown this once. expires, when set, must be in the future.
func (s *Store) CreateToken(ctx context.Context, actor audit.Actor, login, name string, expires *time.Time) (string, Token, error) {
	name = strings.TrimSpace(name)
	if len(name) > 200 {
		return "", Token{}, invalid("name", "must have at most 200 bytes")
	}
	if expires != nil && !expires.After(s.cfg.Now()) {
		return "", Token{}, invalid("expires_at", "must be in the future")
	}
	var secret string
	var tok Token
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		u, err := scanUser(tx.QueryRow(ctx, sqlLockUser, normLogin(login)))
		if err != nil {
			return err
		}
		if u.Disabled {
			return invalid("login", "user is disabled")
		}
		secret, tok, err = s.insertToken(ctx, tx, actor, u, name, expires)
		return err
	})
	if err != nil {
		return "", Token{}, fmt.Errorf("create token for %q: %w", login, err)
	}
	return secret, tok, nil
}

func (s *Store) insertToken(ctx context.Context, tx pgx.Tx, actor audit.Actor, u User, name string, expires *time.Time) (string, Token, error) {
	secret, hash, err := newSecret()
	if err != nil {
		return "", Token{}, err
	}
	now := s.cfg.Now()
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO api_tokens (user_id, name, secret_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, u.ID, name, hash, now, expires).Scan(&id); err != nil {
		return "", Token{}, err
	}
	changes := map[string]any{"token_id": id, "login": u.Login, "name": name}
	if expires != nil {
		changes["expires_at"] = expires.UTC()
	}
	if err := audit.Append(ctx, tx, actor, now, audit.Entry{Action: "token.create", ObjectType: "token",
		ObjectID: strconv.FormatInt(id, 10), Changes: changes}); err != nil {
		return "", Token{}, err
	}
	tok, err := scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1`, id))
	return secret, tok, err
}

// CreateServiceToken creates a service user holding role (login svc-<role>-<n>)
// and a token for it, and returns the token's secret, shown this once. The manager
// role needs managerCode.
func (s *Store) CreateServiceToken(ctx context.Context, actor audit.Actor, role Role, managerCode string) (string, Token, User, error) {
	code := strings.TrimSpace(managerCode)
	if _, err := ParseRole(string(role)); err != nil {
		return "", Token{}, User{}, err
	}
	if role == RoleManager && code == "" {
		return "", Token{}, User{}, invalid("manager_code", "is required with the manager role")
	}
	name := "service " + string(role)
	if code != "" {
		name += " (" + code + ")"
	}
	prefix := "svc-" + string(role) + "-"
	for attempt := 0; ; attempt++ {
		var secret string
		var tok Token
		var u User
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var n int64
			if err := tx.QueryRow(ctx, `SELECT coalesce(max(substring(login FROM length($1) + 1)::bigint), 0) + 1
				FROM users WHERE login ~ ('^' || $1 || '[0-9]{1,12}$')`, prefix).Scan(&n); err != nil {
				return err
			}
			var err error
			u, err = s.insertUser(ctx, tx, actor, prefix+strconv.FormatInt(n, 10), name, []Role{role}, code, true, nil)
			if err != nil {
				return err
			}
			secret, tok, err = s.insertToken(ctx, tx, actor, u, name, nil)
			return err
		})
		if errors.Is(err, ErrConflict) && attempt < 5 {
			continue // another service user took the number; count again
		}
		if err != nil {
			return "", Token{}, User{}, fmt.Errorf("create service token for %s: %w", role, err)
		}
		return secret, tok, u, nil
	}
}

// ListTokens lists the tokens of the user with login, revoked and expired ones
// included, oldest first.
func (s *Store) ListTokens(ctx context.Context, login string) ([]Token, error) {
	u, err := s.GetUser(ctx, login)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.user_id = $1 ORDER BY t.id`, u.ID)
	if err != nil {
		return nil, fmt.Errorf("list tokens of %q: %w", login, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Token, error) { return scanToken(r) })
	if err != nil {
		return nil, fmt.Errorf("list tokens of %q: %w", login, err)
	}
	return out, nil
}

// RevokeToken revokes a token at once. ErrNotFound when there is no such token;
// revoking a revoked token changes nothing.
func (s *Store) RevokeToken(ctx context.Context, actor audit.Actor, id int64) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tok, err := scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens t JOIN users u ON u.id = t.user_id
			WHERE t.id = $1 FOR UPDATE OF t`, id))
		if err != nil || tok.RevokedAt != nil {
			return err
		}
		now := s.cfg.Now()
		if _, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = $2 WHERE id = $1`, id, now); err != nil {
			return err
		}
		return audit.Append(ctx, tx, actor, now, audit.Entry{Action: "token.revoke", ObjectType: "token",
			ObjectID: strconv.FormatInt(id, 10), Changes: map[string]any{"token_id": id, "login": tok.Login, "name": tok.Name}})
	})
	if err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	return nil
}

const sqlAuthenticate = `SELECT t.id, t.expires_at, t.revoked_at, t.last_used_at, ` + userColumns + `
	FROM api_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN manager_refs m ON m.id = u.manager_id
	WHERE t.secret_hash = $1`

// sqlTouch records a token's use and its user's last sighting, at most once a
// minute per token, so a busy token does not write on every request.
const sqlTouch = `WITH t AS (
	UPDATE api_tokens SET last_used_at = $2
	WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2::timestamptz - interval '1 minute')
	RETURNING user_id)
UPDATE users SET last_seen_at = $2 FROM t
WHERE users.id = t.user_id AND (users.last_seen_at IS NULL OR users.last_seen_at < $2)`

// sqlManagerScope is a manager's own id and those of the managers they lead
// (manager_refs: the contacts package's view of its managers).
const sqlManagerScope = `SELECT id FROM manager_refs
	WHERE id = $1 OR lead_code = (SELECT code FROM manager_refs WHERE id = $1) ORDER BY id`

// Authenticate returns the principal of a bearer token (with or without the
// "Bearer " prefix). ErrUnauthenticated when the token is malformed, unknown,
// revoked or expired, or its user is disabled; both are read on every call.
func (s *Store) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	hash, ok := secretHash(bearer)
	if !ok {
		return Principal{}, ErrUnauthenticated
	}
	var tokID int64
	var expires, revoked, lastUsed *time.Time
	var u User
	var roles []string
	err := s.pool.QueryRow(ctx, sqlAuthenticate, hash).Scan(&tokID, &expires, &revoked, &lastUsed,
		&u.ID, &u.Login, &u.DisplayName, &roles, &u.ManagerID, &u.ManagerCode, &u.Service, &u.Disabled, &u.CreatedAt, &u.LastSeenAt,
		&u.WorkEmail, &u.WeComUserID, &u.Notify)
	if errors.Is(err, pgx.ErrNoRows) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	now := s.cfg.Now()
	switch {
	case revoked != nil:
		s.cfg.Logger.DebugContext(ctx, "token refused", "token_id", tokID, "reason", "revoked")
		return Principal{}, ErrUnauthenticated
	case expires != nil && !now.Before(*expires):
		s.cfg.Logger.DebugContext(ctx, "token refused", "token_id", tokID, "reason", "expired")
		return Principal{}, ErrUnauthenticated
	case u.Disabled:
		s.cfg.Logger.DebugContext(ctx, "token refused", "token_id", tokID, "reason", "user disabled", "login", u.Login)
		return Principal{}, ErrUnauthenticated
	}
	for _, r := range roles {
		u.Roles = append(u.Roles, Role(r))
	}
	if lastUsed == nil || lastUsed.Before(now.Add(-DefaultTouchInterval)) {
		if _, err := s.pool.Exec(ctx, sqlTouch, tokID, now); err != nil {
			return Principal{}, fmt.Errorf("authenticate: record use of token %d: %w", tokID, err)
		}
	}
	return s.principal(ctx, u, tokID)
}

// principal completes u with its manager data scope.
func (s *Store) principal(ctx context.Context, u User, tokID int64) (Principal, error) {
	if u.Roles == nil {
		u.Roles = []Role{}
	}
	p := Principal{User: u, TokenID: tokID}
	if !u.Has(RoleManager) || u.ManagerID == nil {
		return p, nil
	}
	rows, err := s.pool.Query(ctx, sqlManagerScope, *u.ManagerID)
	if err != nil {
		return Principal{}, fmt.Errorf("manager scope of %q: %w", u.Login, err)
	}
	p.ManagerIDs, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return Principal{}, fmt.Errorf("manager scope of %q: %w", u.Login, err)
	}
	return p, nil
}

// CheckPassword returns the principal of a console sign-in. It returns
// ErrUnauthenticated alike for an unknown login, a user without a password, a
// wrong password and a disabled user, and costs the same time in each case.
func (s *Store) CheckPassword(ctx context.Context, login, password string) (Principal, error) {
	if len(password) > MaxPasswordLength {
		return Principal{}, ErrUnauthenticated
	}
	var hash *string
	var u User
	var roles []string
	err := s.pool.QueryRow(ctx, `SELECT u.password_hash, `+userColumns+userFrom+`WHERE u.login = $1`, normLogin(login)).Scan(&hash,
		&u.ID, &u.Login, &u.DisplayName, &roles, &u.ManagerID, &u.ManagerCode, &u.Service, &u.Disabled, &u.CreatedAt, &u.LastSeenAt,
		&u.WorkEmail, &u.WeComUserID, &u.Notify)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Principal{}, fmt.Errorf("check password: %w", err)
	}
	encoded := dummyHash
	if hash != nil {
		encoded = *hash
	}
	ok, verr := verifyPassword(encoded, password)
	if verr != nil {
		s.cfg.Logger.WarnContext(ctx, "unreadable password hash", "login", u.Login)
	}
	if !ok || hash == nil || u.Disabled {
		return Principal{}, ErrUnauthenticated
	}
	for _, r := range roles {
		u.Roles = append(u.Roles, Role(r))
	}
	now := s.cfg.Now()
	if _, err := s.pool.Exec(ctx, `UPDATE users SET last_seen_at = $2 WHERE id = $1
		AND (last_seen_at IS NULL OR last_seen_at < $2::timestamptz - interval '1 minute')`, u.ID, now); err != nil {
		return Principal{}, fmt.Errorf("check password: %w", err)
	}
	return s.principal(ctx, u, 0)
}
