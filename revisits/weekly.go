package revisits

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"carillon/calendar"
)

// WeeklySummary is a team's feedback of one week, Monday to Sunday, for its
// lead: new records by category, those resolved, every record still open
// with its age, and the proposed solutions recorded.
type WeeklySummary struct {
	Lead string        `json:"lead"`
	Team []string      `json:"team"` // the members' codes, the lead's own included when they lead themself
	From calendar.Date `json:"from"` // Monday
	To   calendar.Date `json:"to"`   // Sunday
	// New counts the records opened in the week by category.
	New      map[string]int `json:"new"`
	Resolved int            `json:"resolved"`
	// Open lists the records not resolved at the end of the week's summary
	// (now), oldest first; AgeDays counts calendar days since opened.
	Open []OpenFeedback `json:"open"`
	// Solutions lists the records of the week (new, resolved, or still open)
	// with a proposed solution.
	Solutions []SolutionLine `json:"solutions"`
}

// OpenFeedback is an unresolved record in the weekly summary.
type OpenFeedback struct {
	ID         int64         `json:"id"`
	Category   string        `json:"category"`
	State      string        `json:"state"`
	Owner      string        `json:"owner"`
	ExternalID string        `json:"external_id"`
	OpenedOn   calendar.Date `json:"opened_on"`
	AgeDays    int           `json:"age_days"`
	// PastSLA marks a complaint past its SLA.
	PastSLA bool `json:"past_sla,omitempty"`
}

// SolutionLine is a proposed solution recorded for a record.
type SolutionLine struct {
	ID       int64  `json:"id"`
	Category string `json:"category"`
	State    string `json:"state"`
	Owner    string `json:"owner"`
	Solution string `json:"solution"`
}

// WeekOf returns the Monday of d's week.
func WeekOf(d calendar.Date) calendar.Date {
	back := (int(d.Weekday()) + 6) % 7 // Monday 0 … Sunday 6
	return d.AddDays(-back)
}

// firstBusinessDayOfWeek reports whether d is its week's first business day
// (Monday, or the day after a Monday holiday).
func firstBusinessDayOfWeek(cal calendar.Config, d calendar.Date) bool {
	if !cal.IsBusinessDay(d) {
		return false
	}
	for x := WeekOf(d); x.Before(d); x = x.AddDays(1) {
		if cal.IsBusinessDay(x) {
			return false
		}
	}
	return true
}

// MaxSolutionLength is how much of a solution the summary quotes.
const MaxSolutionLength = 200

// WeeklySummaries returns each team lead's summary of the week starting on
// Monday week (keyed by the lead's code), today being the day the open
// records' ages are counted to. leads limits the leads (nil: every lead).
func (s *Service) WeeklySummaries(ctx context.Context, week calendar.Date, today calendar.Date, leads []string) (map[string]*WeeklySummary, error) {
	if week != WeekOf(week) {
		return nil, invalid("week", "%s is not a Monday", week)
	}
	ms, err := s.contacts.ListManagers(ctx, "")
	if err != nil {
		return nil, err
	}
	leadOf := map[int64]string{}
	codes := map[int64]string{}
	out := map[string]*WeeklySummary{}
	for _, m := range ms {
		codes[m.ID] = m.Code
		if m.Lead == "" || (leads != nil && !slices.Contains(leads, m.Lead)) {
			continue
		}
		leadOf[m.ID] = m.Lead
		sum, ok := out[m.Lead]
		if !ok {
			sum = &WeeklySummary{Lead: m.Lead, From: week, To: week.AddDays(6), New: map[string]int{}, Open: []OpenFeedback{}, Solutions: []SolutionLine{}}
			for _, c := range Categories {
				sum.New[c] = 0
			}
			out[m.Lead] = sum
		}
		sum.Team = append(sum.Team, m.Code)
	}
	if len(out) == 0 {
		return out, nil
	}
	from, to := week, week.AddDays(6)
	rows, err := s.pool.Query(ctx, `SELECT f.id, f.category, f.state, f.owner_id, c.external_id, f.opened_on, f.sla_due, f.resolved_on, f.solution
		FROM feedback f JOIN contact_cards c ON c.id = f.contact_id
		WHERE f.opened_on BETWEEN $1::date AND $2::date OR f.resolved_on BETWEEN $1::date AND $2::date OR f.state <> $3
		ORDER BY f.opened_on, f.id`, from.String(), to.String(), string(StateResolved))
	if err != nil {
		return nil, fmt.Errorf("weekly feedback: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, owner int64
		var cat, state, ext, solution string
		var opened time.Time
		var sla, resolved *time.Time
		if err := rows.Scan(&id, &cat, &state, &owner, &ext, &opened, &sla, &resolved, &solution); err != nil {
			return nil, fmt.Errorf("weekly feedback: %w", err)
		}
		lead, ok := leadOf[owner]
		if !ok {
			continue
		}
		sum := out[lead]
		op := dateOf(opened)
		inWeek := func(d calendar.Date) bool { return !d.Before(from) && !d.After(to) }
		if inWeek(op) {
			sum.New[cat]++
		}
		if resolved != nil && inWeek(dateOf(*resolved)) {
			sum.Resolved++
		}
		if FeedbackState(state) != StateResolved {
			sum.Open = append(sum.Open, OpenFeedback{ID: id, Category: cat, State: state, Owner: codes[owner], ExternalID: ext,
				OpenedOn: op, AgeDays: op.DaysUntil(today), PastSLA: sla != nil && dateOf(*sla).Before(today)})
		}
		if solution != "" {
			sum.Solutions = append(sum.Solutions, SolutionLine{ID: id, Category: cat, State: state, Owner: codes[owner],
				Solution: truncateRunes(solution, MaxSolutionLength)})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("weekly feedback: %w", err)
	}
	for _, sum := range out {
		slices.Sort(sum.Team)
		slices.SortStableFunc(sum.Open, func(a, b OpenFeedback) int { return cmp.Compare(b.AgeDays, a.AgeDays) })
	}
	return out, nil
}

// empty reports whether a summary has anything to say.
func (w *WeeklySummary) empty() bool {
	n := w.Resolved + len(w.Open) + len(w.Solutions)
	for _, v := range w.New {
		n += v
	}
	return n == 0
}
