package console_test

import (
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/campaigns"
	"carillon/contacts"
	"carillon/internal/audit"
	"carillon/templates"
)

// langAllowed are the ASCII words a Chinese page may show. Keep it small;
// each entry says why it is not a word to translate.
var langAllowed = map[string]string{
	"Carillon":    "the product's name",
	"English":     "the language switch, written in the language it switches to",
	"CSV":         "a file format, named so on every Chinese office suite",
	"JSON":        "a data format (the campaign variables are typed in it)",
	"HTML":        "a format's name (an e-mail's HTML body), beside 正文",
	"Markdown":    "a format's name (a WeCom message's), beside 格式",
	"nosuchfield": "the field the test types into a filter, quoted back in its error",
	"CNY":         "currency unit beside an amount",
	"River":       "the job queue's product name (River UI)",
	"openid":      "WeChat's own term for the customer's id, shown beside 微信",
	"CRON_TZ":     "cron syntax in the example of a recurring schedule",
	"UCS":         "an SMS encoding's name (UCS-2), beside the Chinese count",
	// The configuration section an administrator adds a year's holidays to,
	// named in the warning that the year has none.
	"calendar.year": "a configuration section's name ([[calendar.year]])",
}

// langAllowedRE are ASCII tokens that are codes or data, not words: tiers,
// locale tags and zone names, and the test data's own values as they were
// typed or imported (an e-mail address, users, teams, tags). Template keys are
// allowed by name below (a template's key is its name); text inside <code>,
// <pre>, <kbd> and <textarea> is a code or what the user typed, not read here.
var langAllowedRE = []*regexp.Regexp{
	regexp.MustCompile(`^[A-Z]{1,2}$`),                                 // tiers A–E, a single letter
	regexp.MustCompile(`^(zh|en|CN|US|GB|Asia|Shanghai)$`),             // locale tags and zone names (zh-CN, Asia/Shanghai)
	regexp.MustCompile(`^(zhang|example.com)$`),                        // the test customer's e-mail address (personal data, as typed)
	regexp.MustCompile(`^(admin|marketer|approver|lead|auditor|mgr)$`), // the test users' display names (personal data, as created)
	regexp.MustCompile(`^(east|south)$`),                               // the test managers' team codes (data, as imported)
	regexp.MustCompile(`^(vip|retail|test|bulk)$`),                     // the test customers' tags (data, as imported)
}

// shownAttrRE are the attributes a person reads.
var (
	shownAttrRE = regexp.MustCompile(`\s(?:placeholder|title|alt|aria-label)="([^"]*)"`)
	buttonRE    = regexp.MustCompile(`<input[^>]*type="(?:submit|button)"[^>]*value="([^"]*)"`)
	hiddenRE    = regexp.MustCompile(`(?is)<(script|style|code|textarea|kbd|pre)\b[^>]*>.*?</(?:script|style|code|textarea|kbd|pre)>`)
	tagRE       = regexp.MustCompile(`(?s)<[^>]*>`)
	asciiWordRE = regexp.MustCompile(`[A-Za-z_][A-Za-z_.]*[A-Za-z_]`)
)

// shownText is what a person reads of an HTML page.
func shownText(body string) string {
	var b strings.Builder
	for _, m := range shownAttrRE.FindAllStringSubmatch(body, -1) {
		b.WriteString(m[1] + "\n")
	}
	for _, m := range buttonRE.FindAllStringSubmatch(body, -1) {
		b.WriteString(m[1] + "\n")
	}
	body = hiddenRE.ReplaceAllString(body, " ")
	b.WriteString(tagRE.ReplaceAllString(body, " "))
	return html.UnescapeString(b.String())
}

// englishWords are the ASCII words of text outside the allow-list.
func englishWords(text string) []string {
	var out []string
	for _, w := range asciiWordRE.FindAllString(text, -1) {
		if len(w) < 2 && !strings.Contains(w, "_") {
			continue
		}
		if _, ok := langAllowed[w]; ok {
			continue
		}
		if slices.ContainsFunc(langAllowedRE, func(re *regexp.Regexp) bool { return re.MatchString(w) }) {
			continue
		}
		out = append(out, w)
	}
	return out
}

// TestEveryWordIsChinese walks every page and fragment of the console in
// zh-CN, as each role, with a campaign run through to its end, a customer's
// timeline of messages and a revisit, and the forms' errors: no English word
// may be left outside the allow-list.
func TestEveryWordIsChinese(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{live: true})
	mk, ap := w.signedIn(t, "marketer"), w.signedIn(t, "approver")

	// A campaign submitted, approved, run to its end: messages sent and delivered.
	form := campaignForm("秋季理财")
	form.Del("window")
	camp := createCampaign(t, mk, form)
	// K2 no longer takes marketing by SMS: K2's message is suppressed.
	admin := w.signedIn(t, "admin")
	require.Equal(t, http.StatusSeeOther, admin.post(w.path("/contacts/%d/consents", w.cid["K2"]),
		url.Values{"channel": {"sms"}, "purpose": {"marketing"}, "granted": {"false"}, "reason": {"客户来电"}}).status)
	require.Equal(t, http.StatusSeeOther, mk.post(camp+"/submit", nil).status)
	require.Equal(t, http.StatusSeeOther, ap.post(camp+"/approve", nil).status)
	require.Equal(t, http.StatusSeeOther, mk.post(camp+"/start", nil).status)
	require.Eventually(t, func() bool {
		cp, err := w.camps.Get(w.ctx, campaignID(t, camp))
		require.NoError(t, err)
		return cp.Status == campaigns.StatusCompleted
	}, 60*time.Second, 200*time.Millisecond)
	require.Eventually(t, func() bool {
		return strings.Contains(mk.getOK(w.path("/contacts/%d", w.cid["K1"])).body, `data-kind="message.delivered"`)
	}, 30*time.Second, 200*time.Millisecond)
	k2 := admin.getOK(w.path("/contacts/%d?kind=message.", w.cid["K2"])).body
	require.Contains(t, k2, `data-kind="message.suppressed"`, "K2's message is suppressed")
	draft := createCampaign(t, mk, campaignForm("草稿活动"))
	// A customer whose birthday and deposit maturity are in the next days, for My customers.
	soon := w.clock.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, 2)
	_, err := w.contacts.ImportContacts(w.ctx, strings.NewReader(fmt.Sprintf(
		"external_id,name,tier,manager,birthday,deposit_maturity\nK4,赵云,A,M1,1980-%02d-%02d,%s\n", int(soon.Month()), soon.Day(), soon.Format(time.DateOnly))),
		contacts.ImportOptions{Actor: audit.Actor{Name: "test"}, SourceName: "k4.csv"})
	require.NoError(t, err)
	// A revisit, logged by K1's manager.
	lead := w.signedIn(t, "lead")
	require.Equal(t, http.StatusSeeOther, lead.post(w.path("/contacts/%d/revisits", w.cid["K1"]),
		url.Values{"outcome": {"reached"}, "method": {"phone"}}).status)
	// A consent changed at the branch.
	require.Equal(t, http.StatusSeeOther, admin.post(w.path("/contacts/%d/consents", w.cid["K1"]),
		url.Values{"channel": {"email"}, "purpose": {"marketing"}, "granted": {"false"}, "reason": {"网点办理"}}).status)

	pages := []string{
		"/", "/my", "/my/ranking", "/campaigns", "/campaigns/calendar", "/campaigns/calendar?month=2027-02", "/campaigns/new", camp, draft, draft + "/edit",
		"/contacts", "/contacts?q=K1", "/templates", "/templates/new?channel=sms&locale=zh-CN&locale=en", "/templates/new?channel=wechat", "/templates/new?channel=wecom", "/calendar",
	}
	for _, ext := range []string{"K1", "K2", "K3"} {
		pages = append(pages, w.path("/contacts/%d", w.cid[ext]))
		for _, k := range []string{"message.", "revisit.", "consent.", "contact."} {
			pages = append(pages, w.path("/contacts/%d?kind=%s", w.cid[ext], k))
		}
	}
	tpls, err := w.tmpl.List(w.ctx)
	require.NoError(t, err)
	for _, tp := range tpls {
		pages = append(pages, "/templates/"+tp.Key)
	}

	found := map[string][]string{} // word → where
	note := func(where string, body string) {
		for _, wd := range englishWords(shownText(body)) {
			if slices.ContainsFunc(tpls, func(tp templates.Template) bool { return tp.Key == wd }) {
				continue // a template's key is its name, chosen by whoever made it
			}
			if !slices.Contains(found[wd], where) {
				found[wd] = append(found[wd], where)
			}
		}
	}
	for _, login := range []string{"admin", "marketer", "approver", "lead", "auditor", "mgr2"} {
		b := w.signedIn(t, login)
		b.lang = "zh-CN,zh;q=0.9"
		for _, p := range pages {
			if !strings.HasPrefix(p, Prefix) {
				p = Prefix + p
			}
			res := b.get(p)
			if res.status == http.StatusForbidden || res.status == http.StatusNotFound || res.status == http.StatusSeeOther {
				continue
			}
			require.Equal(t, http.StatusOK, res.status, "%s GET %s: %s", login, p, res.body)
			note(login+" "+p, res.body)
		}
	}
	anon := w.browser(t)
	anon.lang = "zh-CN"
	note("login", anon.getOK(Prefix+"/login").body)
	lp := anon.getOK(Prefix + "/login")
	note("login: failed", anon.do("POST", Prefix+"/login", url.Values{"csrf": {csrfOf(t, lp)}, "login": {"admin"}, "password": {"wrong"}}, nil).body)
	// The forms' errors and the fragments, in Chinese.
	mk.lang = "zh-CN"
	bad := campaignForm("错误")
	bad.Set("expr", `tier = "A"`)
	bad.Set("window", "9点到5点")
	note("campaign form: single =", mk.post(Prefix+"/campaigns", bad).body)
	bad.Set("expr", `nosuchfield == 1`)
	note("campaign form: unknown field", mk.post(Prefix+"/campaigns", bad).body)
	bad.Set("expr", `(tier == "A"`)
	bad.Set("name", "")
	note("campaign form: parentheses", mk.post(Prefix+"/campaigns", bad).body)
	note("preview", mk.post(Prefix+"/campaigns/preview", url.Values{"expr": {`"retail" in tags`}, "template": {"campaign.wealth"},
		"vars": {`{"product": "鸿运三号"}`}, "ch1": {"sms"}}).body)
	note("preview: bad", mk.post(Prefix+"/campaigns/preview", url.Values{"expr": {"tier =="}}).body)
	ap.lang = "zh-CN"
	note("test send: not a test account", ap.post(camp+"/test-send", url.Values{"contact": {"K3"}, "channel": {"sms"}}).body)
	admin.lang = "zh-CN"
	note("timeline: unknown filter", admin.get(w.path("/contacts/%d?kind=bogus", w.cid["K1"])).body)
	note("consent: no reason", admin.post(w.path("/contacts/%d/consents", w.cid["K1"]),
		url.Values{"channel": {"email"}, "purpose": {"marketing"}, "granted": {"true"}}).body)
	lead.lang = "zh-CN"
	note("revisit: tier without reason", lead.post(w.path("/contacts/%d/revisits", w.cid["K1"]),
		url.Values{"back": {"contact"}, "method": {"visit"}, "outcome": {"reached"}, "tier": {"C"}}).body)

	// Sixty days on, K1 is due again: My customers shows the last revisit.
	w.clock.Advance(60 * 24 * time.Hour)
	later := w.signedIn(t, "lead")
	later.lang = "zh-CN"
	my := later.getOK(Prefix + "/my").body
	require.Contains(t, my, `id="due-K1"`)
	note("my: sixty days on", my)

	// The CSV export: headers in Chinese (with the English name), times in the console's zone, named.
	mk = w.signedIn(t, "marketer")
	mk.lang = "zh-CN"
	res := mk.get(camp + "/stats.csv")
	require.Equal(t, http.StatusOK, res.status)
	rows, err := csv.NewReader(strings.NewReader(res.body)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 2)
	for _, h := range rows[0] {
		require.Regexp(t, `^\p{Han}+.* / [a-z_]+`, h)
	}
	require.Contains(t, rows[0][2], "Asia/Shanghai")
	require.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+08:00$`, rows[1][2])
	note("stats.csv", strings.Join(rows[1], " "))

	if len(found) > 0 {
		words := make([]string, 0, len(found))
		for wd := range found {
			words = append(words, wd)
		}
		slices.Sort(words)
		var msg strings.Builder
		for _, wd := range words {
			fmt.Fprintf(&msg, "%-28s %s\n", wd, strings.Join(found[wd][:min(3, len(found[wd]))], " | "))
		}
		t.Errorf("%d English words on Chinese pages:\n%s", len(words), msg.String())
	}
}
