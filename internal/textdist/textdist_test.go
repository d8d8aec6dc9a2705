package textdist

import "testing"

func TestLevenshtein(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"tier", "teir", 2}, {"tier", "tier", 0}, {"tags", "tag", 1}, {"", "abc", 3}, {"客户", "客人", 1}, {"kitten", "sitting", 3}} {
		if got := Levenshtein(c.a, c.b); got != c.want {
			t.Errorf("Levenshtein(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
