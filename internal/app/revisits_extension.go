package app

import (
	"context"

	"carillon/calendar"
	"carillon/care"
	"carillon/revisits"
)

// revisitsExtension plans the managers' daily digests (care rule
// revisit_digest, kind extension) as a care planner extension: `carillon plan
// --date D` and the scheduler tick plan them with the care rules. revisits and
// care are of one layer, so the two meet here.
type revisitsExtension struct{ rv *revisits.Service }

// DigestExtension is the managers' digest as a care planner extension, the
// one NewPlanner adds.
func DigestExtension(rv *revisits.Service) care.Extension { return revisitsExtension{rv: rv} }

// RuleKey implements care.Extension.
func (revisitsExtension) RuleKey() string { return revisits.RuleDigest }

// PlanDay implements care.Extension: the day's digests (nothing on a
// non-business day) and, on the week's first business day, the team leads'
// weekly feedback summaries. Each dry-run digest is one revisits.DigestLine.
func (x revisitsExtension) PlanDay(ctx context.Context, day calendar.Date, opts care.ExtensionOptions) (care.ExtensionResult, error) {
	o := revisits.DigestOptions{DryRun: opts.DryRun, SendAt: opts.SendAt}
	if opts.Emit != nil {
		o.Emit = func(l revisits.DigestLine) error { return opts.Emit(l) }
	}
	res, err := x.rv.PlanDigests(ctx, day, o)
	return care.ExtensionResult{Messages: res.Messages, Planned: res.Planned, Duplicates: res.Duplicates}, err
}
