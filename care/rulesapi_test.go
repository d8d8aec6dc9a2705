package care_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"carillon/care"
	"carillon/delivery"
	"carillon/internal/audit"
	"carillon/internal/pgtest"
)

// noEnqueue is an Enqueuer for tests that plan nothing.
type noEnqueue struct{}

func (noEnqueue) Enqueue(context.Context, pgx.Tx, []delivery.Planned) (delivery.EnqueueResult, error) {
	return delivery.EnqueueResult{}, nil
}

func TestCareRulesAreListedAndChangedWithHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	p, err := care.New(db.Pool, noEnqueue{}, care.Config{})
	require.NoError(t, err)
	rules, err := p.Rules(ctx)
	require.NoError(t, err)
	require.Len(t, rules, 1)
	require.Equal(t, "daily", rules[0].Key)
	require.True(t, rules[0].Enabled, "care works out of the box")

	off := false
	bad := "every morning"
	_, err = p.UpdateRule(ctx, audit.Actor{Name: "test"}, "daily", care.RuleChange{Schedule: &bad})
	require.ErrorIs(t, err, care.ErrBadSchedule)
	spec := "CRON_TZ=Asia/Shanghai 30 0 * * *"
	r, err := p.UpdateRule(ctx, audit.Actor{Name: "test"}, "daily", care.RuleChange{Enabled: &off, Schedule: &spec})
	require.NoError(t, err)
	require.False(t, r.Enabled)
	require.Equal(t, spec, r.Schedule)
	_, err = p.UpdateRule(ctx, audit.Actor{Name: "test"}, "nope", care.RuleChange{Enabled: &off})
	require.ErrorIs(t, err, care.ErrRuleNotFound)

	recs, _, err := audit.List(ctx, db.Pool, audit.Filter{ObjectType: "care_rule", ObjectID: "daily"})
	require.NoError(t, err)
	require.Len(t, recs, 1, "the bad schedule changed nothing; the good change is in the history")
	require.Contains(t, string(recs[0].Changes), `"enabled"`)
}
