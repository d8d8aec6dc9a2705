package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/campaigns/segment"
	"carillon/contacts"
	"carillon/internal/audit"
)

// addWealthCustomers adds customers with tiers, the wealth tag and assets:
// W1 and W2 are tier A or B, tagged wealth, with assets of 500,000 or more.
func addWealthCustomers(t testing.TB, w *world) {
	t.Helper()
	ptr := func(s string) *string { return &s }
	for _, c := range []struct {
		ext, tier string
		tags      []string
		assets    float64
	}{
		{"W1", "A", []string{"wealth"}, 600000}, {"W2", "B", []string{"wealth", "vip"}, 500000},
		{"W3", "C", []string{"wealth"}, 900000}, {"W4", "A", []string{"wealth"}, 100000}, {"W5", "B", nil, 800000},
	} {
		tags := c.tags
		_, err := w.contacts.Create(w.ctx, audit.Actor{Name: "test"}, contacts.Input{ExternalID: ptr(c.ext), Name: ptr("客户" + c.ext),
			Tier: ptr(c.tier), Tags: &tags, Attrs: map[string]any{"assets": c.assets, "branch": "SH01"}})
		require.NoError(t, err)
	}
}

// wealthRows is tier in A,B and tag wealth and assets ≥ 500,000, as the builder posts it.
const wealthRows = `{"join":"and","groups":[{"join":"and","rows":[
	{"field":"tier","op":"in","values":["A","B"]},
	{"field":"tags","op":"has","values":["wealth"]},
	{"field":"attrs","key":"assets","type":"number","op":"ge","values":["500,000"]}]}]}`

const wealthExpr = `tier in ["A", "B"] && "wealth" in tags && attrs.assets >= 500000`

func TestSegmentSavedFromRows(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	addWealthCustomers(t, w)
	mk := w.signedIn(t, "marketer")

	list := mk.getOK(Prefix + "/segments")
	require.Contains(t, list.body, `href="/console/segments"`, "in the navigation")
	form := mk.getOK(Prefix + "/segments/new")
	require.Contains(t, form.body, `id="seg-hint"`, "an empty builder shows a hint")
	require.NotContains(t, form.body, `class="problem"`, "and no error")

	// The builder's fields: Chinese and English names, choices read from the data.
	mk.lang = "zh"
	var meta struct {
		Fields []struct {
			Name, Key, Label, En, Zh, Type string
			Ops                            []string
			Choices                        []struct{ Value, Label string }
		}
	}
	require.NoError(t, json.Unmarshal([]byte(mk.getOK(Prefix+"/segments/fields").body), &meta))
	mk.lang = "en"
	byName := map[string]int{}
	for i, f := range meta.Fields {
		byName[f.Name+"."+f.Key] = i
	}
	tier := meta.Fields[byName["tier."]]
	require.Equal(t, "客户等级", tier.Label)
	require.Equal(t, "Customer tier", tier.En)
	require.Contains(t, tier.Ops, "in")
	var tags, teams []string
	for _, c := range meta.Fields[byName["tags."]].Choices {
		tags = append(tags, c.Value)
	}
	for _, c := range meta.Fields[byName["manager.team."]].Choices {
		teams = append(teams, c.Value)
	}
	require.Equal(t, "wealth", tags[0], "the most held tag first")
	require.Contains(t, tags, "retail")
	require.ElementsMatch(t, []string{"east", "south"}, teams)
	assets := meta.Fields[byName["attrs.assets"]]
	require.Equal(t, "number", assets.Type, "typed from the data")
	require.Contains(t, assets.Ops, "ge")
	require.Equal(t, "string", meta.Fields[byName["attrs.branch"]].Type)

	// Rows become text and text rows, through the server.
	var a struct {
		Expr    string
		Rows    *segment.Rows
		Complex bool
		Error   string
	}
	rows := func(form url.Values) {
		t.Helper()
		r := mk.post(Prefix+"/segments/rows", form)
		require.Equal(t, http.StatusOK, r.status, r.body)
		a.Rows = nil
		require.NoError(t, json.Unmarshal([]byte(r.body), &a))
	}
	rows(url.Values{"rows": {wealthRows}})
	require.Equal(t, wealthExpr, a.Expr)
	require.Empty(t, a.Error)
	rows(url.Values{"expr": {wealthExpr}})
	require.NotNil(t, a.Rows)
	require.Len(t, a.Rows.Groups[0].Rows, 3)
	rows(url.Values{"expr": {`size(tags) > 1`}})
	require.True(t, a.Complex)

	// The live count: a hint for nothing, the count for the rows' text.
	require.Contains(t, mk.post(Prefix+"/segments/preview", url.Values{"expr": {""}}).body, `id="seg-hint"`)
	// The campaign form's card too: an empty form greets the marketer with the
	// hint, not a red error.
	emptyCard := mk.post(Prefix+"/campaigns/preview", url.Values{"expr": {"  "}}).body
	require.Contains(t, emptyCard, `id="seg-hint"`)
	require.NotContains(t, emptyCard, `class="problem"`)
	require.Regexp(t, `<strong>2</strong>`, mk.post(Prefix+"/segments/preview", url.Values{"expr": {wealthExpr}}).body)

	// Saved from rows: the filter is the rows rendered by the server.
	save := url.Values{"name": {"高净值 A/B"}, "description": {"tier A or B, wealth, assets ≥ 500,000"}, "mode": {"rows"},
		"rows": {wealthRows}, "expr": {"ignored in rows mode"}}
	r := mk.post(Prefix+"/segments", save)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	require.Regexp(t, `^/console/segments/\d+\?ok=ok\.saved$`, r.location)
	sv, err := w.camps.Segments().GetByName(w.ctx, "高净值 A/B")
	require.NoError(t, err)
	require.Equal(t, wealthExpr, sv.Expression)
	require.Equal(t, "console:marketer", sv.CreatedBy)
	page := mk.getOK(strings.TrimSuffix(r.location, "?ok=ok.saved"))
	require.Contains(t, page.body, `value="高净值 A/B"`)
	require.Contains(t, page.body, `data-mode="rows"`, "the saved filter comes back as rows")
	require.Contains(t, mk.getOK(Prefix+"/segments").body, "高净值 A/B")

	// The campaign form offers it, and opens the builder.
	cf := mk.getOK(Prefix + "/campaigns/new?segment=" + url.QueryEscape("高净值 A/B"))
	require.Regexp(t, `<option value="高净值 A/B" selected>`, cf.body)
	require.Contains(t, cf.body, `href="/console/segments/new" id="open-builder"`)

	// Refusals keep what was typed: a taken name, no condition, an unfinished
	// row, an attribute compared with the wrong type.
	r = mk.post(Prefix+"/segments", save)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, r.body, "A segment of that name exists")
	require.Contains(t, r.body, `value="tier A or B, wealth, assets ≥ 500,000"`)
	empty := cloneValues(save)
	empty.Set("name", "empty")
	empty.Set("rows", `{"join":"and","groups":[]}`)
	r = mk.post(Prefix+"/segments", empty)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, r.body, "Add at least one condition.")
	unfinished := cloneValues(empty)
	unfinished.Set("rows", `{"groups":[{"rows":[{"field":"tier","op":"eq"}]}]}`)
	r = mk.post(Prefix+"/segments", unfinished)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, r.body, "row 1: choose or type a value for tier")
	wrong := cloneValues(empty)
	wrong.Set("rows", `{"groups":[{"rows":[{"field":"attrs","key":"assets","type":"string","op":"eq","values":["lots"]}]}]}`)
	r = mk.post(Prefix+"/segments", wrong)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, r.body, "attrs.assets holds number values")
	require.Contains(t, r.body, "attrs.assets == &#34;lots&#34;</textarea>")

	// Text mode: saved as typed, too complex for rows.
	text := url.Values{"name": {"many tags"}, "mode": {"text"}, "expr": {`size(tags) > 1`}}
	r = mk.post(Prefix+"/segments", text)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	page = mk.getOK(strings.TrimSuffix(r.location, "?ok=ok.saved"))
	require.Contains(t, page.body, `data-mode="text"`)
	require.Regexp(t, regexp.MustCompile(`id="seg-complex">`), page.body)

	// Edited: the same segment, renamed.
	id := strings.TrimSuffix(strings.TrimPrefix(r.location, Prefix+"/segments/"), "?ok=ok.saved")
	text.Set("name", "two tags or more")
	r = mk.post(Prefix+"/segments/"+id, text)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	_, err = w.camps.Segments().GetByName(w.ctx, "two tags or more")
	require.NoError(t, err)
}

func TestSegmentPermissions(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	au := w.signedIn(t, "auditor")
	au.getOK(Prefix + "/segments")
	require.Equal(t, http.StatusForbidden, au.get(Prefix+"/segments/new").status)
	require.Equal(t, http.StatusForbidden, au.post(Prefix+"/segments", url.Values{"name": {"x"}, "mode": {"text"}, "expr": {`tier == "A"`}}).status)
	require.Equal(t, http.StatusForbidden, au.post(Prefix+"/segments/preview", url.Values{"expr": {`tier == "A"`}}).status)
	ap := w.signedIn(t, "approver")
	require.Equal(t, http.StatusOK, ap.post(Prefix+"/segments/preview", url.Values{"expr": {`tier == "A"`}}).status, "an approver counts")
	require.Equal(t, http.StatusForbidden, ap.post(Prefix+"/segments", url.Values{"name": {"x"}, "mode": {"text"}, "expr": {`tier == "A"`}}).status)
	mg := w.signedIn(t, "mgr2")
	require.Equal(t, http.StatusForbidden, mg.get(Prefix+"/segments").status)
	require.NotContains(t, mg.getOK(Prefix+"/contacts").body, `href="/console/segments"`)
}
