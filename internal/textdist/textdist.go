// Package textdist measures how far apart two strings are, for "did you mean"
// suggestions in error messages (a template's unknown variable, a segment's
// unknown field).
package textdist

import "strings"

// Levenshtein is the edit distance of two strings, by rune.
func Levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// Closest returns the candidate nearest to name (ignoring case) when it is close
// enough to be a typo (fewer than three edits), else "".
func Closest(name string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		d := Levenshtein(strings.ToLower(name), strings.ToLower(c))
		if d < bestD || (d == bestD && best != "" && c < best) {
			best, bestD = c, d
		}
	}
	return best
}
