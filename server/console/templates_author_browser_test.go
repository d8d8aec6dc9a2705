package console_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// A marketer on a phone creates a template: two mistakes in the text are
// shown at once under it, fixed, and the live preview renders the fixed
// draft for a customer by number while it is typed.
func TestBrowserTemplateAuthoring(t *testing.T) {
	browserCtx(t)
	w := newWorld(t, worldOpts{})
	mk := w.tab(t)
	mk.signIn("marketer")
	mk.do(chromedp.EmulateViewport(390, 844))
	mk.open(Prefix + "/templates/new?channel=sms&locale=zh-CN")
	mk.noHScroll("the new template form")
	text := `textarea[name="sms.zh-CN.text"]`
	mk.do(
		chromedp.SendKeys("#new-key", "care.welcome"),
		chromedp.SendKeys("#name-zh", "欢迎"),
		chromedp.SetValue("#new-source", "care.birthday"),
		chromedp.SetValue(text, "尊敬的{{.Contact.Name}，\n您好{{end}}"),
	)
	mk.submitStatus("create with two mistakes", 400, chromedp.Click("#create-template"))
	require.Equal(t, "2", mk.eval(`String(document.querySelectorAll('#template-form .problem[data-field="sms.zh-CN.text"]').length)`))
	require.Contains(t, mk.text(`#template-form .problem[data-line="1"]`), "unclosed action")
	require.Contains(t, mk.text(`#template-form .problem[data-line="2"]`), "{{end}} without")
	mk.noHScroll("the refused form")

	// Fixed while the preview follows, for K1.
	mk.do(
		chromedp.Evaluate[chromedp.Void](`document.querySelector('textarea[name="sms.zh-CN.text"]').value = ""`),
		chromedp.SendKeys(text, "尊敬的{{.Contact.Name}}，欢迎！"),
		chromedp.SendKeys("#pv-contact", "K1"),
	)
	require.Eventually(t, func() bool { return strings.Contains(mk.textNow("#live-sms"), "尊敬的张伟，欢迎！") }, 10*time.Second, 100*time.Millisecond)
	require.Equal(t, "0", mk.eval(`String(document.querySelectorAll('#live-preview .problem').length)`))
	mk.noHScroll("the form with its live preview")
	mk.screenshot("template-new-preview", "New template")
	mk.submit("create", chromedp.Click("#create-template"))
	require.Equal(t, Prefix+"/templates/care.welcome", strings.SplitN(mk.path(), "?", 2)[0])
	v, err := w.tmpl.Active(w.ctx, "care.welcome")
	require.NoError(t, err)
	require.Equal(t, "尊敬的{{.Contact.Name}}，欢迎！", v.Variants[0].SMS.Text)
}
