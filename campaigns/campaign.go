package campaigns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/robfig/cron/v3"

	"carillon/campaigns/segment"
	"carillon/channels"
	"carillon/contacts"
	"carillon/internal/apperr"
	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/templates"
)

// Schedule says when a campaign runs: now (when started), at a time, or on a
// cron spec (robfig/cron, CRON_TZ= allowed) for a recurring campaign.
type Schedule struct {
	Kind string     `json:"kind"` // now | at | cron
	At   *time.Time `json:"at,omitempty"`
	Cron string     `json:"cron,omitempty"`
}

// Campaign is a campaign as the API shows it.
type Campaign struct {
	ID              int64          `json:"id"`
	Name            string         `json:"name"`
	Status          Status         `json:"status"`
	Version         int            `json:"version"`
	SegmentName     string         `json:"segment_name,omitempty"`
	Segment         string         `json:"segment"`
	Template        string         `json:"template"`
	Purpose         string         `json:"purpose"`
	Channels        []string       `json:"channels"`
	Vars            map[string]any `json:"vars"`
	Schedule        Schedule       `json:"schedule"`
	Window          string         `json:"window,omitempty"` // HH:MM-HH:MM in each recipient's time zone
	Throttle        int            `json:"throttle"`         // messages per second overall; 0: no limit
	EndsAt          *time.Time     `json:"ends_at,omitempty"`
	Notes           string         `json:"notes"`
	Review          *Review        `json:"review,omitempty"`
	CreatedBy       string         `json:"created_by"`
	SubmittedAt     *time.Time     `json:"submitted_at,omitempty"`
	ApprovedBy      string         `json:"approved_by,omitempty"`
	ApprovedAt      *time.Time     `json:"approved_at,omitempty"`
	ApprovedVersion *int           `json:"approved_version,omitempty"`
	RejectedReason  string         `json:"rejected_reason,omitempty"`
	NextRunAt       *time.Time     `json:"next_run_at,omitempty"`
	LastRunAt       *time.Time     `json:"last_run_at,omitempty"`
	CreatedAt       time.Time      `json:"created_at"`
	UpdatedAt       time.Time      `json:"updated_at"`

	createdByUser int64
	windowStart   *int16
	windowEnd     *int16
}

// Input creates or edits a campaign. A nil field keeps the stored value; Clear
// empties window, ends_at or notes. Segment names a saved segment (its
// expression is copied); Expression gives a filter inline.
type Input struct {
	Name       *string        `json:"name,omitempty"`
	Segment    *string        `json:"segment,omitempty"`
	Expression *string        `json:"expression,omitempty"`
	Template   *string        `json:"template,omitempty"`
	Channels   *[]string      `json:"channels,omitempty"`
	Vars       map[string]any `json:"vars,omitempty"`
	Schedule   *Schedule      `json:"schedule,omitempty"`
	Window     *string        `json:"window,omitempty"`
	Throttle   *int           `json:"throttle,omitempty"`
	EndsAt     *time.Time     `json:"ends_at,omitempty"`
	Notes      *string        `json:"notes,omitempty"`
	Clear      []string       `json:"clear,omitempty"`
}

// By is who acts on a campaign: the audit actor (with the user's id) and the
// user's roles.
type By struct {
	Actor audit.Actor
	Roles []identity.Role
}

func (b By) userID() int64 {
	if b.Actor.UserID == nil {
		return 0
	}
	return *b.Actor.UserID
}

// can reports whether b's roles grant perm, by identity's one permission table.
func (b By) can(perm identity.Perm) bool { return identity.Can(b.Roles, perm) }

// Errors; server maps them to statuses.
var (
	ErrNotFound  = apperr.NotFound("campaign not found", "no such campaign")
	ErrForbidden = apperr.Forbidden("not allowed")
	ErrState     = apperr.Conflict("not possible in the campaign's status", "invalid_state")
	ErrStale     = apperr.Conflict("the campaign changed since it was reviewed", "stale")
)

func invalid(fields ...contacts.FieldError) error { return &contacts.ValidationError{Fields: fields} }

func fieldErr(field, format string, args ...any) contacts.FieldError {
	return contacts.FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

const campaignColumns = `id, name, status, version, COALESCE(segment_name, ''), segment, template_key, purpose, channels, vars,
  schedule_kind, send_at, COALESCE(cron, ''), window_start, window_end, throttle, ends_at, notes, review, created_by, created_by_user,
  submitted_at, COALESCE(approved_by, ''), approved_at, approved_version, COALESCE(rejected_reason, ''), next_run_at, last_run_at, created_at, updated_at`

func scanCampaign(row pgx.Row) (Campaign, error) { return scanCampaignAnd(row) }

// scanCampaignAnd reads a campaign and more columns after its own.
func scanCampaignAnd(row pgx.Row, more ...any) (Campaign, error) {
	var c Campaign
	var vars, review []byte
	dest := []any{&c.ID, &c.Name, &c.Status, &c.Version, &c.SegmentName, &c.Segment, &c.Template, &c.Purpose, &c.Channels, &vars,
		&c.Schedule.Kind, &c.Schedule.At, &c.Schedule.Cron, &c.windowStart, &c.windowEnd, &c.Throttle, &c.EndsAt, &c.Notes, &review, &c.CreatedBy, &c.createdByUser,
		&c.SubmittedAt, &c.ApprovedBy, &c.ApprovedAt, &c.ApprovedVersion, &c.RejectedReason, &c.NextRunAt, &c.LastRunAt, &c.CreatedAt, &c.UpdatedAt}
	err := row.Scan(append(dest, more...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("read campaign: %w", err)
	}
	if err := json.Unmarshal(vars, &c.Vars); err != nil {
		return c, fmt.Errorf("campaign %d vars: %w", c.ID, err)
	}
	if len(review) > 0 {
		c.Review = &Review{}
		if err := json.Unmarshal(review, c.Review); err != nil {
			return c, fmt.Errorf("campaign %d review: %w", c.ID, err)
		}
	}
	if c.windowStart != nil && c.windowEnd != nil {
		c.Window = formatWindow(int(*c.windowStart), int(*c.windowEnd))
	}
	return c, nil
}

// Get returns a campaign.
func (s *Service) Get(ctx context.Context, id int64) (Campaign, error) {
	return scanCampaign(s.pool.QueryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = $1`, id))
}

func getForUpdate(ctx context.Context, tx pgx.Tx, id int64) (Campaign, error) {
	return scanCampaign(tx.QueryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = $1 FOR UPDATE`, id))
}

// ListFilter narrows List.
type ListFilter struct {
	Status Status
	After  int64 // cursor: the last id of the previous page
	Limit  int   // default 50, at most 500
}

// List returns campaigns, newest first.
func (s *Service) List(ctx context.Context, f ListFilter) ([]Campaign, int64, error) {
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	rows, err := s.pool.Query(ctx, `SELECT `+campaignColumns+` FROM campaigns
		WHERE ($1 = '' OR status = $1) AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3`, string(f.Status), f.After, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("list campaigns: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Campaign, error) { return scanCampaign(r) })
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// draft is a campaign's editable fields after an input is applied.
type draft struct {
	name, segmentName, segment, template string
	channels                             []string
	vars                                 map[string]any
	sched                                Schedule
	wStart, wEnd                         *int16
	throttle                             int
	endsAt                               *time.Time
	notes                                string
}

func draftOf(c Campaign) draft {
	return draft{name: c.Name, segmentName: c.SegmentName, segment: c.Segment, template: c.Template, channels: c.Channels, vars: c.Vars,
		sched: c.Schedule, wStart: c.windowStart, wEnd: c.windowEnd, throttle: c.Throttle, endsAt: c.EndsAt, notes: c.Notes}
}

// args are the draft's columns as named arguments, with more.
func (d draft) args(more pgx.NamedArgs) pgx.NamedArgs {
	a := pgx.NamedArgs{"name": d.name, "segment_name": d.segmentName, "segment": d.segment, "template": d.template, "channels": d.channels,
		"kind": d.sched.Kind, "send_at": d.sched.At, "cron": d.sched.Cron, "window_start": d.wStart, "window_end": d.wEnd,
		"throttle": d.throttle, "ends_at": d.endsAt, "notes": d.notes}
	for k, v := range more {
		a[k] = v
	}
	return a
}

// apply applies an input to d and checks the result, listing every bad field.
func (s *Service) apply(ctx context.Context, d *draft, in Input) error {
	var bad []contacts.FieldError
	if in.Name != nil {
		d.name = strings.TrimSpace(*in.Name)
	}
	if d.name == "" || len([]rune(d.name)) > 200 {
		bad = append(bad, fieldErr("name", "is required, at most 200 characters"))
	}
	segBad, err := s.applySegment(ctx, d, in)
	if err != nil {
		return err
	}
	bad = append(bad, segBad...)
	if in.Channels != nil {
		d.channels = nil
		for _, ch := range *in.Channels {
			d.channels = append(d.channels, strings.ToLower(strings.TrimSpace(ch)))
		}
	}
	chOK := len(d.channels) > 0
	seen := map[string]bool{}
	for _, ch := range d.channels {
		if !contacts.ValidChannel(ch) || seen[ch] {
			chOK = false
		}
		seen[ch] = true
	}
	if !chOK {
		bad = append(bad, fieldErr("channels", "a list of distinct channels among sms, email, wechat, in order of preference"))
	}
	if in.Template != nil {
		d.template = strings.TrimSpace(*in.Template)
	}
	if d.template == "" {
		bad = append(bad, fieldErr("template", "is required"))
	} else if chOK {
		if fe := s.checkTemplate(ctx, d.template, d.channels); fe != nil {
			bad = append(bad, *fe)
		}
	}
	if in.Vars != nil {
		d.vars = in.Vars
	}
	if d.vars == nil {
		d.vars = map[string]any{}
	}
	if js, err := json.Marshal(d.vars); err != nil || len(js) > 16<<10 {
		bad = append(bad, fieldErr("vars", "must be a JSON object of at most 16 KiB"))
	}
	bad = append(bad, s.applySchedule(d, in)...)
	if len(bad) > 0 {
		return invalid(bad...)
	}
	return nil
}

// applySegment applies an input's segment (a saved one or an expression) to d
// and checks it against the data's own types.
func (s *Service) applySegment(ctx context.Context, d *draft, in Input) ([]contacts.FieldError, error) {
	var bad []contacts.FieldError
	switch {
	case in.Segment != nil && in.Expression != nil:
		bad = append(bad, fieldErr("segment", "give a saved segment or an expression, not both"))
	case in.Segment != nil:
		sv, err := s.segments.GetByName(ctx, *in.Segment)
		if errors.Is(err, segment.ErrNotFound) {
			bad = append(bad, fieldErr("segment", "no saved segment named %q", *in.Segment))
		} else if err != nil {
			return nil, err
		} else {
			d.segmentName, d.segment = sv.Name, sv.Expression
		}
	case in.Expression != nil:
		d.segmentName, d.segment = "", *in.Expression
	}
	if d.segment == "" {
		if in.Segment == nil {
			bad = append(bad, fieldErr("segment", "a saved segment or an expression is required"))
		}
	} else {
		seg, err := segment.Compile(d.segment)
		if err == nil {
			// Attribute comparisons against the data's own types.
			err = s.segments.Check(ctx, seg)
		}
		if err != nil {
			var se *segment.Error
			if !errors.As(err, &se) {
				return nil, err
			}
			for _, p := range se.Problems {
				bad = append(bad, fieldErr("segment", "%d:%d: %s (known fields: %s)", p.Line, p.Column, p.Message, se.Known))
			}
		}
	}
	return bad, nil
}

// applySchedule applies an input's schedule, window, throttle, end and notes
// to d (and the fields it clears), listing every bad one.
func (s *Service) applySchedule(d *draft, in Input) []contacts.FieldError {
	var bad []contacts.FieldError
	if in.Schedule != nil {
		d.sched = *in.Schedule
	}
	if d.sched.Kind == "" {
		d.sched.Kind = "now"
	}
	switch d.sched.Kind {
	case "now":
		d.sched.At, d.sched.Cron = nil, ""
	case "at":
		d.sched.Cron = ""
		if d.sched.At == nil {
			bad = append(bad, fieldErr("schedule.at", "a time is required for a campaign scheduled at a time"))
		}
	case "cron":
		d.sched.At = nil
		if _, err := parseCron(d.sched.Cron, s.now()); err != nil {
			bad = append(bad, fieldErr("schedule.cron", "%s", err.Error()))
		}
	default:
		bad = append(bad, fieldErr("schedule.kind", "is now, at or cron, not %q", d.sched.Kind))
	}
	if in.Window != nil {
		a, b, err := parseWindow(*in.Window)
		if err != nil {
			bad = append(bad, fieldErr("window", "%s", err.Error()))
		} else {
			d.wStart, d.wEnd = &a, &b
		}
	}
	if in.Throttle != nil {
		d.throttle = *in.Throttle
	}
	if d.throttle < 0 || d.throttle > 100000 {
		bad = append(bad, fieldErr("throttle", "is messages per second overall, 0 (no limit) to 100000"))
	}
	if in.EndsAt != nil {
		d.endsAt = in.EndsAt
	}
	if in.Notes != nil {
		d.notes = *in.Notes
	}
	for _, f := range in.Clear {
		switch f {
		case "window":
			d.wStart, d.wEnd = nil, nil
		case "ends_at":
			d.endsAt = nil
		case "notes":
			d.notes = ""
		default:
			bad = append(bad, fieldErr("clear", "%q cannot be cleared (window, ends_at, notes)", f))
		}
	}
	if len([]rune(d.notes)) > 4000 {
		bad = append(bad, fieldErr("notes", "at most 4000 characters"))
	}
	return bad
}

// checkTemplate refuses a template that does not exist, is not for marketing,
// or has no variant for any of the chosen channels.
func (s *Service) checkTemplate(ctx context.Context, key string, chans []string) *contacts.FieldError {
	v, err := s.deps.Templates.Active(ctx, key)
	if errors.Is(err, templates.ErrNotFound) {
		fe := fieldErr("template", "no template %q", key)
		return &fe
	}
	if err != nil {
		fe := fieldErr("template", "cannot be read: %s", err.Error())
		return &fe
	}
	if v.Purpose != templates.Marketing {
		fe := fieldErr("template", "%q is a %s template; a campaign sends marketing templates", key, v.Purpose)
		return &fe
	}
	for _, ch := range chans {
		if _, err := v.Lookup(templates.Channel(ch), v.DefaultLocale); err == nil {
			return nil
		}
	}
	fe := fieldErr("template", "%q has no variant for any of the channels %s", key, strings.Join(chans, ", "))
	return &fe
}

// parseCron checks a recurring schedule and returns its next firing after now.
func parseCron(spec string, now time.Time) (time.Time, error) {
	if strings.TrimSpace(spec) == "" {
		return time.Time{}, errors.New("a cron spec is required, e.g. CRON_TZ=Asia/Shanghai 0 10 * * 1")
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return time.Time{}, fmt.Errorf("does not parse: %w", err)
	}
	next := sched.Next(now)
	if next.IsZero() {
		return time.Time{}, errors.New("never fires")
	}
	return next, nil
}

// parseWindow reads HH:MM-HH:MM.
func parseWindow(v string) (int16, int16, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(v), "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not HH:MM-HH:MM", v)
	}
	start, err1 := parseClock(a)
	end, err2 := parseClock(b)
	if err1 != nil || err2 != nil || start >= end {
		return 0, 0, fmt.Errorf("%q is not a window of the day (HH:MM-HH:MM, start before end)", v)
	}
	return start, end, nil
}

func parseClock(s string) (int16, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return int16(hh*60 + mm), nil
}

func formatWindow(a, b int) string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", a/60, a%60, b/60, b%60)
}

// Create saves a draft campaign. Only marketers and administrators create, and
// only as a user (the maker of maker-checker).
func (s *Service) Create(ctx context.Context, by By, in Input) (Campaign, error) {
	if err := s.needs(); err != nil {
		return Campaign{}, err
	}
	if !by.can(identity.PermCampaignsWrite) {
		return Campaign{}, fmt.Errorf("%w: creating campaigns needs the marketer or admin role", ErrForbidden)
	}
	if by.userID() == 0 {
		return Campaign{}, fmt.Errorf("%w: a campaign is created by a user (the CLI: --as LOGIN)", ErrForbidden)
	}
	d := draft{}
	if err := s.apply(ctx, &d, in); err != nil {
		return Campaign{}, err
	}
	var out Campaign
	err := s.tx(ctx, func(tx pgx.Tx) error {
		now := s.now()
		var id int64
		vars, _ := json.Marshal(d.vars)
		if err := tx.QueryRow(ctx, `INSERT INTO campaigns (name, status, segment_name, segment, template_key, channels, vars, schedule_kind, send_at, cron,
			window_start, window_end, throttle, ends_at, notes, created_by, created_by_user, created_at, updated_at)
			VALUES (@name, @status, NULLIF(@segment_name, ''), @segment, @template, @channels, @vars, @kind, @send_at, NULLIF(@cron, ''),
			@window_start, @window_end, @throttle, @ends_at, @notes, @created_by, @created_by_user, @now, @now) RETURNING id`,
			d.args(pgx.NamedArgs{"status": string(StatusDraft), "vars": vars, "created_by": by.Actor.String(), "created_by_user": by.userID(), "now": now})).Scan(&id); err != nil {
			return fmt.Errorf("create campaign: %w", err)
		}
		if err := s.event(ctx, tx, by, id, ActionCreate, "", StatusDraft, "", map[string]any{"name": d.name}); err != nil {
			return err
		}
		var err error
		out, err = scanCampaign(tx.QueryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = $1`, id))
		return err
	})
	return out, err
}

// Update edits a campaign. Any edit after submission returns it to draft: the
// review and approval are dropped and it must be submitted and approved again.
func (s *Service) Update(ctx context.Context, by By, id int64, in Input) (Campaign, error) {
	if err := s.needs(); err != nil {
		return Campaign{}, err
	}
	if !by.can(identity.PermCampaignsWrite) {
		return Campaign{}, fmt.Errorf("%w: editing campaigns needs the marketer or admin role", ErrForbidden)
	}
	var out Campaign
	err := s.tx(ctx, func(tx pgx.Tx) error {
		c, err := getForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		if !Allowed(ActionEdit, c.Status, StatusDraft) {
			return fmt.Errorf("%w: a %s campaign cannot be edited (cancel it and create another)", ErrState, c.Status)
		}
		d := draftOf(c)
		if err := s.apply(ctx, &d, in); err != nil {
			return err
		}
		vars, _ := json.Marshal(d.vars)
		if err := s.changeStatus(ctx, tx, by, c, statusChange{action: ActionEdit, to: StatusDraft,
			data: map[string]any{"fields": changedFields(in), "version": c.Version + 1},
			set: `, name = @name, segment_name = NULLIF(@segment_name, ''), segment = @segment, template_key = @template, channels = @channels, vars = @vars,
			schedule_kind = @kind, send_at = @send_at, cron = NULLIF(@cron, ''), window_start = @window_start, window_end = @window_end, throttle = @throttle,
			ends_at = @ends_at, notes = @notes, version = version + 1, review = NULL, submitted_at = NULL, approved_by = NULL, approved_by_user = NULL,
			approved_at = NULL, approved_version = NULL, rejected_reason = NULL, next_run_at = NULL`,
			args: d.args(pgx.NamedArgs{"vars": vars})}, s.now()); err != nil {
			return err
		}
		out, err = scanCampaign(tx.QueryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = $1`, id))
		return err
	})
	return out, err
}

func changedFields(in Input) []string {
	var out []string
	add := func(ok bool, name string) {
		if ok {
			out = append(out, name)
		}
	}
	add(in.Name != nil, "name")
	add(in.Segment != nil || in.Expression != nil, "segment")
	add(in.Template != nil, "template")
	add(in.Channels != nil, "channels")
	add(in.Vars != nil, "vars")
	add(in.Schedule != nil, "schedule")
	add(in.Window != nil, "window")
	add(in.Throttle != nil, "throttle")
	add(in.EndsAt != nil, "ends_at")
	add(in.Notes != nil, "notes")
	out = append(out, in.Clear...)
	return out
}

// Event is one entry of a campaign's history.
type Event struct {
	ID     int64           `json:"id"`
	At     time.Time       `json:"at"`
	Actor  string          `json:"actor"`
	Action string          `json:"action"`
	From   string          `json:"from,omitempty"`
	To     string          `json:"to,omitempty"`
	Reason string          `json:"reason,omitempty"`
	Data   json.RawMessage `json:"data"`
}

// event records a transition (or an edit) in campaign_events and the audit log.
func (s *Service) event(ctx context.Context, tx pgx.Tx, by By, id int64, action Action, from, to Status, reason string, data map[string]any) error {
	_, err := s.recordEvent(ctx, tx, by, id, action, from, to, reason, data)
	return err
}

// recordEvent is event, returning the event's id.
func (s *Service) recordEvent(ctx context.Context, tx pgx.Tx, by By, id int64, action Action, from, to Status, reason string, data map[string]any) (int64, error) {
	if data == nil {
		data = map[string]any{}
	}
	js, err := json.Marshal(data)
	if err != nil {
		return 0, err
	}
	now := s.now()
	var eventID int64
	if err := tx.QueryRow(ctx, `INSERT INTO campaign_events (campaign_id, at, actor, user_id, action, from_status, to_status, reason, data)
		VALUES (@id, @at, @actor, @user_id, @action, NULLIF(@from, ''), NULLIF(@to, ''), @reason, @data) RETURNING id`,
		pgx.NamedArgs{"id": id, "at": now, "actor": by.Actor.String(), "user_id": by.Actor.UserID, "action": string(action),
			"from": string(from), "to": string(to), "reason": reason, "data": js}).Scan(&eventID); err != nil {
		return 0, fmt.Errorf("campaign %d event %s: %w", id, action, err)
	}
	changes := map[string]any{}
	for k, v := range data {
		changes[k] = v
	}
	if from != to {
		changes["status"] = map[string]any{"from": from, "to": to}
	}
	if reason != "" {
		changes["reason"] = reason
	}
	return eventID, audit.Append(ctx, tx, by.Actor, now, audit.Entry{Action: "campaign." + string(action), ObjectType: "campaign", ObjectID: strconv.FormatInt(id, 10), Changes: changes})
}

// History returns a campaign's events, oldest first.
func (s *Service) History(ctx context.Context, id int64) ([]Event, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT id, at, actor, action, COALESCE(from_status, ''), COALESCE(to_status, ''), reason, data
		FROM campaign_events WHERE campaign_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("campaign %d history: %w", id, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) {
		var e Event
		err := r.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.From, &e.To, &e.Reason, &e.Data)
		return e, err
	})
}

// purpose of every campaign message.
var campaignPurpose = channels.PurposeMarketing
