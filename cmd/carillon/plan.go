package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/calendar"
	"carillon/care"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/revisits"
)

// planZone is the zone "today" is read in for plan: the contacts' default zone.
func planZone() *time.Location {
	loc, err := time.LoadLocation(contacts.DefaultTimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// cmdPlan plans the care messages (birthdays, festivals) of one local day:
// for real through delivery.Enqueue, or as a dry run that writes nothing.
func cmdPlan(ctx context.Context, e *env, args []string) error {
	fs := newFlags("plan", e.stderr)
	date := fs.String("date", "", "the local day to plan, YYYY-MM-DD (required)")
	dryRun := fs.Bool("dry-run", false, "list what would be planned; write nothing")
	asJSON := fs.Bool("json", false, "print one JSON object per message, then the summary as one")
	rules := fs.String("rule", "", "plan only these care rules, comma-separated keys (default: every enabled rule)")
	cfgPath := fs.String("config", e.getenv("CARILLON_CONFIG"), "configuration file (TOML): its [calendar] festivals and holiday years")
	backfill := fs.Bool("backfill", false, "plan a day already past for real (its messages are recorded and cancelled as expired, never sent late)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *date == "" {
		fmt.Fprintln(e.stderr, "usage: carillon plan --date YYYY-MM-DD [--rule KEY,…] [--dry-run] [--backfill] [--json]")
		return &exitError{code: 2, err: errUsage}
	}
	day, err := calendar.ParseDate(*date)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("plan --date: %w", err)}
	}
	fc, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	pool, _, err := e.openDB(ctx, 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	svc, err := delivery.New(pool, delivery.Config{Logger: e.logger}, delivery.Deps{})
	if err != nil {
		return err
	}
	planner, err := newPlanner(pool, svc, e, fc.Calendar)
	if err != nil {
		return err
	}
	opts := care.PlanOptions{DryRun: *dryRun}
	if today := calendar.DateOf(time.Now().In(planZone())); day.Before(today) && !*backfill && !*dryRun {
		// Messages for a day gone by would only be cancelled as expired.
		opts.DryRun = true
		fmt.Fprintf(e.stderr, "plan: %s is before today (%s in %s): a dry run; --backfill plans it for real (its messages are cancelled as expired)\n",
			day, today, planZone())
	}
	for _, k := range strings.Split(*rules, ",") {
		if k = strings.TrimSpace(k); k != "" {
			opts.Rules = append(opts.Rules, k)
		}
	}
	if *asJSON {
		opts.Emit = func(it care.Item) error { return writeJSONTo(e.stdout, it) }
		opts.EmitLine = func(line any) error { return writeJSONTo(e.stdout, line) }
	}
	res, err := planner.Plan(ctx, day, opts)
	if err != nil {
		return err
	}
	if !res.HolidayData {
		fmt.Fprintf(e.stderr, "plan: warning: %s\n", res.HolidayWarning)
	}
	if *asJSON {
		return writeJSONTo(e.stdout, map[string]any{"summary": res})
	}
	verb := "planned"
	if res.DryRun {
		verb = "would plan"
	}
	fmt.Fprintf(e.stdout, "%s: %s %d new messages, %d already planned (%d birthdays, %d combined with a festival, %d milestones, %d notices; festivals: %v)\n",
		res.Date, verb, res.Planned, res.Duplicates, res.Birthdays, res.Combined, res.Milestones, res.Notices, res.Festivals)
	for _, k := range slices.Sorted(maps.Keys(res.ByRule)) {
		fmt.Fprintf(e.stdout, "  %-36s %d\n", k, res.ByRule[k])
	}
	return nil
}

// newPlanner builds the care planner with its extensions, as serve does.
func newPlanner(pool *pgxpool.Pool, svc *delivery.Service, e *env, cal calendar.Config) (*care.Planner, error) {
	store, err := contacts.NewStore(pool, contacts.Config{Logger: e.logger})
	if err != nil {
		return nil, err
	}
	p, _, err := newPlannerWithRevisits(pool, store, svc, e, cal)
	return p, err
}

// newPlannerWithRevisits builds the care planner with the managers' revisit
// digest as its extension, and returns the revisits service too. Both count
// business days and choose festivals by cal (the file's [calendar]).
func newPlannerWithRevisits(pool *pgxpool.Pool, store *contacts.Store, svc *delivery.Service, e *env, cal calendar.Config) (*care.Planner, *revisits.Service, error) {
	p, err := care.New(pool, svc, care.Config{Logger: e.logger, Festivals: cal})
	if err != nil {
		return nil, nil, err
	}
	rv, err := revisits.New(pool, store, svc, revisits.Config{Logger: e.logger, ConsoleURL: svc.Config().PublicURL, Festivals: cal, Rules: p})
	if err != nil {
		return nil, nil, err
	}
	p.AddExtension(revisitsExtension{rv: rv})
	return p, rv, nil
}
