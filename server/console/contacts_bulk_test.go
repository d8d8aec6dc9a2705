package console_test

import (
	"html"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/contacts"
	"carillon/internal/audit"
)

// hasTag reports whether the contact with external id ext holds tag.
func (w *world) hasTag(t *testing.T, ext, tag string) bool {
	t.Helper()
	c, err := w.contacts.Get(w.ctx, w.cid[ext])
	require.NoError(t, err)
	return slices.Contains(c.Tags, tag)
}

// tagged lists which of the world's contacts hold tag, in K1, K2, K3 order.
func (w *world) tagged(t *testing.T, tag string) []string {
	t.Helper()
	var out []string
	for _, ext := range []string{"K1", "K2", "K3"} {
		if w.hasTag(t, ext, tag) {
			out = append(out, ext)
		}
	}
	return out
}

// bulkForm is the bulk tag form choosing the contacts exts (none: all=1).
func (w *world) bulkForm(tag, op string, exts ...string) url.Values {
	f := url.Values{"bulk_tag": {tag}, "op": {op}}
	if len(exts) == 0 {
		f.Set("all", "1")
	}
	for _, ext := range exts {
		f.Add("id", strconv.FormatInt(w.cid[ext], 10))
	}
	return f
}

func with(f url.Values, kv ...string) url.Values {
	f = cloneValues(f)
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

// Rows ticked on the list: the preview counts them and changes nothing; the
// confirmation tags them (not the others), with a timeline event each, one
// audit row and the notice in the page's language.
func TestBulkTagChosenRows(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	mk := w.signedIn(t, "marketer")
	list := mk.getOK(Prefix + "/contacts")
	require.Contains(t, list.body, `id="bulk-form"`)
	require.Contains(t, list.body, `id="pick-`+strconv.FormatInt(w.cid["K1"], 10)+`"`)

	f := w.bulkForm("wealth", "add", "K1", "K2")
	prev := mk.post(Prefix+"/contacts/bulk-tag", f)
	require.Equal(t, http.StatusOK, prev.status, prev.body)
	require.Contains(t, prev.body, `<dd id="bulk-matched">2</dd>`)
	require.Contains(t, prev.body, `<dd id="bulk-changed">2</dd>`)
	require.Contains(t, prev.body, `id="confirm-bulk"`)
	require.Contains(t, prev.body, "K1")
	require.NotContains(t, prev.body, "13812345671", "the marketer's sample is masked")
	require.Empty(t, w.tagged(t, "wealth"), "a preview changes nothing")

	done := mk.post(Prefix+"/contacts/bulk-tag", with(f, "confirm", "1"))
	require.Equal(t, http.StatusSeeOther, done.status, done.body)
	require.Equal(t, []string{"K1", "K2"}, w.tagged(t, "wealth"))
	require.Contains(t, html.UnescapeString(mk.getOK(done.location).body), "Tag wealth added to 2 customers.")
	mk.lang = "zh-CN"
	require.Contains(t, mk.getOK(done.location).body, "已为 2 位客户添加标签 wealth。")
	mk.lang = "en"

	tl, err := w.contacts.Timeline(w.ctx, w.cid["K1"], contacts.TimelineFilter{Kind: "contact.", Limit: 10})
	require.NoError(t, err)
	require.NotEmpty(t, tl.Items)
	require.Equal(t, contacts.EventTagged, tl.Items[0].Kind)
	recs, _, err := audit.List(w.ctx, w.db.Pool, audit.Filter{Action: "contacts.bulk_tag"})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, "console:marketer", recs[0].Actor)

	// Again, with K3 too: K3 changes, the others already had the tag.
	done = mk.post(Prefix+"/contacts/bulk-tag", with(w.bulkForm("wealth", "add", "K1", "K2", "K3"), "confirm", "1"))
	require.Equal(t, http.StatusSeeOther, done.status, done.body)
	require.Contains(t, html.UnescapeString(mk.getOK(done.location).body), "Tag wealth added to 1 customers. 2 already had it.")
	require.Equal(t, []string{"K1", "K2", "K3"}, w.tagged(t, "wealth"))

	// Back from the confirmation: the list with the ticks and the tag kept.
	back := mk.post(Prefix+"/contacts/bulk-tag", with(w.bulkForm("gold", "add", "K2"), "back", "1"))
	require.Equal(t, http.StatusOK, back.status, back.body)
	require.Contains(t, back.body, `id="pick-`+strconv.FormatInt(w.cid["K2"], 10)+`" class="pick" aria-label="Choose K2" checked`)
	require.NotContains(t, back.body, `id="pick-`+strconv.FormatInt(w.cid["K1"], 10)+`" class="pick" aria-label="Choose K1" checked`)
	require.Contains(t, back.body, `value="gold"`)
}

// "All N matching this search": every match of the search (here the tag
// retail: K1 and K2), not the others; removing works the same way.
func TestBulkTagAllMatching(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	ad := w.signedIn(t, "admin")
	list := ad.getOK(Prefix + "/contacts?tag=retail")
	require.Contains(t, list.body, "All 2 customers matching this search")

	f := with(w.bulkForm("autumn", "add"), "tag", "retail")
	prev := ad.post(Prefix+"/contacts/bulk-tag", f)
	require.Equal(t, http.StatusOK, prev.status, prev.body)
	require.Contains(t, prev.body, `<dd id="bulk-matched">2</dd>`)
	require.Contains(t, prev.body, `name="all" value="1"`, "the confirmation keeps the whole search")
	done := ad.post(Prefix+"/contacts/bulk-tag", with(f, "confirm", "1"))
	require.Equal(t, http.StatusSeeOther, done.status, done.body)
	require.Contains(t, done.location, "tag=retail", "back to the same search")
	require.Equal(t, []string{"K1", "K2"}, w.tagged(t, "autumn"))

	// Remove it from every contact (the empty search), K3 never had it.
	done = ad.post(Prefix+"/contacts/bulk-tag", with(w.bulkForm("autumn", "remove"), "confirm", "1"))
	require.Equal(t, http.StatusSeeOther, done.status, done.body)
	require.Empty(t, w.tagged(t, "autumn"))
	require.Contains(t, html.UnescapeString(ad.getOK(done.location).body), "Tag autumn removed from 2 customers. 1 did not have it.")
	recs, _, err := audit.List(w.ctx, w.db.Pool, audit.Filter{Action: "contacts.bulk_untag"})
	require.NoError(t, err)
	require.Len(t, recs, 1)
}

// A manager tags within their scope only: an id from outside it is never
// tagged, even posted by hand with the confirmation; "all matching" is the
// scope's matches.
func TestBulkTagManagerScope(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	m3 := w.signedIn(t, "mgr3") // M3: K3 only
	require.Contains(t, m3.getOK(Prefix+"/contacts").body, `id="bulk-form"`)

	// K1 (M1's) only: nothing is matched, no confirm button; confirmed anyway, nothing changes.
	prev := m3.post(Prefix+"/contacts/bulk-tag", w.bulkForm("mine", "add", "K1"))
	require.Equal(t, http.StatusOK, prev.status, prev.body)
	require.Contains(t, prev.body, `<dd id="bulk-matched">0</dd>`)
	require.NotContains(t, prev.body, `id="confirm-bulk"`)
	require.NotContains(t, prev.body, "张伟", "a contact outside the scope is not shown")
	done := m3.post(Prefix+"/contacts/bulk-tag", with(w.bulkForm("mine", "add", "K1"), "confirm", "1"))
	require.Equal(t, http.StatusSeeOther, done.status, done.body)
	require.Empty(t, w.tagged(t, "mine"))

	// K1 and K3: K3 only.
	done = m3.post(Prefix+"/contacts/bulk-tag", with(w.bulkForm("mine", "add", "K1", "K3"), "confirm", "1"))
	require.Equal(t, http.StatusSeeOther, done.status, done.body)
	require.Equal(t, []string{"K3"}, w.tagged(t, "mine"))
	require.Contains(t, html.UnescapeString(m3.getOK(done.location).body), "Tag mine added to 1 customers.")

	// All matching, for the team lead of M1 and M2: K1 and K2, never K3.
	lead := w.signedIn(t, "lead")
	prev = lead.post(Prefix+"/contacts/bulk-tag", w.bulkForm("team", "add"))
	require.Contains(t, prev.body, `<dd id="bulk-matched">2</dd>`)
	done = lead.post(Prefix+"/contacts/bulk-tag", with(w.bulkForm("team", "add"), "confirm", "1"))
	require.Equal(t, http.StatusSeeOther, done.status, done.body)
	require.Equal(t, []string{"K1", "K2"}, w.tagged(t, "team"))

	// Approvers and auditors get no form and may not post one.
	for _, login := range []string{"approver", "auditor"} {
		b := w.signedIn(t, login)
		require.NotContains(t, b.getOK(Prefix+"/contacts").body, `id="bulk-form"`, login)
		require.Equal(t, http.StatusForbidden, b.post(Prefix+"/contacts/bulk-tag", with(w.bulkForm("x", "add"), "confirm", "1")).status, login)
	}
	require.Equal(t, []string{"K1", "K2"}, w.tagged(t, "team"))
	require.Empty(t, w.tagged(t, "x"))
}

// A bad tag, or no row chosen: the list again with a clear error in the
// page's language, the search, the ticks and the tag as typed kept, and
// nothing changed.
func TestBulkTagBadForm(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	mk := w.signedIn(t, "marketer")
	k1 := strconv.FormatInt(w.cid["K1"], 10)
	for _, tc := range []struct {
		tag, lang, want string
	}{
		{"vip gold", "en", "A tag holds letters, digits, _ - and . only"},
		{"vip gold", "zh-CN", "标签只能包含文字、数字和 _ - . 符号"},
		{"", "zh-CN", "请填写要添加或移除的标签。"},
		{"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三", "en", "A tag has at most 32 characters."},
	} {
		mk.lang = tc.lang
		f := with(w.bulkForm(tc.tag, "add", "K1"), "q", "张", "confirm", "1")
		p := mk.post(Prefix+"/contacts/bulk-tag", f)
		require.Equal(t, http.StatusBadRequest, p.status, tc.tag)
		require.Contains(t, html.UnescapeString(p.body), tc.want)
		require.Contains(t, p.body, `id="bulk-error"`)
		require.Contains(t, p.body, `id="q" value="张"`, "the search is kept")
		require.Contains(t, p.body, `id="pick-`+k1+`" class="pick"`)
		require.Regexp(t, `id="pick-`+k1+`"[^>]* checked`, p.body, "the tick is kept")
		require.Contains(t, p.body, `id="bulk-tag" value="`+tc.tag+`"`, "the tag as typed is kept")
	}
	mk.lang = "en"
	p := mk.post(Prefix+"/contacts/bulk-tag", url.Values{"bulk_tag": {"vip"}, "op": {"add"}, "confirm": {"1"}})
	require.Equal(t, http.StatusBadRequest, p.status)
	require.Contains(t, p.body, "Choose at least one customer")
	require.Equal(t, http.StatusBadRequest, mk.post(Prefix+"/contacts/bulk-tag", with(w.bulkForm("vip", "add", "K1"), "op", "drop")).status)
	require.Equal(t, http.StatusBadRequest, mk.post(Prefix+"/contacts/bulk-tag", url.Values{"bulk_tag": {"vip"}, "id": {"K1"}}).status)
	recs, _, err := audit.List(w.ctx, w.db.Pool, audit.Filter{Action: "contacts.bulk_tag"})
	require.NoError(t, err)
	require.Empty(t, recs, "nothing was tagged")
	require.Equal(t, []string{"K1"}, w.tagged(t, "vip"))
}
