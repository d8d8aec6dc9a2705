package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// attrField is one attribute of a customer as staff read it: a label and the
// value formatted by its kind.
type attrField struct {
	Key, Label, Value string
}

// attrKinds are the attributes the console knows: their label's text key and
// how their value is written. Others are labelled by their key.
var attrKinds = map[string]string{
	"assets":           "money",
	"balance":          "money",
	"deposit_amount":   "money",
	"deposit_maturity": "date",
	"city":             "text",
	"vip":              "bool",
	"products":         "list",
	"risk":             "text",
}

// attrFields reads a contact's attributes (a JSON object) into labelled,
// formatted values, known attributes first in a fixed order, then the others
// by key. Attributes that are not an object are shown as one raw field.
func attrFields(raw []byte, lang string) []attrField {
	if len(bytes.TrimSpace(raw)) <= 2 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return []attrField{{Key: "attrs", Label: tr(lang, "contact.attrs"), Value: string(raw)}}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		_, ka := attrKinds[a]
		_, kb := attrKinds[b]
		if ka != kb {
			if ka {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	out := make([]attrField, 0, len(keys))
	for _, k := range keys {
		label := k
		if _, ok := attrKinds[k]; ok {
			label = tr(lang, "phone.attr."+k)
		}
		out = append(out, attrField{Key: k, Label: label, Value: attrValue(m[k], attrKinds[k], lang)})
	}
	return out
}

// attrValue writes one attribute's value: money with ¥ and thousands
// separators (and 万 units in Chinese from 10,000 on), numbers with
// separators, yes/no, lists joined, objects as compact JSON.
func attrValue(v any, kind, lang string) string {
	switch x := v.(type) {
	case nil:
		return "–"
	case bool:
		if x {
			return tr(lang, "common.yes")
		}
		return tr(lang, "common.no")
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		if kind == "money" {
			return money(f, lang)
		}
		return decimal(x.String())
	case string:
		if kind == "money" {
			if f, ok := parseAmount(x); ok {
				return money(f, lang)
			}
		}
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = attrValue(e, "", lang)
		}
		sep := ", "
		if lang == "zh" {
			sep = "、"
		}
		return strings.Join(parts, sep)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}

// parseAmount reads an amount written as text ("1,250,000.50").
func parseAmount(s string) (float64, bool) {
	var f float64
	_, err := fmt.Sscanf(strings.ReplaceAll(strings.TrimSpace(s), ",", ""), "%g", &f)
	return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
}

// money writes an amount in yuan: ¥3,235,000 (¥1,250,000.50 with its fen),
// followed in Chinese by its 万 units from 10,000 on: ¥3,235,000（323.5 万）.
func money(f float64, lang string) string {
	s := "¥" + decimal(strings.TrimSuffix(fmt.Sprintf("%.2f", f), ".00"))
	if lang == "zh" && math.Abs(f) >= 10_000 {
		s += "（" + trimZeros(fmt.Sprintf("%.1f", f/10_000)) + " 万）"
	}
	return s
}

// trimZeros drops a decimal's trailing zeros ("3235000.00" → "3235000").
func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// decimal puts thousands separators in a decimal number's integer part.
func decimal(s string) string {
	if strings.ContainsAny(s, "eE") {
		return s
	}
	whole, frac, found := strings.Cut(s, ".")
	out := groupDigits(whole)
	if found {
		out += "." + frac
	}
	return out
}
