package care

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"carillon/calendar"
)

// DayStats is one rule's delivery on one planned day. Each planned message
// counts once, by where its chain ended: a message that failed on WeChat and
// was delivered by its SMS fallback counts as delivered (and in Fallbacks).
type DayStats struct {
	Date       string `json:"date"`
	Planned    int    `json:"planned"`
	Pending    int    `json:"pending"` // queued or sending
	Sent       int    `json:"sent"`    // handed to the provider, no receipt yet
	Delivered  int    `json:"delivered"`
	Failed     int    `json:"failed"`
	Suppressed int    `json:"suppressed"` // consent, suppression list, frequency cap, stop
	Cancelled  int    `json:"cancelled"`
	Expired    int    `json:"expired"`   // of the cancelled: not sent by the end of their day
	Fallbacks  int    `json:"fallbacks"` // went out on a later channel than the first
}

// MaxStatsDays bounds a statistics query's range.
const MaxStatsDays = 366

// RuleStats returns a rule's delivery statistics per planned day in
// [from, to], oldest first; days with no message are left out. A birthday
// greeted inside a festival's message counts for both the birthday rule and
// the festival's.
func (p *Planner) RuleStats(ctx context.Context, key string, from, to calendar.Date) ([]DayStats, error) {
	rule, err := p.Rule(ctx, key)
	if err != nil {
		return nil, err
	}
	if to.Before(from) {
		return nil, fmt.Errorf("%w: the range ends (%s) before it starts (%s)", ErrBadRule, to, from)
	}
	if from.AddDays(MaxStatsDays).Before(to) {
		return nil, fmt.Errorf("%w: a range of at most %d days", ErrBadRule, MaxStatsDays)
	}
	sources := []string{key}
	switch rule.Kind {
	case KindFestival:
		sources = append(sources, RuleBirthday+"+"+key)
	case KindBirthday:
		rules, err := p.Rules(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range rules {
			if r.Kind == KindFestival {
				sources = append(sources, RuleBirthday+"+"+r.Key)
			}
		}
	}
	rows, err := p.pool.Query(ctx, sqlRuleStats, sources, from.String(), to.String())
	if err != nil {
		return nil, fmt.Errorf("statistics of rule %s: %w", key, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DayStats, error) {
		var d DayStats
		err := r.Scan(&d.Date, &d.Planned, &d.Pending, &d.Sent, &d.Delivered, &d.Failed, &d.Suppressed, &d.Cancelled, &d.Expired, &d.Fallbacks)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("statistics of rule %s: %w", key, err)
	}
	if out == nil {
		out = []DayStats{}
	}
	return out, nil
}

// sqlRuleStats follows each planned (root) message's fallback chain to its last
// message and counts the days by that message's status. The roots are read by
// messages_care_day_idx (source_id, planned day).
var sqlRuleStats = strings.TrimSpace(`
WITH RECURSIVE roots AS (
  SELECT id, vars -> 'Care' ->> 'Date' AS day FROM messages
  WHERE source = 'care_rule' AND parent_id IS NULL AND source_id = ANY($1)
    AND (vars -> 'Care' ->> 'Date') BETWEEN $2 AND $3
), chain AS (
  SELECT id AS root, id, 0 AS depth FROM roots
  UNION ALL
  SELECT c.root, m.id, c.depth + 1 FROM chain c JOIN messages m ON m.parent_id = c.id
), last AS (
  SELECT DISTINCT ON (root) root, id, depth FROM chain ORDER BY root, depth DESC
)
SELECT r.day, count(*)::int,
  count(*) FILTER (WHERE m.status IN ('queued', 'sending'))::int,
  count(*) FILTER (WHERE m.status = 'sent')::int,
  count(*) FILTER (WHERE m.status = 'delivered')::int,
  count(*) FILTER (WHERE m.status = 'failed')::int,
  count(*) FILTER (WHERE m.status = 'suppressed')::int,
  count(*) FILTER (WHERE m.status = 'cancelled')::int,
  count(*) FILTER (WHERE m.status = 'cancelled' AND m.reason = 'expired')::int,
  count(*) FILTER (WHERE l.depth > 0)::int
FROM roots r JOIN last l ON l.root = r.id JOIN messages m ON m.id = l.id
GROUP BY r.day ORDER BY r.day`)
