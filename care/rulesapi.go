package care

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/robfig/cron/v3"

	"carillon/internal/audit"
)

// Rule is a row of care_rules: when the scheduler tick plans.
type Rule struct {
	Key         string    `json:"key" db:"key"`
	Enabled     bool      `json:"enabled" db:"enabled"`
	Schedule    string    `json:"schedule" db:"schedule"` // robfig/cron standard spec, CRON_TZ= allowed
	Description string    `json:"description,omitempty" db:"description"`
	UpdatedAt   time.Time `json:"updated_at" db:"updated_at"`
}

// RuleChange changes a rule; nil keeps the value.
type RuleChange struct {
	Enabled     *bool   `json:"enabled,omitempty"`
	Schedule    *string `json:"schedule,omitempty"`
	Description *string `json:"description,omitempty"`
}

// Errors of the rules API.
var (
	ErrRuleNotFound = errors.New("care rule not found")
	ErrBadSchedule  = errors.New("bad schedule")
)

// Rules lists the care rules.
func (p *Planner) Rules(ctx context.Context) ([]Rule, error) {
	rows, err := p.pool.Query(ctx, `SELECT key, enabled, schedule, COALESCE(description, ''), updated_at FROM care_rules ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("list care rules: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Rule, error) {
		var x Rule
		err := r.Scan(&x.Key, &x.Enabled, &x.Schedule, &x.Description, &x.UpdatedAt)
		return x, err
	})
}

// UpdateRule changes a rule, checking its schedule, and records the change in the
// audit log (the rule's history: GET /api/audit?object_type=care_rule&object_id=KEY).
func (p *Planner) UpdateRule(ctx context.Context, actor audit.Actor, key string, ch RuleChange) (Rule, error) {
	if ch.Schedule != nil {
		if _, err := cron.ParseStandard(*ch.Schedule); err != nil {
			return Rule{}, fmt.Errorf("%w %q: %v (use a cron spec such as \"CRON_TZ=Asia/Shanghai 0 1 * * *\")", ErrBadSchedule, *ch.Schedule, err)
		}
	}
	var out Rule
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		var before Rule
		err := tx.QueryRow(ctx, `SELECT key, enabled, schedule, COALESCE(description, '') FROM care_rules WHERE key = $1 FOR UPDATE`, key).
			Scan(&before.Key, &before.Enabled, &before.Schedule, &before.Description)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrRuleNotFound
		}
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `UPDATE care_rules SET enabled = COALESCE($2, enabled), schedule = COALESCE($3, schedule),
			description = COALESCE($4, description), updated_at = now() WHERE key = $1
			RETURNING key, enabled, schedule, COALESCE(description, ''), updated_at`, key, ch.Enabled, ch.Schedule, ch.Description).
			Scan(&out.Key, &out.Enabled, &out.Schedule, &out.Description, &out.UpdatedAt); err != nil {
			return err
		}
		changes := map[string]any{}
		if out.Enabled != before.Enabled {
			changes["enabled"] = map[string]any{"from": before.Enabled, "to": out.Enabled}
		}
		if out.Schedule != before.Schedule {
			changes["schedule"] = map[string]any{"from": before.Schedule, "to": out.Schedule}
		}
		if out.Description != before.Description {
			changes["description"] = map[string]any{"from": before.Description, "to": out.Description}
		}
		if len(changes) == 0 {
			return nil
		}
		return audit.Append(ctx, tx, actor, time.Now(), audit.Entry{Action: "care_rule.update", ObjectType: "care_rule", ObjectID: key, Changes: changes})
	})
	return out, err
}
