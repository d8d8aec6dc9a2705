package revisits

import (
	"reflect"
	"slices"
	"testing"
)

// Each part of the digest gives its template every exported field, by its Go
// name: a field added to a part without adding it to its vars fails here.
func TestDigestPartVarsNameEveryField(t *testing.T) {
	for _, c := range []struct {
		part any
		vars map[string]any
	}{
		{Escalation{}, Escalation{}.vars()},
		{TeamLine{}, TeamLine{}.vars()},
		{Upcoming{}, Upcoming{}.vars()},
		{Reply{}, Reply{}.vars()},
		{OverdueFeedback{}, OverdueFeedback{}.vars()},
		{Alert{}, Alert{}.vars()},
	} {
		typ := reflect.TypeOf(c.part)
		var want, got []string
		for f := range typ.Fields() {
			if f.IsExported() && f.Tag.Get("json") != "-" {
				want = append(want, f.Name)
			}
		}
		for k := range c.vars {
			got = append(got, k)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: vars %v, fields %v", typ.Name(), got, want)
		}
	}
	a := Alert{Data: []byte(`{"from":"A","to":"B"}`)}.vars()
	if d, ok := a["Data"].(map[string]any); !ok || d["to"] != "B" {
		t.Errorf("alert data not decoded: %#v", a["Data"])
	}
}
