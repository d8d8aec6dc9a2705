package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

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
	world, err := app.NewServices(pool, app.ServicesConfig{})
	if err != nil {
		return nil, err
	}
	if err := world.Contacts.SeedBenchPlanBook(ctx, size, day.String()); err != nil {
		return nil, err
	}
	// An insert-only client: it deletes the jobs the last run enqueued.
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		return nil, err
	}
	planner := world.Planner
	resetPeakRSS()
	var secs []float64
	for i := range runs {
		if err := world.Delivery.ClearBenchOutbox(ctx); err != nil {
			return nil, err
		}
		if err := deleteJobs(ctx, rc); err != nil {
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
		base, n, err := world.Delivery.BareOutboxCopy(ctx)
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

// deleteJobs deletes every job through River's client, 10,000 at a time.
func deleteJobs(ctx context.Context, rc *river.Client[pgx.Tx]) error {
	for {
		res, err := rc.JobDeleteMany(ctx, river.NewJobDeleteManyParams().UnsafeAll().First(10_000))
		if err != nil {
			return fmt.Errorf("delete river's jobs: %w", err)
		}
		if len(res.Jobs) == 0 {
			return nil
		}
	}
}
