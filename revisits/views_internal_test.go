package revisits

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"carillon/internal/pgtest"
)

var planNode = regexp.MustCompile(`([A-Z][A-Za-z ]+?(?: using [a-z_]+)?(?: on [a-z_]+)?)(?: [a-z]+)?  (\(cost=[0-9.]+ rows=[0-9]+ width=[0-9]+\))`)

// TestViewsKeepTheContactsPlans checks that reading the customers and managers
// through the contacts package's views (contact_cards, manager_refs) costs
// nothing: Postgres inlines them, so the due list and the upcoming birthdays
// plan exactly as they did on the tables (the birthdays by their partial
// indexes). Sequential scans are switched off to ask the planner for its index
// paths on the empty tables.
func TestViewsKeepTheContactsPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	conn, err := db.Pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, `SET enable_seqscan = off`)
	require.NoError(t, err)
	defer func() { _, _ = conn.Exec(ctx, `RESET enable_seqscan`) }()

	explain := func(sql string, args []any) string {
		rows, err := conn.Query(ctx, "EXPLAIN "+sql, args...)
		require.NoError(t, err)
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return strings.Join(lines, "\n")
	}
	// The plan's shape: each node with its cost, each scan with its index and
	// table (the aliases differ: a view's columns print under the table's name).
	shape := func(plan string) []string {
		var out []string
		for _, m := range planNode.FindAllStringSubmatch(plan, -1) {
			out = append(out, m[1]+" "+m[2])
		}
		return out
	}
	onTables := strings.NewReplacer("contact_cards", "contacts", "manager_refs", "managers")
	for _, c := range []struct {
		sql  string
		args []any
		want string
	}{
		{dueSQL, []any{[]int64{1, 2}, "2026-10-13", "Asia/Shanghai"}, "on contacts"},
		{upcomingSolarSQL, []any{[]int32{10}, []int32{15}}, "contacts_solar_birthday_idx"},
		{upcomingLunarSQL, []any{[]int32{8}, []int32{15}, []bool{false}}, "contacts_lunar_birthday_idx"},
	} {
		require.Contains(t, c.sql, "contact_cards")
		plan := explain(c.sql, c.args)
		require.Equal(t, shape(explain(onTables.Replace(c.sql), c.args)), shape(plan), plan)
		require.Contains(t, plan, c.want, plan)
		require.NotContains(t, plan, "Seq Scan on contacts", plan)
	}
}
