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

	"carillon/contacts"
	"carillon/internal/audit"
)

// section returns the HTML of the element with the given id.
func section(t *testing.T, body, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<section class="card" id="` + regexp.QuoteMeta(id) + `">.*?</section>`).FindString(body)
	require.NotEmpty(t, m, "no section %s", id)
	return withoutCardLabels(m)
}

// withoutCardLabels drops the cells' data-label attributes (the labels of a
// table shown as cards on a phone), so that a page's rows read as they did.
func withoutCardLabels(html string) string {
	return cardLabelRE.ReplaceAllString(html, "")
}

var cardLabelRE = regexp.MustCompile(` data-label="[^"]*"`)

func TestMyCustomers(t *testing.T) {
	t.Parallel()
	// Sixty days on, every customer is overdue (tier A weekly, B weekly, C twice a month).
	w := newWorld(t, worldOpts{})
	later := w.clock.Now().Add(60 * 24 * time.Hour)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	today := later.In(loc)
	bd := today.AddDate(0, 0, 2)
	mat := today.AddDate(0, 0, 5).Format(time.DateOnly)
	_, err := w.contacts.ImportContacts(w.ctx, strings.NewReader(fmt.Sprintf(
		"external_id,name,tier,manager,birthday,deposit_maturity\nK4,赵云,A,M2,1980-%02d-%02d,%s\n", int(bd.Month()), bd.Day(), mat)),
		contacts.ImportOptions{Actor: audit.Actor{Name: "test"}, SourceName: "k4.csv"})
	require.NoError(t, err)
	k4c, err := w.contacts.GetByExternalID(w.ctx, "K4")
	require.NoError(t, err)
	w.cid["K4"] = k4c.ID
	w.clock.Set(later)

	// A customer manager sees their own customers, overdue, with the upcoming dates.
	m2 := w.signedIn(t, "mgr2")
	p := m2.getOK(Prefix + "/my")
	over := section(t, p.body, "overdue")
	require.Contains(t, over, `id="due-K2"`)
	require.Contains(t, over, `id="due-K4"`)
	require.NotContains(t, over, `id="due-K1"`)
	up := section(t, p.body, "upcoming")
	require.Contains(t, up, "<td>"+bd.Format(time.DateOnly)+"</td><td>birthday</td>")
	require.Contains(t, up, "<td>"+mat+"</td><td>deposit maturity</td>")
	require.NotContains(t, p.body, `id="team"`, "not a team lead")

	// Two clicks: the outcome (reached is preselected), then how.
	form := url.Values{"outcome": {"reached"}, "method": {"phone"}}
	r := m2.post(w.path("/contacts/%d/revisits", w.cid["K2"]), form)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	require.Equal(t, Prefix+"/my?ok=ok.revisit", r.location)
	p = m2.getOK(r.location)
	require.Contains(t, p.body, "Revisit logged.")
	require.NotContains(t, section(t, p.body, "overdue"), `id="due-K2"`)
	// The revisit is on the customer's timeline.
	p = m2.getOK(w.path("/contacts/%d?kind=revisit.", w.cid["K2"]))
	require.Contains(t, p.body, `data-kind="revisit.logged"`)
	require.Contains(t, p.body, "reached")

	// The contact page's form: a tier change needs its reason.
	k4 := w.path("/contacts/%d", w.cid["K4"])
	p = m2.getOK(k4)
	require.Contains(t, p.body, `id="revisit-form"`)
	bad := url.Values{"back": {"contact"}, "method": {"visit"}, "outcome": {"met at home"}, "tier": {"C"}}
	r = m2.post(k4+"/revisits", bad)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, r.body, "tier_reason")
	bad.Set("tier_reason", "assets moved to another bank")
	r = m2.post(k4+"/revisits", bad)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	require.Equal(t, k4+"?ok=ok.revisit", r.location)
	require.Contains(t, m2.getOK(k4).body, `id="tier">C<`)

	// Another team's manager may not log a revisit of this customer; a marketer may not at all.
	r = w.signedIn(t, "mgr3").post(w.path("/contacts/%d/revisits", w.cid["K2"]), form)
	require.Equal(t, http.StatusNotFound, r.status, r.body)
	require.Equal(t, http.StatusForbidden, w.signedIn(t, "marketer").post(w.path("/contacts/%d/revisits", w.cid["K2"]), form).status)
	require.Equal(t, http.StatusForbidden, w.signedIn(t, "marketer").get(Prefix+"/my").status)

	// The team lead sees their own list, the team and the ranking.
	lead := w.signedIn(t, "lead")
	p = lead.getOK(Prefix + "/my")
	require.Contains(t, section(t, p.body, "overdue"), `id="due-K1"`)
	require.NotContains(t, section(t, p.body, "overdue"), `id="due-K4"`, "a team member's customer is in the team table")
	team := section(t, p.body, "team")
	require.Regexp(t, `李强 <span class="muted">M2</span></td><td class="num">0</td><td class="num">0</td>`, team, "M2 has nothing overdue now")
	require.Regexp(t, `王芳 <span class="muted">M1</span></td><td class="num">0</td><td class="num">1</td>`, team)
	require.Contains(t, p.body, `id="ranking-link"`)
	rank := section(t, lead.getOK(Prefix+"/my/ranking").body, "ranking")
	require.Contains(t, rank, "M1")
	require.Contains(t, rank, "M2")
	require.NotContains(t, rank, "M3")
	require.Equal(t, http.StatusForbidden, m2.get(Prefix+"/my/ranking").status, "a manager who leads no team")

	// The digests' links land on the manager's page.
	res := m2.get("/revisits?manager=M2&date=2027-01-04")
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, Prefix+"/my", res.location)
}

// TestRankingIsRecomputedBehindThePage: a ranking older than five minutes is
// shown once more while it is recomputed, then the new one.
func TestRankingIsRecomputedBehindThePage(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	clk := w.clock
	b := w.signedIn(t, "lead")
	asOf := func() string {
		m := regexp.MustCompile(`As of ([0-9: -]+) \(`).FindStringSubmatch(b.getOK(Prefix + "/my/ranking").body)
		require.NotNil(t, m)
		return m[1]
	}
	first := asOf()
	clk.Advance(2 * time.Minute)
	require.Equal(t, first, asOf(), "reused within five minutes")
	clk.Advance(4 * time.Minute)
	require.Equal(t, first, asOf(), "shown once more while it is recomputed")
	require.Eventually(t, func() bool { return asOf() != first }, 10*time.Second, 50*time.Millisecond)
}
