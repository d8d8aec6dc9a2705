package care_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
	"carillon/care"
)

func TestRuleStatsFollowFallbacks(t *testing.T) {
	t.Parallel()
	day := festivalDate(t, 2027, calendar.KeyMidAutumn)
	b := setup(t, "M1,王芳,,08-15,lunar,,active\nO1,赵敏,,,,,active\nO2,钱七,,,,,active\nO3,孙八,,,,,active\n", care.Config{})
	_, err := b.planner.Plan(b.ctx, day, care.PlanOptions{})
	require.NoError(t, err)

	set := func(contact, status string) int64 {
		var id int64
		require.NoError(t, b.db.Pool.QueryRow(b.ctx, `UPDATE messages SET status = $2 WHERE parent_id IS NULL AND contact_id =
			(SELECT id FROM contacts WHERE external_id = $1) RETURNING id`, contact, status).Scan(&id))
		return id
	}
	set("M1", "delivered")
	failed := set("O1", "failed")
	set("O2", "suppressed")
	// O1's WeChat failed; its SMS fallback was delivered.
	_, err = b.db.Pool.Exec(b.ctx, `INSERT INTO messages (dedupe_key, contact_id, source, source_id, purpose, template_key, vars, channels, status, send_at, parent_id)
		SELECT dedupe_key || ':fallback', contact_id, source, source_id, purpose, template_key, vars, '{sms}', 'delivered', send_at, id FROM messages WHERE id = $1`, failed)
	require.NoError(t, err)

	stats, err := b.planner.RuleStats(b.ctx, "festival.mid_autumn", day.AddDays(-3), day.AddDays(3))
	require.NoError(t, err)
	require.Equal(t, []care.DayStats{{Date: day.String(), Planned: 4, Pending: 1, Delivered: 2, Suppressed: 1, Fallbacks: 1}}, stats)

	// The birthday rule counts the birthday greeted in the festival's message.
	stats, err = b.planner.RuleStats(b.ctx, "birthday", day, day)
	require.NoError(t, err)
	require.Equal(t, []care.DayStats{{Date: day.String(), Planned: 1, Delivered: 1}}, stats)

	stats, err = b.planner.RuleStats(b.ctx, "festival.qixi", day, day)
	require.NoError(t, err)
	require.Empty(t, stats)
	_, err = b.planner.RuleStats(b.ctx, "festival.mid_autumn", day, day.AddDays(-1))
	require.ErrorContains(t, err, "ends")
	_, err = b.planner.RuleStats(b.ctx, "nope", day, day)
	require.ErrorIs(t, err, care.ErrRuleNotFound)
}
