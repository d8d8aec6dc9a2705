package revisits

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/calendar"
	"carillon/channels"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/pii"
	"carillon/templates"
)

// RuleDigest is the digest's care rule (care_rules.key, kind extension).
const RuleDigest = "revisit_digest"

// Source is messages.source of the package's messages; the source id is the
// rule (revisit_digest, feedback_weekly, complaint_alert).
const Source = "revisits"

// DigestDedupeKey is digest:<manager code>:<date>: one digest per manager and day.
func DigestDedupeKey(manager string, day calendar.Date) string {
	return "digest:" + manager + ":" + day.String()
}

// Upcoming kinds.
const (
	UpcomingBirthday = "birthday"
	UpcomingMaturity = "deposit_maturity"
	UpcomingFestival = "festival"
)

// Escalation is a revisit overdue by more than Config.EscalateAfter business
// days, in the team lead's digest with the manager's name.
type Escalation struct {
	Manager     string        `json:"manager"`
	ManagerName string        `json:"manager_name"`
	ContactID   int64         `json:"contact_id"`
	ExternalID  string        `json:"external_id"`
	Name        string        `json:"name"`
	Tier        string        `json:"tier"`
	DueOn       calendar.Date `json:"due_on"`
	DaysLate    int           `json:"days_late"`
}

// TeamLine is one team member in the lead's digest: due today, done since
// the previous business day's digest, overdue now.
type TeamLine struct {
	Manager string `json:"manager"`
	Name    string `json:"name"`
	Due     int    `json:"due"`
	Done    int    `json:"done"`
	Overdue int    `json:"overdue"`
}

// Upcoming is a birthday, deposit maturity or festival in the coming days.
type Upcoming struct {
	Date       calendar.Date `json:"date"`
	Kind       string        `json:"kind"`
	ContactID  int64         `json:"contact_id,omitempty"`
	ExternalID string        `json:"external_id,omitempty"`
	Name       string        `json:"name"`
	// Note: the birthday's calendar (lunar: its lunar date) or the festival's
	// key.
	Note string `json:"note,omitempty"`
}

// Reply is a customer's reply not yet forwarded to their manager.
type Reply struct {
	ID         int64     `json:"id"`
	ContactID  int64     `json:"contact_id"`
	ExternalID string    `json:"external_id"`
	Name       string    `json:"name"`
	At         time.Time `json:"at"`
	Text       string    `json:"text"`
}

// OverdueFeedback is an open complaint past its SLA.
type OverdueFeedback struct {
	ID         int64         `json:"id"`
	ContactID  int64         `json:"contact_id"`
	ExternalID string        `json:"external_id"`
	Name       string        `json:"name"`
	Owner      string        `json:"owner"`
	State      string        `json:"state"`
	OpenedOn   calendar.Date `json:"opened_on"`
	SLADue     calendar.Date `json:"sla_due"`
	DaysOver   int           `json:"days_over"`
}

// Alert is a change alert for a manager's customer.
type Alert struct {
	ID         int64  `json:"id"`
	ContactID  int64  `json:"contact_id"`
	ExternalID string `json:"external_id"`
	Name       string `json:"name"`
	Rule       string `json:"rule"`
	// RuleName and RuleNameEN name the rule for people (RuleNames).
	RuleName   string          `json:"rule_name"`
	RuleNameEN string          `json:"rule_name_en"`
	Data       json.RawMessage `json:"data"`
	At         time.Time       `json:"at"`
}

// Digest is one manager's digest of a day.
type Digest struct {
	Manager   string        `json:"manager"`
	ManagerID int64         `json:"-"`
	Name      string        `json:"name"`
	Date      calendar.Date `json:"date"`
	SendAt    time.Time     `json:"send_at"`
	DedupeKey string        `json:"dedupe_key"`
	// Items are the manager's customers (and those of a colleague they
	// cover, marked) due today or overdue.
	Items []DueItem `json:"items"`
	// Escalated: the team's revisits overdue beyond the threshold (a lead's).
	Escalated []Escalation `json:"escalated"`
	// Team summarises the team (a lead's digest).
	Team       []TeamLine        `json:"team"`
	Upcoming   []Upcoming        `json:"upcoming"`
	Replies    []Reply           `json:"replies"`
	Complaints []OverdueFeedback `json:"complaints"`
	Alerts     []Alert           `json:"alerts"`
	// Festivals are the coming festivals (context only: they alone make no
	// digest).
	Festivals []Upcoming `json:"festivals"`
	// Weekly is the team's feedback summary of the past week, in a lead's
	// digest on the week's first business day.
	Weekly *WeeklySummary `json:"weekly,omitempty"`
}

// DueToday counts the items due on the digest's day.
func (d *Digest) DueToday() int {
	n := 0
	for _, it := range d.Items {
		if !it.Overdue {
			n++
		}
	}
	return n
}

// OverdueCount counts the overdue items.
func (d *Digest) OverdueCount() int { return len(d.Items) - d.DueToday() }

// empty reports whether the digest has nothing for its manager to act on.
func (d *Digest) empty() bool {
	return len(d.Items) == 0 && len(d.Escalated) == 0 && len(d.Upcoming) == 0 && len(d.Replies) == 0 &&
		len(d.Complaints) == 0 && len(d.Alerts) == 0 && !teamHasWork(d.Team) && d.Weekly == nil
}

func teamHasWork(team []TeamLine) bool {
	for _, t := range team {
		if t.Due > 0 || t.Overdue > 0 {
			return true
		}
	}
	return false
}

// DigestLine is one line of `carillon plan --dry-run --json` for a digest.
// Its fields and their order are fixed; fields are only ever added.
type DigestLine struct {
	Rule      string             `json:"rule"`
	Manager   string             `json:"manager"`
	Date      calendar.Date      `json:"date"`
	Due       int                `json:"due"`
	Overdue   int                `json:"overdue"`
	Escalated int                `json:"escalated"`
	Channels  []channels.Channel `json:"channels"`
}

// DigestOptions choose how the digests of a day are planned.
type DigestOptions struct {
	// DryRun builds the digests and writes nothing.
	DryRun bool
	// Emit receives each digest's line (after its batch is committed on a
	// real run). An error from Emit stops the plan.
	Emit func(DigestLine) error
	// Keep keeps the digests in the result (tests, previews).
	Keep bool
	// SendAt, when set, is when every digest is due instead of the rule's
	// send time (the demo plays a day at once).
	SendAt time.Time
}

// DigestResult says what planning the digests of a day did.
type DigestResult struct {
	Date calendar.Date `json:"date"`
	// BusinessDay is false on a weekend or public holiday: nothing is planned.
	BusinessDay bool `json:"business_day"`
	// HolidayData is false when the day's public holidays are unknown (a
	// year neither lunar-go nor the configuration carries): BusinessDay then
	// counts weekends only, and HolidayWarning says so.
	HolidayData    bool   `json:"holiday_data"`
	HolidayWarning string `json:"holiday_warning,omitempty"`
	// Messages counts the digests built (empty ones are not built), Planned
	// the new messages (a dry run: every digest), Duplicates the digests
	// planned already (a re-plan).
	Messages   int `json:"messages"`
	Planned    int `json:"planned"`
	Duplicates int `json:"duplicates"`
	// Empty counts the active managers with nothing to act on.
	Empty   int      `json:"empty"`
	Digests []Digest `json:"-"`
}

// PlanDigests builds every active manager's digest of day (a business day)
// and enqueues the non-empty ones, WeCom then email, at 08:30 in each
// manager's zone (the care rule's send time, channels and template: see
// digestSettings), unique by DigestDedupeKey. The replies and alerts a new
// digest carries are marked forwarded in its transaction.
func (s *Service) PlanDigests(ctx context.Context, day calendar.Date, opts DigestOptions) (DigestResult, error) {
	res := DigestResult{Date: day, BusinessDay: s.cfg.Festivals.IsBusinessDay(day)}
	if chk := s.cfg.Festivals.CheckHolidayData(day, day); !chk.HolidayData {
		res.HolidayWarning = chk.Warning
		s.cfg.Logger.WarnContext(ctx, "revisit digests: no public-holiday data", "date", day.String(), "missing_years", chk.Missing)
	} else {
		res.HolidayData = true
	}
	if !res.BusinessDay {
		s.cfg.Logger.InfoContext(ctx, "revisit digests: not a business day", "date", day.String())
		return res, nil
	}
	if !opts.DryRun && s.enq == nil {
		return res, fmt.Errorf("plan digests of %s: the service has no enqueuer", day)
	}
	set, err := s.digestSettings(ctx)
	if err != nil {
		return res, fmt.Errorf("plan digests of %s: %w", day, err)
	}
	b, err := s.buildDigests(ctx, day, set)
	if err != nil {
		return res, fmt.Errorf("plan digests of %s: %w", day, err)
	}
	res.Empty = b.empty
	for start := 0; start < len(b.digests); start += s.cfg.BatchSize {
		batch := b.digests[start:min(start+s.cfg.BatchSize, len(b.digests))]
		if err := s.flushDigests(ctx, day, batch, set, opts, &res); err != nil {
			return res, fmt.Errorf("plan digests of %s: %w", day, err)
		}
	}
	s.cfg.Logger.InfoContext(ctx, "revisit digests planned", "date", day.String(), "dry_run", opts.DryRun,
		"messages", res.Messages, "planned", res.Planned, "duplicates", res.Duplicates, "empty", res.Empty)
	return res, nil
}

func (s *Service) flushDigests(ctx context.Context, day calendar.Date, batch []*Digest, set digestSettings, opts DigestOptions, res *DigestResult) error {
	res.Messages += len(batch)
	if opts.DryRun {
		res.Planned += len(batch)
	} else {
		planned := make([]delivery.Planned, len(batch))
		for i, d := range batch {
			deadline := dayEnd(d.Date, d.SendAt.Location()) // in the manager's zone
			if !opts.SendAt.IsZero() {
				d.SendAt = opts.SendAt
			}
			planned[i] = delivery.Planned{DedupeKey: d.DedupeKey, ManagerID: d.ManagerID, Source: Source, SourceID: RuleDigest,
				Purpose: channels.PurposeService, TemplateKey: set.template, Vars: s.digestVars(d),
				Channels: slices.Clone(set.channels), SendAt: d.SendAt, Deadline: deadline}
		}
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			er, err := s.enq.Enqueue(ctx, tx, planned)
			if err != nil {
				return err
			}
			dup := map[string]bool{}
			for _, k := range er.Duplicates {
				dup[k] = true
			}
			var replies, alerts []int64
			for _, d := range batch {
				if dup[d.DedupeKey] {
					continue
				}
				for _, r := range d.Replies {
					replies = append(replies, r.ID)
				}
				for _, a := range d.Alerts {
					alerts = append(alerts, a.ID)
				}
			}
			if err := delivery.MarkRepliesForwarded(ctx, tx, replies); err != nil {
				return fmt.Errorf("mark replies forwarded: %w", err)
			}
			if _, err := tx.Exec(ctx, `UPDATE revisit_alerts SET closed = 'digest', closed_on = $2::date WHERE id = ANY($1) AND closed IS NULL`, alerts, day.String()); err != nil {
				return fmt.Errorf("close alerts: %w", err)
			}
			res.Planned += len(er.IDs)
			res.Duplicates += len(er.Duplicates)
			return nil
		})
		if err != nil {
			return fmt.Errorf("enqueue %d digests: %w", len(planned), err)
		}
	}
	for _, d := range batch {
		if opts.Keep {
			res.Digests = append(res.Digests, *d)
		}
		if opts.Emit != nil {
			if err := opts.Emit(d.Line(set.channels)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Line is the digest's dry-run line.
func (d *Digest) Line(chans []channels.Channel) DigestLine {
	return DigestLine{Rule: RuleDigest, Manager: d.Manager, Date: d.Date, Due: d.DueToday(), Overdue: d.OverdueCount(),
		Escalated: len(d.Escalated), Channels: slices.Clone(chans)}
}

// digestVars are the digest's template variables: .Digest with the built-in
// template's fields (Date, Total, Overdue, URL, Items) and the rest of the
// digest beside them for templates that show it.
func (s *Service) digestVars(d *Digest) map[string]any {
	items := make([]map[string]any, len(d.Items))
	for i, it := range d.Items {
		m := map[string]any{"ContactID": it.ContactID, "Name": it.Name, "Tier": it.Tier, "DueDate": it.DueOn, "Overdue": it.Overdue, "DaysLate": it.DaysLate,
			"PhoneTail": pii.Tail(it.phone), "ExternalID": it.ExternalID, "Covered": it.Covered}
		if it.Last != nil {
			m["LastVisit"], m["LastMethod"], m["LastOutcome"] = it.Last.On, it.Last.Method, truncateRunes(it.Last.Outcome, 100)
		}
		items[i] = m
	}
	u := s.cfg.ConsoleURL + "/revisits?" + url.Values{"manager": {d.Manager}, "date": {d.Date.String()}}.Encode()
	return map[string]any{"Digest": map[string]any{
		"Date": d.Date, "Total": len(d.Items), "Overdue": d.OverdueCount(), "DueToday": d.DueToday(), "URL": u,
		"Items": items, "Escalated": templateValue(d.Escalated), "Team": templateValue(d.Team), "Upcoming": templateValue(d.Upcoming),
		"Festivals": templateValue(d.Festivals), "Replies": templateValue(d.Replies), "Complaints": templateValue(d.Complaints),
		"Alerts": templateValue(d.Alerts), "Weekly": weeklyVars(d.Weekly),
	}}
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// digestBuild is a day's digests under construction.
type digestBuild struct {
	s        *Service
	day      calendar.Date
	set      digestSettings
	clock    *businessClock
	managers map[int64]*contacts.Manager
	byCode   map[string]*contacts.Manager
	digests  []*Digest
	byID     map[int64]*Digest
	empty    int
}

// digest returns manager id's digest, creating it.
func (b *digestBuild) digest(id int64) *Digest {
	if d, ok := b.byID[id]; ok {
		return d
	}
	m := b.managers[id]
	d := &Digest{Manager: m.Code, ManagerID: id, Name: m.Name, Date: b.day, DedupeKey: DigestDedupeKey(m.Code, b.day),
		SendAt: b.s.sendAt(b.day, m.TimeZone, b.set)}
	b.byID[id] = d
	return d
}

// sendAt is the digest's time on day in zone (the service's zone when it does
// not load).
func (s *Service) sendAt(day calendar.Date, zone string, set digestSettings) time.Time {
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		loc = s.loc
	}
	return time.Date(day.Year, day.Month, day.Day, set.hour, set.min, 0, 0, loc)
}

// dayEnd is midnight after day in loc: a digest not sent by then lists a day
// gone by and is cancelled as expired.
func dayEnd(day calendar.Date, loc *time.Location) time.Time {
	d := day.AddDays(1)
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// digestSettings are the digest's send time, channels and template.
type digestSettings struct {
	hour, min int
	channels  []channels.Channel
	template  string
}

// digestSettings reads them from the care rule revisit_digest (changed
// through the care rules API, audited there): its send_time, its channels
// that can reach a manager (wecom, email) and its template; Config's
// DigestTime and DigestChannels and the built-in template stand in for what
// the rule leaves empty, or for a missing rule.
func (s *Service) digestSettings(ctx context.Context) (digestSettings, error) {
	set := digestSettings{hour: s.hour, min: s.min, channels: slices.Clone(s.cfg.DigestChannels), template: templates.KeyRevisitDigest}
	if s.cfg.Rules == nil {
		return set, nil
	}
	sendTime, chans, tmpl, ok, err := s.cfg.Rules.ExtensionRule(ctx, RuleDigest)
	if err != nil {
		return set, fmt.Errorf("read care rule %s: %w", RuleDigest, err)
	}
	if !ok {
		return set, nil
	}
	if h, m, err := parseClock(sendTime); err == nil {
		set.hour, set.min = h, m
	} else {
		s.cfg.Logger.WarnContext(ctx, "revisit digests: the rule's send time is not HH:MM; using the configured one", "send_time", sendTime)
	}
	var cs []channels.Channel
	for _, c := range chans {
		if ch := channels.Channel(c); ch == channels.WeCom || ch == channels.Email {
			cs = append(cs, ch)
		} else {
			s.cfg.Logger.WarnContext(ctx, "revisit digests: the rule's channel cannot reach a manager; skipped", "channel", c)
		}
	}
	if len(cs) > 0 {
		set.channels = cs
	}
	if tmpl != "" {
		set.template = tmpl
	}
	return set, nil
}

// buildDigests reads the day's state in a few set-based queries and builds
// each active manager's digest.
func (s *Service) buildDigests(ctx context.Context, day calendar.Date, set digestSettings) (*digestBuild, error) {
	ms, err := s.contacts.ListManagers(ctx, "")
	if err != nil {
		return nil, err
	}
	b := &digestBuild{s: s, day: day, set: set, clock: newBusinessClock(s.cfg.Festivals), managers: map[int64]*contacts.Manager{},
		byCode: map[string]*contacts.Manager{}, byID: map[int64]*Digest{}}
	for i := range ms {
		if ms[i].Active {
			b.managers[ms[i].ID] = &ms[i]
			b.byCode[ms[i].Code] = &ms[i]
		}
	}
	covers, err := s.coversOn(ctx, day)
	if err != nil {
		return nil, err
	}
	// recipient is who reads a manager's customers today: the manager, or
	// the colleague covering them.
	recipient := func(managerID int64) (int64, bool) {
		if c, ok := covers[managerID]; ok {
			if _, active := b.managers[c]; active {
				return c, true
			}
		}
		_, active := b.managers[managerID]
		return managerID, active
	}

	items, err := s.dueRows(ctx, s.pool, nil, day)
	if err != nil {
		return nil, err
	}
	b.clock.classify(items, day)
	team := map[int64]*TeamLine{}
	line := func(id int64) *TeamLine {
		if t, ok := team[id]; ok {
			return t
		}
		t := &TeamLine{Manager: b.managers[id].Code, Name: b.managers[id].Name}
		team[id] = t
		return t
	}
	for _, it := range items {
		m, active := b.managers[it.ManagerID]
		if active {
			if it.Overdue {
				line(it.ManagerID).Overdue++
			} else {
				line(it.ManagerID).Due++
			}
		}
		to, ok := recipient(it.ManagerID)
		if !ok {
			continue
		}
		if to != it.ManagerID {
			it.Covered = it.Manager
		}
		d := b.digest(to)
		d.Items = append(d.Items, it)
		// Overdue by more than EscalateAfter business days: the lead's too.
		if it.Overdue && active && m.Lead != "" && m.Lead != m.Code {
			if lead, ok := b.byCode[m.Lead]; ok {
				if cut := b.clock.addBusinessDays(it.DueOn, s.cfg.EscalateAfter); cut.Before(day) {
					ld := b.digest(lead.ID)
					ld.Escalated = append(ld.Escalated, Escalation{Manager: m.Code, ManagerName: m.Name, ContactID: it.ContactID,
						ExternalID: it.ExternalID, Name: it.Name, Tier: it.Tier, DueOn: it.DueOn, DaysLate: it.DaysLate})
				}
			}
		}
	}

	// The team summary of each lead: every member, with what they did since
	// the previous business day's digest.
	prev, _ := s.cfg.Festivals.AddBusinessDays(day, -1)
	done, err := s.doneBetween(ctx, prev, day)
	if err != nil {
		return nil, err
	}
	for id, n := range done {
		if _, ok := b.managers[id]; ok {
			line(id).Done = n
		}
	}
	for _, m := range ms {
		if !m.Active || m.Lead == "" {
			continue
		}
		lead, ok := b.byCode[m.Lead]
		if !ok {
			continue
		}
		if lead.ID == m.ID && !b.leadsOthers(lead.Code) {
			continue // leads nobody but themself: no team to summarise
		}
		ld := b.digest(lead.ID)
		ld.Team = append(ld.Team, *line(m.ID))
	}

	if err := s.upcoming(ctx, b, recipient); err != nil {
		return nil, err
	}
	if err := s.replies(ctx, b, recipient); err != nil {
		return nil, err
	}
	if err := s.overdueComplaints(ctx, b, recipient); err != nil {
		return nil, err
	}
	if err := s.openAlerts(ctx, b, recipient); err != nil {
		return nil, err
	}
	if firstBusinessDayOfWeek(s.cfg.Festivals, day) {
		sums, err := s.WeeklySummaries(ctx, WeekOf(day).AddDays(-7), day, nil)
		if err != nil {
			return nil, err
		}
		for code, sum := range sums {
			if lead, ok := b.byCode[code]; ok && !sum.empty() {
				b.digest(lead.ID).Weekly = sum
			}
		}
	}

	for _, m := range ms {
		if !m.Active {
			continue
		}
		if _, onLeave := covers[m.ID]; onLeave {
			// Their customers are in the cover's digest; a digest of their
			// own would reach someone on leave.
			delete(b.byID, m.ID)
		}
		d, ok := b.byID[m.ID]
		if !ok || d.empty() {
			b.empty++
			continue
		}
		slices.SortStableFunc(d.Items, func(x, y DueItem) int {
			if c := x.DueOn.Compare(y.DueOn); c != 0 {
				return c
			}
			return cmp.Compare(x.ContactID, y.ContactID)
		})
		slices.SortStableFunc(d.Upcoming, func(x, y Upcoming) int { return x.Date.Compare(y.Date) })
		b.digests = append(b.digests, d)
	}
	slices.SortFunc(b.digests, func(x, y *Digest) int { return cmp.Compare(x.Manager, y.Manager) })
	if fs, err := s.festivalsAhead(day); err == nil {
		for _, d := range b.digests {
			d.Festivals = fs
		}
	} else {
		s.cfg.Logger.WarnContext(ctx, "revisit digests: festivals not listed", "error", err.Error())
	}
	return b, nil
}

func (b *digestBuild) leadsOthers(code string) bool {
	for _, m := range b.managers {
		if m.Lead == code && m.Code != code {
			return true
		}
	}
	return false
}

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
		WHERE f.state <> 'resolved' AND f.category = 'complaint' AND f.sla_due < $1::date
		ORDER BY f.sla_due, f.id`, b.day.String())
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

// templateValue turns the digest's parts into template variables: structs
// become maps keyed by their Go field names (.Digest.Escalated[].ManagerName),
// as the templates' schemas name variables; dates and times stay values;
// raw JSON is decoded. Fields marked json:"-" are left out.
func templateValue(v any) any {
	return tv(reflect.ValueOf(v))
}

var (
	dateType = reflect.TypeOf(calendar.Date{})
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage(nil))
)

func tv(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	switch {
	case v.Type() == dateType, v.Type() == timeType:
		return v.Interface()
	case v.Type() == rawType:
		var out any
		if err := json.Unmarshal(v.Bytes(), &out); err != nil {
			return nil
		}
		return out
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return tv(v.Elem())
	case reflect.Struct:
		m := make(map[string]any, v.NumField())
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() || f.Tag.Get("json") == "-" {
				continue
			}
			m[f.Name] = tv(v.Field(i))
		}
		return m
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range v.Len() {
			out[i] = tv(v.Index(i))
		}
		return out
	case reflect.Map:
		m := make(map[string]any, v.Len())
		for _, k := range v.MapKeys() {
			m[fmt.Sprint(k.Interface())] = tv(v.MapIndex(k))
		}
		return m
	default:
		return v.Interface()
	}
}

// weeklyVars is the weekly feedback summary as the digest template shows it:
// counts (the console lists the records); nil when the digest has none.
func weeklyVars(w *WeeklySummary) any {
	if w == nil {
		return nil
	}
	n := 0
	for _, c := range w.New {
		n += c
	}
	return map[string]any{"New": n, "Resolved": w.Resolved, "Open": len(w.Open)}
}
