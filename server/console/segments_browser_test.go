package console_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// choose picks value in the select sel, as a user does: the page hears the change.
func (b *tab) choose(sel, value string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(sel))
	got := b.eval(fmt.Sprintf(`(() => { const s = document.querySelector(%q);
		if (!Array.from(s.options).some(o => o.value === %q)) { return "no option %s"; }
		s.value = %q; s.dispatchEvent(new Event("change", {bubbles: true})); return s.value; })()`, sel, value, value, value))
	require.Equal(b.t, value, got, sel)
}

// clear empties the text box sel.
func (b *tab) clear(sel string) {
	b.t.Helper()
	b.eval(fmt.Sprintf(`document.querySelector(%q).value = ""`, sel))
}

// noHorizontalScroll requires the page to fit the window's width.
func (b *tab) noHorizontalScroll(what string) {
	b.t.Helper()
	require.Equal(b.t, "true", b.eval(`String(document.documentElement.scrollWidth <= window.innerWidth)`),
		"%s scrolls sideways: %s", what, b.eval(`document.documentElement.scrollWidth + " > " + window.innerWidth`))
}

// wealthMarketer is a world with the wealth customers and a marketer's tab, signed in.
func wealthMarketer(t *testing.T) (*world, *tab) {
	t.Helper()
	browserCtx(t) // skips (or fails under CI) before any setup when there is no Chromium
	w := newWorld(t, worldOpts{})
	addWealthCustomers(t, w)
	mk := w.tab(t)
	mk.signIn("marketer")
	return w, mk
}

// waitCount waits for the live count to begin with prefix.
func (b *tab) waitCount(prefix string) {
	b.t.Helper()
	require.Eventually(b.t, func() bool { return b.has("#live-count") && strings.HasPrefix(b.text("#live-count"), prefix) },
		10*time.Second, 100*time.Millisecond, "the live count")
}

// A marketer builds tier in A,B and tag wealth and assets ≥ 500,000 with the
// builder only (no filter typed), sees the count, saves the segment and uses
// it in a new campaign.
func TestBrowserSegmentBuilder(t *testing.T) {
	w, mk := wealthMarketer(t)
	mk.open(Prefix + "/segments")
	mk.screenshot("segments-empty", "Segments")
	mk.submit("new segment", chromedp.Click("#new-segment"))
	mk.do(chromedp.WaitVisible("#seg-g0 .seg-add-row"))
	require.True(t, mk.has("#seg-hint"), "an empty builder shows a hint")
	require.False(t, mk.has("#seg-count .problem"), "and no error")

	// Tier is one of A, B.
	mk.do(chromedp.Click("#seg-g0 .seg-add-row"), chromedp.WaitVisible("#seg-g0-r0"))
	mk.choose("#seg-g0-r0 .seg-field", "tier")
	mk.choose("#seg-g0-r0 .seg-op", "in")
	mk.do(chromedp.Click(`#seg-g0-r0 input[type=checkbox][value="A"]`), chromedp.Click(`#seg-g0-r0 input[type=checkbox][value="B"]`))
	// Has the tag wealth, picked from the tags in use.
	mk.do(chromedp.Click("#seg-g0 .seg-add-row"), chromedp.WaitVisible("#seg-g0-r1"))
	mk.choose("#seg-g0-r1 .seg-field", "tags")
	mk.choose("#seg-g0-r1 .seg-op", "has")
	mk.choose("#seg-g0-r1 select.seg-input", "wealth")
	// Assets at least 500,000: an attribute typed as a number from the data.
	mk.do(chromedp.Click("#seg-g0 .seg-add-row"), chromedp.WaitVisible("#seg-g0-r2"))
	mk.choose("#seg-g0-r2 .seg-field", "attrs:assets")
	mk.choose("#seg-g0-r2 .seg-op", "ge")
	mk.do(chromedp.SendKeys("#seg-g0-r2 input.seg-input", "500,000"))

	mk.waitCount("2 ")
	require.Equal(t, wealthExpr, mk.eval(`document.querySelector("#seg-expr").value`), "the text under Advanced follows the rows")
	require.Equal(t, "false", mk.eval(`String(document.querySelector("#seg-advanced").open)`), "Advanced stays closed")
	mk.screenshot("segment-built", "New segment")
	mk.do(chromedp.SendKeys("#segment-name", "Wealthy A/B"), chromedp.SendKeys("#segment-description", "tier A or B, wealth, assets ≥ 500,000"))
	mk.submit("save the segment", chromedp.Click("#save-segment"))
	require.Regexp(t, `^/console/segments/\d+\?ok=ok\.saved$`, mk.path())
	sv, err := w.camps.Segments().GetByName(w.ctx, "Wealthy A/B")
	require.NoError(t, err)
	require.Equal(t, wealthExpr, sv.Expression)
	// The saved segment comes back as rows.
	mk.do(chromedp.WaitVisible("#seg-g0-r2"))
	require.Equal(t, "attrs:assets", mk.eval(`document.querySelector("#seg-g0-r2 .seg-field").value`))
	mk.waitCount("2 ")
	mk.screenshot("segment-saved", "Segment")

	// Used in a new campaign: picked from the saved segments.
	mk.open(Prefix + "/campaigns/new")
	require.True(t, mk.has("#open-builder"))
	mk.do(chromedp.SendKeys("#campaign-name", "Wealth A/B autumn"), chromedp.SetValue("#campaign-template", "campaign.wealth"),
		chromedp.SetValue(`textarea[name="vars"]`, `{"product": "稳健理财"}`))
	mk.choose("#segment-name", "Wealthy A/B")
	mk.waitCount("2 ")
	mk.submit("save the campaign", chromedp.Click("#save-campaign"))
	m := regexp.MustCompile(`^/console/campaigns/(\d+)`).FindStringSubmatch(mk.path())
	require.NotNil(t, m, mk.path())
	cp, err := w.camps.Get(w.ctx, campaignID(t, m[0]))
	require.NoError(t, err)
	require.Equal(t, "Wealthy A/B", cp.SegmentName)
	require.Equal(t, wealthExpr, cp.Segment)
}

// At 390 px the segment pages do not scroll sideways, errors included; a
// filter typed under Advanced comes back into rows.
func TestBrowserSegmentNarrow(t *testing.T) {
	w, mk := wealthMarketer(t)
	mk.do(chromedp.EmulateViewport(390, 844))
	mk.open(Prefix + "/segments/new")
	mk.do(chromedp.WaitVisible("#seg-g0 .seg-add-row"), chromedp.Click("#seg-g0 .seg-add-row"), chromedp.WaitVisible("#seg-g0-r0"))
	mk.choose("#seg-g0-r0 .seg-op", "in")
	mk.noHorizontalScroll("the builder")
	mk.screenshot("segment-narrow", "New segment")

	// Text typed under Advanced: rows when it can be, an error wrapped in its card when it is wrong.
	mk.do(chromedp.Click("#seg-advanced summary"))
	mk.clear("#seg-expr")
	mk.do(chromedp.SendKeys("#seg-expr", `manager.team == "east"`))
	require.Eventually(t, func() bool {
		return mk.eval(`(document.querySelector("#seg-g0-r0 .seg-field") || {}).value || ""`) == "manager.team"
	}, 10*time.Second, 100*time.Millisecond, "the rows follow the text")
	require.Equal(t, "east", mk.eval(`document.querySelector("#seg-g0-r0 select.seg-input").value`))
	mk.clear("#seg-expr")
	mk.do(chromedp.SendKeys("#seg-expr",
		`attrs.assets >= "a very long value that would run off the card and widen the page if it did not wrap" && nonsense_field_name > 3`))
	require.Eventually(t, func() bool { return mk.has("#seg-count .problem") }, 10*time.Second, 100*time.Millisecond)
	require.True(t, mk.has("#seg-text-broken"), "the rows say they wait for the text")
	mk.noHorizontalScroll("a long error")
	mk.screenshot("segment-narrow-error", "New segment")

	mk.clear("#seg-expr")
	mk.do(chromedp.SendKeys("#seg-expr", `size(tags) > 1`))
	require.Eventually(t, func() bool { return mk.has("#seg-too-complex") }, 10*time.Second, 100*time.Millisecond, "too complex for rows")
	mk.do(chromedp.SendKeys("#segment-name", "two tags"))
	mk.submit("save", chromedp.Click("#save-segment"))
	sv, err := w.camps.Segments().GetByName(w.ctx, "two tags")
	require.NoError(t, err)
	require.Equal(t, `size(tags) > 1`, sv.Expression)
	mk.noHorizontalScroll("the saved segment")
	mk.open(Prefix + "/segments")
	mk.noHorizontalScroll("the list")
	mk.screenshot("segments-narrow", "Segments")

	// In Chinese: the fields and operators by their Chinese names.
	mk.submit("switch to Chinese", chromedp.Click("a.lang"))
	mk.open(Prefix + "/segments/new")
	mk.do(chromedp.WaitVisible("#seg-g0 .seg-add-row"), chromedp.Click("#seg-g0 .seg-add-row"), chromedp.WaitVisible("#seg-g0-r0"))
	mk.choose("#seg-g0-r0 .seg-op", "in")
	require.Equal(t, "客户等级", mk.eval(`(s => s.options[s.selectedIndex].text)(document.querySelector("#seg-g0-r0 .seg-field"))`))
	require.Equal(t, "属于", mk.eval(`(s => s.options[s.selectedIndex].text)(document.querySelector("#seg-g0-r0 .seg-op"))`))
	require.True(t, mk.has("#seg-hint"), "a row not yet filled in: still the hint")
	mk.noHorizontalScroll("the builder in Chinese")
	mk.screenshot("segment-narrow-zh", "新建客群")
}
