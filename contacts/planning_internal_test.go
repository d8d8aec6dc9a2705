package contacts

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"carillon/internal/pgtest"
)

// TestBirthdayLookupsUseTheIndexes checks that each birthday probe can be
// answered from its partial index (contacts_solar_birthday_idx,
// contacts_lunar_birthday_idx): the queries imply the indexes' predicates. The
// table is tiny, so sequential scans are switched off to ask the planner
// whether an index path exists at all.
func TestBirthdayLookupsUseTheIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	conn, err := db.Pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, `SET enable_seqscan = off`)
	require.NoError(t, err)
	defer func() { _, _ = conn.Exec(ctx, `RESET enable_seqscan`) }()

	for sql, want := range map[string]string{
		solarBirthdaysSQL: "contacts_solar_birthday_idx",
		lunarBirthdaysSQL: "contacts_lunar_birthday_idx",
	} {
		args := []any{2, 29}
		if want == "contacts_lunar_birthday_idx" {
			args = append(args, false)
		}
		rows, err := conn.Query(ctx, "EXPLAIN "+sql, args...)
		require.NoError(t, err)
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		plan := strings.Join(lines, "\n")
		require.Contains(t, plan, want, plan)
		require.NotContains(t, plan, "Seq Scan", plan)
	}
}
