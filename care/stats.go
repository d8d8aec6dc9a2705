package care

import (
	"context"
	"fmt"

	"carillon/calendar"
	"carillon/delivery"
)

// DayStats is one rule's delivery on one planned day (delivery.CareDayStats:
// the messages are delivery's). Each planned message counts once, by where its
// chain ended: a message that failed on WeChat and was delivered by its SMS
// fallback counts as delivered (and in Fallbacks).
type DayStats = delivery.CareDayStats

// MaxStatsDays bounds a statistics query's range.
const MaxStatsDays = 366

// RuleStats returns a rule's delivery statistics per planned day in
// [from, to], oldest first; days with no message are left out. A birthday
// greeted inside a festival's message counts for both the birthday rule and
// the festival's.
func (p *Planner) RuleStats(ctx context.Context, key string, from, to calendar.Date) ([]DayStats, error) {
	rule, err := p.Rule(ctx, key)
	if err != nil {
		return nil, err
	}
	if to.Before(from) {
		return nil, fmt.Errorf("%w: the range ends (%s) before it starts (%s)", ErrBadRule, to, from)
	}
	if from.AddDays(MaxStatsDays).Before(to) {
		return nil, fmt.Errorf("%w: a range of at most %d days", ErrBadRule, MaxStatsDays)
	}
	sources := []string{key}
	switch rule.Kind {
	case KindFestival:
		sources = append(sources, RuleBirthday+"+"+key)
	case KindBirthday:
		rules, err := p.Rules(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range rules {
			if r.Kind == KindFestival {
				sources = append(sources, RuleBirthday+"+"+r.Key)
			}
		}
	}
	out, err := delivery.CareStats(ctx, p.pool, sources, from, to)
	if err != nil {
		return nil, fmt.Errorf("statistics of rule %s: %w", key, err)
	}
	return out, nil
}
