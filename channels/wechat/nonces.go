package wechat

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/channels"
)

// DefaultPushMaxAge is how far a push's signed timestamp may be from the clock, in
// the past or the future, before the push is refused; nonces are remembered as long.
const DefaultPushMaxAge = 5 * time.Minute

const (
	sqlPruneNonces = `DELETE FROM wechat_push_nonces WHERE app = @app AND pushed_at < @before`
	sqlSeeNonce    = `INSERT INTO wechat_push_nonces (app, pushed_at, nonce, seen_at) VALUES (@app, @pushed_at, @nonce, @now)
ON CONFLICT DO NOTHING`
	sqlForgetNonce = `DELETE FROM wechat_push_nonces WHERE app = @app AND pushed_at = @pushed_at AND nonce = @nonce`
)

// PushGuard refuses WeChat server pushes that are stale, from the future, or
// replayed. The signature covers timestamp and nonce, so a replay must repeat both:
// a push is accepted only while |now − timestamp| ≤ MaxAge, and each accepted
// (timestamp, nonce) is kept in Postgres (wechat_push_nonces, shared by every node)
// until it can no longer pass the freshness check; then it is pruned.
type PushGuard struct {
	pool   *pgxpool.Pool
	app    string
	maxAge time.Duration
	now    func() time.Time
}

// NewPushGuard returns the guard of app's pushes (maxAge <= 0: DefaultPushMaxAge).
func NewPushGuard(pool *pgxpool.Pool, app string, maxAge time.Duration, now func() time.Time) *PushGuard {
	if maxAge <= 0 {
		maxAge = DefaultPushMaxAge
	}
	return &PushGuard{pool: pool, app: app, maxAge: maxAge, now: now}
}

// Fresh checks the push timestamp (Unix seconds) against the clock.
func (g *PushGuard) Fresh(ts string) (time.Time, error) {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, channels.Unauthorized("timestamp is not a number")
	}
	at, now := time.Unix(sec, 0), g.now()
	switch {
	case at.Before(now.Add(-g.maxAge)):
		return time.Time{}, channels.Unauthorized(fmt.Sprintf("timestamp is %s old, more than %s", now.Sub(at).Truncate(time.Second), g.maxAge))
	case at.After(now.Add(g.maxAge)):
		return time.Time{}, channels.Unauthorized(fmt.Sprintf("timestamp is %s ahead of our clock, more than %s", at.Sub(now).Truncate(time.Second), g.maxAge))
	}
	return at, nil
}

// See records a verified push's nonce; a nonce already seen with the same
// timestamp is a replay and is refused. Rows that can no longer pass Fresh are
// pruned first.
func (g *PushGuard) See(ctx context.Context, at time.Time, nonce string) error {
	now := g.now()
	if _, err := g.pool.Exec(ctx, sqlPruneNonces, pgx.NamedArgs{"app": g.app, "before": now.Add(-g.maxAge)}); err != nil {
		return fmt.Errorf("wechat %s: prune push nonces: %w", g.app, err)
	}
	tag, err := g.pool.Exec(ctx, sqlSeeNonce, pgx.NamedArgs{"app": g.app, "pushed_at": at, "nonce": nonce, "now": now})
	if err != nil {
		return fmt.Errorf("wechat %s: record push nonce: %w", g.app, err)
	}
	if tag.RowsAffected() == 0 {
		return channels.Unauthorized("nonce already used: a replayed push")
	}
	return nil
}

// Forget removes a push's nonce, so WeChat's retry of a push whose handling
// failed after it was recorded is accepted.
func (g *PushGuard) Forget(ctx context.Context, at time.Time, nonce string) error {
	if _, err := g.pool.Exec(ctx, sqlForgetNonce, pgx.NamedArgs{"app": g.app, "pushed_at": at, "nonce": nonce}); err != nil {
		return fmt.Errorf("wechat %s: forget push nonce: %w", g.app, err)
	}
	return nil
}
