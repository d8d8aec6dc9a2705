package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/calendar"
	"carillon/care"
	"carillon/internal/app"
	"carillon/internal/pgdev"
)

// benchPlan measures planning one care day over size contacts: 中秋 2027
// (a festival greeting for every active contact, birthdays on both calendars
// by index, most of them folded into the festival's message, and the deposit
// notices of the contacts whose deposit matures a week later), enqueued
// through delivery.Enqueue with their deliver jobs. The figure is contacts
// planned per second; the baseline writes the same message rows with
// INSERT … SELECT into a table of the same columns without indexes or jobs,
// the floor any planner sits on. Goal: the day in under 60 s at 1,000,000.
func benchPlan(ctx context.Context, e *env, srv pgdev.Server, size, runs int) (*Figure, error) {
	f := &Figure{Unit: "contacts/s", BaselineName: "INSERT…SELECT rows/s", Size: size, Goal: "a 1,000,000-contact day in < 60 s"}
	pool, cleanup, err := benchDB(ctx, srv)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	fs, err := calendar.Festivals(2027, calendar.Config{})
	if err != nil {
		return nil, err
	}
	var day calendar.Date
	for _, x := range fs {
		if x.Key == calendar.KeyMidAutumn {
			day = x.Date
		}
	}
	fmt.Fprintf(e.stderr, "bench plan: loading %d contacts\n", size)
	if err := loadPlanContacts(ctx, pool, size, day); err != nil {
		return nil, err
	}
	world, err := app.NewServices(pool, app.ServicesConfig{})
	if err != nil {
		return nil, err
	}
	planner := world.Planner
	resetPeakRSS()
	var secs []float64
	for i := range runs {
		if _, err := pool.Exec(ctx, `TRUNCATE messages CASCADE; DELETE FROM river_job`); err != nil {
			return nil, err
		}
		fmt.Fprintf(e.stderr, "bench plan: run %d/%d, %s over %d contacts\n", i+1, runs, day, size)
		start := time.Now()
		res, err := planner.Plan(ctx, day, care.PlanOptions{})
		took := time.Since(start)
		if err != nil {
			return nil, err
		}
		if res.Planned < size*9/10 {
			return nil, fmt.Errorf("planned %d messages for %d contacts", res.Planned, size)
		}
		fmt.Fprintf(e.stderr, "bench plan: %d messages (%d birthdays, %d combined, %d notices) in %.1f s\n",
			res.Planned, res.Birthdays, res.Combined, res.Notices, took.Seconds())
		secs = append(secs, took.Seconds())
		f.Runs = append(f.Runs, float64(size)/took.Seconds())
		base, n, err := bareMessageInsert(ctx, pool)
		if err != nil {
			return nil, err
		}
		f.BaselineRuns = append(f.BaselineRuns, float64(n)/base.Seconds())
	}
	f.PeakRSSMB = peakRSSMB()
	f.finish()
	f.Goal += fmt.Sprintf(" (median %.1f s)", median(secs))
	return f, nil
}

// loadPlanContacts writes size synthetic contacts straight into the table: both
// calendars, birthdays spread over the year (so about 1/365 fall on any day),
// 5% in New York, 1% closed, and a deposit maturing within two months for 10%.
func loadPlanContacts(ctx context.Context, pool *pgxpool.Pool, size int, day calendar.Date) error {
	// A fixed seed: every run of the benchmark plans the same day.
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT setseed(0.42)`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO contacts (external_id, status, name, locale, time_zone, birth_calendar, birth_year,
  birth_month, birth_day, lunar_month, lunar_day, tier, attrs)
SELECT 'P' || lpad(i::text, 8, '0'),
  CASE WHEN i % 100 = 0 THEN 'closed' ELSE 'active' END,
  '客户' || i, 'zh-CN',
  CASE WHEN i % 20 = 0 THEN 'America/New_York' ELSE 'Asia/Shanghai' END,
  CASE WHEN i % 2 = 0 THEN 'solar' ELSE 'lunar' END,
  1940 + i % 60,
  1 + floor(random() * 12)::int, 1 + floor(random() * 28)::int,
  CASE WHEN i % 2 = 1 THEN 1 + floor(random() * 12)::int END, CASE WHEN i % 2 = 1 THEN 1 + floor(random() * 29)::int END,
  (ARRAY['A','B','C','D'])[1 + i % 4],
  CASE WHEN i % 10 = 0 THEN jsonb_build_object('deposit_maturity', to_char($2::date + floor(random() * 60)::int, 'YYYY-MM-DD'), 'deposit_amount', 50000 + i % 100 * 1000)
       ELSE '{}'::jsonb END
FROM generate_series(1, $1) AS i`, size, day.String())
		return err
	})
	if err != nil {
		return fmt.Errorf("load contacts: %w", err)
	}
	_, err = pool.Exec(ctx, `VACUUM ANALYZE contacts`)
	return err
}

// bareMessageInsert copies the planned messages into a table of the same
// columns with no index, constraint or job, and returns the time and rows.
func bareMessageInsert(ctx context.Context, pool *pgxpool.Pool) (time.Duration, int64, error) {
	if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS bench_messages; CREATE TABLE bench_messages (LIKE messages)`); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	tag, err := pool.Exec(ctx, `INSERT INTO bench_messages SELECT * FROM messages`)
	took := time.Since(start)
	if err != nil {
		return 0, 0, err
	}
	_, err = pool.Exec(ctx, `DROP TABLE bench_messages`)
	return took, tag.RowsAffected(), err
}
