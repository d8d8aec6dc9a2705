package revisits

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"carillon/calendar"
	"carillon/channels"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/audit"
	"carillon/templates"
)

// Alert rule kinds. The rules live in revisit_alert_rules; a trigger on
// contacts checks every update (an import, the API) against the enabled ones
// in one set-based statement and records an alert for the customer's manager,
// carried by their next digest.
const (
	// KindAttrDrop: a numeric attribute fell by at least Threshold (a
	// fraction: 0.30 is 30%).
	KindAttrDrop = "attr_drop"
	// KindAttrRise: a numeric attribute rose by at least Threshold.
	KindAttrRise = "attr_rise"
	// KindTierDowngrade: the tier moved down (A → B …).
	KindTierDowngrade = "tier_downgrade"
)

// AlertRule is a change alert rule.
type AlertRule struct {
	Key         string   `json:"key"`
	Kind        string   `json:"kind"`
	Attr        string   `json:"attr,omitempty"`
	Threshold   *float64 `json:"threshold,omitempty"`
	Enabled     bool     `json:"enabled"`
	Description string   `json:"description"`
	// NameZh and NameEn name the rule in the managers' digests; empty: a name
	// made from its kind and attribute (RuleNames).
	NameZh    string    `json:"name_zh,omitempty"`
	NameEn    string    `json:"name_en,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// RuleNames names an alert rule in Chinese and English for the digests: its
// configured names, else one made from its kind ("「deposit」下降" / "deposit
// down"), else, for a rule no longer configured, its key.
func RuleNames(key string, r *AlertRule) (zh, en string) {
	if key == RuleComplaint {
		return "客户投诉", "Complaint"
	}
	if r == nil {
		return key, key
	}
	zh, en = r.NameZh, r.NameEn
	var kzh, ken string
	switch r.Kind {
	case KindAttrDrop:
		kzh, ken = "「"+r.Attr+"」下降", r.Attr+" down"
	case KindAttrRise:
		kzh, ken = "「"+r.Attr+"」上升", r.Attr+" up"
	case KindTierDowngrade:
		kzh, ken = "客户等级下调", "Tier downgraded"
	default:
		kzh, ken = key, key
	}
	if zh == "" {
		zh = kzh
	}
	if en == "" {
		en = ken
	}
	return zh, en
}

var ruleKeyRE = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,62}$`)

func (r AlertRule) check() error {
	var f fieldErrors
	if !ruleKeyRE.MatchString(r.Key) {
		f.add("key", "%q is not a rule key (lowercase letters, digits, _ . -; at most 63)", r.Key)
	}
	if r.Key == RuleComplaint {
		f.add("key", "%q is reserved for complaints", r.Key)
	}
	switch r.Kind {
	case KindAttrDrop, KindAttrRise:
		if !attrKeyRE.MatchString(r.Attr) {
			f.add("attr", "%q is not an attribute key", r.Attr)
		}
		if r.Threshold == nil || *r.Threshold <= 0 || *r.Threshold > 100 || (r.Kind == KindAttrDrop && *r.Threshold >= 1) {
			f.add("threshold", "must be a fraction above 0 (0.30 is 30%%), below 1 for a drop")
		}
	case KindTierDowngrade:
		if r.Attr != "" || r.Threshold != nil {
			f.add("attr", "a tier_downgrade rule takes no attr or threshold")
		}
	default:
		f.add("kind", "%q is not a kind (attr_drop, attr_rise, tier_downgrade)", r.Kind)
	}
	checkText(&f, "description", r.Description, false)
	for field, v := range map[string]string{"name_zh": r.NameZh, "name_en": r.NameEn} {
		if utf8.RuneCountInString(v) > 100 {
			f.add(field, "is longer than 100 characters")
		}
	}
	return f.err()
}

const alertRuleColumns = `key, kind, COALESCE(attr, ''), threshold::float8, enabled, description, name_zh, name_en, updated_at`

func scanAlertRule(row pgx.Row) (AlertRule, error) {
	var r AlertRule
	err := row.Scan(&r.Key, &r.Kind, &r.Attr, &r.Threshold, &r.Enabled, &r.Description, &r.NameZh, &r.NameEn, &r.UpdatedAt)
	return r, notFound(err)
}

// AlertRules lists the change alert rules by key.
func (s *Service) AlertRules(ctx context.Context) ([]AlertRule, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+alertRuleColumns+` FROM revisit_alert_rules ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("list alert rules: %w", err)
	}
	out := []AlertRule{}
	for rows.Next() {
		r, err := scanAlertRule(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// PutAlertRule creates or replaces a rule, audited. It applies to updates
// from then on.
func (s *Service) PutAlertRule(ctx context.Context, actor audit.Actor, r AlertRule) (AlertRule, error) {
	if err := r.check(); err != nil {
		return AlertRule{}, err
	}
	var attr *string
	if r.Attr != "" {
		attr = &r.Attr
	}
	var out AlertRule
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		out, err = scanAlertRule(tx.QueryRow(ctx, `INSERT INTO revisit_alert_rules (key, kind, attr, threshold, enabled, description, name_zh, name_en, updated_at)
			VALUES (@key, @kind, @attr, @threshold, @enabled, @description, @name_zh, @name_en, @now)
			ON CONFLICT (key) DO UPDATE SET kind = EXCLUDED.kind, attr = EXCLUDED.attr, threshold = EXCLUDED.threshold,
			  enabled = EXCLUDED.enabled, description = EXCLUDED.description, updated_at = EXCLUDED.updated_at,
			  name_zh = CASE WHEN EXCLUDED.name_zh = '' THEN revisit_alert_rules.name_zh ELSE EXCLUDED.name_zh END,
			  name_en = CASE WHEN EXCLUDED.name_en = '' THEN revisit_alert_rules.name_en ELSE EXCLUDED.name_en END
			RETURNING `+alertRuleColumns, pgx.NamedArgs{"key": r.Key, "kind": r.Kind, "attr": attr, "threshold": r.Threshold, "enabled": r.Enabled,
			"description": r.Description, "name_zh": r.NameZh, "name_en": r.NameEn, "now": s.cfg.Now()}))
		if err != nil {
			return fmt.Errorf("save alert rule %s: %w", r.Key, err)
		}
		ch := map[string]any{"kind": r.Kind, "enabled": r.Enabled}
		if r.Attr != "" {
			ch["attr"], ch["threshold"] = r.Attr, *r.Threshold
		}
		return audit.Append(ctx, tx, actor, s.cfg.Now(), audit.Entry{Action: "revisit.alert_rule", ObjectType: "revisit_alert_rule", ObjectID: r.Key, Changes: ch})
	})
	return out, err
}

// RuleComplaint is the alert rule of a new complaint: pushed to its owner at
// once (KeyAlert), not kept for the next digest.
const RuleComplaint = "complaint"

// KeyAlert is the template of the immediate alert to a manager (a new
// complaint). Its variables are the digest's (source revisit.digest): one
// item per customer, DueDate the day it must be answered by.
const KeyAlert = "revisit_alert"

// AlertTemplate is the built-in definition of KeyAlert, in zh-CN and en, on
// WeCom (markdown) and email.
func AlertTemplate() templates.Definition {
	const zh = `**客户投诉提醒** {{date .Digest.Date}}
{{.Manager.Name}}，您有 **{{.Digest.Total}}** 位客户的新投诉，请及时跟进：
{{range .Digest.Items}}> {{.Name}}（{{.Tier}} 类）· {{.ExternalID}} · 请于 <font color="warning">{{date .DueDate}}</font> 前处理
{{end}}
[打开反馈记录]({{.Digest.URL}})`
	const en = `**New customer complaint** {{date .Digest.Date}}
{{.Manager.Name}}, **{{.Digest.Total}}** of your customers raised a complaint:
{{range .Digest.Items}}> {{.Name}} (tier {{.Tier}}) · {{.ExternalID}} · answer by <font color="warning">{{date .DueDate}}</font>
{{end}}
[Open the feedback record]({{.Digest.URL}})`
	const htmlZH = `<!DOCTYPE html>
<html lang="zh-CN"><body style="margin:0;padding:24px;font-family:sans-serif;color:#333;line-height:1.6">
<p>{{.Manager.Name}}，您好：</p><p>您有 <strong>{{.Digest.Total}}</strong> 位客户的新投诉，请及时跟进：</p>
<ul>{{range .Digest.Items}}<li>{{.Name}}（{{.Tier}} 类，{{.ExternalID}}）：请于 <strong>{{date .DueDate}}</strong> 前处理</li>{{end}}</ul>
<p><a href="{{.Digest.URL}}">打开反馈记录</a></p></body></html>
`
	const htmlEN = `<!DOCTYPE html>
<html lang="en"><body style="margin:0;padding:24px;font-family:sans-serif;color:#333;line-height:1.6">
<p>Hello {{.Manager.Name}},</p><p><strong>{{.Digest.Total}}</strong> of your customers raised a complaint:</p>
<ul>{{range .Digest.Items}}<li>{{.Name}} (tier {{.Tier}}, {{.ExternalID}}): answer by <strong>{{date .DueDate}}</strong></li>{{end}}</ul>
<p><a href="{{.Digest.URL}}">Open the feedback record</a></p></body></html>
`
	return templates.Definition{
		Key: KeyAlert, Purpose: templates.Service, Source: templates.SourceDigest, DefaultLocale: "zh-CN",
		Description: "An immediate alert to a manager: a new customer complaint",
		Variants: []templates.Variant{
			{Channel: templates.WeCom, Locale: "zh-CN", WeCom: &templates.WeComVariant{Format: templates.FormatMarkdown, Content: zh}},
			{Channel: templates.WeCom, Locale: "en", WeCom: &templates.WeComVariant{Format: templates.FormatMarkdown, Content: en}},
			{Channel: templates.Email, Locale: "zh-CN", Email: &templates.EmailVariant{Subject: "客户投诉提醒：{{.Digest.Total}} 位客户", HTML: htmlZH}},
			{Channel: templates.Email, Locale: "en", Email: &templates.EmailVariant{Subject: "New customer complaint: {{.Digest.Total}}", HTML: htmlEN}},
		},
	}
}

// InstallTemplates saves the package's templates (KeyAlert) as their first
// version when the key does not exist yet; a key that exists (edited or not)
// is left alone. Serve calls it at start.
func InstallTemplates(ctx context.Context, st *templates.Store) error {
	def := AlertTemplate()
	_, err := st.Get(ctx, def.Key)
	if err == nil {
		return nil
	}
	if !errors.Is(err, templates.ErrNotFound) {
		return fmt.Errorf("install template %s: %w", def.Key, err)
	}
	if _, _, err := st.Save(ctx, audit.System, def, templates.SaveOptions{Activate: true, Note: "installed by revisits"}); err != nil {
		return fmt.Errorf("install template %s: %w", def.Key, err)
	}
	return nil
}

// pushComplaint enqueues, in tx, the immediate alert of a new complaint to
// its owner and closes its alert row as pushed, so the next digest does not
// repeat it. Without an enqueuer the alert waits for the next digest.
func (s *Service) pushComplaint(ctx context.Context, tx pgx.Tx, c contacts.Contact, fb Feedback, today calendar.Date) error {
	if s.enq == nil {
		return nil
	}
	due := today
	if fb.SLADue != nil {
		due = *fb.SLADue
	}
	u := s.cfg.ConsoleURL + "/feedback?" + url.Values{"id": {strconv.FormatInt(fb.ID, 10)}}.Encode()
	vars := map[string]any{"Digest": map[string]any{"Date": today, "Total": 1, "Overdue": 0, "URL": u, "Items": []map[string]any{{
		"ContactID": c.ID, "Name": c.Name, "Tier": c.Tier, "ExternalID": c.ExternalID, "DueDate": due, "Overdue": false}}}}
	p := delivery.Planned{DedupeKey: "complaint:" + strconv.FormatInt(fb.ID, 10), ManagerID: fb.OwnerID, Source: Source,
		SourceID: RuleComplaint, Purpose: channels.PurposeService, TemplateKey: KeyAlert, Vars: vars,
		Channels: slices.Clone(s.cfg.DigestChannels)}
	if _, err := s.enq.Enqueue(ctx, tx, []delivery.Planned{p}); err != nil {
		return fmt.Errorf("push complaint %d: %w", fb.ID, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE revisit_alerts SET closed = 'pushed', closed_on = $2::date
		WHERE rule = 'complaint' AND closed IS NULL AND (data ->> 'feedback_id')::bigint = $1`, fb.ID, today.String()); err != nil {
		return fmt.Errorf("close complaint alert: %w", err)
	}
	return nil
}
