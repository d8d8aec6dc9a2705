package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// RefreshMargin: a token expiring within this margin is refreshed.
const RefreshMargin = 5 * time.Minute

const (
	sqlSelectToken = `SELECT token, expires_at FROM channel_access_tokens WHERE app = @app AND expires_at > now() + @margin::interval`
	sqlLockApp     = `SELECT pg_advisory_xact_lock(hashtextextended('carillon.access_token:' || @app, 0))`
	sqlUpsertToken = `INSERT INTO channel_access_tokens (app, token, expires_at, updated_at)
VALUES (@app, @token, @expires_at, now())
ON CONFLICT (app) DO UPDATE SET token = EXCLUDED.token, expires_at = EXCLUDED.expires_at, updated_at = now()`
	sqlInvalidate = `UPDATE channel_access_tokens SET expires_at = now() - interval '1 second', updated_at = now()
WHERE app = @app AND token = @token`
)

// Fetcher asks the provider for a new token and its lifetime.
type Fetcher func(ctx context.Context) (token string, ttl time.Duration, err error)

// TokenStore keeps one app's access token in Postgres. A process-local copy saves a
// query per message; Postgres is the truth shared by all nodes.
type TokenStore struct {
	pool  *pgxpool.Pool
	app   string
	fetch Fetcher

	mu      sync.Mutex
	cached  string
	expires time.Time
}

// NewTokenStore returns the store of app's token.
func NewTokenStore(pool *pgxpool.Pool, app string, fetch Fetcher) *TokenStore {
	return &TokenStore{pool: pool, app: app, fetch: fetch}
}

func (s *TokenStore) local() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached != "" && time.Until(s.expires) > RefreshMargin {
		return s.cached
	}
	return ""
}

func (s *TokenStore) keep(tok string, exp time.Time) {
	s.mu.Lock()
	s.cached, s.expires = tok, exp
	s.mu.Unlock()
}

// Token returns a valid token: the shared one, or a new one fetched by exactly one
// node under the app's advisory lock.
func (s *TokenStore) Token(ctx context.Context) (string, error) {
	if tok := s.local(); tok != "" {
		return tok, nil
	}
	args := pgx.NamedArgs{"app": s.app, "margin": RefreshMargin.String()}
	var tok string
	var exp time.Time
	err := s.pool.QueryRow(ctx, sqlSelectToken, args).Scan(&tok, &exp)
	if err == nil {
		s.keep(tok, exp)
		return tok, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("access token %s: read: %w", s.app, err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlLockApp, args); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		// Another node may have refreshed while we waited for the lock.
		err := tx.QueryRow(ctx, sqlSelectToken, args).Scan(&tok, &exp)
		if err == nil {
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read: %w", err)
		}
		t, ttl, err := s.fetch(ctx)
		if err != nil {
			return fmt.Errorf("fetch: %w", err)
		}
		tok, exp = t, time.Now().Add(ttl)
		_, err = tx.Exec(ctx, sqlUpsertToken, pgx.NamedArgs{"app": s.app, "token": tok, "expires_at": exp})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("access token %s: %w", s.app, err)
	}
	s.keep(tok, exp)
	return tok, nil
}

// Invalidate marks tok as dead (errcode 40001/42001), unless a newer token has
// already replaced it.
func (s *TokenStore) Invalidate(ctx context.Context, tok string) error {
	s.mu.Lock()
	if s.cached == tok {
		s.cached = ""
	}
	s.mu.Unlock()
	forget(tok)
	if _, err := s.pool.Exec(ctx, sqlInvalidate, pgx.NamedArgs{"app": s.app, "token": tok}); err != nil {
		return fmt.Errorf("access token %s: invalidate: %w", s.app, err)
	}
	return nil
}

// fetchJSON GETs a token endpoint answering {"access_token","expires_in"} or
// {"errcode","errmsg"}.
func fetchJSON(ctx context.Context, hc *http.Client, u string) (string, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", 0, err
	}
	var ans struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		ErrCode     int    `json:"errcode"`
		ErrMsg      string `json:"errmsg"`
	}
	if err := json.Unmarshal(b, &ans); err != nil {
		return "", 0, fmt.Errorf("token answer (%s): %w", resp.Status, err)
	}
	if ans.ErrCode != 0 || ans.AccessToken == "" {
		return "", 0, fmt.Errorf("token: errcode=%d errmsg=%s", ans.ErrCode, ans.ErrMsg)
	}
	return ans.AccessToken, time.Duration(ans.ExpiresIn) * time.Second, nil
}

// handle is what silenceper's context holds as AccessTokenHandle: it returns the
// token the adapter fetched (with ctx, from the store) just before the call.
type handle struct {
	mu  sync.Mutex
	tok string
}

func (h *handle) set(tok string) {
	h.mu.Lock()
	h.tok = tok
	h.mu.Unlock()
}

// GetAccessToken implements credential.AccessTokenHandle.
func (h *handle) GetAccessToken() (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tok == "" {
		return "", errors.New("wechat: no access token fetched yet")
	}
	return h.tok, nil
}

// GetAccessTokenContext implements credential.AccessTokenContextHandle.
func (h *handle) GetAccessTokenContext(context.Context) (string, error) { return h.GetAccessToken() }
