package care

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/robfig/cron/v3"

	"carillon/channels"
	"carillon/internal/apperr"
	"carillon/internal/audit"
	"carillon/templates"
)

// Kinds of care rule.
const (
	KindBirthday  = "birthday"   // the birthday rule, solar and lunar
	KindFestival  = "festival"   // one festival: festival.<key>
	KindDateField = "date_field" // a notice on a date stored in attrs
	KindExtension = "extension"  // planned by another package (Extension)
)

// Rule is a row of care_rules: what a rule plans, when, and how it is sent.
type Rule struct {
	Key     string `json:"key"`
	Kind    string `json:"kind"`
	Enabled bool   `json:"enabled"`
	// Schedule is when the scheduler tick plans the rule: a robfig/cron standard
	// spec, CRON_TZ= allowed. A run plans the day it fired in the schedule's
	// zone plus LeadDays.
	Schedule string `json:"schedule"`
	LeadDays int    `json:"lead_days"`
	// Channels in order of preference; empty means the kind's default.
	Channels []channels.Channel `json:"channels"`
	// Template is the template key; empty means the kind's default.
	Template string `json:"template,omitempty"`
	// SendTime is the local time of day ("09:00") in the recipient's zone.
	SendTime string `json:"send_time"`
	// Field, OffsetDays and Yearly are a date-field rule's: the attrs key
	// holding an ISO date, the notice's day relative to it (-7: a week
	// before), and whether the date's month-day recurs every year.
	Field      string `json:"field,omitempty"`
	OffsetDays int    `json:"offset_days,omitempty"`
	Yearly     bool   `json:"yearly,omitempty"`
	// Purpose is what the rule's messages are for: care (greetings, which a
	// customer may refuse per channel) or service (notices the bank must send).
	Purpose     channels.Purpose `json:"purpose"`
	Description string           `json:"description,omitempty"`
	UpdatedAt   time.Time        `json:"updated_at"`
}

// RuleChange changes a rule; nil keeps the value.
type RuleChange struct {
	Enabled     *bool               `json:"enabled,omitempty"`
	Schedule    *string             `json:"schedule,omitempty"`
	LeadDays    *int                `json:"lead_days,omitempty"`
	Channels    *[]channels.Channel `json:"channels,omitempty"`
	Template    *string             `json:"template,omitempty"`
	SendTime    *string             `json:"send_time,omitempty"`
	OffsetDays  *int                `json:"offset_days,omitempty"`
	Purpose     *channels.Purpose   `json:"purpose,omitempty"`
	Description *string             `json:"description,omitempty"`
}

// NewDateRule creates a date-field rule (POST /api/care-rules).
type NewDateRule struct {
	Key        string             `json:"key"`
	Field      string             `json:"field"`
	OffsetDays int                `json:"offset_days"`
	Yearly     bool               `json:"yearly"`
	Template   string             `json:"template"`
	Channels   []channels.Channel `json:"channels"`
	SendTime   string             `json:"send_time"`
	Schedule   string             `json:"schedule"`
	Enabled    *bool              `json:"enabled"`
	// Purpose: care (a greeting) or service (a notice); default care for a
	// yearly rule (an anniversary), service otherwise.
	Purpose     channels.Purpose `json:"purpose"`
	Description string           `json:"description"`
}

// Errors of the rules API.
var (
	ErrRuleNotFound = apperr.NotFound("care rule not found", "no such care rule")
	ErrBadSchedule  = apperr.Invalid("bad schedule")
	ErrBadRule      = apperr.Invalid("bad care rule")
	ErrRuleExists   = apperr.Conflict("care rule exists already", "")
)

// DefaultSchedule is a new rule's schedule: plan the coming day at 01:00
// Shanghai time.
const DefaultSchedule = "CRON_TZ=Asia/Shanghai 0 1 * * *"

const ruleColumns = `key, kind, enabled, schedule, lead_days, channels, COALESCE(template_key, ''), send_time,
  COALESCE(field, ''), offset_days, yearly, purpose, COALESCE(description, ''), updated_at`

func scanRule(r pgx.Row) (Rule, error) {
	var x Rule
	var chans []string
	err := r.Scan(&x.Key, &x.Kind, &x.Enabled, &x.Schedule, &x.LeadDays, &chans, &x.Template, &x.SendTime,
		&x.Field, &x.OffsetDays, &x.Yearly, &x.Purpose, &x.Description, &x.UpdatedAt)
	x.Channels = make([]channels.Channel, len(chans))
	for i, c := range chans {
		x.Channels[i] = channels.Channel(c)
	}
	return x, err
}

// Rules lists the care rules.
func (p *Planner) Rules(ctx context.Context) ([]Rule, error) {
	rows, err := p.pool.Query(ctx, `SELECT `+ruleColumns+` FROM care_rules ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("list care rules: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Rule, error) { return scanRule(r) })
	if err != nil {
		return nil, fmt.Errorf("list care rules: %w", err)
	}
	return out, nil
}

// Rule returns one rule.
func (p *Planner) Rule(ctx context.Context, key string) (Rule, error) {
	r, err := scanRule(p.pool.QueryRow(ctx, `SELECT `+ruleColumns+` FROM care_rules WHERE key = $1`, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return Rule{}, ErrRuleNotFound
	}
	return r, err
}

// EnsureFestivalRules creates, switched on, the rule of every configured
// festival (Config.Festivals) that has none yet — a festival added to the
// configuration (腊八, the bank's anniversary) then appears in the rules API.
// Existing rules are left as they are.
func (p *Planner) EnsureFestivalRules(ctx context.Context) error {
	fs, err := p.configuredFestivals()
	if err != nil {
		return err
	}
	for _, f := range fs {
		if _, err := p.pool.Exec(ctx, `INSERT INTO care_rules (key, kind, enabled, schedule, description, purpose)
			VALUES ($1, 'festival', true, $2, $3, 'care') ON CONFLICT (key) DO NOTHING`, FestivalRule(f.Key), DefaultSchedule, f.Name); err != nil {
			return fmt.Errorf("create the rule of festival %s: %w", f.Key, err)
		}
	}
	return nil
}

var (
	ruleKeyRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	sendRE    = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

func checkSchedule(s string) error {
	if _, err := cron.ParseStandard(s); err != nil {
		return fmt.Errorf("%w %q: %v (use a cron spec such as \"CRON_TZ=Asia/Shanghai 0 1 * * *\")", ErrBadSchedule, s, err)
	}
	return nil
}

func checkPurpose(p channels.Purpose) error {
	if p != channels.PurposeCare && p != channels.PurposeService {
		return fmt.Errorf("%w: purpose %q: care (a greeting, which a customer may refuse) or service (a notice the bank must send)", ErrBadRule, p)
	}
	return nil
}

func checkChannels(chs []channels.Channel) error {
	seen := map[channels.Channel]bool{}
	for _, ch := range chs {
		if ch != channels.WeChat && ch != channels.SMS && ch != channels.Email {
			return fmt.Errorf("%w: channels: %q is not a customer channel (wechat, sms, email)", ErrBadRule, ch)
		}
		if seen[ch] {
			return fmt.Errorf("%w: channels: %q named twice", ErrBadRule, ch)
		}
		seen[ch] = true
	}
	return nil
}

func checkSendTime(s string) error {
	if !sendRE.MatchString(s) {
		return fmt.Errorf("%w: send_time %q is not a time of day such as 09:00", ErrBadRule, s)
	}
	return nil
}

func checkOffset(n int) error {
	if n < -366 || n > 366 {
		return fmt.Errorf("%w: offset_days %d out of range -366..366", ErrBadRule, n)
	}
	return nil
}

func checkLead(n int) error {
	if n < 0 || n > 7 {
		return fmt.Errorf("%w: lead_days %d out of range 0..7", ErrBadRule, n)
	}
	return nil
}

func chanStrings(chs []channels.Channel) []string {
	out := make([]string, len(chs))
	for i, c := range chs {
		out[i] = string(c)
	}
	return out
}

// CreateDateRule creates a date-field rule: a notice OffsetDays from the date
// stored in the contacts' attrs under Field. The template must exist.
func (p *Planner) CreateDateRule(ctx context.Context, actor audit.Actor, nr NewDateRule) (Rule, error) {
	var problems []string
	if !ruleKeyRE.MatchString(nr.Key) {
		problems = append(problems, fmt.Sprintf("key %q: use lower-case letters, digits and _ (such as loan_due)", nr.Key))
	}
	if !ruleKeyRE.MatchString(nr.Field) {
		problems = append(problems, fmt.Sprintf("field %q: name an attrs key of lower-case letters, digits and _", nr.Field))
	}
	if nr.Template == "" {
		problems = append(problems, "template: required")
	}
	if nr.Purpose == "" {
		nr.Purpose = channels.PurposeService
		if nr.Yearly {
			nr.Purpose = channels.PurposeCare
		}
	}
	for _, err := range []error{checkOffset(nr.OffsetDays), checkChannels(nr.Channels), checkPurpose(nr.Purpose)} {
		if err != nil {
			problems = append(problems, strings.TrimPrefix(err.Error(), ErrBadRule.Error()+": "))
		}
	}
	if nr.SendTime == "" {
		nr.SendTime = DefaultSendTime
	}
	if err := checkSendTime(nr.SendTime); err != nil {
		problems = append(problems, strings.TrimPrefix(err.Error(), ErrBadRule.Error()+": "))
	}
	if nr.Schedule == "" {
		nr.Schedule = DefaultSchedule
	}
	if err := checkSchedule(nr.Schedule); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return Rule{}, fmt.Errorf("%w: %s", ErrBadRule, strings.Join(problems, "; "))
	}
	if len(nr.Channels) == 0 {
		nr.Channels = DefaultNoticeChannels()
	}
	enabled := nr.Enabled == nil || *nr.Enabled
	var out Rule
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		exists, err := templates.Exists(ctx, tx, nr.Template)
		if err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("%w: template %q does not exist", ErrBadRule, nr.Template)
		}
		out, err = scanRule(tx.QueryRow(ctx, `INSERT INTO care_rules (key, kind, enabled, schedule, channels, template_key, send_time, field, offset_days, yearly, description, purpose)
			VALUES (@key, 'date_field', @enabled, @schedule, @channels, @template, @send_time, @field, @offset, @yearly, NULLIF(@description, ''), @purpose)
			RETURNING `+ruleColumns, pgx.NamedArgs{"key": nr.Key, "enabled": enabled, "schedule": nr.Schedule,
			"channels": chanStrings(nr.Channels), "template": nr.Template, "send_time": nr.SendTime, "field": nr.Field,
			"offset": nr.OffsetDays, "yearly": nr.Yearly, "description": nr.Description, "purpose": nr.Purpose}))
		if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "23505" {
			return fmt.Errorf("%w: %s", ErrRuleExists, nr.Key)
		}
		if err != nil {
			return err
		}
		return audit.Append(ctx, tx, actor, time.Now(), audit.Entry{Action: "care_rule.create", ObjectType: "care_rule", ObjectID: nr.Key,
			Changes: map[string]any{"kind": KindDateField, "field": nr.Field, "offset_days": nr.OffsetDays, "yearly": nr.Yearly,
				"template": nr.Template, "channels": nr.Channels, "send_time": nr.SendTime, "schedule": nr.Schedule, "enabled": enabled, "purpose": nr.Purpose}})
	})
	return out, err
}

// UpdateRule changes a rule, checking every value, and records the change in the
// audit log (the rule's history: GET /api/audit?object_type=care_rule&object_id=KEY).
func (p *Planner) UpdateRule(ctx context.Context, actor audit.Actor, key string, ch RuleChange) (Rule, error) {
	if ch.Schedule != nil {
		if err := checkSchedule(*ch.Schedule); err != nil {
			return Rule{}, err
		}
	}
	var checks []error
	if ch.Channels != nil {
		checks = append(checks, checkChannels(*ch.Channels))
	}
	if ch.SendTime != nil {
		checks = append(checks, checkSendTime(*ch.SendTime))
	}
	if ch.OffsetDays != nil {
		checks = append(checks, checkOffset(*ch.OffsetDays))
	}
	if ch.LeadDays != nil {
		checks = append(checks, checkLead(*ch.LeadDays))
	}
	if ch.Purpose != nil {
		checks = append(checks, checkPurpose(*ch.Purpose))
	}
	if err := errors.Join(checks...); err != nil {
		return Rule{}, err
	}
	var out Rule
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		before, err := scanRule(tx.QueryRow(ctx, `SELECT `+ruleColumns+` FROM care_rules WHERE key = $1 FOR UPDATE`, key))
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrRuleNotFound
		}
		if err != nil {
			return err
		}
		if ch.OffsetDays != nil && before.Kind != KindDateField {
			return fmt.Errorf("%w: offset_days applies to date-field rules only", ErrBadRule)
		}
		if ch.Template != nil && *ch.Template != "" {
			exists, err := templates.Exists(ctx, tx, *ch.Template)
			if err != nil {
				return err
			}
			if !exists {
				return fmt.Errorf("%w: template %q does not exist", ErrBadRule, *ch.Template)
			}
		}
		var chans []string
		if ch.Channels != nil {
			chans = chanStrings(*ch.Channels)
		}
		out, err = scanRule(tx.QueryRow(ctx, `UPDATE care_rules SET enabled = COALESCE(@enabled, enabled), schedule = COALESCE(@schedule, schedule),
			description = COALESCE(@description, description), lead_days = COALESCE(@lead_days, lead_days), channels = COALESCE(@channels, channels),
			template_key = CASE WHEN @template::text IS NULL THEN template_key ELSE NULLIF(@template, '') END,
			send_time = COALESCE(@send_time, send_time), offset_days = COALESCE(@offset, offset_days), purpose = COALESCE(@purpose, purpose), updated_at = now()
			WHERE key = @key RETURNING `+ruleColumns, pgx.NamedArgs{"key": key, "enabled": ch.Enabled, "schedule": ch.Schedule,
			"description": ch.Description, "lead_days": ch.LeadDays, "channels": chans, "template": ch.Template,
			"send_time": ch.SendTime, "offset": ch.OffsetDays, "purpose": ch.Purpose}))
		if err != nil {
			return err
		}
		changes := map[string]any{}
		diff := func(name string, from, to any) {
			if fmt.Sprint(from) != fmt.Sprint(to) {
				changes[name] = map[string]any{"from": from, "to": to}
			}
		}
		diff("enabled", before.Enabled, out.Enabled)
		diff("schedule", before.Schedule, out.Schedule)
		diff("description", before.Description, out.Description)
		diff("lead_days", before.LeadDays, out.LeadDays)
		diff("template", before.Template, out.Template)
		diff("send_time", before.SendTime, out.SendTime)
		diff("offset_days", before.OffsetDays, out.OffsetDays)
		diff("purpose", before.Purpose, out.Purpose)
		if !slices.Equal(before.Channels, out.Channels) {
			changes["channels"] = map[string]any{"from": before.Channels, "to": out.Channels}
		}
		if len(changes) == 0 {
			return nil
		}
		return audit.Append(ctx, tx, actor, time.Now(), audit.Entry{Action: "care_rule.update", ObjectType: "care_rule", ObjectID: key, Changes: changes})
	})
	return out, err
}
