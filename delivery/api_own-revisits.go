package delivery

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"carillon/calendar"
)

// CareDayStats is the delivery of one care rule's messages planned for one day.
// Each planned message counts once, by where its chain ended: a message that
// failed on WeChat and was delivered by its SMS fallback counts as delivered
// (and in Fallbacks).
type CareDayStats struct {
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

// StatsQuerier is a pool, a connection or a transaction.
type StatsQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// CareStats counts, per planned day in [from, to] (oldest first, days without a
// message left out), the care messages whose source_id is one of sources (a
// rule's key, and the birthday+festival keys that greet for it too). One
// set-based query.
func CareStats(ctx context.Context, q StatsQuerier, sources []string, from, to calendar.Date) ([]CareDayStats, error) {
	rows, err := q.Query(ctx, sqlCareStats, sources, from.String(), to.String())
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CareDayStats, error) {
		var d CareDayStats
		err := r.Scan(&d.Date, &d.Planned, &d.Pending, &d.Sent, &d.Delivered, &d.Failed, &d.Suppressed, &d.Cancelled, &d.Expired, &d.Fallbacks)
		return d, err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []CareDayStats{}
	}
	return out, nil
}

// sqlCareStats follows each planned (root) message's fallback chain to its last
// message and counts the days by that message's status. The roots are read by
// messages_care_day_idx (source_id, planned day).
var sqlCareStats = strings.TrimSpace(`
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

// Execer is a pool, a connection or a transaction.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

const sqlMarkRepliesForwarded = `UPDATE inbound_messages SET forwarded = true WHERE id = ANY($1) AND NOT forwarded`

// MarkRepliesForwarded records, in the caller's transaction, that customers'
// replies reached their manager (the revisit digest quoted them): they leave
// the view unforwarded_replies.
func MarkRepliesForwarded(ctx context.Context, q Execer, ids []int64) error {
	_, err := q.Exec(ctx, sqlMarkRepliesForwarded, ids)
	return err
}
