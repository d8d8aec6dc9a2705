package segment

import (
	"fmt"
	"sort"
	"strings"

	"github.com/google/cel-go/cel"

	"carillon/contacts"
	"carillon/internal/textdist"
)

// Kind is a field's type in the language.
type Kind string

// Field kinds.
const (
	KindString  Kind = "string"
	KindInt     Kind = "int"
	KindBool    Kind = "bool"
	KindStrings Kind = "list(string)"
	KindAttrs   Kind = "map(string, dyn)"
)

// Field is one name a filter may use.
type Field struct {
	Name string `json:"name"`
	Kind Kind   `json:"type"`
	Doc  string `json:"doc"`
	// sql is the column expression over the contacts table, alias c; for string
	// and bool fields. Fields with their own translation leave it empty.
	sql string
}

// fields is the environment. SQL here is written by this package alone, but
// for what reads another of contacts' tables (consents), which contacts gives.
var fields = []Field{
	{Name: "tier", Kind: KindString, Doc: `customer tier A–D ("" when unset)`, sql: `COALESCE(c.tier, '')`},
	{Name: "gender", Kind: KindString, Doc: `male or female ("" when unset)`, sql: `COALESCE(c.gender, '')`},
	{Name: "locale", Kind: KindString, Doc: "zh-CN, en, …", sql: `c.locale`},
	{Name: "timezone", Kind: KindString, Doc: "IANA time zone, e.g. Asia/Shanghai", sql: `c.time_zone`},
	{Name: "external_id", Kind: KindString, Doc: "the bank's customer number", sql: `c.external_id`},
	{Name: "tags", Kind: KindStrings, Doc: `tags: "wealth" in tags, size(tags) > 0`},
	{Name: "attrs", Kind: KindAttrs, Doc: `imported extra columns: attrs.assets >= 500000, attrs["branch"] == "SH01", has(attrs.products)`},
	{Name: "age", Kind: KindInt, Doc: "whole years since the solar birth date (unknown without a birth year: no comparison matches)"},
	{Name: "manager.code", Kind: KindString, Doc: `the customer manager's code ("" without one)`},
	{Name: "manager.team", Kind: KindString, Doc: `the customer manager's team ("" without one)`},
	{Name: "has_phone", Kind: KindBool, Doc: "a phone number is on file", sql: `(c.phone IS NOT NULL AND c.phone <> '')`},
	{Name: "has_email", Kind: KindBool, Doc: "an email address is on file", sql: `(c.email IS NOT NULL AND c.email <> '')`},
	{Name: "has_wechat", Kind: KindBool, Doc: "a WeChat openid is on file", sql: `(c.wechat_openid IS NOT NULL AND c.wechat_openid <> '')`},
	{Name: "consent.sms", Kind: KindBool, Doc: "marketing by SMS consented",
		sql: contacts.MarketingConsentSMSSQL},
	{Name: "consent.email", Kind: KindBool, Doc: "marketing by email consented",
		sql: contacts.MarketingConsentEmailSQL},
	{Name: "consent.wechat", Kind: KindBool, Doc: "marketing by WeChat consented",
		sql: contacts.MarketingConsentWeChatSQL},
}

var fieldByName = func() map[string]Field {
	m := make(map[string]Field, len(fields))
	for _, f := range fields {
		m[f.Name] = f
	}
	return m
}()

// Fields returns the fields a filter may use, by name.
func Fields() []Field {
	out := make([]Field, len(fields))
	copy(out, fields)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// knownFields is the list an error message shows.
func knownFields() string {
	names := make([]string, 0, len(fields))
	for _, f := range Fields() {
		n := f.Name
		if f.Kind == KindAttrs {
			n += ".<key>"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

func celType(k Kind) *cel.Type {
	switch k {
	case KindString:
		return cel.StringType
	case KindInt:
		return cel.IntType
	case KindBool:
		return cel.BoolType
	case KindStrings:
		return cel.ListType(cel.StringType)
	case KindAttrs:
		return cel.MapType(cel.StringType, cel.DynType)
	}
	panic(fmt.Sprintf("segment: no CEL type for %s", k))
}

// MaxLength is the longest filter accepted, in bytes.
const MaxLength = 4000

func newEnv() (*cel.Env, error) {
	opts := []cel.EnvOption{
		cel.ClearMacros(),
		cel.Macros(cel.HasMacro),
		cel.HomogeneousAggregateLiterals(),
		cel.ParserExpressionSizeLimit(MaxLength),
		cel.ParserRecursionLimit(64),
	}
	for _, f := range fields {
		opts = append(opts, cel.Variable(f.Name, celType(f.Kind)))
	}
	return cel.NewEnv(opts...)
}

// suggest returns the known field closest to name, when one is close enough to
// be a typo.
func suggest(name string) string {
	best, bestD := "", 3
	for _, f := range fields {
		for _, cand := range []string{f.Name, strings.TrimPrefix(f.Name, "manager."), strings.TrimPrefix(f.Name, "consent.")} {
			if d := textdist.Levenshtein(strings.ToLower(name), cand); d < bestD {
				best, bestD = f.Name, d
			}
		}
	}
	return best
}
