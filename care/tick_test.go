package care_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/require"

	"carillon/calendar"
	"carillon/care"
	"carillon/internal/audit"
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
		lead     int
		now      time.Time
		due      bool
		day      calendar.Date
	}{
		{"fired 20s ago", daily, 1, shanghai(t, 2027, time.February, 5, 1, 0, 20), true, calendar.NewDate(2027, time.February, 6)},
		{"fired this instant", daily, 1, shanghai(t, 2027, time.February, 5, 1, 0, 0), true, calendar.NewDate(2027, time.February, 6)},
		{"missed by 59 minutes, caught up", daily, 1, shanghai(t, 2027, time.February, 5, 1, 59, 0), true, calendar.NewDate(2027, time.February, 6)},
		{"missed by more than the catch-up window", daily, 1, shanghai(t, 2027, time.February, 5, 2, 0, 1), false, calendar.Date{}},
		{"not yet", daily, 1, shanghai(t, 2027, time.February, 5, 0, 59, 59), false, calendar.Date{}},
		{"lead 0 plans the same day", "CRON_TZ=Asia/Shanghai 0 6 * * *", 0, shanghai(t, 2027, time.February, 5, 6, 0, 5), true, calendar.NewDate(2027, time.February, 5)},
		{"lead 3", daily, 3, shanghai(t, 2027, time.February, 5, 1, 0, 5), true, calendar.NewDate(2027, time.February, 8)},
		{"every 10 minutes: the latest firing", "*/10 * * * *", 1, time.Date(2027, time.February, 5, 23, 55, 0, 0, time.UTC), true, calendar.NewDate(2027, time.February, 6)},
		// 01:00 in Shanghai is 17:00 UTC the day before: tomorrow is Shanghai's.
		{"tomorrow in the rule's zone", daily, 1, time.Date(2027, time.February, 4, 17, 0, 30, 0, time.UTC), true, calendar.NewDate(2027, time.February, 6)},
		{"end of year", daily, 1, shanghai(t, 2026, time.December, 31, 1, 0, 5), true, calendar.NewDate(2027, time.January, 1)},
		{"other zone", "CRON_TZ=America/New_York 0 1 * * *", 1, time.Date(2027, time.July, 1, 5, 0, 10, 0, time.UTC), true, calendar.NewDate(2027, time.July, 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			day, due, err := care.Due(tt.schedule, tt.lead, tt.now)
			require.NoError(t, err)
			require.Equal(t, tt.due, due)
			require.Equal(t, tt.day, day)
		})
	}
	for _, bad := range []string{"", "not a schedule", "CRON_TZ=Mars/Olympus 0 1 * * *", "0 25 * * *"} {
		_, _, err := care.Due(bad, 1, time.Now())
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

// only leaves the named rules on.
func (b *tickBundle) only(t *testing.T, keys ...string) {
	t.Helper()
	_, err := b.db.Pool.Exec(b.ctx, `UPDATE care_rules SET enabled = COALESCE(key = ANY($1), false)`, keys)
	require.NoError(t, err)
}

func TestTickEnqueuesOneJobPerRuleWhenRulesFire(t *testing.T) {
	t.Parallel()
	b := setupTick(t, shanghai(t, 2027, time.February, 5, 1, 0, 20))
	var rules int
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT count(*) FROM care_rules WHERE enabled AND kind <> 'extension'`).Scan(&rules))
	require.Equal(t, 12, rules, "birthday, ten festivals and the deposit notice are on after migrate")
	b.runTick(t)
	for _, rule := range []string{"birthday", "festival.spring_festival", "festival.mid_autumn", "deposit_maturity"} {
		require.Equal(t, 1, b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'care.plan_day' AND args->>'date' = '2027-02-06' AND args->>'rule' = $1`, rule), rule)
	}
	require.Equal(t, rules, b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'care.plan_day'
		AND args->>'rule' IN (SELECT key FROM care_rules WHERE kind <> 'extension')`))
	// (A second tick within the catch-up window finds the same firing: TestDue;
	// the job is unique per rule and day: TestPlanDayArgsUnique. rivertest turns
	// unique enforcement off, so it is not checked here.)
}

func TestTickRunsItsHooks(t *testing.T) {
	t.Parallel()
	b := setup(t, "", care.Config{})
	var seen []time.Time
	now := shanghai(t, 2027, time.February, 5, 14, 30, 0)
	b.planner.OnTick(func(_ context.Context, at time.Time) error { seen = append(seen, at); return nil })
	b.planner.OnTick(func(context.Context, time.Time) error { return errors.New("a hook's failure is logged") })
	b.planner.OnTick(func(_ context.Context, at time.Time) error { seen = append(seen, at); return nil })
	tick := b.planner.TickWorker()
	tick.Now = func() time.Time { return now }
	w := rivertest.NewWorker(t, riverpgxv5.New(b.db.Pool), &river.Config{Logger: testlog.New(t)}, river.Worker[care.TickArgs](tick))
	tx, err := b.db.Pool.Begin(b.ctx)
	require.NoError(t, err)
	defer tx.Rollback(b.ctx) //nolint:errcheck
	res, err := w.Work(b.ctx, t, tx, care.TickArgs{}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, []time.Time{now, now}, seen, "the hooks after a failing one still run")
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
	b.only(t)
	b.runTick(t)
	require.Equal(t, 0, b.planDayJobs(t))
}

func TestTickSkipsBadSchedule(t *testing.T) {
	t.Parallel()
	b := setupTick(t, shanghai(t, 2027, time.February, 5, 1, 0, 20))
	b.only(t, "birthday")
	_, err := b.db.Pool.Exec(b.ctx, `INSERT INTO care_rules (key, enabled, schedule) VALUES ('a_broken', true, 'every night at one')`)
	require.NoError(t, err)
	b.runTick(t)
	// The broken rule (read first) is skipped; the birthday rule still runs.
	rivertest.RequireInserted(b.ctx, t, b.driver, care.PlanDayArgs{Date: "2027-02-06", Rule: "birthday"}, nil)
	require.Equal(t, 1, b.planDayJobs(t))
}

func TestTickEditedScheduleTakesEffect(t *testing.T) {
	t.Parallel()
	// The schedule is read from Postgres on every tick, so an edit made on
	// any node reaches the leader's next tick.
	b := setupTick(t, shanghai(t, 2027, time.February, 5, 3, 30, 10))
	b.only(t, "birthday")
	b.runTick(t)
	require.Equal(t, 0, b.planDayJobs(t))
	// The edit is made through another planner, as on a node that is not the
	// leader: only the table is shared.
	other, err := care.New(b.db.Pool, noEnqueue{}, care.Config{})
	require.NoError(t, err)
	spec := "CRON_TZ=Asia/Shanghai 30 3 * * *"
	_, err = other.UpdateRule(b.ctx, audit.Actor{Name: "test"}, "birthday", care.RuleChange{Schedule: &spec})
	require.NoError(t, err)
	b.runTick(t)
	rivertest.RequireInserted(b.ctx, t, b.driver, care.PlanDayArgs{Date: "2027-02-06", Rule: "birthday"}, nil)
	require.Equal(t, 1, b.planDayJobs(t))
}

func TestPlanDayArgsUnique(t *testing.T) {
	t.Parallel()
	b := setup(t, "", care.Config{})
	// Two clients on one database, as two nodes would be.
	var results []bool
	for range 2 {
		rc, err := river.NewClient(riverpgxv5.New(b.db.Pool), &river.Config{Logger: testlog.New(t)})
		require.NoError(t, err)
		res, err := rc.Insert(b.ctx, care.PlanDayArgs{Date: "2027-02-06", Rule: "birthday"}, nil)
		require.NoError(t, err)
		results = append(results, res.UniqueSkippedAsDuplicate)
	}
	require.Equal(t, []bool{false, true}, results)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM river_job WHERE kind = 'care.plan_day'`))
	// Another day is its own job.
	rc, err := river.NewClient(riverpgxv5.New(b.db.Pool), &river.Config{Logger: testlog.New(t)})
	require.NoError(t, err)
	res, err := rc.Insert(b.ctx, care.PlanDayArgs{Date: "2027-02-07", Rule: "birthday"}, nil)
	require.NoError(t, err)
	require.False(t, res.UniqueSkippedAsDuplicate)
	// Another rule on the same day is its own job too.
	res, err = rc.Insert(b.ctx, care.PlanDayArgs{Date: "2027-02-06", Rule: "festival.spring_festival"}, nil)
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
	res, err := w.Work(b.ctx, t, tx, care.PlanDayArgs{Date: "2027-03-15", Rule: "festival.mid_autumn"}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM messages`), "the job plans its own rule only")
	res, err = w.Work(b.ctx, t, tx, care.PlanDayArgs{Date: "2027-03-15", Rule: "birthday"}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM messages WHERE dedupe_key = 'birthday:S1:solar:2027'`))
	res, err = w.Work(b.ctx, t, tx, care.PlanDayArgs{Date: "2027-03-15", Rule: "no_such_rule"}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCancelled, res.EventKind)

	res, err = w.Work(b.ctx, t, tx, care.PlanDayArgs{Date: "2027-02-30"}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCancelled, res.EventKind)
}
