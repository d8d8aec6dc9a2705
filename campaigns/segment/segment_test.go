package segment_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"carillon/campaigns/segment"
	"carillon/contacts"
	"carillon/internal/audit"
	"carillon/internal/pgtest"
	"carillon/internal/testlog"
)

var today = time.Date(2026, time.November, 28, 10, 0, 0, 0, time.UTC)

type fixture struct {
	ctx   context.Context
	db    *pgtest.DB
	store *contacts.Store
	segs  *segment.Store
	ids   map[string]int64 // external id -> contact id
}

func ptr[T any](v T) *T { return &v }

// setup creates managers and contacts whose every field a filter can read is known.
func setup(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	store, err := contacts.NewStore(db.Pool, contacts.Config{Logger: testlog.New(t)})
	require.NoError(t, err)
	actor := audit.Actor{Name: "test"}
	for _, m := range []contacts.ManagerInput{
		{Code: ptr("M1"), Name: ptr("East One"), Team: ptr("east")},
		{Code: ptr("M2"), Name: ptr("West Two"), Team: ptr("west")},
	} {
		_, err := store.SaveManager(ctx, actor, m, true)
		require.NoError(t, err)
	}
	type row struct {
		in     contacts.Input
		status string
		erase  bool
	}
	rows := []row{
		{in: contacts.Input{ExternalID: ptr("C1"), Tier: ptr("A"), Tags: &[]string{"wealth", "vip"}, Birthday: ptr("1960-05-01"), Manager: ptr("M1"),
			Phone: ptr("13800000001"), Email: ptr("c1@example.com"), Consents: map[string]bool{"sms": true},
			Attrs: map[string]any{"assets": 600000, "city": "Shanghai", "products": []any{"gold", "fund"}, "vip": true}}},
		{in: contacts.Input{ExternalID: ptr("C2"), Tier: ptr("B"), Tags: &[]string{"wealth"}, Birthday: ptr("1970-02-28"), Manager: ptr("M2"),
			Phone: ptr("13800000002"), Attrs: map[string]any{"assets": 400000, "city": "Beijing"}}},
		{in: contacts.Input{ExternalID: ptr("C3"), Tier: ptr("C"), Email: ptr("c3@example.com"), Attrs: map[string]any{"assets": "lots"}}},
		{in: contacts.Input{ExternalID: ptr("C4"), Tier: ptr("A"), Tags: &[]string{"retired"}, Birthday: ptr("2000-02-29"), Locale: ptr("en"),
			TimeZone: ptr("Europe/London"), WeChatOpenID: ptr("oABCDEFGHIJKLMNOPQRSTUVWXYZ4"), Attrs: map[string]any{"assets": 1000000.5}}},
		{in: contacts.Input{ExternalID: ptr("C5"), Tier: ptr("D"), Tags: &[]string{"wealth"}, Attrs: map[string]any{"assets": 900000}}, status: "dormant"},
		{in: contacts.Input{ExternalID: ptr("C6"), Tier: ptr("A"), Attrs: map[string]any{"assets": 900000}}, erase: true},
		{in: contacts.Input{ExternalID: ptr("C7"), Gender: ptr("female"), Birthday: ptr("1971-12-31"),
			Attrs: map[string]any{"city": "Shanghai", "branch code": "SH01"}}},
		{in: contacts.Input{ExternalID: ptr("C8"), Tier: ptr("B"), Tags: &[]string{"wealth", "vip"}, Birthday: ptr("1971-06-15"), Manager: ptr("M1"),
			Phone: ptr("13800000008"), Attrs: map[string]any{"assets": 500000}}},
	}
	ids := map[string]int64{}
	for _, r := range rows {
		if r.status != "" {
			r.in.Status = ptr(r.status)
		}
		c, err := store.Create(ctx, actor, r.in)
		require.NoError(t, err)
		ids[c.ExternalID] = c.ID
		if r.erase {
			require.NoError(t, store.Erase(ctx, actor, c.ID))
		}
	}
	segs, err := segment.NewStore(db.Pool, store, segment.Config{Logger: testlog.New(t), Now: func() time.Time { return today }})
	require.NoError(t, err)
	return &fixture{ctx: ctx, db: db, store: store, segs: segs, ids: ids}
}

// match runs a filter's SQL and returns the external ids it reaches.
func (f *fixture) match(t testing.TB, src string) []string {
	t.Helper()
	seg, err := segment.Compile(src)
	require.NoError(t, err, src)
	where, args := f.segs.Audience(seg, 1)
	rows, err := f.db.Pool.Query(f.ctx, `SELECT c.external_id FROM contacts c WHERE `+where+` ORDER BY c.external_id`, args...)
	require.NoError(t, err, src)
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err, src)
	if got == nil {
		got = []string{}
	}
	return got
}

func TestCompileAgainstPostgres(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tests := []struct {
		src  string
		want []string
	}{
		{`tier in ["A", "B"] && "wealth" in tags && attrs.assets >= 500000 && age >= 55 && manager.team == "east"`, []string{"C1", "C8"}},
		{`true`, []string{"C1", "C2", "C3", "C4", "C7", "C8"}}, // never the dormant C5 or the erased C6
		{`false`, []string{}},
		{`tier in ["A", "B"]`, []string{"C1", "C2", "C4", "C8"}},
		{`tier == ""`, []string{"C7"}},
		{`tier != "A"`, []string{"C2", "C3", "C7", "C8"}},
		{`"A" == tier`, []string{"C1", "C4"}},
		{`tier < "C"`, []string{"C1", "C2", "C4", "C7", "C8"}},
		{`"wealth" in tags`, []string{"C1", "C2", "C8"}},
		{`!("wealth" in tags)`, []string{"C3", "C4", "C7"}},
		{`size(tags) >= 2`, []string{"C1", "C8"}},
		{`tags.size() == 0`, []string{"C3", "C7"}},
		{`attrs.assets >= 500000`, []string{"C1", "C4", "C8"}},
		{`500000 <= attrs.assets`, []string{"C1", "C4", "C8"}},
		{`attrs.assets < 500000`, []string{"C2"}},                 // text "lots" and a missing value compare false
		{`!(attrs.assets >= 500000)`, []string{"C2", "C3", "C7"}}, // ...and ! is the exact complement
		{`attrs.assets > 1000000.25`, []string{"C4"}},
		{`attrs.assets == -1`, []string{}},
		{`attrs.assets in [500000, 600000]`, []string{"C1", "C8"}},
		{`attrs.city == "Shanghai"`, []string{"C1", "C7"}},
		{`attrs.city != "Shanghai"`, []string{"C2", "C3", "C4", "C8"}},
		{`attrs.city in ["Beijing", "Shanghai"]`, []string{"C1", "C2", "C7"}},
		{`attrs.city.startsWith("Shang")`, []string{"C1", "C7"}},
		{`attrs["branch code"] == "SH01"`, []string{"C7"}},
		{`"gold" in attrs.products`, []string{"C1"}},
		{`has(attrs.city)`, []string{"C1", "C2", "C7"}},
		{`attrs.vip`, []string{"C1"}},
		{`attrs.vip == true`, []string{"C1"}},
		{`age >= 55`, []string{"C1", "C2", "C8"}},
		{`age > 55`, []string{"C1", "C2"}},
		{`age == 54`, []string{"C7"}},
		{`age <= 54`, []string{"C4", "C7"}},
		{`age < 30`, []string{"C4"}}, // born 29 February 2000: 26
		{`age in [26, 66]`, []string{"C1", "C4"}},
		{`age != 66`, []string{"C2", "C3", "C4", "C7", "C8"}},
		{`manager.team == "east"`, []string{"C1", "C8"}},
		{`manager.team != "east"`, []string{"C2", "C3", "C4", "C7"}},
		{`manager.code in ["M2"]`, []string{"C2"}},
		{`manager.team == ""`, []string{"C3", "C4", "C7"}},
		{`manager.team.startsWith("we")`, []string{"C2"}},
		{`has_email && !has_phone`, []string{"C3"}},
		{`has_wechat`, []string{"C4"}},
		{`has_phone == false`, []string{"C3", "C4", "C7"}},
		{`consent.sms`, []string{"C1"}},
		{`!consent.sms && has_phone`, []string{"C2", "C8"}},
		{`locale.startsWith("en")`, []string{"C4"}},
		{`timezone == "Europe/London"`, []string{"C4"}},
		{`gender == "female"`, []string{"C7"}},
		{`external_id.endsWith("8")`, []string{"C8"}},
		{"tier == \"A\" ||\n  gender == \"female\"", []string{"C1", "C4", "C7"}},
		{`(tier == "A" || tier == "B") && !(manager.team == "west")`, []string{"C1", "C4", "C8"}},
		// Text that looks like SQL is a value, nothing more.
		{`tier == "A'; DROP TABLE contacts; --"`, []string{}},
		{`attrs.city == "x\" OR 1=1 --"`, []string{}},
		{`locale.startsWith("%")`, []string{}}, // LIKE's wildcards are escaped
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			require.Equal(t, tt.want, f.match(t, tt.src))
		})
	}
	var n int
	require.NoError(t, f.db.Pool.QueryRow(f.ctx, `SELECT count(*) FROM contacts`).Scan(&n))
	require.Equal(t, 8, n)
}

func TestPlaceholdersFromStart(t *testing.T) {
	t.Parallel()
	seg, err := segment.Compile(`tier == "A" && "vip" in tags`)
	require.NoError(t, err)
	sql, args := seg.SQL(4, today)
	require.Contains(t, sql, "$4::text")
	require.Contains(t, sql, "$5::text")
	require.NotContains(t, sql, "$1")
	require.Equal(t, []any{"A", "vip"}, args)
	require.NotContains(t, sql, "vip")
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src      string
		line     int
		col      int
		contains string
	}{
		{`teir == "A"`, 1, 1, `unknown field "teir" (did you mean "tier"?)`},
		{"tier == \"A\" &&\n  manager.teem == \"east\"", 2, 3, `unknown field "manager.teem" (did you mean "manager.team"?)`},
		{`manger.team == "east"`, 1, 1, `unknown field "manger.team" (did you mean "manager.team"?)`},
		{`consnet.sms`, 1, 1, `(did you mean "consent.sms"?)`},
		{`tier >= 5`, 1, 6, ">= cannot be applied to (string, int)"},
		{`age == "old"`, 1, 5, "== cannot be applied to (int, string)"},
		{`tier in ["A", 1]`, 1, 15, ""},
		{`tier`, 1, 1, "must be true or false"},
		{`age + 1 > 50`, 1, 5, "+ is not supported"},
		{`tags.exists(t, t == "x")`, 1, 12, "exists"},
		{`tier == "A" ? true : false`, 1, 13, "? : operator is not supported"},
		{`1 == 1`, 1, 3, "a field on one side"},
		{`tier == tier`, 1, 6, "a field on one side"},
		{`attrs.vip < true`, 1, 11, "only by == and !="},
		{`attrs == {}`, 1, 1, "attrs is a map"},
		{`tier ==`, 1, 8, "mismatched input"},
		{`   `, 1, 1, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			_, err := segment.Compile(tt.src)
			require.Error(t, err)
			require.True(t, errors.Is(err, segment.ErrInvalid), "%v", err)
			var se *segment.Error
			require.True(t, errors.As(err, &se))
			require.NotEmpty(t, se.Problems)
			p := se.Problems[0]
			require.Equal(t, tt.line, p.Line, "%v", err)
			require.Equal(t, tt.col, p.Column, "%v", err)
			require.Contains(t, p.Message, tt.contains)
			require.Contains(t, err.Error(), "known fields: age, attrs.<key>, consent.email")
			require.Contains(t, err.Error(), "tier")
		})
	}
}

// An attribute compared with a literal of a type none of its values has is an
// error naming the attribute, the types and the fix — never a silent zero; an
// attribute no contact has gets a did-you-mean from the keys that exist.
func TestAttributeTypeMismatchIsAnError(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for src, want := range map[string]string{
		`attrs.city >= 5`:                   `attrs.city holds string values, but 5 is a number: it would match no one; compare with text: "5"`,
		`tier == "A" && attrs.vip == "yes"`: `1:16: attrs.vip holds boolean values, but "yes" is a string`,
		`attrs.aset >= 500000`:              `no contact has the attribute attrs.aset (did you mean attrs.assets?)`,
		`attrs.city in [1, 2]`:              `attrs.city holds string values, but 1 is a number`,
	} {
		seg, err := segment.Compile(src)
		require.NoError(t, err, src)
		_, err = f.segs.Preview(f.ctx, seg, 0)
		require.ErrorIs(t, err, segment.ErrInvalid, src)
		require.Contains(t, err.Error(), want, src)
		_, err = f.segs.Create(f.ctx, audit.Actor{Name: "t"}, segment.Input{Name: ptr("x"), Expression: ptr(src)})
		require.ErrorIs(t, err, segment.ErrInvalid, src)
	}
	// Mixed data (C3's assets are text) and the right type pass; so does null.
	for _, src := range []string{`attrs.assets >= 500000`, `attrs.city == "Shanghai"`, `attrs.vip == true`, `attrs.nothing == null`} {
		seg, err := segment.Compile(src)
		require.NoError(t, err)
		_, err = f.segs.Preview(f.ctx, seg, 0)
		require.NoError(t, err, src)
	}
	seg, err := segment.Compile(`attrs.assets >= 500000`)
	require.NoError(t, err)
	p, err := f.segs.Preview(f.ctx, seg, 0)
	require.NoError(t, err)
	require.EqualValues(t, 3, p.Count) // C1, C4, C8 (C5 dormant, C6 erased)
}

func TestPreview(t *testing.T) {
	t.Parallel()
	f := setup(t)
	seg, err := segment.Compile(`tier in ["A", "B"]`)
	require.NoError(t, err)
	p, err := f.segs.Preview(f.ctx, seg, 0)
	require.NoError(t, err)
	require.False(t, p.Estimated)
	require.EqualValues(t, 4, p.Count)
	var got []string
	for _, c := range p.Sample {
		got = append(got, c.ExternalID)
	}
	require.Equal(t, []string{"C1", "C2", "C4", "C8"}, got)
}

// A count that outlasts the time box gives the planner's estimate instead.
func TestPreviewFallsBackToEstimate(t *testing.T) {
	t.Parallel()
	f := setup(t)
	// Enough rows that counting them with a slow per-row test outlasts 10 ms.
	_, err := f.db.Pool.Exec(f.ctx, `INSERT INTO contacts (external_id, tier, tags)
		SELECT 'B' || g, 'A', ARRAY['bulk'] FROM generate_series(1, 200000) g`)
	require.NoError(t, err)
	_, err = f.db.Pool.Exec(f.ctx, `ANALYZE contacts`)
	require.NoError(t, err)
	seg, err := segment.Compile(`attrs.city.startsWith("Sh") || "bulk" in tags && manager.team.startsWith("e") || age > 200`)
	require.NoError(t, err)
	p, err := f.segs.Preview(f.ctx, seg, 10*time.Millisecond)
	require.NoError(t, err)
	require.True(t, p.Estimated)
	require.Positive(t, p.Count)
	require.NotNil(t, p.Sample)
}

func TestSavedSegments(t *testing.T) {
	t.Parallel()
	f := setup(t)
	actor := audit.Actor{Name: "api:mk"}
	s, err := f.segs.Create(f.ctx, actor, segment.Input{Name: ptr("wealthy east"), Expression: ptr(`"wealth" in tags && manager.team == "east"`)})
	require.NoError(t, err)
	require.Equal(t, "api:mk", s.CreatedBy)
	_, err = f.segs.Create(f.ctx, actor, segment.Input{Name: ptr("wealthy east"), Expression: ptr(`true`)})
	require.ErrorIs(t, err, segment.ErrConflict)
	_, err = f.segs.Create(f.ctx, actor, segment.Input{Name: ptr("typo"), Expression: ptr(`teir == "A"`)})
	require.ErrorIs(t, err, segment.ErrInvalid)
	_, err = f.segs.Update(f.ctx, actor, s.ID, segment.Input{Expression: ptr(`age >= "x"`)})
	require.ErrorIs(t, err, segment.ErrInvalid)
	u, err := f.segs.Update(f.ctx, actor, s.ID, segment.Input{Description: ptr("for the Q1 push")})
	require.NoError(t, err)
	require.Equal(t, s.Expression, u.Expression)
	list, err := f.segs.List(f.ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	byName, err := f.segs.GetByName(f.ctx, "wealthy east")
	require.NoError(t, err)
	require.Equal(t, s.ID, byName.ID)
	require.NoError(t, f.segs.Delete(f.ctx, actor, s.ID))
	_, err = f.segs.Get(f.ctx, s.ID)
	require.ErrorIs(t, err, segment.ErrNotFound)
	var audits int
	require.NoError(t, f.db.Pool.QueryRow(f.ctx, `SELECT count(*) FROM audit_log WHERE object_type = 'segment'`).Scan(&audits))
	require.Equal(t, 3, audits)
}

func TestFieldsListed(t *testing.T) {
	t.Parallel()
	var names []string
	for _, fd := range segment.Fields() {
		names = append(names, fd.Name)
	}
	for _, want := range []string{"tier", "tags", "attrs", "age", "locale", "timezone", "manager.team", "manager.code", "has_phone", "has_email", "has_wechat"} {
		require.True(t, slices.Contains(names, want), want)
	}
	require.True(t, slices.IsSorted(names))
	require.False(t, strings.Contains(strings.Join(names, ","), "status"))
}
