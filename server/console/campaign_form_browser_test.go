package console_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// noHScroll requires the page to fit its viewport's width.
func (b *tab) noHScroll(what string) {
	b.t.Helper()
	if b.eval(`String(document.documentElement.scrollWidth <= window.innerWidth)`) == "true" {
		return
	}
	b.t.Fatalf("%s scrolls sideways: %s px > %s px; too wide: %s", what, b.eval(`String(document.documentElement.scrollWidth)`), b.eval(`String(window.innerWidth)`),
		b.eval(`Array.from(document.querySelectorAll("body *")).filter(e => e.getBoundingClientRect().right > window.innerWidth).slice(0, 8).map(e => e.tagName + "#" + e.id + "." + e.className).join(" | ")`))
}

func TestBrowserCampaignFormWithoutCode(t *testing.T) {
	browserCtx(t)
	w := newWorld(t, worldOpts{})
	mk := w.tab(t)
	mk.signIn("marketer")
	mk.do(chromedp.EmulateViewport(390, 844))
	mk.open(Prefix + "/campaigns/new")
	mk.noHScroll("the new campaign form")

	// The template by its name; its variable as a field, kept in sync with the JSON under Advanced.
	mk.do(
		chromedp.SendKeys("#campaign-name", "Monday wealth"),
		chromedp.SetValue("#campaign-template", "campaign.wealth"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("campaign-template").dispatchEvent(new Event("change", {bubbles: true}))`),
		chromedp.WaitVisible("#var-product"),
		chromedp.SendKeys("#var-product", "稳健理财"),
		chromedp.SendKeys("#segment-expr", `"retail" in tags`),
	)
	require.Eventually(t, func() bool {
		return strings.Contains(mk.eval(`document.getElementById("vars-json").value`), `"product": "稳健理财"`)
	}, 5*time.Second, 100*time.Millisecond)
	require.Eventually(t, func() bool { return mk.has(`#segment-count .form-phone[data-channel="sms"]`) }, 10*time.Second, 100*time.Millisecond)

	// Weekly on Monday at 10:00: the next five firings, all Mondays at 10:00.
	mk.do(
		chromedp.Click(`input[name="kind"][value="cron"]`),
		chromedp.SetValue("#every", "weekly"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("every").dispatchEvent(new Event("change", {bubbles: true}))`),
		chromedp.SetValue("#rtime", "10:00"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("rtime").dispatchEvent(new Event("change", {bubbles: true}))`),
		chromedp.Click(`input[name="dow"][value="1"]`),
		chromedp.SetValue("#window-from", "09:00"),
		chromedp.SetValue("#window-to", "20:00"),
	)
	require.Eventually(t, func() bool {
		return mk.eval(`String(document.querySelectorAll("#next-firings li").length)`) == "5"
	}, 10*time.Second, 100*time.Millisecond)
	firings := mk.eval(`Array.from(document.querySelectorAll("#next-firings li")).map(li => li.textContent).join("\n")`)
	for _, f := range strings.Split(firings, "\n") {
		require.Regexp(t, `^Mon \d{4}-\d\d-\d\d 10:00$`, f)
	}
	mk.noHScroll("the campaign form, filled")
	mk.screenshot("campaign-form-fields", "New campaign")
	mk.submit("save the campaign", chromedp.Click("#save-campaign"))
	m := regexp.MustCompile(`^/console/campaigns/(\d+)`).FindStringSubmatch(mk.path())
	require.NotNil(t, m, mk.path())
	path := m[0]
	mk.noHScroll("the campaign page")
	require.Contains(t, mk.text("#campaign"), "CRON_TZ=Asia/Shanghai 0 10 * * 1")
	mk.submit("submit", chromedp.Click("#submit-campaign"))
	require.Equal(t, "awaiting approval", mk.text("#campaign-status"))

	// The approver approves with a comment, after a confirmation that shows the audience.
	ap := w.tab(t)
	ap.signIn("approver")
	ap.do(chromedp.EmulateViewport(390, 844))
	ap.open(path)
	ap.noHScroll("the campaign page, for the approver")
	ap.submit("approve", chromedp.Click("#approve-campaign"))
	require.Equal(t, "2", ap.text("#confirm-audience"))
	ap.noHScroll("the confirmation")
	ap.do(chromedp.SendKeys("#approve-comment", "预算已核对"))
	ap.submit("confirm the approval", chromedp.Click("#confirm-approve"))
	require.Equal(t, "approved", ap.text("#campaign-status"))

	// The marketer is told on their next page.
	mk.open(path)
	require.True(t, mk.has(".form-notice"))
	require.Contains(t, mk.text(".form-notice"), "Your campaign was approved: Monday wealth")
	require.Contains(t, mk.text(".form-notice"), "预算已核对")
	mk.noHScroll("the campaign page with the notice")
	require.Equal(t, "approved", mk.text("#campaign-status"))
}
