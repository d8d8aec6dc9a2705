package revisits

import (
	"carillon/calendar"
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// doneBetween counts the revisits each manager logged on days in [from, to).
func (s *Service) doneBetween(ctx context.Context, from, to calendar.Date) (map[int64]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT manager_id, count(*) FROM revisits
		WHERE visited_on >= $1::date AND visited_on < $2::date AND manager_id IS NOT NULL GROUP BY manager_id`, from.String(), to.String())
	if err != nil {
		return nil, fmt.Errorf("count revisits done: %w", err)
	}
	out := map[int64]int{}
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

// festivalsAhead lists the festivals of the next UpcomingDays days.
func (s *Service) festivalsAhead(day calendar.Date) ([]Upcoming, error) {
	out := []Upcoming{}
	for i := 1; i <= s.cfg.UpcomingDays; i++ {
		fs, err := calendar.FestivalsOn(day.AddDays(i), s.cfg.Festivals)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			out = append(out, Upcoming{Date: f.Date, Kind: UpcomingFestival, Name: f.Name, Note: f.Key})
		}
	}
	return out, nil
}

// Birthday lookups probe the contacts' birthday indexes (the predicates imply
// their partial-index conditions).
const (
	upcomingSolarSQL = `SELECT c.id, c.external_id, COALESCE(c.name, ''), c.manager_id, c.birth_month::int, c.birth_day::int, 0, 0, false
FROM contact_cards c JOIN unnest($1::int[], $2::int[]) AS k(m, d) ON c.birth_month = k.m AND c.birth_day = k.d
WHERE c.birth_calendar = 'solar' AND c.status = 'active' AND c.erased_at IS NULL AND c.manager_id IS NOT NULL`
	upcomingLunarSQL = `SELECT c.id, c.external_id, COALESCE(c.name, ''), c.manager_id, 0, 0, c.lunar_month::int, c.lunar_day::int, c.lunar_leap
FROM contact_cards c JOIN unnest($1::int[], $2::int[], $3::bool[]) AS k(m, d, l) ON c.lunar_month = k.m AND c.lunar_day = k.d AND c.lunar_leap = k.l
WHERE c.birth_calendar = 'lunar' AND c.status = 'active' AND c.erased_at IS NULL AND c.manager_id IS NOT NULL`
)

// upcoming adds the birthdays (either calendar) and deposit maturities of the
// next UpcomingDays days to the managers' digests.
func (s *Service) upcoming(ctx context.Context, b *digestBuild, recipient func(int64) (int64, bool)) error {
	win, err := calendar.BirthdaysBetween(b.day.AddDays(1), b.day.AddDays(s.cfg.UpcomingDays))
	if err != nil {
		return err
	}
	add := func(rows pgx.Rows, lunar bool) error {
		defer rows.Close()
		for rows.Next() {
			var u Upcoming
			var mgr int64
			var solarM, solarD, lunarM, lunarD int
			var leap bool
			if err := rows.Scan(&u.ContactID, &u.ExternalID, &u.Name, &mgr, &solarM, &solarD, &lunarM, &lunarD, &leap); err != nil {
				return err
			}
			if lunar {
				u.Date, u.Note = win.LunarOn(lunarM, lunarD, leap), "lunar"
			} else {
				u.Date, u.Note = win.SolarOn(solarM, solarD), "solar"
			}
			u.Kind = UpcomingBirthday
			if to, ok := recipient(mgr); ok {
				d := b.digest(to)
				d.Upcoming = append(d.Upcoming, u)
			}
		}
		return rows.Err()
	}
	rows, err := s.pool.Query(ctx, upcomingSolarSQL, win.SolarMonths, win.SolarDays)
	if err != nil {
		return fmt.Errorf("upcoming solar birthdays: %w", err)
	}
	if err := add(rows, false); err != nil {
		return fmt.Errorf("upcoming solar birthdays: %w", err)
	}
	rows, err = s.pool.Query(ctx, upcomingLunarSQL, win.LunarMonths, win.LunarDays, win.LunarLeaps)
	if err != nil {
		return fmt.Errorf("upcoming lunar birthdays: %w", err)
	}
	if err := add(rows, true); err != nil {
		return fmt.Errorf("upcoming lunar birthdays: %w", err)
	}

	// The attribute name is checked by Config (attrKeyRE), never user input;
	// written as a literal so the expression index of the default key serves.
	attr := "'" + s.cfg.MaturityAttr + "'"
	rows, err = s.pool.Query(ctx, `SELECT c.id, c.external_id, COALESCE(c.name, ''), c.manager_id, c.attrs ->> `+attr+`
		FROM contact_cards c WHERE c.status = 'active' AND c.erased_at IS NULL AND c.attrs ? `+attr+`
		  AND c.attrs ->> `+attr+` >= $1 AND c.attrs ->> `+attr+` <= $2 AND c.manager_id IS NOT NULL`,
		b.day.AddDays(1).String(), b.day.AddDays(s.cfg.UpcomingDays).String())
	if err != nil {
		return fmt.Errorf("upcoming maturities: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u Upcoming
		var mgr int64
		var on string
		if err := rows.Scan(&u.ContactID, &u.ExternalID, &u.Name, &mgr, &on); err != nil {
			return fmt.Errorf("upcoming maturities: %w", err)
		}
		d, err := calendar.ParseDate(on)
		if err != nil {
			continue // not a date: the text range matched something else
		}
		u.Date, u.Kind = d, UpcomingMaturity
		if to, ok := recipient(mgr); ok {
			dg := b.digest(to)
			dg.Upcoming = append(dg.Upcoming, u)
		}
	}
	return rows.Err()
}

// MaxReplyLength is how much of a reply the digest quotes, in characters.
const MaxReplyLength = 200

// replies adds the customers' replies not yet forwarded.
func (s *Service) replies(ctx context.Context, b *digestBuild, recipient func(int64) (int64, bool)) error {
	rows, err := s.pool.Query(ctx, `SELECT i.id, i.contact_id, c.external_id, COALESCE(c.name, ''), c.manager_id, i.at, left(COALESCE(i.text, ''), $1)
		FROM unforwarded_replies i JOIN contact_cards c ON c.id = i.contact_id
		WHERE c.manager_id IS NOT NULL AND c.erased_at IS NULL
		ORDER BY i.at, i.id`, MaxReplyLength)
	if err != nil {
		return fmt.Errorf("read replies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Reply
		var mgr int64
		if err := rows.Scan(&r.ID, &r.ContactID, &r.ExternalID, &r.Name, &mgr, &r.At, &r.Text); err != nil {
			return fmt.Errorf("read replies: %w", err)
		}
		if to, ok := recipient(mgr); ok {
			d := b.digest(to)
			d.Replies = append(d.Replies, r)
		}
	}
	return rows.Err()
}

// overdueComplaints adds the open complaints past their SLA to their owner's
// digest and the owner's team lead's.
func (s *Service) overdueComplaints(ctx context.Context, b *digestBuild, recipient func(int64) (int64, bool)) error {
	rows, err := s.pool.Query(ctx, `SELECT f.id, f.contact_id, c.external_id, COALESCE(c.name, ''), f.owner_id, f.state, f.opened_on, f.sla_due
		FROM feedback f JOIN contact_cards c ON c.id = f.contact_id
		WHERE f.state <> $2 AND f.category = 'complaint' AND f.sla_due < $1::date
		ORDER BY f.sla_due, f.id`, b.day.String(), StateResolved)
	if err != nil {
		return fmt.Errorf("read overdue complaints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var f OverdueFeedback
		var owner int64
		var opened, sla time.Time
		if err := rows.Scan(&f.ID, &f.ContactID, &f.ExternalID, &f.Name, &owner, &f.State, &opened, &sla); err != nil {
			return fmt.Errorf("read overdue complaints: %w", err)
		}
		f.OpenedOn, f.SLADue = dateOf(opened), dateOf(sla)
		f.DaysOver = b.clock.between(f.SLADue, b.day)
		m, active := b.managers[owner]
		if !active {
			continue
		}
		f.Owner = m.Code
		if to, ok := recipient(owner); ok {
			d := b.digest(to)
			d.Complaints = append(d.Complaints, f)
		}
		if lead, ok := b.byCode[m.Lead]; ok && lead.ID != owner {
			d := b.digest(lead.ID)
			d.Complaints = append(d.Complaints, f)
		}
	}
	return rows.Err()
}

// openAlerts adds the change alerts not yet carried by a digest: to the
// customer's manager now (a complaint's: to its owner).
func (s *Service) openAlerts(ctx context.Context, b *digestBuild, recipient func(int64) (int64, bool)) error {
	rows, err := s.pool.Query(ctx, `SELECT a.id, a.contact_id, c.external_id, COALESCE(c.name, ''),
		  COALESCE(CASE WHEN a.rule = 'complaint' THEN a.manager_id END, c.manager_id, a.manager_id), a.rule, a.data, a.at
		FROM revisit_alerts a JOIN contact_cards c ON c.id = a.contact_id
		WHERE a.closed IS NULL
		ORDER BY a.id`)
	if err != nil {
		return fmt.Errorf("read alerts: %w", err)
	}
	defer rows.Close()
	rules, err := s.AlertRules(ctx)
	if err != nil {
		return err
	}
	byKey := map[string]*AlertRule{}
	for i := range rules {
		byKey[rules[i].Key] = &rules[i]
	}
	for rows.Next() {
		var a Alert
		var mgr *int64
		if err := rows.Scan(&a.ID, &a.ContactID, &a.ExternalID, &a.Name, &mgr, &a.Rule, &a.Data, &a.At); err != nil {
			return fmt.Errorf("read alerts: %w", err)
		}
		a.RuleName, a.RuleNameEN = RuleNames(a.Rule, byKey[a.Rule])
		if mgr == nil {
			continue
		}
		if to, ok := recipient(*mgr); ok {
			d := b.digest(to)
			d.Alerts = append(d.Alerts, a)
		}
	}
	return rows.Err()
}

// coversOn returns, for each manager on leave on day, the manager covering them.
func (s *Service) coversOn(ctx context.Context, day calendar.Date) (map[int64]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (manager_id) manager_id, cover_id FROM manager_covers
		WHERE cancelled_at IS NULL AND starts_on <= $1::date AND ends_on >= $1::date ORDER BY manager_id, created_at DESC`, day.String())
	if err != nil {
		return nil, fmt.Errorf("read covers: %w", err)
	}
	out := map[int64]int64{}
	for rows.Next() {
		var m, c int64
		if err := rows.Scan(&m, &c); err != nil {
			rows.Close()
			return nil, err
		}
		out[m] = c
	}
	return out, rows.Err()
}
