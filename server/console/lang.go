package console

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
	"time"

	"carillon/contacts"
)

// Words from data, in the page's language: the stored English of an event or
// a state stays for English pages; a Chinese page gets a sentence built from
// the event's kind and data (i18n_lang.go holds the texts).

// trOr is key's text in lang, or fallback when there is none.
func trOr(lang, key, fallback string) string {
	if _, ok := messages[key]; !ok {
		return fallback
	}
	return tr(lang, key)
}

// KindName is a timeline event kind as a person reads it.
func (v *view) KindName(kind string) string {
	if v.Lang == "en" {
		return kind
	}
	return trOr(v.Lang, "lang.kind."+kind, tr(v.Lang, "lang.kind.other"))
}

// Chan is a channel's name (sms → 短信).
func (v *view) Chan(ch any) string { return chanName(v.Lang, fmt.Sprint(ch)) }

// Chans joins channels' names with sep.
func (v *view) Chans(chs any, sep string) string {
	var names []string
	switch cs := chs.(type) {
	case []string:
		for _, c := range cs {
			names = append(names, chanName(v.Lang, c))
		}
	default:
		for _, c := range strings.Fields(strings.Trim(fmt.Sprint(chs), "[]")) {
			names = append(names, chanName(v.Lang, c))
		}
	}
	return strings.Join(names, sep)
}

func chanName(lang, ch string) string {
	if lang == "en" {
		return ch
	}
	return trOr(lang, "lang.ch."+ch, ch)
}

// Provider is a provider's display name: its kind's name (阿里云短信) for a
// configured provider name (ali).
func (v *view) Provider(name string) string { return v.c.providerName(v.Lang, name) }

func (c *Console) providerName(lang, name string) string {
	if lang == "en" {
		return name
	}
	kind := name
	if c.deps.Registry != nil {
		if p, ok := c.deps.Registry.Provider(name); ok {
			if p.DisplayName != "" {
				return p.DisplayName
			}
			kind = p.Kind
		}
	}
	return trOr(lang, "lang.prov."+kind, name)
}

// Who is an actor as a person reads it: a staff member's display name, the
// provider's name, or what the system part is.
func (v *view) Who(actor string) string { return v.c.actorName(v.ctx, v.Lang, actor) }

func (c *Console) actorName(ctx context.Context, lang, actor string) string {
	kind, rest, found := strings.Cut(actor, ":")
	if !found {
		if lang == "en" {
			return actor
		}
		return trOr(lang, "lang.actor."+actor, actor)
	}
	switch kind {
	case "provider":
		return c.providerName(lang, rest)
	case "console", "demo", "api", "user":
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if u, err := c.deps.Users.GetUser(ctx, rest); err == nil && u.DisplayName != "" {
			return u.DisplayName
		}
		if lang != "en" && kind == "console" {
			return rest
		}
	}
	if lang == "en" {
		return actor
	}
	return trOr(lang, "lang.actor."+kind, rest)
}

// Action is a campaign event's action (create, run_completed…).
func (v *view) Action(a any) string {
	if v.Lang == "en" {
		return fmt.Sprint(a)
	}
	return trOr(v.Lang, "lang.act."+fmt.Sprint(a), fmt.Sprint(a))
}

// CampStatus is a campaign's status; "" stays "".
func (v *view) CampStatus(s any) string {
	if fmt.Sprint(s) == "" {
		return ""
	}
	return trOr(v.Lang, "camp.status."+fmt.Sprint(s), fmt.Sprint(s))
}

// Half is the page's half of a text written "English / 中文" in one string (the
// calendar package's warnings); a text without the separator is shown whole.
func (v *view) Half(s string) string {
	en, zh, ok := strings.Cut(s, " / ")
	if !ok {
		return s
	}
	if v.Lang == "en" {
		return en
	}
	return zh
}

// RunStatus is a run's state.
func (v *view) RunStatus(s any) string { return runStatusText(v.Lang, s) }

func runStatusText(lang string, s any) string {
	if lang == "en" {
		return fmt.Sprint(s)
	}
	return trOr(lang, "lang.run."+fmt.Sprint(s), fmt.Sprint(s))
}

// eventData is what the timeline's sentences read of an event's data.
type eventData struct {
	Template       string          `json:"template"`
	Channel        string          `json:"channel"`
	Provider       string          `json:"provider"`
	To             string          `json:"to"`
	Code           string          `json:"code"`
	Reason         string          `json:"reason"`
	Until          *time.Time      `json:"until"`
	MaybeDuplicate bool            `json:"maybe_duplicate"`
	Link           *int            `json:"link"`
	Purpose        string          `json:"purpose"`
	Granted        bool            `json:"granted"`
	Source         string          `json:"source"`
	Method         string          `json:"method"`
	OnTime         bool            `json:"on_time"`
	DueOn          json.RawMessage `json:"due_on"`
	Tag            string          `json:"tag"`
}

// EventText is an event's sentence: the stored summary in English, one built
// from its kind and data in Chinese.
func (v *view) EventText(e contacts.Event) string {
	if v.Lang == "en" {
		return e.Summary
	}
	return v.c.eventText(v.Lang, e)
}

func (c *Console) eventText(lang string, e contacts.Event) string {
	var d eventData
	_ = json.Unmarshal(e.Data, &d)
	f := func(key string, args ...any) string { return fmt.Sprintf(tr(lang, key), args...) }
	status, isMessage := strings.CutPrefix(e.Kind, "message.")
	switch {
	case e.Kind == "message.sent":
		s := f("lang.ev.sent", d.Template, chanName(lang, d.Channel), d.To)
		if d.MaybeDuplicate {
			s += tr(lang, "lang.ev.sent_again")
		}
		return s
	case isMessage && (status == "delivered" || status == "failed") && e.Actor != "delivery":
		s := f("lang.ev.receipt", d.Template, tr(lang, "lang.msg."+status), chanName(lang, d.Channel))
		if d.Code != "" && status == "failed" { // a delivered receipt's code says nothing more
			s += f("lang.ev.receipt_code", c.providerName(lang, d.Provider), d.Code)
		}
		return s
	case e.Kind == "message.deferred":
		until := ""
		if d.Until != nil {
			until = c.fmtTime(*d.Until)
		}
		return f("lang.ev.deferred", d.Template, until)
	case e.Kind == "message.requeued":
		return f("lang.ev.requeued", d.Template)
	case e.Kind == "message.opened":
		return f("lang.ev.opened", d.Template)
	case e.Kind == "message.clicked":
		n := 0
		if d.Link != nil {
			n = *d.Link
		}
		return f("lang.ev.clicked", d.Template, n+1)
	case isMessage:
		return f("lang.ev.outcome", d.Template, trOr(lang, "lang.msg."+status, c.KindNameOf(lang, e.Kind)), reasonText(lang, d.Reason))
	case e.Kind == "reply.received":
		return f("lang.ev.reply", chanName(lang, d.Channel))
	case e.Kind == "wechat.followed":
		return tr(lang, "lang.ev.followed")
	case e.Kind == contacts.EventConsentChanged:
		verb := tr(lang, "lang.ev.revoked")
		if d.Granted {
			verb = tr(lang, "lang.ev.granted")
		}
		return f("lang.ev.consent", chanName(lang, d.Channel), trOr(lang, "purpose."+d.Purpose, d.Purpose), verb,
			trOr(lang, "lang.source."+d.Source, d.Source))
	case e.Kind == contacts.EventCreated:
		return tr(lang, "lang.ev.created")
	case e.Kind == contacts.EventUpdated:
		return tr(lang, "lang.ev.updated")
	case e.Kind == contacts.EventErased:
		return tr(lang, "lang.ev.erased")
	case e.Kind == contacts.EventTagged:
		return f("lang.ev.tagged", d.Tag)
	case e.Kind == contacts.EventUntagged:
		return f("lang.ev.untagged", d.Tag)
	case e.Kind == "revisit.logged":
		s := f("lang.ev.revisit", trOr(lang, "method."+d.Method, d.Method))
		var due string
		switch {
		case len(d.DueOn) == 0 || string(d.DueOn) == "null":
		case d.OnTime:
			s += tr(lang, "lang.ev.on_time")
		default:
			_ = json.Unmarshal(d.DueOn, &due)
			s += f("lang.ev.late", due)
		}
		return s
	}
	return f("lang.ev.other", c.KindNameOf(lang, e.Kind))
}

// KindNameOf is a kind's name outside a page.
func (c *Console) KindNameOf(lang, kind string) string {
	return trOr(lang, "lang.kind."+kind, tr(lang, "lang.kind.other"))
}

// Source is where a consent came from (console, api, import…).
func (v *view) Source(s string) string {
	if v.Lang == "en" {
		return s
	}
	return trOr(v.Lang, "lang.source."+s, s)
}

// Chan is a channel's name in the preview fragment.
func (p previewData) Chan(ch any) string { return chanName(p.Lang, fmt.Sprint(ch)) }

// Msg is an error message in the page's language.
func (v *view) Msg(m string) string { return trMessage(v.Lang, m) }

// Msg is an error message in the preview's language.
func (p previewData) Msg(m string) string { return trMessage(p.Lang, m) }

// FieldLabel is a template form field's label: the field's name in the
// page's language, a provider's parameter or a WeChat field key kept as the
// code it is.
func (v *view) FieldLabel(label string) template.HTML {
	if v.Lang == "en" {
		if k, ok := messages["lang.tfield."+label]; ok {
			label = k[0]
		}
		return template.HTML(template.HTMLEscapeString(label)) //nolint:gosec // escaped
	}
	if k, ok := messages["lang.tfield."+label]; ok {
		return template.HTML(template.HTMLEscapeString(k[1])) //nolint:gosec // escaped
	}
	if name, format, ok := strings.Cut(label, " ("); ok && name == "content" { // WeCom's content (markdown)
		return template.HTML(template.HTMLEscapeString(tr(v.Lang, "lang.tfield.content") + "（" + //nolint:gosec // escaped
			trOr(v.Lang, "lang.tformat."+strings.TrimSuffix(format, ")"), strings.TrimSuffix(format, ")")) + "）"))
	}
	if prov, key, ok := strings.Cut(label, " "); ok { // a mainland provider's template code or parameter
		what := tr(v.Lang, "lang.tfield.param")
		if key == "code" {
			return template.HTML(template.HTMLEscapeString(v.c.providerKindName(v.Lang, prov) + " " + tr(v.Lang, "lang.tfield.code"))) //nolint:gosec // escaped
		}
		return template.HTML(template.HTMLEscapeString(v.c.providerKindName(v.Lang, prov)+" "+what) + " <code>" + template.HTMLEscapeString(key) + "</code>") //nolint:gosec // escaped
	}
	return template.HTML(tr(v.Lang, "lang.tfield.wechat") + " <code>" + template.HTMLEscapeString(label) + "</code>") //nolint:gosec // escaped
}

func (c *Console) providerKindName(lang, kind string) string {
	return trOr(lang, "lang.prov."+kind, kind)
}

// TplSource is where a template's variables come from (care.birthday…).
func (v *view) TplSource(s string) string {
	if v.Lang == "en" {
		return s
	}
	return trOr(v.Lang, "lang.tsrc."+s, s)
}

// RuleKind is a care rule's kind (birthday, festival, date_field, extension).
func (v *view) RuleKind(k string) string {
	if v.Lang == "en" {
		return k
	}
	return trOr(v.Lang, "lang.rule."+k, k)
}

// BirthNote is an upcoming birthday's calendar note ("solar" → 公历); a lunar
// date is already written in Chinese.
func (v *view) BirthNote(note string) string {
	if note == "solar" {
		return tr(v.Lang, "lang.cal.solar")
	}
	return note
}

// reasonText is why delivery held, stopped or failed a message
// ("permanent: isv.MOBILE_NUMBER_ILLEGAL" → 永久错误（isv.MOBILE_NUMBER_ILLEGAL）).
func reasonText(lang, reason string) string {
	head, code, _ := strings.Cut(reason, ":")
	t, ok := messages["lang.reason."+head]
	if !ok {
		if reason == "" {
			return tr(lang, "lang.reason.none")
		}
		return reason
	}
	s := t[1]
	if code = strings.TrimSpace(code); code != "" {
		s += "（" + code + "）"
	}
	return s
}

// Outcome is a revisit's outcome: one of the offered ones in the page's
// language, or the words the manager typed.
func (v *view) Outcome(o string) string { return trOr(v.Lang, "outcome."+o, o) }

// QueueName is a River queue's name as staff read it; a queue the console
// does not know keeps its name.
func (v *view) QueueName(q string) string {
	if v.Lang == "en" {
		return q
	}
	return trOr(v.Lang, "lang.queue."+q, q)
}
