package console_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// A template's display names are saved with a version and shown in the list,
// on the page and in the campaign form's picker, in the page's language.
func TestTemplateDisplayNames(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	mk := w.signedIn(t, "marketer")
	list := mk.getOK(Prefix + "/templates").body
	require.Contains(t, list, `<a href="/console/templates/birthday">birthday</a>`, "no names yet: the key")

	p := mk.getOK(Prefix + "/templates/birthday")
	form := formValues(p.body)
	form.Set("name_zh", "生日祝福")
	form.Set("name_en", "Birthday greeting")
	form.Set("activate", "on")
	r := mk.do("POST", Prefix+"/templates/birthday", form, nil)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	v, err := w.tmpl.Active(w.ctx, "birthday")
	require.NoError(t, err)
	require.Equal(t, map[string]string{"zh-CN": "生日祝福", "en": "Birthday greeting"}, v.Names)

	list = mk.getOK(Prefix + "/templates").body
	require.Contains(t, list, `<a href="/console/templates/birthday">Birthday greeting</a>`)
	p = mk.getOK(Prefix + "/templates/birthday")
	require.Contains(t, p.body, `value="生日祝福"`)
	require.Contains(t, p.body, "Birthday greeting <code>birthday</code>")
	require.Contains(t, p.body, "sign name", "field labels are words, not codes")
}
