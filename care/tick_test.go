package care_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/require"

	"carillon/calendar"
	"carillon/care"
	"carillon/internal/testlog"
)

// shanghai returns a wall-clock time in Asia/Shanghai.
func shanghai(t *testing.T, y int, m time.Month, d, h, min, s int) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	return time.Date(y, m, d, h, min, s, 0, loc)
}

func TestDue(t *testing.T) {
	t.Parallel()
	const daily = "CRON_TZ=Asia/Shanghai 0 1 * * *"
	tests := []struct {
		name     string
		schedule string
		now      time.Time
		due      bool
		day      calendar.Date
	}{
		{"fired 20s ago", daily, shanghai(t, 2027, time.February, 5, 1, 0, 20), true, calendar.NewDate(2027, time.February, 6)},
		{"fired this instant", daily, shanghai(t, 2027, time.February, 5, 1, 0, 0), true, calendar.NewDate(2027, time.February, 6)},
		{"fired a minute ago, seen by the last tick", daily, shanghai(t, 2027, time.February, 5, 1, 1, 0), false, calendar.Date{}},
		{"not yet", daily, shanghai(t, 2027, time.February, 5, 0, 59, 59), false, calendar.Date{}},
		// 01:00 in Shanghai is 17:00 UTC the day before: tomorrow is Shanghai's.
		{"tomorrow in the rule's zone", daily, time.Date(2027, time.February, 4, 17, 0, 30, 0, time.UTC), true, calendar.NewDate(2027, time.February, 6)},
		{"end of year", daily, shanghai(t, 2026, time.December, 31, 1, 0, 5), true, calendar.NewDate(2027, time.January, 1)},
		{"other zone", "CRON_TZ=America/New_York 0 1 * * *", time.Date(2027, time.July, 1, 5, 0, 10, 0, time.UTC), true, calendar.NewDate(2027, time.July, 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			day, due, err := care.Due(tt.schedule, tt.now)
			require.NoError(t, err)
			require.Equal(t, tt.due, due)
			require.Equal(t, tt.day, day)
		})
	}
	for _, bad := range []string{"", "not a schedule", "CRON_TZ=Mars/Olympus 0 1 * * *", "0 25 * * *"} {
		_, _, err := care.Due(bad, time.Now())
		require.Error(t, err, "schedule %q", bad)
	}
}

// tickBundle is a fresh database with the planner's tick worker under rivertest.
type tickBundle struct {
	*bundle
	driver *riverpgxv5.Driver
	tick   *care.TickWorker
	worker *rivertest.Worker[care.TickArgs, pgx.Tx]
}

func setupTick(t *testing.T, now time.Time) *tickBundle {
	t.Helper()
	b := setup(t, "", care.Config{})
	driver := riverpgxv5.New(b.db.Pool)
	tick := b.planner.TickWorker()
	tick.Now = func() time.Time { return now }
	w := rivertest.NewWorker(t, driver, &river.Config{Logger: testlog.New(t)}, river.Worker[care.TickArgs](tick))
	return &tickBundle{bundle: b, driver: driver, tick: tick, worker: w}
}

// runTick works one tick job and requires it completed.
func (b *tickBundle) runTick(t *testing.T) {
	t.Helper()
	tx, err := b.db.Pool.Begin(b.ctx)
	require.NoError(t, err)
	defer tx.Rollback(b.ctx) //nolint:errcheck
	res, err := b.worker.Work(b.ctx, t, tx, care.TickArgs{}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.NoError(t, tx.Commit(b.ctx))
}

func (b *tickBundle) planDayJobs(t *testing.T) int {
	t.Helper()
	return b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'care.plan_day'`)
}

func TestTickEnqueuesTomorrowWhenRuleFires(t *testing.T) {
	t.Parallel()
	b := setupTick(t, shanghai(t, 2027, time.February, 5, 1, 0, 20))
	b.runTick(t)
	rivertest.RequireInserted(b.ctx, t, b.driver, care.PlanDayArgs{Date: "2027-02-06"}, nil)
	require.Equal(t, 1, b.planDayJobs(t))
}

func TestTickDoesNothingWhenRuleDoesNotFire(t *testing.T) {
	t.Parallel()
	b := setupTick(t, shanghai(t, 2027, time.February, 5, 14, 30, 0))
	b.runTick(t)
	require.Equal(t, 0, b.planDayJobs(t))
}

func TestTickDisabledRuleDoesNothing(t *testing.T) {
	t.Parallel()
	b := setupTick(t, shanghai(t, 2027, time.February, 5, 1, 0, 20))
	_, err := b.db.Pool.Exec(b.ctx, `UPDATE care_rules SET enabled = false, updated_at = now() WHERE key = 'daily'`)
	require.NoError(t, err)
	b.runTick(t)
	require.Equal(t, 0, b.planDayJobs(t))
}

func TestTickSkipsBadSchedule(t *testing.T) {
	t.Parallel()
	b := setupTick(t, shanghai(t, 2027, time.February, 5, 1, 0, 20))
	_, err := b.db.Pool.Exec(b.ctx, `INSERT INTO care_rules (key, enabled, schedule) VALUES ('a_broken', true, 'every night at one')`)
	require.NoError(t, err)
	b.runTick(t)
	// The broken rule (read first) is skipped; the daily rule still runs.
	rivertest.RequireInserted(b.ctx, t, b.driver, care.PlanDayArgs{Date: "2027-02-06"}, nil)
	require.Equal(t, 1, b.planDayJobs(t))
}

func TestTickEditedScheduleTakesEffect(t *testing.T) {
	t.Parallel()
	// The schedule is read from Postgres on every tick, so an edit made on
	// any node reaches the leader's next tick.
	b := setupTick(t, shanghai(t, 2027, time.February, 5, 3, 30, 10))
	b.runTick(t)
	require.Equal(t, 0, b.planDayJobs(t))
	_, err := b.db.Pool.Exec(b.ctx, `UPDATE care_rules SET schedule = 'CRON_TZ=Asia/Shanghai 30 3 * * *', updated_at = now() WHERE key = 'daily'`)
	require.NoError(t, err)
	b.runTick(t)
	rivertest.RequireInserted(b.ctx, t, b.driver, care.PlanDayArgs{Date: "2027-02-06"}, nil)
}

func TestPlanDayArgsUnique(t *testing.T) {
	t.Parallel()
	b := setup(t, "", care.Config{})
	// Two clients on one database, as two nodes would be.
	var results []bool
	for range 2 {
		rc, err := river.NewClient(riverpgxv5.New(b.db.Pool), &river.Config{Logger: testlog.New(t)})
		require.NoError(t, err)
		res, err := rc.Insert(b.ctx, care.PlanDayArgs{Date: "2027-02-06"}, nil)
		require.NoError(t, err)
		results = append(results, res.UniqueSkippedAsDuplicate)
	}
	require.Equal(t, []bool{false, true}, results)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'care.plan_day'`))
	// Another day is its own job.
	rc, err := river.NewClient(riverpgxv5.New(b.db.Pool), &river.Config{Logger: testlog.New(t)})
	require.NoError(t, err)
	res, err := rc.Insert(b.ctx, care.PlanDayArgs{Date: "2027-02-07"}, nil)
	require.NoError(t, err)
	require.False(t, res.UniqueSkippedAsDuplicate)
}

func TestPlanDayWorkerPlansTheDay(t *testing.T) {
	t.Parallel()
	b := setup(t, "S1,张伟,1967-03-15,,solar,,active\n", care.Config{})
	w := rivertest.NewWorker(t, riverpgxv5.New(b.db.Pool), &river.Config{Logger: testlog.New(t)}, river.Worker[care.PlanDayArgs](b.planner.PlanDayWorker()))
	tx, err := b.db.Pool.Begin(b.ctx)
	require.NoError(t, err)
	defer tx.Rollback(b.ctx) //nolint:errcheck
	res, err := w.Work(b.ctx, t, tx, care.PlanDayArgs{Date: "2027-03-15"}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM messages WHERE dedupe_key = 'birthday:S1:solar:2027'`))

	res, err = w.Work(b.ctx, t, tx, care.PlanDayArgs{Date: "2027-02-30"}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCancelled, res.EventKind)
}
