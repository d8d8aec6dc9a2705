package console_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"carillon/contacts"
	"carillon/internal/audit"
)

// fits requires the page to have no sideways scroll at the tab's width.
func (b *tab) fits(what string) {
	b.t.Helper()
	got := b.eval(`String(document.documentElement.scrollWidth) + " <= " + String(window.innerWidth)`)
	var sw, iw int
	_, err := fmt.Sscanf(got, "%d <= %d", &sw, &iw)
	require.NoError(b.t, err, got)
	require.LessOrEqual(b.t, sw, iw, "%s scrolls sideways (scrollWidth <= innerWidth)", what)
}

// The pages a manager, a team lead and a marketer use fit a phone (390 px)
// with no sideways scroll; long lists are paged, a lead's dates grouped by
// manager. Screenshots at 1440 and 390 px go to the test's artifacts.
func TestBrowserPhoneWidth(t *testing.T) {
	browserCtx(t)
	w := newWorld(t, worldOpts{})
	var csv strings.Builder
	csv.WriteString("external_id,name,phone,tier,manager,birthday,consent_sms\n")
	for i := range 70 {
		fmt.Fprintf(&csv, "P%03d,客户%03d,1390000%04d,B,M2,1980-01-%02d,yes\n", i, i, i, 29+i%3)
	}
	_, err := w.contacts.ImportContacts(w.ctx, strings.NewReader(csv.String()), contacts.ImportOptions{Actor: audit.Actor{Name: "test"}, SourceName: "more.csv"})
	require.NoError(t, err)
	w.clock.Advance(60 * 24 * time.Hour) // every customer overdue
	mk := w.world0Campaign(t)

	mg := w.tab(t)
	mg.signIn("mgr2")
	lead := w.tab(t)
	lead.signIn("lead")
	ad := w.tab(t)
	ad.signIn("admin")
	for _, width := range []int64{1440, 390} {
		for _, b := range []*tab{mg, lead, ad} {
			b.do(chromedp.EmulateViewport(width, 900))
		}
		for _, p := range []struct {
			b              *tab
			path, name, h1 string
		}{
			{mg, Prefix + "/my", "my", "My customers"},
			{mg, Prefix + "/my?overdue=2", "my-page2", "My customers"},
			{mg, w.path("/contacts/%d", w.cid["K2"]), "contact", "Customer"},
			{mg, Prefix + "/contacts?q=%E5%AE%A2", "contacts", "Contacts"},
			{lead, Prefix + "/my", "team", "My customers"},
			{lead, Prefix + "/my/ranking", "ranking", "Ranking"},
			{ad, Prefix + "/", "dashboard", "Dashboard"},
			{ad, mk, "campaign", "Campaign"},
			{ad, Prefix + "/campaigns", "campaigns", "Campaigns"},
			{ad, Prefix + "/campaigns/new", "campaign-new", "New campaign"},
			{ad, Prefix + "/templates", "templates", "Templates"},
			{ad, Prefix + "/templates/birthday?preview=1&contact=K1", "template", "Template"},
			{ad, Prefix + "/calendar?year=2027", "calendar", "Care calendar"},
		} {
			p.b.open(p.path)
			p.b.fits(fmt.Sprintf("%s at %d px", p.path, width))
			p.b.screenshot(fmt.Sprintf("%s-%d", p.name, width), p.h1)
		}
	}

	// My customers is paged: 30 overdue a page, with the page numbers.
	mg.open(Prefix + "/my")
	require.Equal(t, "30", mg.eval(`String(document.querySelectorAll("#overdue tbody tr").length)`))
	require.Contains(t, mg.text("#overdue .pages .count"), "of 71")
	require.True(t, mg.has(`#overdue .pages a[href="/console/my?overdue=3#overdue"]`))
	// A lead's dates are grouped by manager, their own open.
	lead.open(Prefix + "/my")
	require.True(t, lead.has("#upcoming details#upcoming-M2"))
	require.False(t, lead.has("#upcoming details#upcoming-M2[open]"))

	// The contact search updates as one types, with no button pressed.
	mg.open(Prefix + "/contacts")
	require.Equal(t, "71 customers found", mg.text("#result-count"))
	mg.do(chromedp.SendKeys("#q", "客户01"))
	require.Eventually(t, func() bool { return mg.textNow("#result-count") == "10 customers found" }, 10*time.Second, 100*time.Millisecond)
	require.Contains(t, mg.path(), "q=")
	mg.fits("the contact search typed")

	// At 390 px a manager logs a revisit on the contact page, no sideways scroll.
	mg.open(w.path("/contacts/%d", w.cid["K2"]))
	mg.fits("the revisit form")
	mg.do(chromedp.SetValue("#revisit-method", "visit"),
		chromedp.SendKeys("#revisit-outcome", "reached"))
	mg.fits("the revisit form, filled")
	mg.submit("log a revisit", chromedp.Click("#revisit-save"))
	require.Equal(t, "Revisit logged.", mg.text(".notice"))
	mg.fits("the contact page after the revisit")
	require.True(t, mg.has(`tr.event[data-kind="revisit.logged"]`))
	mg.screenshot("revisit-logged-390", "Customer")
}

// world0Campaign creates a submitted campaign as the marketer and returns its path.
func (w *world) world0Campaign(t *testing.T) string {
	t.Helper()
	b := w.signedIn(t, "marketer")
	path := createCampaign(t, b, campaignForm("Phone check"))
	r := b.post(path+"/submit", nil)
	require.Equal(t, 303, r.status, r.body)
	return path
}
