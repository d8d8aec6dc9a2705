package segment_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/campaigns/segment"
	"carillon/contacts"
	"carillon/internal/audit"
)

func TestRenderRows(t *testing.T) {
	rs := segment.Rows{Join: "and", Groups: []segment.Group{{Join: "and", Rows: []segment.Row{
		{Field: "tier", Op: segment.OpIn, Values: []string{"A", "B"}},
		{Field: "tags", Op: segment.OpHas, Values: []string{"wealth"}},
		{Field: "attrs", Key: "assets", Type: segment.AttrNumber, Op: segment.OpGe, Values: []string{"500,000"}},
	}}}}
	text, err := segment.Render(rs)
	require.NoError(t, err)
	require.Equal(t, `tier in ["A", "B"] && "wealth" in tags && attrs.assets >= 500000`, text)
	_, err = segment.Compile(text)
	require.NoError(t, err)

	empty, err := segment.Render(segment.Rows{})
	require.NoError(t, err)
	require.Empty(t, empty, "no rows, no filter (and no error)")

	_, err = segment.Render(segment.Rows{Groups: []segment.Group{{Rows: []segment.Row{{Field: "tier", Op: segment.OpEq}}}}})
	require.ErrorContains(t, err, "row 1")
	require.ErrorContains(t, err, "第 1 行")
	_, err = segment.Render(segment.Rows{Groups: []segment.Group{{Rows: []segment.Row{{Field: "age", Op: segment.OpGe, Values: []string{"5.5"}}}}}})
	require.ErrorContains(t, err, "whole number")
	_, err = segment.Render(segment.Rows{Groups: []segment.Group{{Rows: []segment.Row{{Field: "tier", Op: segment.OpGe, Values: []string{"A"}}}}}})
	require.ErrorContains(t, err, "operator")
	_, err = segment.Render(segment.Rows{Groups: []segment.Group{{Rows: []segment.Row{{Field: "teir", Op: segment.OpEq, Values: []string{"A"}}}}}})
	require.ErrorContains(t, err, "unknown field")
}

// Values with quotes, backslashes, newlines and Chinese are written as
// literals: the compiled filter compares with exactly the value typed.
func TestRenderEscapes(t *testing.T) {
	for _, v := range []string{`say "hi"`, `back\slash`, `\"); true || ("`, "两行\n文本", "上海分行", `'single'`, "tab\there", "\u2028x"} {
		rs := segment.Rows{Groups: []segment.Group{{Rows: []segment.Row{
			{Field: "attrs", Key: "branch name", Type: segment.AttrString, Op: segment.OpEq, Values: []string{v}},
			{Field: "tags", Op: segment.OpHas, Values: []string{v}},
			{Field: "manager.team", Op: segment.OpIn, Values: []string{v, "东区"}},
		}}}}
		text, err := segment.Render(rs)
		require.NoError(t, err, v)
		seg, err := segment.Compile(text)
		require.NoError(t, err, "%q renders as %s", v, text)
		uses := seg.AttrUses()
		require.Len(t, uses, 1)
		require.Equal(t, "branch name", uses[0].Key)
		back, err := segment.ParseRows(text)
		require.NoError(t, err, text)
		require.Equal(t, v, back.Groups[0].Rows[0].Values[0], text)
		require.Equal(t, v, back.Groups[0].Rows[1].Values[0], text)
		require.Equal(t, []string{v, "东区"}, back.Groups[0].Rows[2].Values, text)
		again, err := segment.Render(back)
		require.NoError(t, err)
		require.Equal(t, text, again)
	}
}

func TestRowsRoundTrip(t *testing.T) {
	for _, rs := range []segment.Rows{
		{Join: "and", Groups: []segment.Group{{Join: "and", Rows: []segment.Row{
			{Field: "tier", Op: segment.OpIn, Values: []string{"A", "B"}},
			{Field: "tags", Op: segment.OpNotHas, Values: []string{"retired"}},
			{Field: "age", Op: segment.OpLt, Values: []string{"60"}},
			{Field: "consent.sms", Op: segment.OpYes},
			{Field: "has_email", Op: segment.OpNo},
		}}, {Join: "or", Rows: []segment.Row{
			{Field: "manager.team", Op: segment.OpEq, Values: []string{"east"}},
			{Field: "attrs", Key: "city", Type: segment.AttrString, Op: segment.OpStarts, Values: []string{"Shang"}},
			{Field: "attrs", Key: "vip", Type: segment.AttrBoolean, Op: segment.OpYes},
		}}}},
		{Join: "or", Groups: []segment.Group{{Join: "or", Rows: []segment.Row{
			{Field: "tier", Op: segment.OpNe, Values: []string{"D"}},
			{Field: "attrs", Key: "assets", Type: segment.AttrNumber, Op: segment.OpGt, Values: []string{"1000000.5"}},
		}}, {Join: "and", Rows: []segment.Row{
			{Field: "attrs", Key: "in", Type: segment.AttrNumber, Op: segment.OpNotIn, Values: []string{"1", "-2"}},
			{Field: "attrs", Key: "vip", Type: segment.AttrBoolean, Op: segment.OpNo},
			{Field: "gender", Op: segment.OpContains, Values: []string{"fe"}},
		}}}},
	} {
		text, err := segment.Render(rs)
		require.NoError(t, err)
		_, err = segment.Compile(text)
		require.NoError(t, err, text)
		back, err := segment.ParseRows(text)
		require.NoError(t, err, text)
		require.Equal(t, rs, back, text)
	}
	// has(): the attribute's type is not in the text.
	back, err := segment.ParseRows(`has(attrs.assets)`)
	require.NoError(t, err)
	require.Equal(t, segment.Row{Field: "attrs", Key: "assets", Op: segment.OpExists}, back.Groups[0].Rows[0])
}

func TestParseRowsRefuses(t *testing.T) {
	for _, src := range []string{
		`size(tags) > 2`,
		`!(tier == "A" && age > 3)`,
		`(tier == "A" || tier == "B") && (age > 3 || (age < 2 && has_phone))`,
		`"gold" in attrs.products`,
		`attrs.vip == false`,
		`true`,
	} {
		_, err := segment.ParseRows(src)
		require.True(t, errors.Is(err, segment.ErrTooComplex), "%s: %v", src, err)
	}
	_, err := segment.ParseRows(`teir == "A"`)
	require.ErrorIs(t, err, segment.ErrInvalid)
	rs, err := segment.ParseRows("  ")
	require.NoError(t, err)
	require.True(t, rs.Empty())
}

// Rows reach in Postgres what their text says: values with quotes,
// backslashes and Chinese match exactly the contact holding them.
func TestRowsAgainstPostgres(t *testing.T) {
	t.Parallel()
	f := setup(t)
	odd := `他说 "hi" \ 上海`
	c, err := f.store.Create(f.ctx, audit.Actor{Name: "test"}, contacts.Input{ExternalID: ptr("Q1"), Tags: &[]string{odd},
		Attrs: map[string]any{"branch name": odd}})
	require.NoError(t, err)
	require.NotZero(t, c.ID)
	for _, r := range []segment.Row{
		{Field: "tags", Op: segment.OpHas, Values: []string{odd}},
		{Field: "attrs", Key: "branch name", Type: segment.AttrString, Op: segment.OpEq, Values: []string{odd}},
		{Field: "attrs", Key: "branch name", Type: segment.AttrString, Op: segment.OpContains, Values: []string{`"hi" \`}},
	} {
		text, err := segment.Render(segment.Rows{Groups: []segment.Group{{Rows: []segment.Row{r}}}})
		require.NoError(t, err)
		require.Equal(t, []string{"Q1"}, f.match(t, text), text)
	}
	text, err := segment.Render(segment.Rows{Join: "or", Groups: []segment.Group{
		{Join: "and", Rows: []segment.Row{{Field: "tier", Op: segment.OpIn, Values: []string{"A", "B"}},
			{Field: "tags", Op: segment.OpHas, Values: []string{"wealth"}},
			{Field: "attrs", Key: "assets", Type: segment.AttrNumber, Op: segment.OpGe, Values: []string{"500,000"}}}},
		{Join: "and", Rows: []segment.Row{{Field: "gender", Op: segment.OpEq, Values: []string{"female"}}}},
	}})
	require.NoError(t, err)
	require.Equal(t, `(tier in ["A", "B"] && "wealth" in tags && attrs.assets >= 500000) || gender == "female"`, text)
	require.Equal(t, []string{"C1", "C7", "C8"}, f.match(t, text))

	// The attributes rows offer, typed as most of the data's values are.
	attrs, err := f.segs.Attributes(f.ctx)
	require.NoError(t, err)
	types := map[string]string{}
	for _, a := range attrs {
		types[a.Key] = a.Type
	}
	require.Equal(t, "number", types["assets"], "numbers, but for one text")
	require.Equal(t, "string", types["city"])
	require.Equal(t, "boolean", types["vip"])
	require.Equal(t, "array", types["products"])
}
