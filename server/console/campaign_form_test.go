package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/audit"
	"carillon/templates"
)

// saveRateTemplate saves a campaign template declaring typed variables.
func saveRateTemplate(t *testing.T, w *world) {
	t.Helper()
	_, _, err := w.tmpl.Save(w.ctx, audit.Actor{Name: "test"}, templates.Definition{Key: "campaign.rate", Purpose: templates.Marketing,
		Source: templates.SourceCampaign, DefaultLocale: "zh-CN", Description: "定期存款利率 Deposit rate",
		Variables: []templates.Variable{
			{Name: "rate", Type: templates.Money, Required: true, Label: "利率", LabelEN: "Rate", Sample: 3.1},
			{Name: "until", Type: templates.Date, Label: "截止", LabelEN: "Until"},
			{Name: "months", Type: templates.Int, LabelEN: "Months", Default: 12},
		},
		Variants: []templates.Variant{{Channel: templates.SMS, Locale: "zh-CN", SMS: &templates.SMSVariant{SignName: "示例银行",
			Text: "{{.Contact.Salutation}}，{{.Campaign.months}}个月利率{{.Campaign.rate}}。拒收请回复R"}}}}, templates.SaveOptions{Activate: true})
	require.NoError(t, err)
}

func TestCampaignFormVariablesAsFields(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	saveRateTemplate(t, w)
	mk := w.signedIn(t, "marketer")

	// The fields of a template come when it is chosen (the form's fetch).
	frag := mk.post(Prefix+"/campaigns/var-fields", url.Values{"template": {"campaign.rate"}, "vars": {`{"rate": 2.5}`}})
	require.Equal(t, http.StatusOK, frag.status, frag.body)
	require.Contains(t, frag.body, `type="number" name="var.rate"`)
	require.Contains(t, frag.body, `value="2.5"`)
	require.Contains(t, frag.body, `type="date" name="var.until"`)
	require.Regexp(t, `Rate <abbr class="form-req"`, frag.body, "a required variable is marked")

	// Bad input is refused per field, bilingual, and kept as typed.
	form := campaignForm("Rates")
	form.Set("template", "campaign.rate")
	form.Del("vars")
	form.Set("var.rate", "three")
	form.Set("var.until", "2027-02-30")
	form.Set("var.months", "6")
	r := mk.post(Prefix+"/campaigns", form)
	require.Equal(t, http.StatusBadRequest, r.status, r.body)
	require.Contains(t, r.body, `<div class="problem" data-field="vars.rate">Enter a number, e.g. 3.5.</div>`)
	require.Contains(t, r.body, `data-field="vars.until"`)
	require.Contains(t, r.body, `value="three"`, "what was typed is kept")
	require.Contains(t, r.body, `value="6"`)
	mk.lang = "zh"
	r = mk.post(Prefix+"/campaigns", form)
	require.Contains(t, r.body, "请输入数字")
	mk.lang = "en"

	// Good input is saved as the vars JSON the API takes.
	form.Set("var.rate", "3.25")
	form.Set("var.until", "2027-03-31")
	path := createCampaign(t, mk, form)
	cp, err := w.camps.Get(w.ctx, campaignID(t, path))
	require.NoError(t, err)
	require.Equal(t, map[string]any{"rate": 3.25, "until": "2027-03-31", "months": float64(6)}, cp.Vars)

	// Editing shows the fields filled, and the JSON under "Advanced".
	edit := mk.getOK(path + "/edit")
	require.Contains(t, edit.body, `name="var.rate" id="var-rate" data-var="rate" data-type="number" step="0.01" value="3.25"`)
	require.Contains(t, edit.body, `<summary>Advanced</summary>`)
	require.Contains(t, edit.body, `&#34;until&#34;: &#34;2027-03-31&#34;`)

	// A field emptied leaves the variable out; the JSON box keeps undeclared keys.
	form.Set("var.until", "")
	form.Set("vars", `{"rate": 1, "extra": "x"}`)
	r = mk.post(path, form)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	cp, err = w.camps.Get(w.ctx, cp.ID)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"rate": 3.25, "months": float64(6), "extra": "x"}, cp.Vars)
	// The JSON box edited by hand (not what the form showed) wins over the inputs.
	form.Set("vars_shown", "{}")
	form.Set("vars", `{"rate": 4}`)
	r = mk.post(path, form)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	cp, err = w.camps.Get(w.ctx, cp.ID)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"rate": float64(4)}, cp.Vars)
}

var firingRE = regexp.MustCompile(`<li>([^<]+)</li>`)

func TestCampaignFormSchedulePicker(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	mk := w.signedIn(t, "marketer")

	// Weekly on Monday at 10:00 writes the cron in the console's zone.
	form := campaignForm("Mondays")
	form.Set("kind", "cron")
	form.Set("every", "weekly")
	form.Set("rtime", "10:00")
	form["dow"] = []string{"1"}
	form.Del("window")
	form.Set("window_from", "09:30")
	form.Set("window_to", "20:00")
	path := createCampaign(t, mk, form)
	cp, err := w.camps.Get(w.ctx, campaignID(t, path))
	require.NoError(t, err)
	require.Equal(t, "CRON_TZ=Asia/Shanghai 0 10 * * 1", cp.Schedule.Cron)
	require.Equal(t, "09:30-20:00", cp.Window)

	// The edit form shows the picker, and the next five firings, all Mondays at 10:00.
	edit := mk.getOK(path + "/edit")
	require.Contains(t, edit.body, `<option value="weekly" selected>`)
	require.Contains(t, edit.body, `name="dow" value="1" checked`)
	require.Contains(t, edit.body, `type="time" name="window_from" id="window-from" value="09:30"`)
	fs := firingRE.FindAllStringSubmatch(edit.body[strings.Index(edit.body, `id="next-firings"`):], -1)
	require.Len(t, fs, 5, edit.body)
	for _, f := range fs {
		require.Regexp(t, `^Mon \d{4}-\d\d-\d\d 10:00$`, f[1])
	}

	// The fragment the form fetches: monthly, and the errors of a half-filled picker.
	frag := mk.post(Prefix+"/campaigns/schedule", url.Values{"kind": {"cron"}, "every": {"monthly"}, "rtime": {"08:15"}, "dom": {"5"}})
	require.Contains(t, frag.body, "CRON_TZ=Asia/Shanghai 15 8 5 * *")
	require.Len(t, firingRE.FindAllString(frag.body, -1), 5)
	frag = mk.post(Prefix+"/campaigns/schedule", url.Values{"kind": {"cron"}, "every": {"weekly"}, "rtime": {"08:15"}})
	require.Contains(t, frag.body, "tick at least one day")
	r := mk.post(path, url.Values{"name": {"Mondays"}, "expr": form["expr"], "template": form["template"], "ch1": {"sms"},
		"kind": {"cron"}, "every": {"daily"}, "window_from": {"09:00"}})
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, r.body, "choose the time of day")
	require.Contains(t, r.body, "give both the start and the end")

	// A raw spec under "Advanced" still works.
	form.Set("every", "custom")
	form.Set("cron", "CRON_TZ=Asia/Shanghai 30 9 1,15 * *")
	r = mk.post(path, form)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	cp, err = w.camps.Get(w.ctx, cp.ID)
	require.NoError(t, err)
	require.Equal(t, "CRON_TZ=Asia/Shanghai 30 9 1,15 * *", cp.Schedule.Cron)
	require.Contains(t, mk.getOK(path+"/edit").body, `<option value="custom" selected>`)
}

func TestCampaignFormTemplatesByNameAndPhonePreview(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	saveRateTemplate(t, w)
	mk := w.signedIn(t, "marketer")
	p := mk.getOK(Prefix + "/campaigns/new")
	require.Contains(t, p.body, `<option value="campaign.rate">定期存款利率 Deposit rate · campaign.rate</option>`)

	r := mk.post(Prefix+"/campaigns/preview", url.Values{"expr": {`"retail" in tags`}, "template": {"campaign.wealth"},
		"vars": {`{"product": "<b>鸿运</b>"}`}, "ch1": {"sms"}, "ch2": {"email"}})
	require.Equal(t, http.StatusOK, r.status, r.body)
	require.Contains(t, r.body, `<div class="form-phone" data-channel="sms"><div class="form-bubble">【示例银行】`)
	require.Contains(t, r.body, "SMS part(s)")
	require.Contains(t, r.body, "sign 【示例银行】")
	// The email is its HTML in a sandboxed frame (no scripts), escaped into srcdoc.
	require.Regexp(t, `<iframe class="form-mail" sandbox="" title="[^"]+" srcdoc="&lt;p&gt;`, r.body)
	require.Contains(t, r.body, `&amp;lt;b&amp;gt;鸿运`, "the variable is escaped by the template, then the HTML by srcdoc")
	require.NotContains(t, r.body, "allow-scripts")
}

func TestCampaignSafeActions(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	mk, ap := w.signedIn(t, "marketer"), w.signedIn(t, "approver")
	path := createCampaign(t, mk, campaignForm("Safe"))
	p := mk.getOK(path)
	// Each action its own reason box: cancel's next to cancel, not in the submit form.
	require.Regexp(t, `<form [^>]*id="submit-form"><input type="hidden" name="csrf" value="[^"]+"><button`, p.body)
	require.Regexp(t, `id="cancel-form">.*id="cancel-reason".*id="cancel-campaign"`, p.body)
	require.Equal(t, http.StatusSeeOther, mk.post(path+"/submit", nil).status)

	// Approve asks first, with the audience and the estimated cost, and takes a comment.
	p = ap.getOK(path)
	require.Contains(t, p.body, `href="`+path+`/confirm/approve" class="button" id="approve-campaign"`)
	require.Regexp(t, `id="reject-form">.*id="reject-reason"`, p.body)
	c := ap.getOK(path + "/confirm/approve")
	require.Contains(t, c.body, `<dd id="confirm-audience">2</dd>`)
	require.Contains(t, c.body, `<dd id="confirm-cost">`)
	require.NotContains(t, c.body, "0.00 CNY")
	require.Contains(t, c.body, `name="comment" id="approve-comment"`)
	require.Contains(t, c.body, `id="confirm-approve"`)
	require.Equal(t, http.StatusForbidden, mk.get(path+"/confirm/approve").status, "a marketer does not approve")
	r := ap.post(path+"/approve", url.Values{"version": {"1"}, "comment": {"预算已核对 budget checked"}})
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	hist, err := w.camps.History(w.ctx, campaignID(t, path))
	require.NoError(t, err)
	require.Equal(t, "approve", hist[len(hist)-1].Action)
	require.Equal(t, "预算已核对 budget checked", hist[len(hist)-1].Reason)
	require.Contains(t, mk.getOK(path).body, "预算已核对 budget checked", "the comment is in the history")

	// Start asks first too.
	p = mk.getOK(path)
	require.Contains(t, p.body, `href="`+path+`/confirm/start" class="button" id="start-campaign"`)
	c = mk.getOK(path + "/confirm/start")
	require.Contains(t, c.body, `<dd id="confirm-audience">2</dd>`)
	require.Contains(t, c.body, `action="`+path+`/start"`)

	// The funnel shows rates; its fragment refreshes it.
	require.Contains(t, p.body, `id="funnel-rates"`)
	f := mk.getOK(path + "/funnel")
	require.Contains(t, f.body, `<td>Audience</td><td class="num">2</td><td class="num">–</td><td class="num">100.0%</td>`)
	require.NotContains(t, p.body, "data-funnel-url", "only while running")
}

func TestCampaignDecisionNotice(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	mk, ap := w.signedIn(t, "marketer"), w.signedIn(t, "approver")
	path := createCampaign(t, mk, campaignForm("Told"))
	require.Equal(t, http.StatusSeeOther, mk.post(path+"/submit", nil).status)
	require.NotContains(t, mk.getOK(Prefix+"/campaigns").body, "form-notice")
	require.Equal(t, http.StatusSeeOther, ap.post(path+"/approve", url.Values{"comment": {"好 fine"}}).status)

	// The author's next page tells them, once.
	p := mk.getOK(Prefix + "/contacts")
	require.Regexp(t, `<p class="form-notice" role="status" id="decision-\d+">Your campaign was approved: <a href="`+path+`">Told</a> · approver · [^<]+ · “好 fine”</p>`, p.body)
	require.NotContains(t, mk.getOK(Prefix+"/contacts").body, "form-notice")
	require.NotContains(t, ap.getOK(Prefix+"/contacts").body, "form-notice", "only the author is told")
}
