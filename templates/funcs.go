package templates

import (
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"

	"carillon/calendar"
)

// Helper functions, beside text/template's own (and, or, not, len, index, slice,
// print, printf, println, eq, ne, lt, le, gt, ge, html, js, urlquery, call):
//
//	money V        an amount in yuan, two decimals, grouped: ¥1,234.56 in Chinese
//	               locales, CNY 1,234.56 in others. V is a number or a decimal string.
//	date V         a date in the locale's style: 2026年11月28日 / 28 Nov 2026.
//	               V is a calendar.Date, a time.Time or YYYY-MM-DD.
//	amount V       an amount as WeChat's amount fields take it: 1234.56元.
//	mask V         the last four digits of a number: 尾号5678 / ending 5678.
//	honorific G    先生/女士/客户 (Mr/Ms/"") from a gender (male, female).
//	default D V    V, or D when V is empty (zero, "", nil, an empty list).
//	join SEP LIST  a list of strings joined by SEP.
//	truncate N V   V cut to N characters, with … when cut.
var funcNames = []string{"money", "amount", "date", "mask", "honorific", "default", "join", "truncate"}

// builtinFuncs are text/template's predefined functions.
var builtinFuncs = []string{"and", "or", "not", "len", "index", "slice", "print", "printf", "println",
	"eq", "ne", "lt", "le", "gt", "ge", "html", "js", "urlquery", "call"}

func funcs(locale string) map[string]any {
	return map[string]any{
		"money":     func(v any) (string, error) { return FormatMoney(v, locale) },
		"date":      func(v any) (string, error) { return FormatDate(v, locale) },
		"amount":    plainAmount,
		"mask":      func(v any) string { return MaskTail(fmt.Sprint(v), locale) },
		"honorific": func(g string) string { return Honorific(g, locale) },
		"default":   dflt,
		"join":      join,
		"truncate":  truncate,
	}
}

// FormatMoney formats an amount in yuan: ¥1,234.56 in Chinese locales and
// CNY 1,234.56 in others. Amounts are rounded half away from zero to the fen,
// exactly (a decimal string is never passed through a float).
func FormatMoney(v any, locale string) (string, error) {
	r := new(big.Rat)
	switch x := v.(type) {
	case int:
		r.SetInt64(int64(x))
	case int64:
		r.SetInt64(x)
	case float64:
		r.SetString(strconv.FormatFloat(x, 'f', -1, 64))
	case float32:
		r.SetString(strconv.FormatFloat(float64(x), 'f', -1, 32))
	case json.Number:
		if _, ok := r.SetString(string(x)); !ok {
			return "", fmt.Errorf("money: %q is not a number", x)
		}
	case string:
		s := strings.ReplaceAll(strings.TrimSpace(x), ",", "")
		if _, ok := r.SetString(s); !ok {
			return "", fmt.Errorf("money: %q is not a number", x)
		}
	case nil:
	default:
		return "", fmt.Errorf("money: %T is not an amount", v)
	}
	neg := r.Sign() < 0
	r.Abs(r)
	s := r.FloatString(2) // rounds half away from zero
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	num := b.String() + "." + frac
	if neg {
		num = "-" + num
	}
	if isChinese(locale) {
		if neg {
			return "-¥" + num[1:], nil
		}
		return "¥" + num, nil
	}
	return "CNY " + num, nil
}

// FormatDate formats a date in the locale's style: 2026年11月28日 in Chinese,
// 28 Nov 2026 otherwise. A zero date formats as "".
func FormatDate(v any, locale string) (string, error) {
	var d calendar.Date
	switch x := v.(type) {
	case calendar.Date:
		d = x
	case *calendar.Date:
		if x != nil {
			d = *x
		}
	case time.Time:
		if !x.IsZero() {
			d = calendar.DateOf(x)
		}
	case string:
		if x == "" {
			return "", nil
		}
		p, err := calendar.ParseDate(x)
		if err != nil {
			return "", fmt.Errorf("date: %w", err)
		}
		d = p
	case nil:
	default:
		return "", fmt.Errorf("date: %T is not a date", v)
	}
	if d.IsZero() {
		return "", nil
	}
	if isChinese(locale) {
		return fmt.Sprintf("%d年%d月%d日", d.Year, int(d.Month), d.Day), nil
	}
	return fmt.Sprintf("%d %s %d", d.Day, d.Month.String()[:3], d.Year), nil
}

// MaskTail gives the customer-facing form of a number: 尾号5678 / ending 5678.
func MaskTail(s, locale string) string {
	var digits []rune
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits = append(digits, r)
		}
	}
	if len(digits) > 4 {
		digits = digits[len(digits)-4:]
	}
	if isChinese(locale) {
		return "尾号" + string(digits)
	}
	return "ending " + string(digits)
}

func dflt(def, v any) any {
	if empty(v) {
		return def
	}
	return v
}

func empty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Map, reflect.String, reflect.Array:
		return rv.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return rv.IsZero()
}

func join(sep string, v any) (string, error) {
	switch x := v.(type) {
	case []string:
		return strings.Join(x, sep), nil
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, sep), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("join: %T is not a list", v)
}

func truncate(n int, v any) string {
	s := fmt.Sprint(v)
	r := []rune(s)
	if len(r) <= n || n < 1 {
		return s
	}
	return string(r[:n-1]) + "…"
}

// plainAmount is an amount without grouping, with 元: what WeChat's amount fields take.
func plainAmount(v any) (string, error) {
	s, err := FormatMoney(v, "en")
	if err != nil {
		return "", err
	}
	return strings.ReplaceAll(strings.TrimPrefix(strings.Replace(s, "CNY ", "", 1), ""), ",", "") + "元", nil
}
