package segment_test

import (
	"strings"
	"testing"

	"carillon/campaigns/segment"
)

// FuzzCompile: whatever the text, Compile either refuses it with an *Error or
// yields SQL that Postgres runs without error, and no text of the filter reaches
// the SQL except through its arguments. `go test` runs the seeds; `go test
// -fuzz FuzzCompile ./campaigns/segment` explores further.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		`tier in ["A", "B"] && "wealth" in tags && attrs.assets >= 500000 && age >= 55 && manager.team == "east"`,
		`attrs["x'); DROP TABLE contacts; --"] == "1"`,
		`tier == "'" || locale.contains("\\")`,
		`!(age < -5) && attrs.a.startsWith("%_")`,
		`"a" in attrs.list || has(attrs.b) || attrs.c == null`,
		`size(tags) > 9223372036854775807`,
		`age >= 9223372036854775807 || age < -9223372036854775807`,
		`attrs.n in [1, 2.5, -3]`,
		`manager.code in ["", "M1"] && manager.team != ""`,
		`teir == "A"`,
		`((((((((((true))))))))))`,
		`attrs.x == 1e308 || attrs.y > -1e-308`,
		`tier == "\u0000"`,
	} {
		f.Add(s)
	}
	fx := setup(f)
	f.Fuzz(func(t *testing.T, src string) {
		seg, err := segment.Compile(src)
		if err != nil {
			if _, ok := err.(*segment.Error); !ok {
				t.Fatalf("%q: error of type %T: %v", src, err, err)
			}
			return
		}
		where, args := fx.segs.Audience(seg, 1)
		for _, a := range args {
			if s, ok := a.(string); ok && len(s) > 3 && strings.Contains(where, s) {
				t.Fatalf("%q: argument %q appears in the SQL %s", src, s, where)
			}
		}
		var n int64
		if err := fx.db.Pool.QueryRow(fx.ctx, `SELECT count(*) FROM contacts c WHERE `+where, args...).Scan(&n); err != nil {
			// NUL bytes cannot be sent to Postgres as text: a client-side refusal, not SQL.
			if strings.ContainsRune(src, 0) || strings.Contains(src, `\u0000`) || strings.Contains(src, `\x00`) || strings.Contains(src, `\000`) {
				return
			}
			t.Fatalf("%q: SQL failed: %v\n%s", src, err, where)
		}
	})
}
