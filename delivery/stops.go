package delivery

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/internal/audit"
)

// Stop is an emergency stop: every send in its scope is held (not lost) until resumed.
type Stop struct {
	Scope     string    `json:"scope"` // all, channel:<c>, provider:<name>
	Reason    string    `json:"reason"`
	Actor     string    `json:"actor"`
	CreatedAt time.Time `json:"created_at"`
}

// StopScope names a stop's scope from a channel or provider ("" for all).
func StopScope(channel, provider string) (string, error) {
	switch {
	case channel != "" && provider != "":
		return "", fmt.Errorf("%w: stop a channel or a provider, not both", ErrInvalid)
	case channel != "":
		return "channel:" + strings.ToLower(channel), nil
	case provider != "":
		return "provider:" + provider, nil
	}
	return "all", nil
}

// StopSending holds all sends in scope at once.
func (s *Service) StopSending(ctx context.Context, actor audit.Actor, scope, reason string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO send_stops (scope, reason, actor) VALUES ($1, $2, $3)
			ON CONFLICT (scope) DO UPDATE SET reason = EXCLUDED.reason, actor = EXCLUDED.actor, created_at = now()`, scope, reason, actor.String()); err != nil {
			return fmt.Errorf("stop %s: %w", scope, err)
		}
		return audit.Append(ctx, tx, actor, s.cfg.Now(), audit.Entry{Action: "sending.stop", ObjectType: "stop", ObjectID: scope, Changes: map[string]any{"reason": reason}})
	})
}

// ResumeSending lifts a stop; held messages go out when next looked at.
func (s *Service) ResumeSending(ctx context.Context, actor audit.Actor, scope string) (bool, error) {
	var found bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM send_stops WHERE scope = $1`, scope)
		if err != nil {
			return fmt.Errorf("resume %s: %w", scope, err)
		}
		found = tag.RowsAffected() > 0
		if !found {
			return nil
		}
		return audit.Append(ctx, tx, actor, s.cfg.Now(), audit.Entry{Action: "sending.resume", ObjectType: "stop", ObjectID: scope})
	})
	return found, err
}

// Stops lists the stops in force.
func (s *Service) Stops(ctx context.Context) ([]Stop, error) {
	rows, err := s.pool.Query(ctx, `SELECT scope, reason, actor, created_at FROM send_stops ORDER BY scope`)
	if err != nil {
		return nil, fmt.Errorf("list stops: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Stop, error) {
		var st Stop
		err := r.Scan(&st.Scope, &st.Reason, &st.Actor, &st.CreatedAt)
		return st, err
	})
}

func (s *Service) activeStops(ctx context.Context) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT scope FROM send_stops`)
	if err != nil {
		return nil, fmt.Errorf("read stops: %w", err)
	}
	scopes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(scopes))
	for _, sc := range scopes {
		out[sc] = true
	}
	return out, nil
}
