package care

import (
	"context"
	"time"

	"carillon/calendar"
)

// Extension is a rule planned by another package — the managers' revisit
// digest. Its key is a row of care_rules (kind extension), switched on and off
// and scheduled like the care rules, and `carillon plan` and the scheduler
// tick plan it with them.
type Extension interface {
	// RuleKey is the extension's row in care_rules.
	RuleKey() string
	// PlanDay plans day. On a dry run it writes nothing and reports each
	// planned item through opts.Emit (when set) as one JSON-marshalable value.
	PlanDay(ctx context.Context, day calendar.Date, opts ExtensionOptions) (ExtensionResult, error)
}

// ExtensionOptions are an Extension's plan options.
type ExtensionOptions struct {
	DryRun bool
	// Emit receives each item (one line of `carillon plan --dry-run --json`);
	// nil: keep only the counts.
	Emit func(line any) error
	// SendAt, when set, is when every message is due instead of the rule's
	// own time (the demo plays a day at once).
	SendAt time.Time
}

// ExtensionResult is what an Extension planned: items produced, new
// messages (a dry run: every item), and items whose dedupe key existed.
type ExtensionResult struct {
	Messages, Planned, Duplicates int
}

// AddExtension registers an extension; add them before the planner is used.
func (p *Planner) AddExtension(e Extension) { p.extensions = append(p.extensions, e) }

// TickHook runs at every scheduler tick (each minute, on River's leader) after
// the care rules are read: campaigns' recurring schedules, read from Postgres
// like the rules. An error is logged and the other hooks still run.
type TickHook func(ctx context.Context, now time.Time) error

// OnTick registers a tick hook; register before River starts.
func (p *Planner) OnTick(f func(ctx context.Context, now time.Time) error) {
	p.tickHooks = append(p.tickHooks, f)
}
