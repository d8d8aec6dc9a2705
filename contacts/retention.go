package contacts

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// eventPartitionName is the name of a monthly timeline partition.
var eventPartitionName = regexp.MustCompile(`^contact_events_([0-9]{4})([0-9]{2})$`)

// retentionLockKey serialises retention runs, so two cannot drop the same month.
const retentionLockKey int64 = 0x72657461696e

const summariseEventsSQL = `INSERT INTO contact_event_summaries (contact_id, month, kind, count)
SELECT contact_id, $1::date, kind, count(*) FROM %s GROUP BY contact_id, kind
ON CONFLICT (contact_id, month, kind) DO UPDATE SET count = EXCLUDED.count`

// DropEventsBefore drops the timeline's monthly partitions of months before the
// month of before, each after writing its summary (events per contact and kind)
// to contact_event_summaries, in the same transaction: a month is either still
// there or summarised and gone. It returns the number of summary rows written and
// the partitions dropped, oldest first. Running it again drops nothing more.
func (s *Store) DropEventsBefore(ctx context.Context, before time.Time) (summarised int, dropped []string, err error) {
	before = before.UTC()
	cutoff := time.Date(before.Year(), before.Month(), 1, 0, 0, 0, 0, time.UTC)
	rows, err := s.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'contact_events'::regclass`)
	if err != nil {
		return 0, nil, fmt.Errorf("list timeline partitions: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, nil, fmt.Errorf("list timeline partitions: %w", err)
	}
	slices.Sort(names)
	for _, name := range names {
		month, ok := partitionMonth(name)
		if !ok || !month.Before(cutoff) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return summarised, dropped, err
		}
		n, gone, err := s.dropEventPartition(ctx, name, month)
		if err != nil {
			return summarised, dropped, err
		}
		summarised += n
		if gone {
			dropped = append(dropped, name)
		}
	}
	return summarised, dropped, nil
}

func partitionMonth(name string) (time.Time, bool) {
	m := eventPartitionName.FindStringSubmatch(name)
	if m == nil {
		return time.Time{}, false
	}
	t, err := time.Parse("200601", m[1]+m[2])
	return t, err == nil
}

// dropEventPartition summarises and drops one month.
func (s *Store) dropEventPartition(ctx context.Context, name string, month time.Time) (int, bool, error) {
	var n int
	var gone bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Dropping a partition locks the timeline briefly; do not queue behind a long
		// reader for ever (the daily job tries again).
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '10s'`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, retentionLockKey); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil {
			return err
		}
		if !exists { // another run dropped it
			return nil
		}
		table := pgx.Identifier{name}.Sanitize()
		tag, err := tx.Exec(ctx, fmt.Sprintf(summariseEventsSQL, table), month.Format("2006-01-02"))
		if err != nil {
			return fmt.Errorf("summarise %s: %w", name, err)
		}
		// Dropped by the tables' owner (the runtime role owns nothing).
		if _, err := tx.Exec(ctx, `SELECT carillon_drop_event_partition($1)`, name); err != nil {
			return fmt.Errorf("drop %s: %w", name, err)
		}
		n, gone = int(tag.RowsAffected()), true
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	if gone {
		s.cfg.Logger.InfoContext(ctx, "timeline partition dropped", "partition", name, "summaries", n)
	}
	return n, gone, nil
}
