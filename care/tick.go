package care

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/robfig/cron/v3"

	"carillon/calendar"
)

// Scheduler defaults.
const (
	// TickInterval is how often the scheduler tick runs (a River periodic job).
	TickInterval = time.Minute
	// CatchUp is how far back a tick looks for a schedule's firing: a rule
	// whose firing was missed (no leader for a while, a restart) is still
	// planned by any tick within CatchUp of it. The plan job being unique per
	// rule and day, the ticks in between insert nothing more.
	CatchUp = time.Hour
	// PlanDayTimeout bounds one PlanDayArgs job: a festival over a million
	// contacts takes tens of seconds. A job cut short is finished by running
	// it again, since planning a day twice plans nothing new.
	PlanDayTimeout = 5 * time.Minute
	// planDayUniquePeriod keeps one plan_day job per date within a day, however
	// many nodes or ticks ask for it.
	planDayUniquePeriod = 24 * time.Hour
)

// PlanDayArgs is the River job that plans one rule's local day
// (Planner.Plan with Rules: [Rule]). It is unique by its arguments for 24
// hours, so a rule's day is planned once even when two nodes' ticks ask for it.
type PlanDayArgs struct {
	// Date is the local day to plan, YYYY-MM-DD.
	Date string `json:"date"`
	// Rule is the care rule planned; empty plans every enabled rule.
	Rule string `json:"rule,omitempty"`
}

// Kind implements river.JobArgs.
func (PlanDayArgs) Kind() string { return "care.plan_day" }

// InsertOpts makes the job unique by date.
func (PlanDayArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: planDayUniquePeriod}}
}

// PlanDayWorker runs PlanDayArgs.
type PlanDayWorker struct {
	river.WorkerDefaults[PlanDayArgs]
	planner *Planner
}

// PlanDayWorker returns the worker that plans the day of a PlanDayArgs job.
func (p *Planner) PlanDayWorker() *PlanDayWorker { return &PlanDayWorker{planner: p} }

// Timeout implements river.Worker.
func (w *PlanDayWorker) Timeout(*river.Job[PlanDayArgs]) time.Duration { return PlanDayTimeout }

// Work plans the job's day for real. A malformed date cancels the job: no
// retry would mend it.
func (w *PlanDayWorker) Work(ctx context.Context, job *river.Job[PlanDayArgs]) error {
	day, err := calendar.ParseDate(job.Args.Date)
	if err != nil {
		return river.JobCancel(fmt.Errorf("care.plan_day: %w", err))
	}
	var opts PlanOptions
	if job.Args.Rule != "" {
		opts.Rules = []string{job.Args.Rule}
	}
	res, err := w.planner.Plan(ctx, day, opts)
	if errors.Is(err, ErrRuleNotFound) {
		return river.JobCancel(err) // the rule was removed since the tick
	}
	if err != nil {
		return fmt.Errorf("plan %s: %w", day, err)
	}
	w.planner.cfg.Logger.InfoContext(ctx, "care day planned", "date", day.String(), "rule", job.Args.Rule,
		"planned", res.Planned, "duplicates", res.Duplicates, "birthdays", res.Birthdays, "festivals", res.Festivals, "notices", res.Notices)
	return nil
}

// TickArgs is the scheduler tick: a River periodic job, every TickInterval,
// that reads the enabled care rules from the care_rules table and enqueues a
// PlanDayArgs for each rule whose schedule fired within CatchUp, then runs
// the tick hooks (OnTick).
// The schedules live in Postgres, not in a process's memory, so a rule edited
// on any node takes effect on whichever node is River's leader.
type TickArgs struct{}

// Kind implements river.JobArgs.
func (TickArgs) Kind() string { return "care.tick" }

// TickWorker runs TickArgs.
type TickWorker struct {
	river.WorkerDefaults[TickArgs]
	pool   *pgxpool.Pool
	logger *slog.Logger
	hooks  []TickHook
	// Now is the clock; tests set it. Default time.Now.
	Now func() time.Time
}

// TickWorker returns the scheduler tick's worker, reading rules through the
// planner's pool. It inserts PlanDayArgs jobs through the River client in the
// job's context.
func (p *Planner) TickWorker() *TickWorker {
	return &TickWorker{pool: p.pool, logger: p.cfg.Logger, hooks: p.tickHooks}
}

const sqlEnabledRules = `SELECT key, schedule, lead_days FROM care_rules WHERE enabled ORDER BY key`

// Due reports whether a rule's schedule fired in (now-CatchUp, now] and, if
// so, the day it plans: the day of the latest such firing in the schedule's
// zone (CRON_TZ=, else the process's local zone) plus leadDays. A schedule
// that does not parse is an error.
func Due(schedule string, leadDays int, now time.Time) (calendar.Date, bool, error) {
	sched, err := cron.ParseStandard(schedule)
	if err != nil {
		return calendar.Date{}, false, fmt.Errorf("schedule %q: %w", schedule, err)
	}
	var fired time.Time
	for t := sched.Next(now.Add(-CatchUp)); !t.IsZero() && !t.After(now); t = sched.Next(t) {
		fired = t
	}
	if fired.IsZero() {
		return calendar.Date{}, false, nil
	}
	loc := time.Local
	if s, ok := sched.(*cron.SpecSchedule); ok && s.Location != nil {
		loc = s.Location
	}
	return calendar.DateOf(fired.In(loc)).AddDays(leadDays), true, nil
}

// Work reads the enabled rules and enqueues the day each due rule plans. A
// rule whose schedule does not parse is logged and skipped; the others still
// run.
func (w *TickWorker) Work(ctx context.Context, job *river.Job[TickArgs]) error {
	now := time.Now()
	if w.Now != nil {
		now = w.Now()
	}
	rows, err := w.pool.Query(ctx, sqlEnabledRules)
	if err != nil {
		return fmt.Errorf("read care rules: %w", err)
	}
	rules, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Rule, error) {
		var x Rule
		err := r.Scan(&x.Key, &x.Schedule, &x.LeadDays)
		return x, err
	})
	if err != nil {
		return fmt.Errorf("read care rules: %w", err)
	}
	var client *river.Client[pgx.Tx]
	for _, r := range rules {
		day, due, err := Due(r.Schedule, r.LeadDays, now)
		if err != nil {
			w.logger.ErrorContext(ctx, "care rule skipped: bad schedule", "rule", r.Key, slog.String("err", err.Error()))
			continue
		}
		if !due {
			continue
		}
		if client == nil {
			if client, err = river.ClientFromContextSafely[pgx.Tx](ctx); err != nil {
				return fmt.Errorf("care tick: %w", err)
			}
		}
		res, err := client.Insert(ctx, PlanDayArgs{Date: day.String(), Rule: r.Key}, nil)
		if err != nil {
			return fmt.Errorf("enqueue plan of %s for rule %s: %w", day, r.Key, err)
		}
		if !res.UniqueSkippedAsDuplicate {
			w.logger.InfoContext(ctx, "care day enqueued", "rule", r.Key, "date", day.String())
		}
	}
	for _, h := range w.hooks {
		if err := h(ctx, now); err != nil {
			w.logger.ErrorContext(ctx, "scheduler tick hook failed", slog.String("err", err.Error()))
		}
	}
	return nil
}
