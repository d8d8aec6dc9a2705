package revisits

import (
	"context"

	"carillon/calendar"
	"carillon/care"
)

// Extension returns the care planner's extension that plans the managers'
// daily digests (care rule revisit_digest, kind extension): `carillon plan
// --date D` and the scheduler tick plan them with the care rules. Register it
// with care.Planner.AddExtension.
func (s *Service) Extension() care.Extension { return extension{s: s} }

type extension struct{ s *Service }

// RuleKey implements care.Extension.
func (extension) RuleKey() string { return RuleDigest }

// PlanDay implements care.Extension: the day's digests (nothing on a
// non-business day) and, on the week's first business day, the team leads'
// weekly feedback summaries. Each dry-run digest is one DigestLine.
func (x extension) PlanDay(ctx context.Context, day calendar.Date, opts care.ExtensionOptions) (care.ExtensionResult, error) {
	o := DigestOptions{DryRun: opts.DryRun, SendAt: opts.SendAt}
	if opts.Emit != nil {
		o.Emit = func(l DigestLine) error { return opts.Emit(l) }
	}
	res, err := x.s.PlanDigests(ctx, day, o)
	out := care.ExtensionResult{Messages: res.Messages, Planned: res.Planned, Duplicates: res.Duplicates}
	if err != nil {
		return out, err
	}
	return out, nil
}
