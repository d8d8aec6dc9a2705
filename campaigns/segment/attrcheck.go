package segment

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"carillon/internal/textdist"
)

// An attrs column has no declared type: its values are what the imports put
// there (numbers as numbers, dates and codes as text). A comparison whose
// literal's type no contact's value has would match nobody in silence —
// attrs.assets >= "500000" against numbers — so Check refuses it, naming the
// attribute, the types found and how to write it; and an attribute no contact
// has gets a did-you-mean from the keys that exist.

// AttrSample is how many contacts holding an attribute Check reads for its types.
const AttrSample = 2000

// Check compares the filter's attribute comparisons with the types the data
// holds. It returns a *Error naming each mismatch at its line and column.
func (s *Store) Check(ctx context.Context, seg *Segment) error {
	uses := seg.AttrUses()
	if len(uses) == 0 {
		return nil
	}
	types := map[string]map[string]int{}
	for _, u := range uses {
		if _, done := types[u.Key]; done {
			continue
		}
		m, err := s.contacts.AttrTypes(ctx, u.Key, AttrSample)
		if err != nil {
			return fmt.Errorf("check segment attributes: %w", err)
		}
		types[u.Key] = m
	}
	var ps []Problem
	var keys []string
	for _, u := range uses {
		found := types[u.Key]
		if len(found) == 0 {
			if u.Literal == "null" {
				continue // attrs.x == null: true of everyone, said by the count
			}
			if keys == nil {
				var err error
				if keys, err = s.contacts.AttrKeys(ctx, AttrSample); err != nil {
					return err
				}
			}
			msg := fmt.Sprintf("no contact has the attribute attrs.%s / 没有客户有属性 attrs.%s", u.Key, u.Key)
			if sug := closest(u.Key, keys); sug != "" {
				msg = fmt.Sprintf("no contact has the attribute attrs.%s (did you mean attrs.%s?) / 没有客户有属性 attrs.%s（是否要写 attrs.%s？）", u.Key, sug, u.Key, sug)
			}
			ps = append(ps, Problem{Line: u.Line, Column: u.Column, Message: msg})
			continue
		}
		if found[u.Literal] > 0 || u.Literal == "null" {
			continue
		}
		var have []string
		for t := range found {
			have = append(have, t)
		}
		sort.Strings(have)
		msg := fmt.Sprintf("attrs.%s holds %s values, but %s is a %s: it would match no one", u.Key, strings.Join(have, " and "), u.Text, u.Literal)
		if len(have) == 1 && have[0] == "number" && u.Literal == "string" {
			msg += fmt.Sprintf("; compare with a number: %s", strings.Trim(u.Text, `"`))
		} else if len(have) == 1 && have[0] == "string" && u.Literal == "number" {
			msg += fmt.Sprintf("; compare with text: %q", u.Text)
		}
		msg += fmt.Sprintf(" / 属性 attrs.%s 的值是%s，而 %s 是%s，不会匹配任何客户", u.Key, zhTypes(have), u.Text, zhType(u.Literal))
		ps = append(ps, Problem{Line: u.Line, Column: u.Column, Message: msg})
	}
	if len(ps) > 0 {
		return problemErr(ps...)
	}
	return nil
}

// closest is the candidate within two edits of name, "" when none is.
func closest(name string, cands []string) string {
	best, bestD := "", 3
	for _, c := range cands {
		if d := textdist.Levenshtein(strings.ToLower(name), strings.ToLower(c)); d < bestD && d > 0 {
			best, bestD = c, d
		}
	}
	return best
}

func zhType(t string) string {
	return map[string]string{"number": "数字", "string": "文本", "boolean": "是/否", "null": "空值", "array": "列表", "object": "对象"}[t]
}

func zhTypes(ts []string) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = zhType(t)
	}
	return strings.Join(out, "和")
}

// Attribute is an attribute key the data holds and the type most of its values have.
type Attribute struct {
	Key  string `json:"key"`
	Type string `json:"type"` // number, string, boolean (or another JSON type)
}

// MaxAttributes is how many attribute keys Attributes reads the types of.
const MaxAttributes = 100

// Attributes lists the attribute keys up to AttrSample contacts hold, each
// with the JSON type most of its values have: what rows offer as attributes,
// typed as Check types them.
func (s *Store) Attributes(ctx context.Context) ([]Attribute, error) {
	keys, err := s.contacts.AttrKeys(ctx, AttrSample)
	if err != nil {
		return nil, err
	}
	if len(keys) > MaxAttributes {
		keys = keys[:MaxAttributes]
	}
	out := make([]Attribute, 0, len(keys))
	for _, k := range keys {
		m, err := s.contacts.AttrTypes(ctx, k, AttrSample)
		if err != nil {
			return nil, fmt.Errorf("attribute types: %w", err)
		}
		best, n := "", 0
		for t, c := range m {
			if c > n || (c == n && t < best) {
				best, n = t, c
			}
		}
		out = append(out, Attribute{Key: k, Type: best})
	}
	return out, nil
}
