package console_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// A team lead on a phone ticks two customers on the list, adds a tag, sees
// the confirmation with the count, confirms and reads the notice; the two are
// tagged and the third is not. No page scrolls sideways at 390 px.
func TestBrowserBulkTag(t *testing.T) {
	browserCtx(t)
	w := newWorld(t, worldOpts{})
	b := w.tab(t)
	b.signIn("lead")
	b.do(chromedp.EmulateViewport(390, 844))
	b.open(Prefix + "/contacts")
	b.noHScroll("the contact list with its bulk tag form")
	require.True(t, b.has("#bulk-form"), "a team lead may tag their team's customers")
	b.do(
		chromedp.Click(fmt.Sprintf("#pick-%d", w.cid["K1"])),
		chromedp.Click(fmt.Sprintf("#pick-%d", w.cid["K2"])),
		chromedp.SendKeys("#bulk-tag", "vip2026"),
	)
	b.screenshot("bulk-ticked-390", "Contacts")
	b.submit("preview the bulk tag", chromedp.Click("#bulk-preview"))
	require.Equal(t, "2", b.text("#bulk-matched"))
	require.Equal(t, "2", b.text("#bulk-changed"))
	require.Empty(t, w.tagged(t, "vip2026"), "the confirmation page changes nothing")
	b.noHScroll("the bulk tag confirmation")
	b.screenshot("bulk-confirm-390", "Tag customers")
	b.submit("confirm the bulk tag", chromedp.Click("#confirm-bulk"))
	require.Contains(t, b.text("#bulk-notice"), "vip2026")
	require.Contains(t, b.text("#bulk-notice"), "2")
	b.noHScroll("the contact list after the bulk tag")
	require.Equal(t, []string{"K1", "K2"}, w.tagged(t, "vip2026"))
}
