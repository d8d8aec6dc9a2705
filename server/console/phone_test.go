package console_test

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/contacts"
	"carillon/internal/audit"
)

// The contact list finds any part of a name, counts the matches, numbers its
// pages, names the managers, links a number one may see to a call, and
// renders its list alone for the search typed live.
func TestContactListReadable(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	admin := w.signedIn(t, "admin")
	require.Equal(t, []string{"K2"}, rowsOf(admin.getOK(Prefix+"/contacts?q=丽").body), "a given name")
	require.Equal(t, []string{"K1"}, rowsOf(admin.getOK(Prefix+"/contacts?q=伟").body))
	p := admin.getOK(Prefix + "/contacts")
	require.Contains(t, p.body, `<p class="muted" id="result-count">3 customers found</p>`)
	require.Contains(t, p.body, `王芳 <span class="muted">M1</span>`, "the manager by name")
	require.Contains(t, p.body, `<a class="tel" href="tel:&#43;8613812345671">`, "tap to call")
	mk := w.signedIn(t, "marketer")
	require.NotContains(t, mk.getOK(Prefix+"/contacts").body, `href="tel:`, "a masked number gets no link")

	var csv strings.Builder
	csv.WriteString("external_id,name,tags\n")
	for i := range 1200 {
		fmt.Fprintf(&csv, "B%04d,客户%04d,bulk\n", i, i)
	}
	_, err := w.contacts.ImportContacts(w.ctx, strings.NewReader(csv.String()), contacts.ImportOptions{Actor: audit.Actor{Name: "test"}, SourceName: "bulk.csv"})
	require.NoError(t, err)
	p = admin.getOK(Prefix + "/contacts?tag=bulk&page=3")
	require.Contains(t, p.body, "1,200 customers found")
	require.Contains(t, p.body, "101–150 of 1,200")
	require.Contains(t, p.body, `<span class="current" aria-current="page">3</span>`)
	require.Contains(t, p.body, `href="/console/contacts?page=24&amp;tag=bulk#contact-results"`, "the last page")
	require.Equal(t, "B0100", rowsOf(p.body)[0])
	require.Equal(t, 400, admin.get(Prefix+"/contacts?page=x").status)

	f := admin.getOK(Prefix + "/contacts?q=客户0012&fragment=1")
	require.NotContains(t, f.body, "<html")
	require.Contains(t, f.body, "1 customers found")
	require.Equal(t, []string{"B0012"}, rowsOf(f.body))
}

// A contact's attributes are labelled and formatted: money with ¥ and
// thousands separators (万 in Chinese), other keys by name.
func TestContactAttributesReadable(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	_, err := w.contacts.ImportContacts(w.ctx, strings.NewReader("external_id,name,manager,assets,deposit_maturity,hobby\nK9,王刚,M1,3235000,2027-03-01,golf\n"),
		contacts.ImportOptions{Actor: audit.Actor{Name: "test"}, SourceName: "k9.csv"})
	require.NoError(t, err)
	k9, err := w.contacts.GetByExternalID(w.ctx, "K9")
	require.NoError(t, err)
	admin := w.signedIn(t, "admin")
	p := admin.getOK(w.path("/contacts/%d", k9.ID))
	require.Contains(t, p.body, `<dt>Assets</dt><dd data-attr="assets">¥3,235,000</dd>`)
	require.Contains(t, p.body, `<dt>Deposit matures</dt><dd data-attr="deposit_maturity">2027-03-01</dd>`)
	require.Contains(t, p.body, `<dt>hobby</dt><dd data-attr="hobby">golf</dd>`)
	require.NotContains(t, p.body, `{&#34;assets`)
	admin.lang = "zh"
	p = admin.getOK(w.path("/contacts/%d", k9.ID))
	require.Contains(t, p.body, `<dt>资产</dt><dd data-attr="assets">¥3,235,000（323.5 万）</dd>`)
}

// A signed-in console user whose roles do not grant River UI gets a page
// saying so (403, in Chinese and English), not the browser's password
// prompt; only administrators are linked to it. The console has a favicon.
func TestRiverUIForbiddenPageAndFavicon(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	mk := w.signedIn(t, "marketer")
	p := mk.get("/riverui/")
	require.Equal(t, 403, p.status)
	require.Empty(t, p.header.Get("WWW-Authenticate"))
	require.Contains(t, p.body, "仅供管理员使用")
	require.Contains(t, p.body, "for administrators only")
	require.NotContains(t, mk.getOK(Prefix+"/").body, `href="/riverui/"`)
	admin := w.signedIn(t, "admin")
	require.Contains(t, admin.getOK(Prefix+"/").body, `href="/riverui/"`)
	require.Equal(t, 200, admin.get("/riverui/").status)
	// Without a console session River UI still asks for Basic credentials.
	anon := w.browser(t)
	p = anon.get("/riverui/")
	require.Equal(t, 401, p.status)
	require.NotEmpty(t, p.header.Get("WWW-Authenticate"))

	require.Contains(t, mk.getOK(Prefix+"/").body, `<link rel="icon" href="/console/static/favicon.svg" type="image/svg+xml">`)
	f := anon.get(Prefix + "/static/favicon.svg")
	require.Equal(t, 200, f.status)
	require.Equal(t, "image/svg+xml", f.header.Get("Content-Type"))
}

// The team table of My customers and the ranking agree: each manager's
// overdue count is the ranking's "overdue now", and a manager with customers
// overdue is not at 100%.
func TestTeamTableAndRankingAgree(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	w.clock.Advance(60 * 24 * time.Hour)
	mg := w.signedIn(t, "mgr2")
	r := mg.post(w.path("/contacts/%d/revisits", w.cid["K2"]), url.Values{"method": {"phone"}, "outcome": {"reached"}})
	require.Equal(t, 303, r.status, r.body)
	lead := w.signedIn(t, "lead")
	team := withoutCardLabels(section(t, lead.getOK(Prefix+"/my").body, "team"))
	rank := withoutCardLabels(section(t, lead.getOK(Prefix+"/my/ranking?fresh=1").body, "ranking"))
	for _, code := range []string{"M1", "M2"} {
		tm := regexp.MustCompile(`<span class="muted">` + code + `</span></td><td class="num">\d+</td><td class="num">(\d+)</td>`).FindStringSubmatch(team)
		require.NotNil(t, tm, team)
		rk := regexp.MustCompile(`<span class="muted">` + code + `</span></td><td class="num">(\d+)</td><td class="num">\d+</td><td class="num">\d+</td><td class="num">(\d+)</td><td class="num">([^<]+)</td>`).FindStringSubmatch(rank)
		require.NotNil(t, rk, rank)
		require.Equal(t, tm[1], rk[2], "%s: overdue on the team page and in the ranking", code)
		if tm[1] != "0" {
			require.NotEqual(t, "100.0%", rk[3], code)
		}
	}
}
