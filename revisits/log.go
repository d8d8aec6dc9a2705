package revisits

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"carillon/calendar"
	"carillon/contacts"
	"carillon/internal/audit"
)

// Revisit methods.
const (
	MethodPhone  = "phone"
	MethodVisit  = "visit"
	MethodWeChat = "wechat"
	MethodBranch = "branch"
)

// Methods are the ways a customer is revisited.
var Methods = []string{MethodPhone, MethodVisit, MethodWeChat, MethodBranch}

// Tier changes.
const (
	Upgrade   = "upgrade"
	Downgrade = "downgrade"
)

// Timeline event kinds written by this package.
const (
	EventRevisitLogged  = "revisit.logged"
	EventTierChanged    = "revisit.tier_changed"
	EventFeedbackLogged = "feedback.logged"
	EventFeedbackState  = "feedback.state_changed"
	EventReassigned     = "revisit.reassigned"
)

// RevisitInput is a revisit to log.
type RevisitInput struct {
	// Method is phone, visit, wechat or branch.
	Method string `json:"method"`
	// Outcome is what the revisit found (required).
	Outcome string `json:"outcome"`
	// Needs are the customer's needs, as the manager heard them.
	Needs string `json:"needs,omitempty"`
	Notes string `json:"notes,omitempty"`
	// VisitedOn is the revisit's day. Default: today.
	VisitedOn *calendar.Date `json:"visited_on,omitempty"`
	// NextDate sets the next revisit's day instead of the tier's cadence.
	NextDate *calendar.Date `json:"next_date,omitempty"`
	// Tier, when set and different from the customer's, changes it; the
	// change is recorded as an upgrade or a downgrade with TierReason
	// (required then).
	Tier       string `json:"tier,omitempty"`
	TierReason string `json:"tier_reason,omitempty"`
	// Feedback logged with the revisit.
	Feedback []FeedbackInput `json:"feedback,omitempty"`
}

// Revisit is a logged revisit.
type Revisit struct {
	ID        int64          `json:"id"`
	ContactID int64          `json:"contact_id"`
	Manager   string         `json:"manager,omitempty"`
	VisitedOn calendar.Date  `json:"visited_on"`
	Method    string         `json:"method"`
	Outcome   string         `json:"outcome"`
	Needs     string         `json:"needs"`
	Notes     string         `json:"notes"`
	NextDate  *calendar.Date `json:"next_date,omitempty"`
	// DueOn is the due day this revisit answered; OnTime is VisitedOn <= DueOn.
	DueOn      *calendar.Date `json:"due_on,omitempty"`
	OnTime     bool           `json:"on_time"`
	Covered    bool           `json:"covered"`
	TierFrom   string         `json:"tier_from,omitempty"`
	TierTo     string         `json:"tier_to,omitempty"`
	TierChange string         `json:"tier_change,omitempty"` // upgrade | downgrade
	TierReason string         `json:"tier_reason,omitempty"`
	Actor      string         `json:"actor"`
	CreatedAt  time.Time      `json:"created_at"`
	// Feedback holds the feedback records logged with the revisit.
	Feedback []Feedback `json:"feedback,omitempty"`
	// NextDue is the customer's next due day after this revisit.
	NextDue *calendar.Date `json:"next_due,omitempty"`
}

// LogOptions say who logs a revisit.
type LogOptions struct {
	// ByManagerID is the manager logging it, when the caller is one; a
	// revisit logged by another manager than the customer's (a cover) is
	// marked covered.
	ByManagerID int64
}

func checkText(f *fieldErrors, field, v string, required bool) {
	switch {
	case required && strings.TrimSpace(v) == "":
		f.add(field, "is required")
	case !utf8.ValidString(v):
		f.add(field, "is not valid UTF-8")
	case utf8.RuneCountInString(v) > MaxTextLength:
		f.add(field, "is longer than %d characters", MaxTextLength)
	}
}

// check validates the input against today.
func (in *RevisitInput) check(today calendar.Date) error {
	var f fieldErrors
	if !slices.Contains(Methods, in.Method) {
		f.add("method", "%q is not a method (phone, visit, wechat, branch)", in.Method)
	}
	checkText(&f, "outcome", in.Outcome, true)
	checkText(&f, "needs", in.Needs, false)
	checkText(&f, "notes", in.Notes, false)
	visited := today
	if in.VisitedOn != nil {
		visited = *in.VisitedOn
		switch {
		case visited.After(today):
			f.add("visited_on", "%s is in the future (today is %s)", visited, today)
		case visited.Before(today.AddDays(-MaxBackdateDays)):
			f.add("visited_on", "%s is more than %d days ago", visited, MaxBackdateDays)
		}
	}
	if in.NextDate != nil {
		n := *in.NextDate
		switch {
		case !n.After(visited):
			f.add("next_date", "%s is not after the revisit's day %s", n, visited)
		case n.After(visited.AddDays(366)):
			f.add("next_date", "%s is more than a year after the revisit", n)
		}
	}
	if in.Tier != "" {
		if !slices.Contains(Tiers, in.Tier) {
			f.add("tier", "%q is not a tier (A, B, C, D)", in.Tier)
		}
	} else if in.TierReason != "" {
		f.add("tier_reason", "given without a tier")
	}
	checkText(&f, "tier_reason", in.TierReason, false)
	for i := range in.Feedback {
		in.Feedback[i].check(&f, fmt.Sprintf("feedback[%d].", i), true)
	}
	return f.err()
}

// tierChange says whether moving from one tier to another is an upgrade (to a
// higher tier: D → A) or a downgrade.
func tierChange(from, to string) string {
	switch {
	case from == "" || from == to:
		return ""
	case to < from:
		return Upgrade
	default:
		return Downgrade
	}
}

// revisitLockClass is the advisory lock class ("revi") serialising the
// revisits of one contact.
const revisitLockClass = 0x72657669

// contactDueSQL is one contact's nominal due day and how it is counted, for
// tier $2.
const contactDueSQL = `SELECT COALESCE(s.next_date, COALESCE(s.anchor, (c.created_at AT TIME ZONE $3)::date) + k.days), s.anchor
FROM contact_cards c
LEFT JOIN revisit_cadences k ON k.tier = $2
LEFT JOIN revisit_state s ON s.contact_id = c.id
WHERE c.id = $1`

// LogRevisit records a revisit of a contact: the revisit row, the cadence
// reset (counted from the revisit's day, or NextDate), the timeline events
// and the audit row, in one transaction. A tier change is applied through the
// contacts package first (its own contact.updated event and audit row).
// Feedback given with it is recorded in the same transaction.
func (s *Service) LogRevisit(ctx context.Context, actor audit.Actor, contactID int64, in RevisitInput, opts LogOptions) (Revisit, error) {
	today := s.Today()
	if err := in.check(today); err != nil {
		return Revisit{}, err
	}
	c, err := s.contacts.Get(ctx, contactID)
	if err != nil {
		return Revisit{}, err
	}
	if c.ErasedAt != nil {
		return Revisit{}, contacts.ErrErased
	}
	visited := today
	if in.VisitedOn != nil {
		visited = *in.VisitedOn
	}
	// A revisit cannot predate the customer's record: it would be judged against
	// a due day counted from a creation that had not happened.
	if created := calendar.DateOf(c.CreatedAt.In(s.loc)); visited.Before(created) {
		return Revisit{}, invalid("visited_on", "%s is before the customer was added to Carillon (%s) / 回访日期 %s 早于客户建档日期 %s", visited, created, visited, created)
	}
	change := ""
	if in.Tier != "" {
		change = tierChange(c.Tier, in.Tier)
		if change != "" && strings.TrimSpace(in.TierReason) == "" {
			return Revisit{}, invalid("tier_reason", "is required with a tier change (%s → %s)", c.Tier, in.Tier)
		}
	}
	for i := range in.Feedback {
		if in.Feedback[i].Owner == "" && c.ManagerID == 0 {
			return Revisit{}, invalid(fmt.Sprintf("feedback[%d].owner", i), "is required: the customer has no manager")
		}
	}
	// A first tier (the customer had none) is set, not recorded as a change.
	tier := c.Tier
	if in.Tier != "" && in.Tier != c.Tier {
		tier = in.Tier
		if _, err := s.contacts.Update(ctx, actor, contactID, contacts.Input{Tier: &tier}); err != nil {
			return Revisit{}, fmt.Errorf("change tier: %w", err)
		}
	}
	now := s.cfg.Now()
	rv := Revisit{ContactID: contactID, Manager: c.Manager, VisitedOn: visited, Method: in.Method, Outcome: in.Outcome,
		Needs: in.Needs, Notes: in.Notes, NextDate: in.NextDate, Actor: actor.String(), CreatedAt: now, OnTime: true,
		Covered: opts.ByManagerID != 0 && c.ManagerID != 0 && opts.ByManagerID != c.ManagerID}
	if change != "" {
		rv.TierFrom, rv.TierTo, rv.TierChange, rv.TierReason = c.Tier, in.Tier, change, in.TierReason
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1::int, ($2 % 2147483647)::int)`, revisitLockClass, contactID); err != nil {
			return err
		}
		var nominal, anchor *time.Time
		if err := tx.QueryRow(ctx, contactDueSQL, contactID, c.Tier, s.cfg.TimeZone).Scan(&nominal, &anchor); err != nil {
			return fmt.Errorf("read cadence of contact %d: %w", contactID, notFound(err))
		}
		if nominal != nil {
			due := s.DueDate(dateOf(*nominal))
			rv.DueOn = &due
			rv.OnTime = !visited.After(due)
		}
		var mgr *int64
		if c.ManagerID != 0 {
			mgr = &c.ManagerID
		}
		err := tx.QueryRow(ctx, `INSERT INTO revisits (contact_id, manager_id, visited_on, method, outcome, needs, notes, next_date, due_on, on_time,
			covered, tier_from, tier_to, tier_change, tier_reason, actor, created_at)
			VALUES (@contact, @manager, @visited::date, @method, @outcome, @needs, @notes, @next::date, @due::date, @on_time,
			  @covered, NULLIF(@tier_from, ''), NULLIF(@tier_to, ''), NULLIF(@tier_change, ''), NULLIF(@tier_reason, ''), @actor, @at)
			RETURNING id`, pgx.NamedArgs{"contact": contactID, "manager": mgr, "visited": visited.String(), "method": in.Method,
			"outcome": in.Outcome, "needs": in.Needs, "notes": in.Notes, "next": dateArg(in.NextDate), "due": dateArg(rv.DueOn),
			"on_time": rv.OnTime, "covered": rv.Covered, "tier_from": rv.TierFrom, "tier_to": rv.TierTo, "tier_change": rv.TierChange,
			"tier_reason": rv.TierReason, "actor": rv.Actor, "at": now}).Scan(&rv.ID)
		if err != nil {
			return fmt.Errorf("insert revisit: %w", err)
		}
		// A revisit back-dated before the latest one leaves the cadence alone.
		if anchor == nil || !visited.Before(dateOf(*anchor)) {
			if _, err := tx.Exec(ctx, `INSERT INTO revisit_state (contact_id, anchor, anchor_kind, next_date, last_revisit_id, updated_at)
				VALUES ($1, $2::date, 'revisit', $3::date, $4, $5)
				ON CONFLICT (contact_id) DO UPDATE SET anchor = EXCLUDED.anchor, anchor_kind = 'revisit', next_date = EXCLUDED.next_date,
				  last_revisit_id = EXCLUDED.last_revisit_id, updated_at = EXCLUDED.updated_at`,
				contactID, visited.String(), dateArg(in.NextDate), rv.ID, now); err != nil {
				return fmt.Errorf("reset cadence: %w", err)
			}
		}
		if err := tx.QueryRow(ctx, contactDueSQL, contactID, tier, s.cfg.TimeZone).Scan(&nominal, &anchor); err != nil {
			return fmt.Errorf("read cadence of contact %d: %w", contactID, err)
		}
		if nominal != nil {
			next := s.DueDate(dateOf(*nominal))
			rv.NextDue = &next
		}
		events := []contacts.Event{revisitEvent(rv, now)}
		if rv.TierChange != "" {
			events = append(events, contacts.Event{ContactID: contactID, At: now, Kind: EventTierChanged, Actor: rv.Actor,
				Summary: fmt.Sprintf("tier %sd %s → %s at a revisit", rv.TierChange, rv.TierFrom, rv.TierTo),
				Data:    mustJSON(map[string]any{"revisit_id": rv.ID, "from": rv.TierFrom, "to": rv.TierTo, "change": rv.TierChange})})
			// The manager's own downgrade needs no alert in their digest.
			if rv.TierChange == Downgrade {
				if _, err := tx.Exec(ctx, `UPDATE revisit_alerts SET closed = 'own_change', closed_on = $2::date
					WHERE contact_id = $1 AND closed IS NULL AND data ->> 'to' = $3
					  AND rule IN (SELECT key FROM revisit_alert_rules WHERE kind = 'tier_downgrade')`,
					contactID, today.String(), rv.TierTo); err != nil {
					return fmt.Errorf("close own downgrade alert: %w", err)
				}
			}
		}
		for i, fin := range in.Feedback {
			fin.RevisitID = rv.ID
			fb, ev, err := s.insertFeedback(ctx, tx, actor, c, fin, today, now)
			if err != nil {
				return fmt.Errorf("feedback[%d]: %w", i, err)
			}
			rv.Feedback = append(rv.Feedback, fb)
			events = append(events, ev)
		}
		if err := contacts.AppendEvents(ctx, tx, events); err != nil {
			return err
		}
		changes := map[string]any{"revisit_id": rv.ID, "method": rv.Method, "visited_on": rv.VisitedOn, "on_time": rv.OnTime}
		if rv.TierChange != "" {
			changes["tier"] = map[string]string{"from": rv.TierFrom, "to": rv.TierTo, "change": rv.TierChange}
		}
		if len(rv.Feedback) > 0 {
			ids := make([]int64, len(rv.Feedback))
			for i, fb := range rv.Feedback {
				ids[i] = fb.ID
			}
			changes["feedback_ids"] = ids
		}
		return audit.Append(ctx, tx, actor, now, audit.Entry{Action: "revisit.log", ObjectType: "contact",
			ObjectID: strconv.FormatInt(contactID, 10), Changes: changes})
	})
	if err != nil {
		return Revisit{}, err
	}
	s.cfg.Logger.InfoContext(ctx, "revisit logged", "contact_id", contactID, "revisit_id", rv.ID, "method", rv.Method,
		"on_time", rv.OnTime, "tier_change", rv.TierChange)
	return rv, nil
}

func revisitEvent(rv Revisit, at time.Time) contacts.Event {
	summary := "revisit by " + rv.Method
	switch {
	case rv.DueOn == nil:
	case rv.OnTime:
		summary += ", on time"
	default:
		summary += ", late (due " + rv.DueOn.String() + ")"
	}
	data := map[string]any{"revisit_id": rv.ID, "method": rv.Method, "visited_on": rv.VisitedOn, "on_time": rv.OnTime}
	if rv.DueOn != nil {
		data["due_on"] = rv.DueOn
	}
	if rv.NextDate != nil {
		data["next_date"] = rv.NextDate
	}
	if rv.NextDue != nil {
		data["next_due"] = rv.NextDue
	}
	if rv.Covered {
		data["covered"] = true
	}
	return contacts.Event{ContactID: rv.ContactID, At: at, Kind: EventRevisitLogged, Actor: rv.Actor, Summary: summary, Data: mustJSON(data)}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("revisits: marshal event data: %v", err)) // maps of plain values always marshal
	}
	return b
}

// dateArg is a nullable date parameter.
func dateArg(d *calendar.Date) *string {
	if d == nil {
		return nil
	}
	s := d.String()
	return &s
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

const revisitColumns = `r.id, r.contact_id, COALESCE(m.code, ''), r.visited_on, r.method, r.outcome, r.needs, r.notes, r.next_date, r.due_on,
  r.on_time, r.covered, COALESCE(r.tier_from, ''), COALESCE(r.tier_to, ''), COALESCE(r.tier_change, ''), COALESCE(r.tier_reason, ''),
  r.actor, r.created_at`

func scanRevisit(row pgx.Row) (Revisit, error) {
	var r Revisit
	var visited time.Time
	var next, due *time.Time
	err := row.Scan(&r.ID, &r.ContactID, &r.Manager, &visited, &r.Method, &r.Outcome, &r.Needs, &r.Notes, &next, &due,
		&r.OnTime, &r.Covered, &r.TierFrom, &r.TierTo, &r.TierChange, &r.TierReason, &r.Actor, &r.CreatedAt)
	if err != nil {
		return r, notFound(err)
	}
	r.VisitedOn = dateOf(visited)
	if next != nil {
		d := dateOf(*next)
		r.NextDate = &d
	}
	if due != nil {
		d := dateOf(*due)
		r.DueOn = &d
	}
	return r, nil
}

// MaxListed bounds a listing's page.
const MaxListed = 500

// Revisits lists a contact's revisits, latest logged first, at most limit (1–500,
// default 50), before revisit id before (0: from the latest).
func (s *Service) Revisits(ctx context.Context, contactID int64, before int64, limit int) ([]Revisit, error) {
	if limit == 0 {
		limit = 50
	}
	if limit < 0 || limit > MaxListed {
		return nil, invalid("limit", "%d is out of range 1..%d", limit, MaxListed)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+revisitColumns+` FROM revisits r LEFT JOIN manager_refs m ON m.id = r.manager_id
		WHERE r.contact_id = $1 AND ($2 = 0 OR r.id < $2) ORDER BY r.id DESC LIMIT $3`, contactID, before, limit)
	if err != nil {
		return nil, fmt.Errorf("list revisits of contact %d: %w", contactID, err)
	}
	out := []Revisit{}
	for rows.Next() {
		r, err := scanRevisit(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
