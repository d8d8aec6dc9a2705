package revisits

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"carillon/calendar"
)

// ReportOptions choose a revisit report.
type ReportOptions struct {
	// From and To bound the revisits counted (both days included). Default:
	// the month to date.
	From, To calendar.Date
	// Team limits the rows to one team (ranks stay those across every team).
	Team string
	// Scope limits the rows to these managers (a restricted caller).
	Scope FeedbackScope
}

// ManagerReport is one manager's line of the revisit report.
type ManagerReport struct {
	Manager string `json:"manager"`
	Name    string `json:"name"`
	Team    string `json:"team"`
	// Customers counts the manager's active customers by tier.
	Customers map[string]int `json:"customers"`
	// Due counts the revisits that fell due: those done in the period (on
	// time or late) and those overdue now.
	Due        int `json:"due"`
	OnTime     int `json:"on_time"`
	Late       int `json:"late"`
	OverdueNow int `json:"overdue_now"`
	// Rate is OnTime / Due, rounded to 4 places; absent when nothing was due.
	Rate             *float64 `json:"completion_rate,omitempty"`
	FeedbackResolved int      `json:"feedback_resolved"`
	// Rank is the place among every manager, TeamRank within the team (1 is
	// best; equal rates and on-time counts share a place).
	Rank     int `json:"rank"`
	TeamRank int `json:"team_rank"`
}

// TeamReport sums a team.
type TeamReport struct {
	Team             string   `json:"team"`
	Managers         int      `json:"managers"`
	Due              int      `json:"due"`
	OnTime           int      `json:"on_time"`
	Late             int      `json:"late"`
	OverdueNow       int      `json:"overdue_now"`
	Rate             *float64 `json:"completion_rate,omitempty"`
	FeedbackResolved int      `json:"feedback_resolved"`
	Rank             int      `json:"rank"`
}

// Report is the revisit report: managers and teams ranked by the share of due
// revisits done on time.
type Report struct {
	From     calendar.Date   `json:"from"`
	To       calendar.Date   `json:"to"`
	Today    calendar.Date   `json:"today"`
	Managers []ManagerReport `json:"managers"`
	Teams    []TeamReport    `json:"teams"`
}

// MaxReportDays bounds a report's period.
const MaxReportDays = 366

func rate(onTime, due int) *float64 {
	if due == 0 {
		return nil
	}
	r := math.Round(float64(onTime)/float64(due)*10000) / 10000
	return &r
}

// better orders two lines: the higher rate first (none last), then more done
// on time.
func better(ra *float64, onA int, rb *float64, onB int) int {
	switch {
	case ra == nil && rb == nil:
	case ra == nil:
		return 1
	case rb == nil:
		return -1
	case *ra != *rb:
		return cmp.Compare(*rb, *ra)
	}
	return cmp.Compare(onB, onA)
}

// RevisitReport builds the report: per manager the customers by tier, the
// revisits due, done on time, late and overdue now, the completion rate and
// the feedback resolved, ranked within the team and across teams; per team
// the same sums, ranked.
func (s *Service) RevisitReport(ctx context.Context, opts ReportOptions) (Report, error) {
	today := s.Today()
	if opts.To.IsZero() {
		opts.To = today
	}
	if opts.From.IsZero() {
		opts.From = calendar.NewDate(opts.To.Year, opts.To.Month, 1)
	}
	if opts.To.Before(opts.From) {
		return Report{}, invalid("to", "%s is before from %s", opts.To, opts.From)
	}
	if opts.From.DaysUntil(opts.To) >= MaxReportDays {
		return Report{}, invalid("from", "a report covers at most %d days", MaxReportDays)
	}
	rep := Report{From: opts.From, To: opts.To, Today: today, Managers: []ManagerReport{}, Teams: []TeamReport{}}
	ms, err := s.contacts.ListManagers(ctx, "")
	if err != nil {
		return rep, err
	}
	lines := map[int64]*ManagerReport{}
	for _, m := range ms {
		if !m.Active {
			continue
		}
		lines[m.ID] = &ManagerReport{Manager: m.Code, Name: m.Name, Team: m.Team, Customers: map[string]int{"A": 0, "B": 0, "C": 0, "D": 0}}
	}
	scan := func(sql string, set func(l *ManagerReport, key string, n int), args ...any) error {
		rows, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return fmt.Errorf("revisit report: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var key string
			var n int
			if err := rows.Scan(&id, &key, &n); err != nil {
				return fmt.Errorf("revisit report: %w", err)
			}
			if l, ok := lines[id]; ok {
				set(l, key, n)
			}
		}
		return rows.Err()
	}
	if err := scan(`SELECT manager_id, tier, count(*) FROM contact_cards
		WHERE manager_id IS NOT NULL AND tier IS NOT NULL AND status = 'active' AND erased_at IS NULL GROUP BY 1, 2`,
		func(l *ManagerReport, tier string, n int) { l.Customers[tier] = n }); err != nil {
		return rep, err
	}
	if err := scan(`SELECT manager_id, on_time::text, count(*) FROM revisits
		WHERE manager_id IS NOT NULL AND visited_on BETWEEN $1::date AND $2::date GROUP BY 1, 2`,
		func(l *ManagerReport, onTime string, n int) {
			if onTime == "true" {
				l.OnTime += n
			} else {
				l.Late += n
			}
		}, opts.From.String(), opts.To.String()); err != nil {
		return rep, err
	}
	if err := scan(`SELECT owner_id, '', count(*) FROM feedback WHERE resolved_on BETWEEN $1::date AND $2::date GROUP BY 1`,
		func(l *ManagerReport, _ string, n int) { l.FeedbackResolved = n }, opts.From.String(), opts.To.String()); err != nil {
		return rep, err
	}
	due, err := s.dueRows(ctx, s.pool, nil, lastNominal(s.cfg.Festivals, today))
	if err != nil {
		return rep, err
	}
	newBusinessClock(s.cfg.Festivals).classify(due, today)
	for _, it := range due {
		if l, ok := lines[it.ManagerID]; ok && it.Overdue {
			l.OverdueNow++
		}
	}

	all := make([]*ManagerReport, 0, len(lines))
	teams := map[string]*TeamReport{}
	for _, l := range lines {
		l.Due = l.OnTime + l.Late + l.OverdueNow
		l.Rate = rate(l.OnTime, l.Due)
		all = append(all, l)
		t, ok := teams[l.Team]
		if !ok {
			t = &TeamReport{Team: l.Team}
			teams[l.Team] = t
		}
		t.Managers++
		t.Due += l.Due
		t.OnTime += l.OnTime
		t.Late += l.Late
		t.OverdueNow += l.OverdueNow
		t.FeedbackResolved += l.FeedbackResolved
	}
	slices.SortFunc(all, func(a, b *ManagerReport) int {
		return cmp.Or(better(a.Rate, a.OnTime, b.Rate, b.OnTime), cmp.Compare(a.Manager, b.Manager))
	})
	teamPlace := map[string][]*ManagerReport{}
	for i, l := range all {
		l.Rank = i + 1
		if i > 0 && better(all[i-1].Rate, all[i-1].OnTime, l.Rate, l.OnTime) == 0 {
			l.Rank = all[i-1].Rank
		}
		same := teamPlace[l.Team]
		l.TeamRank = len(same) + 1
		if n := len(same); n > 0 && better(same[n-1].Rate, same[n-1].OnTime, l.Rate, l.OnTime) == 0 {
			l.TeamRank = same[n-1].TeamRank
		}
		teamPlace[l.Team] = append(same, l)
	}
	tl := make([]*TeamReport, 0, len(teams))
	for _, t := range teams {
		t.Rate = rate(t.OnTime, t.Due)
		tl = append(tl, t)
	}
	slices.SortFunc(tl, func(a, b *TeamReport) int {
		return cmp.Or(better(a.Rate, a.OnTime, b.Rate, b.OnTime), cmp.Compare(a.Team, b.Team))
	})
	for i, t := range tl {
		t.Rank = i + 1
		if i > 0 && better(tl[i-1].Rate, tl[i-1].OnTime, t.Rate, t.OnTime) == 0 {
			t.Rank = tl[i-1].Rank
		}
	}
	ids := map[string]int64{}
	for id, l := range lines {
		ids[l.Manager] = id
	}
	for _, l := range all {
		if opts.Team != "" && l.Team != opts.Team {
			continue
		}
		if opts.Scope.Restricted && !containsID(opts.Scope.ManagerIDs, ids[l.Manager]) {
			continue
		}
		rep.Managers = append(rep.Managers, *l)
	}
	for _, t := range tl {
		if opts.Team == "" || t.Team == opts.Team {
			rep.Teams = append(rep.Teams, *t)
		}
	}
	return rep, nil
}

// WriteCSV writes the report's manager lines as CSV, one header row first.
func (r Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"manager", "name", "team", "customers_a", "customers_b", "customers_c", "customers_d", "due", "on_time", "late",
		"overdue_now", "completion_rate", "feedback_resolved", "rank", "team_rank"})
	for _, l := range r.Managers {
		rt := ""
		if l.Rate != nil {
			rt = strconv.FormatFloat(*l.Rate, 'f', 4, 64)
		}
		_ = cw.Write([]string{csvSafe(l.Manager), csvSafe(l.Name), csvSafe(l.Team), strconv.Itoa(l.Customers["A"]), strconv.Itoa(l.Customers["B"]),
			strconv.Itoa(l.Customers["C"]), strconv.Itoa(l.Customers["D"]), strconv.Itoa(l.Due), strconv.Itoa(l.OnTime), strconv.Itoa(l.Late),
			strconv.Itoa(l.OverdueNow), rt, strconv.Itoa(l.FeedbackResolved), strconv.Itoa(l.Rank), strconv.Itoa(l.TeamRank)})
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a cell from being read as a formula by a spreadsheet.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}
