package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
	"carillon/care"
	"carillon/contacts"
	"carillon/internal/audit"
	"carillon/templates"
)

// rowsOf returns the customer numbers listed by a search page, in order.
func rowsOf(body string) []string {
	re := regexp.MustCompile(`<td><a href="/console/contacts/\d+">([^<]+)</a></td>`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(withoutCardLabels(body), -1) {
		out = append(out, m[1])
	}
	return out
}

func TestContactSearch(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	admin := w.signedIn(t, "admin")
	for q, want := range map[string][]string{
		"q=张":           {"K1"},
		"q=王":           {"K2"},
		"q=5671":        {"K1"},
		"q=13812349999": {"K3"},
		"q=9999":        {"K3"},
		"q=K2":          {"K2"},
		"q=%25":         nil, // a LIKE wildcard is a character like any other
		"tag=retail":    {"K1", "K2"},
		"tag=vip&q=张":   {"K1"},
		"tier=C":        {"K3"},
		"":              {"K1", "K2", "K3"},
	} {
		require.Equal(t, want, rowsOf(admin.getOK(Prefix+"/contacts?"+q).body), q)
	}
	// Phone numbers are shown whole to an administrator, masked to a marketer.
	require.Contains(t, admin.getOK(Prefix+"/contacts?q=K1").body, "&#43;8613812345671")
	mk := w.signedIn(t, "marketer")
	body := mk.getOK(Prefix + "/contacts?q=K1").body
	require.Contains(t, body, "138****5671")
	require.NotContains(t, body, "13812345671")
	// Whoever sees numbers masked searches by the last four digits only: a
	// wrong fifth digit still finds K1, so the results give nothing away.
	require.Equal(t, []string{"K1"}, rowsOf(mk.getOK(Prefix+"/contacts?q=95671").body))
	require.Equal(t, []string{"K1"}, rowsOf(mk.getOK(Prefix+"/contacts?q=45671").body))
	require.Empty(t, rowsOf(admin.getOK(Prefix+"/contacts?q=95671").body), "an administrator's search uses every digit")
	// A team lead finds the team's customers, not another team's.
	lead := w.signedIn(t, "lead")
	require.Equal(t, []string{"K1", "K2"}, rowsOf(lead.getOK(Prefix+"/contacts").body))
	require.Empty(t, rowsOf(lead.getOK(Prefix+"/contacts?q=9999").body))
	require.Equal(t, http.StatusBadRequest, admin.get(Prefix+"/contacts?tier=E").status)

	// Paging: 120 more customers tagged bulk, 50 a page, no overlap, none lost.
	var csv strings.Builder
	csv.WriteString("external_id,name,tags\n")
	for i := range 120 {
		fmt.Fprintf(&csv, "B%03d,客户%03d,bulk\n", i, i)
	}
	_, err := w.contacts.ImportContacts(w.ctx, strings.NewReader(csv.String()), contacts.ImportOptions{Actor: audit.Actor{Name: "test"}, SourceName: "bulk.csv"})
	require.NoError(t, err)
	var seen []string
	path := Prefix + "/contacts?tag=bulk"
	for pages := 0; path != ""; pages++ {
		require.Less(t, pages, 4)
		p := admin.getOK(path)
		seen = append(seen, rowsOf(p.body)...)
		m := regexp.MustCompile(`href="(/console/contacts\?[^"]+)" id="next-page"`).FindStringSubmatch(p.body)
		path = ""
		if m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	require.Len(t, seen, 120)
	require.Equal(t, "B000", seen[0])
	require.Equal(t, "B119", seen[119])
}

func TestContactPageConsentsAndTimeline(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	admin := w.signedIn(t, "admin")
	k1 := w.path("/contacts/%d", w.cid["K1"])
	p := admin.getOK(k1)
	require.Contains(t, p.body, "张伟")
	require.Contains(t, p.body, `id="tier">A<`)
	require.Contains(t, p.body, "王芳 (M1, east)")
	require.Contains(t, p.body, "zhang@example.com")
	require.Contains(t, p.body, `id="consent-form"`)

	// A consent needs a reason; with one it is recorded, audited and on the timeline.
	form := url.Values{"channel": {"email"}, "purpose": {"marketing"}, "granted": {"false"}}
	require.Equal(t, http.StatusBadRequest, admin.post(k1+"/consents", form).status)
	form.Set("reason", "asked at the branch")
	r := admin.post(k1+"/consents", form)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	require.Equal(t, k1+"?ok=ok.consent", r.location)
	p = admin.getOK(r.location)
	require.Contains(t, p.body, "Consent recorded.")
	require.Contains(t, p.body, "marketing consent revoked for email by console")
	var reason string
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT changes ->> 'reason' FROM audit_log WHERE action = 'consent.set' AND actor = 'console:admin'`).Scan(&reason))
	require.Equal(t, "asked at the branch", reason)

	// The timeline filters by kind.
	p = admin.getOK(k1 + "?kind=consent.")
	require.Contains(t, p.body, `data-kind="consent.changed"`)
	require.NotContains(t, p.body, `data-kind="contact.created"`)
	p = admin.getOK(k1 + "?kind=contact.")
	require.Contains(t, p.body, `data-kind="contact.created"`)
	require.NotContains(t, p.body, `data-kind="consent.changed"`)
	require.Equal(t, http.StatusBadRequest, admin.get(k1+"?kind=drop table").status)

	// A marketer sees the page masked and without the form, and may not post it.
	mk := w.signedIn(t, "marketer")
	p = mk.getOK(k1)
	require.Contains(t, p.body, "z***@example.com")
	require.NotContains(t, p.body, "zhang@example.com")
	require.NotContains(t, p.body, `id="consent-form"`)
	require.Equal(t, http.StatusForbidden, mk.post(k1+"/consents", form).status)

	// Another team's manager gets 404, as if the customer did not exist.
	require.Equal(t, http.StatusNotFound, w.signedIn(t, "mgr3").get(k1).status)
	require.Equal(t, http.StatusNotFound, admin.get(Prefix+"/contacts/999999").status)

	// The timeline pages: 60 consent changes, 50 a page.
	for i := range 60 {
		_, err := w.contacts.SetConsent(w.ctx, nil, audit.Actor{Name: "test"}, w.cid["K1"], contacts.ConsentChange{
			Channel: "sms", Purpose: "marketing", Granted: i%2 == 1, Source: "api"})
		require.NoError(t, err)
	}
	p = admin.getOK(k1 + "?kind=consent.")
	require.Equal(t, 50, strings.Count(p.body, `class="event"`))
	m := regexp.MustCompile(`href="(/console/contacts/\d+\?[^"]+)" id="timeline-next"`).FindStringSubmatch(p.body)
	require.NotNil(t, m)
	p = admin.getOK(strings.ReplaceAll(m[1], "&amp;", "&"))
	require.Equal(t, 11, strings.Count(p.body, `class="event"`))
	require.NotContains(t, p.body, `id="timeline-next"`)
}

func TestTemplatePages(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	mk := w.signedIn(t, "marketer")
	list := mk.getOK(Prefix + "/templates").body
	require.Contains(t, list, `href="/console/templates/birthday"`)

	p := mk.getOK(Prefix + "/templates/birthday")
	require.Contains(t, p.body, `id="template-form"`)
	base := regexp.MustCompile(`name="base" value="(\d+)"`).FindStringSubmatch(p.body)[1]
	field := regexp.MustCompile(`<textarea name="(sms\.zh-CN\.text)"`).FindStringSubmatch(p.body)
	require.NotNil(t, field, "the zh-CN SMS text is editable")

	// Submit every field as shown, with an unknown variable on the text's second line.
	form := formValues(p.body)
	form.Set("sms.zh-CN.text", "尊敬的{{.Contact.Honorific}}：\n生日快乐，{{.Contact.Nmae}}！")
	form.Set("note", "typo")
	r := mk.do("POST", Prefix+"/templates/birthday", form, nil)
	require.Equal(t, http.StatusBadRequest, r.status, r.body)
	require.Contains(t, r.body, `id="save-refused"`)
	prob := regexp.MustCompile(`<div class="problem" data-field="sms\.zh-CN\.text" data-line="(\d+)" data-column="(\d+)">([^<]*)</div>`).FindStringSubmatch(r.body)
	require.NotNil(t, prob, r.body)
	require.Equal(t, "2", prob[1])
	require.Equal(t, "8", prob[2], "the column of .Contact.Nmae, counted in characters")
	require.Contains(t, prob[3], "Nmae")
	require.Contains(t, prob[3], "line 2, column 8:")
	require.Contains(t, prob[3], "生日快乐，{{.Contact.Nmae}}！\n            ^", "the line in error with a caret under the column")
	require.Contains(t, r.body, "生日快乐，{{.Contact.Nmae}}！</textarea>", "what was typed is kept")
	require.Contains(t, r.body, `value="typo"`)
	var versions int
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT count(*) FROM template_versions WHERE key = 'birthday'`).Scan(&versions))

	// Fixed, it saves as a new active version.
	form.Set("sms.zh-CN.text", "尊敬的{{.Contact.Honorific}}：\n生日快乐，{{.Contact.Name}}！")
	form.Set("activate", "on")
	r = mk.do("POST", Prefix+"/templates/birthday", form, nil)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	v, err := w.tmpl.Active(w.ctx, "birthday")
	require.NoError(t, err)
	require.Equal(t, "尊敬的{{.Contact.Honorific}}：\n生日快乐，{{.Contact.Name}}！", mustVariant(t, v.Variants, "sms", "zh-CN").SMS.Text)
	require.Equal(t, "console:marketer", v.Author)
	require.Equal(t, fmt.Sprintf("%s/templates/birthday?version=%d&ok=ok.saved", Prefix, v.Version), r.location)

	// Preview against a customer by number, in their language.
	p = mk.getOK(Prefix + "/templates/birthday?preview=1&channel=sms&contact=K1")
	require.Contains(t, p.body, "生日快乐，张伟！")
	require.Contains(t, p.body, "SMS part(s)")
	p = mk.getOK(Prefix + "/templates/birthday?preview=1&contact=NOPE")
	require.Contains(t, p.body, "No such customer")

	// Versions: the old one can be made active again.
	r = mk.post(fmt.Sprintf("%s/templates/birthday/versions/%s/activate", Prefix, base), nil)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	v, err = w.tmpl.Active(w.ctx, "birthday")
	require.NoError(t, err)
	require.Equal(t, base, fmt.Sprint(v.Version))

	// An approver reads templates but has no form to save and may not post one.
	ap := w.signedIn(t, "approver")
	p = ap.getOK(Prefix + "/templates/birthday")
	require.NotContains(t, p.body, `id="save-template"`)
	form.Set("csrf", csrfOf(t, p))
	require.Equal(t, http.StatusForbidden, ap.do("POST", Prefix+"/templates/birthday", form, nil).status)
	var after int
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT count(*) FROM template_versions WHERE key = 'birthday'`).Scan(&after))
	require.Equal(t, versions+1, after, "one version saved: the refused and forbidden posts saved none")
}

// formValues reads the named inputs and textareas of a page's forms.
func formValues(body string) url.Values {
	v := url.Values{}
	for _, m := range regexp.MustCompile(`<input[^>]* name="([^"]+)" value="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		if v.Get(m[1]) == "" {
			v.Set(m[1], htmlUnescape(m[2]))
		}
	}
	for _, m := range regexp.MustCompile(`(?s)<textarea name="([^"]+)"[^>]*>(.*?)</textarea>`).FindAllStringSubmatch(body, -1) {
		v.Set(m[1], htmlUnescape(m[2]))
	}
	return v
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`, "&amp;", "&").Replace(s)
}

func TestCalendarAndCareRules(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	require.NoError(t, w.planner.EnsureFestivalRules(w.ctx))
	admin := w.signedIn(t, "admin")
	admin.lang = "zh-CN"
	p := admin.getOK(Prefix + "/calendar?year=2027")
	require.Contains(t, p.body, `<td class="card-title">2027-02-06</td><td data-label="名称">春节</td>`)
	require.Contains(t, p.body, `class="makeup"`, "调休 workdays are marked")
	require.Contains(t, p.body, `class="holiday festival" title="春节 · 春节"`)
	require.Contains(t, p.body, `id="rule-festival.qixi"`)
	require.Equal(t, http.StatusBadRequest, admin.get(Prefix+"/calendar?year=x").status)

	r := admin.post(Prefix+"/care-rules/festival.qixi", url.Values{"enabled": {"false"}, "year": {"2027"}})
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	rule, err := w.planner.Rule(w.ctx, "festival.qixi")
	require.NoError(t, err)
	require.False(t, rule.Enabled)
	var actor string
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT actor FROM audit_log WHERE object_type = 'care_rule' AND object_id = 'festival.qixi'`).Scan(&actor))
	require.Equal(t, "console:admin", actor)
	require.Equal(t, http.StatusNotFound, admin.post(Prefix+"/care-rules/nope", url.Values{"enabled": {"true"}}).status)

	// A marketer sees the rules without the switches and may not switch one.
	mk := w.signedIn(t, "marketer")
	p = mk.getOK(Prefix + "/calendar?year=2027")
	require.Contains(t, p.body, `id="rule-festival.qixi"`)
	require.NotContains(t, p.body, `action="/console/care-rules/`)
	require.Equal(t, http.StatusForbidden, mk.post(Prefix+"/care-rules/festival.qixi", url.Values{"enabled": {"true"}}).status)
}

func TestDashboard(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	require.NoError(t, w.planner.EnsureFestivalRules(w.ctx))
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	today := calendar.DateOf(w.clock.Now().In(loc))
	// A customer whose birthday is today, and today's plan.
	bd := fmt.Sprintf("1990-%02d-%02d", int(today.Month), today.Day)
	_, err = w.contacts.ImportContacts(w.ctx, strings.NewReader("external_id,name,phone,birthday\nBD1,寿星,13900000001,"+bd+"\n"),
		contacts.ImportOptions{Actor: audit.Actor{Name: "test"}, SourceName: "bd.csv"})
	require.NoError(t, err)
	res, err := w.planner.Plan(w.ctx, today, care.PlanOptions{})
	require.NoError(t, err)
	require.Positive(t, res.Planned)
	_, err = w.db.Pool.Exec(w.ctx, `INSERT INTO receipts (provider, provider_message_id, status) VALUES ('ali', 'unknown-1', 'delivered'), ('ali', 'unknown-2', 'failed')`)
	require.NoError(t, err)

	b := w.signedIn(t, "auditor")
	p := b.getOK(Prefix + "/")
	plan := regexp.MustCompile(`(?s)<table id="care-plan">.*?</table>`).FindString(p.body)
	require.NotEmpty(t, plan)
	total := regexp.MustCompile(`<tfoot><tr><th>Total</th><th class="num">(\d+)</th><th class="num">(\d+)</th>`).FindStringSubmatch(plan)
	require.NotNil(t, total, plan)
	require.Equal(t, fmt.Sprint(res.Planned), total[1], "today's care plan")
	require.Contains(t, p.body, `<svg class="chart"`)
	require.Regexp(t, `<rect class="s-queued"[^>]*><title>[0-9-]+ queued: `+fmt.Sprint(res.Planned)+`</title>`, p.body)
	require.Regexp(t, `(?s)<table id="receipts">.*<td>ali</td><td class="num">2</td>`, p.body)
	require.Regexp(t, `(?s)<table id="queues" class="cards">.*<td class="card-title">delivery</td>(<td class="num" data-label="[^"]+">\d+</td>){0,2}<td class="num" data-label="[^"]+">[1-9]`, p.body,
		"the deliver jobs wait in their queue (available, or scheduled for the send time)")
	require.NotContains(t, p.body, "13900000001")
}

func mustVariant(t *testing.T, vs []templatesVariant, ch, loc string) templatesVariant {
	t.Helper()
	for _, v := range vs {
		if string(v.Channel) == ch && v.Locale == loc {
			return v
		}
	}
	t.Fatalf("no %s %s variant", ch, loc)
	return templatesVariant{}
}

type templatesVariant = templates.Variant

// A preview over a render limit shows the limit's error in place of the
// preview, never the output (the version was saved under looser limits).
func TestTemplatePreviewOverTheCap(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	loose, err := templates.NewStore(w.db.Pool, templates.Config{Limits: templates.Limits{EmailBytes: 8 << 20, MaxSteps: 1 << 20}})
	require.NoError(t, err)
	_, _, err = loose.Save(w.ctx, audit.Actor{Name: "test"}, templates.Definition{Key: "notice.big", Purpose: templates.Service, Source: templates.SourceBirthday, DefaultLocale: "zh-CN",
		Variants: []templates.Variant{{Channel: templates.Email, Locale: "zh-CN", Email: &templates.EmailVariant{Subject: "通知",
			HTML: "{{range 100000}}xxxxxxxxxx{{end}}"}}}}, templates.SaveOptions{Activate: true})
	require.NoError(t, err)
	mk := w.signedIn(t, "marketer")
	p := mk.getOK(Prefix + "/templates/notice.big?preview=1&channel=email")
	require.Contains(t, p.body, "template notice.big v1 (email, zh-CN) email.zh-CN.html: renders more than 524288 bytes")
	require.NotContains(t, p.body, strings.Repeat("x", 100))
}

// When the calendar has no holiday data for a day within the look-ahead, every
// page says so; with the data there, no banner.
func TestHolidayDataBanner(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	// Explicit dates, not the world's (shifted) base: June 2026 has its data.
	w.clock.Set(time.Date(2026, time.June, 15, 10, 0, 0, 0, time.UTC))
	require.NotContains(t, w.signedIn(t, "admin").getOK(w.path("/")).body, `id="holiday-banner"`, "2026's data is there")
	// Mid-December 2027: the next 31 days reach 2028, which the library lacks.
	w.clock.Set(time.Date(2027, time.December, 15, 10, 0, 0, 0, time.UTC))
	body := w.signedIn(t, "admin").getOK(w.path("/")).body
	require.Contains(t, body, `id="holiday-banner"`)
	require.Contains(t, body, "2028")
}
