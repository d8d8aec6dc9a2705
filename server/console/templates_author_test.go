package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/templates"
)

// newTemplateForm is the new-template form for an SMS birthday template in
// zh-CN and en, read from the page (its CSRF token included).
func newTemplateForm(t *testing.T, b *browser) url.Values {
	t.Helper()
	p := b.getOK(Prefix + "/templates/new?channel=sms&locale=zh-CN&locale=en")
	require.Contains(t, p.body, `<textarea name="sms.zh-CN.text"`)
	require.Contains(t, p.body, `<textarea name="sms.en.text"`)
	form := formValues(p.body)
	form.Set("key", "care.welcome")
	form.Set("name_zh", "欢迎")
	form.Set("name_en", "Welcome")
	form.Set("purpose", "service")
	form.Set("source", "care.birthday")
	form.Set("channel", "sms")
	form["locale"] = []string{"zh-CN", "en"}
	form.Set("step", "create")
	form.Set("sms.zh-CN.text", "尊敬的{{.Contact.Name}}，欢迎！")
	form.Set("sms.en.text", "Dear {{.Contact.Name}}, welcome!")
	return form
}

func TestTemplateCreateCopyAndVariants(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	mk := w.signedIn(t, "marketer")
	require.Contains(t, mk.getOK(Prefix+"/templates").body, `href="/console/templates/new"`)
	form := newTemplateForm(t, mk)

	// The "fields" step shows the form again and saves nothing.
	form.Set("step", "fields")
	r := mk.do("POST", Prefix+"/templates/new", form, nil)
	require.Equal(t, http.StatusOK, r.status, r.body)
	require.Contains(t, r.body, "尊敬的{{.Contact.Name}}，欢迎！</textarea>", "what was typed is kept")
	_, err := w.tmpl.Get(w.ctx, "care.welcome")
	require.Error(t, err, "nothing saved")

	// Created: version 1, active, one variant per language, by the marketer.
	form.Set("step", "create")
	r = mk.do("POST", Prefix+"/templates/new", form, nil)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	require.Equal(t, Prefix+"/templates/care.welcome?ok=ok.created", r.location)
	v, err := w.tmpl.Active(w.ctx, "care.welcome")
	require.NoError(t, err)
	require.Equal(t, 1, v.Version)
	require.Equal(t, "console:marketer", v.Author)
	require.Equal(t, "zh-CN", v.DefaultLocale)
	require.Equal(t, map[string]string{"zh-CN": "欢迎", "en": "Welcome"}, v.Names)
	require.Len(t, v.Variants, 2)
	require.Equal(t, "Dear {{.Contact.Name}}, welcome!", mustVariant(t, v.Variants, "sms", "en").SMS.Text)
	var audited int
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT count(*) FROM audit_log WHERE action = 'template.create' AND object_id = 'care.welcome'`).Scan(&audited))
	require.Equal(t, 1, audited)

	// The same key again is refused, and adds no version to the template.
	r = mk.do("POST", Prefix+"/templates/new", form, nil)
	require.Equal(t, http.StatusConflict, r.status, r.body)
	require.Contains(t, r.body, "a template with that key exists")
	tp, err := w.tmpl.Get(w.ctx, "care.welcome")
	require.NoError(t, err)
	require.Len(t, tp.Versions, 1)

	// A copy: a new key with the same definition and its own names.
	page := mk.getOK(Prefix + "/templates/care.welcome")
	csrf := csrfOf(t, page)
	r = mk.do("POST", Prefix+"/templates/care.welcome/copy", url.Values{"csrf": {csrf}, "base": {"1"}, "new_key": {"care.welcome_vip"}, "copy_name_zh": {"贵宾欢迎"}}, nil)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	cp, err := w.tmpl.Active(w.ctx, "care.welcome_vip")
	require.NoError(t, err)
	require.Equal(t, v.Variants, cp.Variants)
	require.Equal(t, map[string]string{"zh-CN": "贵宾欢迎", "en": "Welcome"}, cp.Names)
	require.Equal(t, "copy of care.welcome v1", cp.Note)
	r = mk.do("POST", Prefix+"/templates/care.welcome/copy", url.Values{"csrf": {csrf}, "base": {"1"}, "new_key": {"care.welcome_vip"}}, nil)
	require.Equal(t, http.StatusConflict, r.status, r.body)
	require.Contains(t, r.body, `id="change-refused"`)

	// Removing the English variant saves version 2, not active.
	r = mk.do("POST", Prefix+"/templates/care.welcome/variants", url.Values{"csrf": {csrf}, "base": {"1"}, "op": {"remove"}, "channel": {"sms"}, "locale": {"en"}}, nil)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	require.Equal(t, Prefix+"/templates/care.welcome?version=2&ok=ok.saved", r.location)
	v2, err := w.tmpl.Version(w.ctx, "care.welcome", 2)
	require.NoError(t, err)
	require.Len(t, v2.Variants, 1)
	act, err := w.tmpl.Active(w.ctx, "care.welcome")
	require.NoError(t, err)
	require.Equal(t, 1, act.Version, "a variant change is reviewed before it is made active")

	// Adding it back from version 2 starts from the default language's texts.
	r = mk.do("POST", Prefix+"/templates/care.welcome/variants", url.Values{"csrf": {csrf}, "base": {"2"}, "op": {"add"}, "channel": {"sms"}, "locale": {"en"}}, nil)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	v3, err := w.tmpl.Version(w.ctx, "care.welcome", 3)
	require.NoError(t, err)
	require.Equal(t, "尊敬的{{.Contact.Name}}，欢迎！", mustVariant(t, v3.Variants, "sms", "en").SMS.Text)

	// The same language twice, and the last variant removed, are refused with the problem listed.
	r = mk.do("POST", Prefix+"/templates/care.welcome/variants", url.Values{"csrf": {csrf}, "base": {"3"}, "op": {"add"}, "channel": {"sms"}, "locale": {"en"}}, nil)
	require.Equal(t, http.StatusBadRequest, r.status, r.body)
	require.Contains(t, r.body, "two variants for the same channel and locale")
	r = mk.do("POST", Prefix+"/templates/care.welcome/variants", url.Values{"csrf": {csrf}, "base": {"2"}, "op": {"remove"}, "channel": {"sms"}, "locale": {"zh-CN"}}, nil)
	require.Equal(t, http.StatusBadRequest, r.status, r.body)
	require.Contains(t, r.body, "at least one variant is required")
	tp, err = w.tmpl.Get(w.ctx, "care.welcome")
	require.NoError(t, err)
	require.Len(t, tp.Versions, 3, "the refused changes saved nothing")

	// An approver reads templates but may not create, copy or change variants.
	ap := w.signedIn(t, "approver")
	require.NotContains(t, ap.getOK(Prefix+"/templates").body, `id="new-template"`)
	apPage := ap.getOK(Prefix + "/templates/care.welcome")
	require.NotContains(t, apPage.body, `id="copy-template"`)
	require.Equal(t, http.StatusForbidden, ap.get(Prefix+"/templates/new").status)
	apForm := newTemplateForm(t, mk)
	apForm.Set("key", "care.other")
	apForm.Set("csrf", csrfOf(t, apPage))
	require.Equal(t, http.StatusForbidden, ap.do("POST", Prefix+"/templates/new", apForm, nil).status)
	require.Equal(t, http.StatusForbidden, ap.do("POST", Prefix+"/templates/care.welcome/copy", url.Values{"csrf": {csrfOf(t, apPage)}, "base": {"1"}, "new_key": {"care.x"}}, nil).status)
	_, err = w.tmpl.Get(w.ctx, "care.other")
	require.Error(t, err)
	require.Regexp(t, regexp.MustCompile(`id="template-key"`), apPage.body)
}

// Two parse errors in one text are listed at once, each under the text at its
// line, in words, with the caret under its column; in Chinese too.
func TestTemplateParseErrorsListedTogether(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	mk := w.signedIn(t, "marketer")
	form := newTemplateForm(t, mk)
	form.Set("sms.zh-CN.text", "尊敬的{{.Contact.Name}，\n您好{{end}}")
	r := mk.do("POST", Prefix+"/templates/new", form, nil)
	require.Equal(t, http.StatusBadRequest, r.status, r.body)
	probs := regexp.MustCompile(`<div class="problem" data-field="sms\.zh-CN\.text" data-line="(\d+)" data-column="(\d+)">([^<]*)</div>`).FindAllStringSubmatch(r.body, -1)
	require.Len(t, probs, 2, r.body)
	require.Equal(t, []string{"1", "4"}, probs[0][1:3])
	require.Contains(t, probs[0][3], "unclosed action")
	require.Contains(t, probs[0][3], "尊敬的{{.Contact.Name}，\n      ^", "the caret under {{, past three wide characters")
	require.Equal(t, []string{"2", "3"}, probs[1][1:3])
	require.Contains(t, probs[1][3], "{{end}} without an {{if}}")
	require.NotContains(t, r.body, "bad character")
	_, err := w.tmpl.Get(w.ctx, "care.welcome")
	require.Error(t, err)

	mk.lang = "zh-CN"
	r = mk.do("POST", Prefix+"/templates/new", form, nil)
	require.Equal(t, http.StatusBadRequest, r.status, r.body)
	require.Contains(t, r.body, "动作未闭合")
	require.Contains(t, r.body, "多余的 {{end}}")
}

// The live preview renders the draft for a customer by number, as the saved
// version would render; a draft that does not parse shows its errors.
func TestTemplateLivePreview(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	mk := w.signedIn(t, "marketer")
	form := newTemplateForm(t, mk)
	form.Del("step")
	form.Set("pv_contact", "K1")
	r := mk.do("POST", Prefix+"/templates/preview", form, nil)
	require.Equal(t, http.StatusOK, r.status, r.body)
	require.Contains(t, r.body, `<pre class="render" id="live-sms">`)
	require.Contains(t, r.body, "尊敬的张伟，欢迎！", "K1 is Chinese: the zh-CN variant")
	require.Contains(t, r.body, "SMS part(s)")
	form.Set("pv_locale", "en")
	require.Contains(t, mk.do("POST", Prefix+"/templates/preview", form, nil).body, "Dear 张伟, welcome!")

	// What the preview shows is what the saved version renders.
	form.Set("step", "create")
	require.Equal(t, http.StatusSeeOther, mk.do("POST", Prefix+"/templates/new", form, nil).status)
	c, err := w.contacts.GetByExternalID(w.ctx, "K1")
	require.NoError(t, err)
	tc := c.ForTemplate()
	saved, err := w.tmpl.Preview(w.ctx, "care.welcome", templates.PreviewRequest{Contact: &tc, Locale: "en"})
	require.NoError(t, err)
	require.Equal(t, "Dear 张伟, welcome!", saved.Rendered[0].SMS.Text)

	form.Set("sms.en.text", "Dear {{.Contact.Name}, {{end}}")
	r = mk.do("POST", Prefix+"/templates/preview", form, nil)
	require.Equal(t, 2, strings.Count(r.body, `class="problem" data-field="sms.en.text"`), r.body)
	form.Set("pv_contact", "NOPE")
	require.Contains(t, mk.do("POST", Prefix+"/templates/preview", form, nil).body, "No such customer")
}
