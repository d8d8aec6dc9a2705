package revisits

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/calendar"
	"carillon/channels"
	"carillon/contacts"
	"carillon/delivery"
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
	State      FeedbackState `json:"state"`
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
	// covers maps a manager on leave to the colleague covering them today.
	covers map[int64]int64
	team   map[int64]*TeamLine
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
		byCode: map[string]*contacts.Manager{}, byID: map[int64]*Digest{}, team: map[int64]*TeamLine{}}
	for i := range ms {
		if ms[i].Active {
			b.managers[ms[i].ID] = &ms[i]
			b.byCode[ms[i].Code] = &ms[i]
		}
	}
	if b.covers, err = s.coversOn(ctx, day); err != nil {
		return nil, err
	}
	items, err := s.dueRows(ctx, s.pool, nil, day)
	if err != nil {
		return nil, err
	}
	b.clock.classify(items, day)
	for _, it := range items {
		b.addDue(it)
	}
	if err := b.addTeams(ctx, ms); err != nil {
		return nil, err
	}
	for _, add := range []func(context.Context, *digestBuild, func(int64) (int64, bool)) error{
		s.upcoming, s.replies, s.overdueComplaints, s.openAlerts} {
		if err := add(ctx, b, b.recipient); err != nil {
			return nil, err
		}
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
	b.finish(ms)
	if fs, err := s.festivalsAhead(day); err == nil {
		for _, d := range b.digests {
			d.Festivals = fs
		}
	} else {
		s.cfg.Logger.WarnContext(ctx, "revisit digests: festivals not listed", slog.String("err", err.Error()))
	}
	return b, nil
}

// recipient is who reads a manager's customers today: the manager, or the
// colleague covering them; false when neither is active.
func (b *digestBuild) recipient(managerID int64) (int64, bool) {
	if c, ok := b.covers[managerID]; ok {
		if _, active := b.managers[c]; active {
			return c, true
		}
	}
	_, active := b.managers[managerID]
	return managerID, active
}

// line is a manager's line in their lead's team summary, creating it.
func (b *digestBuild) line(id int64) *TeamLine {
	if t, ok := b.team[id]; ok {
		return t
	}
	t := &TeamLine{Manager: b.managers[id].Code, Name: b.managers[id].Name}
	b.team[id] = t
	return t
}

// addDue puts a due or overdue customer in their reader's digest, counts it in
// the team line, and escalates it to the lead past Config.EscalateAfter
// business days.
func (b *digestBuild) addDue(it DueItem) {
	m, active := b.managers[it.ManagerID]
	if active {
		if it.Overdue {
			b.line(it.ManagerID).Overdue++
		} else {
			b.line(it.ManagerID).Due++
		}
	}
	to, ok := b.recipient(it.ManagerID)
	if !ok {
		return
	}
	if to != it.ManagerID {
		it.Covered = it.Manager
	}
	d := b.digest(to)
	d.Items = append(d.Items, it)
	if !it.Overdue || !active || m.Lead == "" || m.Lead == m.Code {
		return
	}
	if lead, ok := b.byCode[m.Lead]; ok {
		if cut := b.clock.addBusinessDays(it.DueOn, b.s.cfg.EscalateAfter); cut.Before(b.day) {
			ld := b.digest(lead.ID)
			ld.Escalated = append(ld.Escalated, Escalation{Manager: m.Code, ManagerName: m.Name, ContactID: it.ContactID,
				ExternalID: it.ExternalID, Name: it.Name, Tier: it.Tier, DueOn: it.DueOn, DaysLate: it.DaysLate})
		}
	}
}

// addTeams gives each lead the team summary: every member, with what they did
// since the previous business day's digest.
func (b *digestBuild) addTeams(ctx context.Context, ms []contacts.Manager) error {
	prev, _ := b.s.cfg.Festivals.AddBusinessDays(b.day, -1)
	done, err := b.s.doneBetween(ctx, prev, b.day)
	if err != nil {
		return err
	}
	for id, n := range done {
		if _, ok := b.managers[id]; ok {
			b.line(id).Done = n
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
		ld.Team = append(ld.Team, *b.line(m.ID))
	}
	return nil
}

// finish keeps the digests that have something to say, in manager order, their
// items by due date.
func (b *digestBuild) finish(ms []contacts.Manager) {
	for _, m := range ms {
		if !m.Active {
			continue
		}
		if _, onLeave := b.covers[m.ID]; onLeave {
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
}

func (b *digestBuild) leadsOthers(code string) bool {
	for _, m := range b.managers {
		if m.Lead == code && m.Code != code {
			return true
		}
	}
	return false
}
