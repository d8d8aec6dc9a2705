package segment

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
)

// A filter can also be built as rows — field, operator, value — for people who
// do not write the language: Rows is such a filter, Render turns it into the
// language's text (the only place the rows' values become text, each quoted
// and escaped there), and ParseRows reads back the part of the language rows
// can say, so a filter edited as text comes back into rows when it can.

// Rows is a filter as groups of rows: the groups joined by Join, each group's
// rows by the group's own Join (one level deep).
type Rows struct {
	Join   string  `json:"join"` // "and" or "or"
	Groups []Group `json:"groups"`
}

// Group is rows joined by Join ("and" or "or").
type Group struct {
	Join string `json:"join"`
	Rows []Row  `json:"rows"`
}

// Row is one condition: a field, an operator and its values.
type Row struct {
	// Field is a field's name (tier, tags, age, manager.team, consent.sms, …)
	// or "attrs" with Key naming the attribute.
	Field string `json:"field"`
	Key   string `json:"key,omitempty"`
	// Type is an attribute's type: number, string or boolean.
	Type   string   `json:"type,omitempty"`
	Op     Op       `json:"op"`
	Values []string `json:"values,omitempty"`
}

// Op is a row's operator.
type Op string

// The operators rows use.
const (
	OpEq       Op = "eq"
	OpNe       Op = "ne"
	OpLt       Op = "lt"
	OpLe       Op = "le"
	OpGt       Op = "gt"
	OpGe       Op = "ge"
	OpIn       Op = "in"       // one of the values
	OpNotIn    Op = "not_in"   // none of the values
	OpHas      Op = "has"      // tags: holds the tag
	OpNotHas   Op = "not_has"  // tags: does not hold the tag
	OpStarts   Op = "starts"   // text begins with
	OpEnds     Op = "ends"     // text ends with
	OpContains Op = "contains" // text contains
	OpYes      Op = "yes"      // a yes/no field is true
	OpNo       Op = "no"       // a yes/no field is not true
	OpExists   Op = "exists"   // the contact has the attribute
)

// Attribute types of rows.
const (
	AttrNumber  = "number"
	AttrString  = "string"
	AttrBoolean = "boolean"
)

var (
	textOps   = []Op{OpEq, OpNe, OpIn, OpNotIn, OpStarts, OpEnds, OpContains}
	numberOps = []Op{OpEq, OpNe, OpGe, OpGt, OpLe, OpLt}
	boolOps   = []Op{OpYes, OpNo}
	tagOps    = []Op{OpHas, OpNotHas}
)

// OpsFor lists the operators a row over field (an attribute: of attrType) may use.
func OpsFor(field, attrType string) []Op {
	if field == "attrs" {
		switch attrType {
		case AttrNumber:
			return append(append([]Op{}, numberOps...), OpIn, OpNotIn, OpExists)
		case AttrBoolean:
			return []Op{OpYes, OpNo, OpExists}
		default:
			return append(append([]Op{}, textOps...), OpExists)
		}
	}
	f, ok := fieldByName[field]
	if !ok {
		return nil
	}
	switch f.Kind {
	case KindString:
		return textOps
	case KindInt:
		return numberOps
	case KindBool:
		return boolOps
	case KindStrings:
		return tagOps
	}
	return nil
}

// ErrTooComplex says a filter is valid but says more than rows can: it is
// kept as text.
var ErrTooComplex = errors.New("this filter is too complex for rows; it is kept as text / 此筛选条件超出了逐行编辑的范围，保留为文本")

// Empty reports whether rs holds no row.
func (rs Rows) Empty() bool {
	for _, g := range rs.Groups {
		if len(g.Rows) > 0 {
			return false
		}
	}
	return true
}

// Render is the filter's text. Every value is written as a literal by this
// function (strings quoted and escaped, numbers read as numbers), never
// pasted in. Rows without a row render as "" (no filter yet). A row that
// cannot be written is refused with an error naming the row (from 1).
func Render(rs Rows) (string, error) {
	top, err := joinOf(rs.Join)
	if err != nil {
		return "", err
	}
	var parts []string
	n := 0
	var nonEmpty []Group
	for _, g := range rs.Groups {
		if len(g.Rows) > 0 {
			nonEmpty = append(nonEmpty, g)
		}
	}
	for _, g := range nonEmpty {
		op, err := joinOf(g.Join)
		if err != nil {
			return "", err
		}
		var rows []string
		for _, r := range g.Rows {
			n++
			s, err := renderRow(r)
			if err != nil {
				return "", fmt.Errorf("row %d: %w / 第 %d 行：%w", n, err, n, errZh(err))
			}
			rows = append(rows, s)
		}
		text := strings.Join(rows, op)
		if len(rows) > 1 && len(nonEmpty) > 1 && op != top {
			text = "(" + text + ")"
		}
		parts = append(parts, text)
	}
	return strings.Join(parts, top), nil
}

func joinOf(j string) (string, error) {
	switch j {
	case "", "and":
		return " && ", nil
	case "or":
		return " || ", nil
	}
	return "", fmt.Errorf("join %q is neither and nor or / 连接方式 %q 不是“并且”或“或者”", j, j)
}

// rowErr is a row's problem in English and Chinese.
type rowErr struct{ en, zh string }

func (e *rowErr) Error() string { return e.en }

func errZh(err error) error {
	var re *rowErr
	if errors.As(err, &re) {
		return errors.New(re.zh)
	}
	return err
}

func rowErrf(en, zh string, args ...any) error {
	return &rowErr{en: fmt.Sprintf(en, args...), zh: fmt.Sprintf(zh, args...)}
}

// quote writes s as a CEL string literal: backslashes, quotes and control
// characters escaped, everything else (Chinese too) as it is.
func quote(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", rowErrf("a value is not valid text", "取值不是有效的文本")
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}

// number writes a typed number as a CEL literal ("500,000" and "500000" alike).
func number(s string, whole bool) (string, error) {
	t := strings.NewReplacer(",", "", "，", "", "_", "", " ", "").Replace(strings.TrimSpace(s))
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		return strconv.FormatInt(n, 10), nil
	}
	if whole {
		return "", rowErrf("%q is not a whole number", "“%s”不是整数", s)
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f != f || f > 1e15 || f < -1e15 {
		return "", rowErrf("%q is not a number", "“%s”不是数字", s)
	}
	return strconv.FormatFloat(f, 'f', -1, 64), nil
}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// celReserved are the words CEL keeps: attrs.<word> must be written attrs["word"].
var celReserved = map[string]bool{"in": true, "as": true, "break": true, "const": true, "continue": true, "else": true,
	"for": true, "function": true, "if": true, "import": true, "let": true, "loop": true, "package": true, "namespace": true,
	"return": true, "var": true, "void": true, "while": true, "true": true, "false": true, "null": true}

// subject is the row's field as the language writes it.
func subject(r Row) (string, error) {
	if r.Field != "attrs" {
		if _, ok := fieldByName[r.Field]; !ok {
			return "", rowErrf("unknown field %q", "未知字段“%s”", r.Field)
		}
		return r.Field, nil
	}
	key := strings.TrimSpace(r.Key)
	if key == "" {
		return "", rowErrf("name the attribute", "请选择属性")
	}
	if identRe.MatchString(key) && !celReserved[key] {
		return "attrs." + key, nil
	}
	q, err := quote(key)
	if err != nil {
		return "", err
	}
	return "attrs[" + q + "]", nil
}

var cmpText = map[Op]string{OpEq: "==", OpNe: "!=", OpLt: "<", OpLe: "<=", OpGt: ">", OpGe: ">="}

func renderRow(r Row) (string, error) {
	subj, err := subject(r)
	if err != nil {
		return "", err
	}
	allowed := OpsFor(r.Field, r.Type)
	ok := false
	for _, o := range allowed {
		ok = ok || o == r.Op
	}
	if !ok {
		return "", rowErrf("%s cannot use the operator %q", "%s 不能使用运算符“%s”", subj, r.Op)
	}
	var vals []string
	for _, v := range r.Values {
		if strings.TrimSpace(v) != "" {
			vals = append(vals, v)
		}
	}
	need := 1
	switch r.Op {
	case OpYes, OpNo, OpExists:
		need = 0
	case OpIn, OpNotIn:
		need = -1
	}
	switch {
	case need == 0:
	case len(vals) == 0:
		return "", rowErrf("choose or type a value for %s", "请为 %s 选择或填写取值", subj)
	case need == 1 && len(vals) > 1:
		return "", rowErrf("%s takes one value", "%s 只能有一个取值", subj)
	}
	numeric := r.Field == "age" || (r.Field == "attrs" && r.Type == AttrNumber)
	lit := func(v string) (string, error) {
		if numeric {
			return number(v, r.Field == "age")
		}
		return quote(v)
	}
	switch r.Op {
	case OpYes:
		if r.Field == "attrs" {
			return subj + " == true", nil
		}
		return subj, nil
	case OpNo:
		if r.Field == "attrs" {
			return "!(" + subj + " == true)", nil
		}
		return "!" + subj, nil
	case OpExists:
		return "has(" + subj + ")", nil
	case OpHas, OpNotHas:
		q, err := quote(vals[0])
		if err != nil {
			return "", err
		}
		if r.Op == OpNotHas {
			return "!(" + q + " in " + subj + ")", nil
		}
		return q + " in " + subj, nil
	case OpStarts, OpEnds, OpContains:
		q, err := quote(vals[0])
		if err != nil {
			return "", err
		}
		fn := map[Op]string{OpStarts: "startsWith", OpEnds: "endsWith", OpContains: "contains"}[r.Op]
		return subj + "." + fn + "(" + q + ")", nil
	case OpIn, OpNotIn:
		items := make([]string, len(vals))
		for i, v := range vals {
			if items[i], err = lit(v); err != nil {
				return "", err
			}
		}
		s := subj + " in [" + strings.Join(items, ", ") + "]"
		if r.Op == OpNotIn {
			return "!(" + s + ")", nil
		}
		return s, nil
	}
	l, err := lit(vals[0])
	if err != nil {
		return "", err
	}
	return subj + " " + cmpText[r.Op] + " " + l, nil
}

// ParseRows reads a filter back into rows. A filter that does not compile
// returns its *Error; a valid one the rows cannot say returns ErrTooComplex.
// An empty text is empty rows.
func ParseRows(src string) (Rows, error) {
	if strings.TrimSpace(src) == "" {
		return Rows{Join: "and"}, nil
	}
	if _, err := Compile(src); err != nil {
		return Rows{}, err
	}
	parsed, iss := env.Parse(src)
	if iss != nil && iss.Err() != nil {
		return Rows{}, ErrTooComplex
	}
	root := parsed.NativeRep().Expr()
	top := operators.LogicalAnd
	if isCall(root, operators.LogicalOr) {
		top = operators.LogicalOr
	}
	other := map[string]string{operators.LogicalAnd: operators.LogicalOr, operators.LogicalOr: operators.LogicalAnd}[top]
	rs := Rows{Join: joinName(top)}
	for _, term := range flatten(root, top) {
		if isCall(term, other) {
			g := Group{Join: joinName(other)}
			for _, e := range flatten(term, other) {
				r, ok := parseRow(e)
				if !ok {
					return Rows{}, ErrTooComplex
				}
				g.Rows = append(g.Rows, r)
			}
			rs.Groups = append(rs.Groups, g)
			continue
		}
		r, ok := parseRow(term)
		if !ok {
			return Rows{}, ErrTooComplex
		}
		if n := len(rs.Groups); n > 0 && rs.Groups[n-1].Join == rs.Join {
			rs.Groups[n-1].Rows = append(rs.Groups[n-1].Rows, r)
		} else {
			rs.Groups = append(rs.Groups, Group{Join: rs.Join, Rows: []Row{r}})
		}
	}
	return rs, nil
}

func joinName(op string) string {
	if op == operators.LogicalOr {
		return "or"
	}
	return "and"
}

func isCall(e celast.Expr, fn string) bool {
	return e.Kind() == celast.CallKind && e.AsCall().FunctionName() == fn
}

// flatten lists the terms of a chain of fn (a && b && c, however nested).
func flatten(e celast.Expr, fn string) []celast.Expr {
	if !isCall(e, fn) {
		return []celast.Expr{e}
	}
	var out []celast.Expr
	for _, a := range e.AsCall().Args() {
		out = append(out, flatten(a, fn)...)
	}
	return out
}

// field is the row's field of a field expression: a declared field or an
// attribute ("attrs" and its key).
func fieldOf(e celast.Expr) (name, key string, ok bool) {
	switch e.Kind() {
	case celast.IdentKind:
		n := strings.TrimPrefix(e.AsIdent(), ".")
		if f, ok := fieldByName[n]; ok && f.Kind != KindAttrs {
			return n, "", true
		}
	case celast.SelectKind:
		sel := e.AsSelect()
		if sel.IsTestOnly() {
			return "", "", false
		}
		op := sel.Operand()
		if op.Kind() == celast.IdentKind && strings.TrimPrefix(op.AsIdent(), ".") == "attrs" {
			return "attrs", sel.FieldName(), true
		}
		if op.Kind() == celast.IdentKind {
			n := strings.TrimPrefix(op.AsIdent(), ".") + "." + sel.FieldName()
			if _, ok := fieldByName[n]; ok {
				return n, "", true
			}
		}
	case celast.CallKind:
		call := e.AsCall()
		args := call.Args()
		if call.FunctionName() == operators.Index && len(args) == 2 && args[0].Kind() == celast.IdentKind &&
			strings.TrimPrefix(args[0].AsIdent(), ".") == "attrs" && args[1].Kind() == celast.LiteralKind {
			if s, ok := args[1].AsLiteral().(types.String); ok {
				return "attrs", string(s), true
			}
		}
	}
	return "", "", false
}

// litOf is a literal's text and attribute type.
func litOf(e celast.Expr) (string, string, bool) {
	if e.Kind() == celast.CallKind && e.AsCall().FunctionName() == operators.Negate && len(e.AsCall().Args()) == 1 {
		s, t, ok := litOf(e.AsCall().Args()[0])
		if ok && t == AttrNumber {
			return "-" + s, t, true
		}
		return "", "", false
	}
	if e.Kind() != celast.LiteralKind {
		return "", "", false
	}
	switch v := e.AsLiteral().(type) {
	case types.String:
		return string(v), AttrString, true
	case types.Int:
		return strconv.FormatInt(int64(v), 10), AttrNumber, true
	case types.Uint:
		return strconv.FormatUint(uint64(v), 10), AttrNumber, true
	case types.Double:
		return strconv.FormatFloat(float64(v), 'f', -1, 64), AttrNumber, true
	case types.Bool:
		return strconv.FormatBool(bool(v)), AttrBoolean, true
	}
	return "", "", false
}

var opOfCall = map[string]Op{operators.Equals: OpEq, operators.NotEquals: OpNe, operators.Less: OpLt,
	operators.LessEquals: OpLe, operators.Greater: OpGt, operators.GreaterEquals: OpGe}

// parseRow reads one condition as a row, when a row can say it.
func parseRow(e celast.Expr) (Row, bool) {
	// has(attrs.key)
	if e.Kind() == celast.SelectKind && e.AsSelect().IsTestOnly() {
		sel := e.AsSelect()
		if op := sel.Operand(); op.Kind() == celast.IdentKind && strings.TrimPrefix(op.AsIdent(), ".") == "attrs" {
			return Row{Field: "attrs", Key: sel.FieldName(), Op: OpExists}, true
		}
		return Row{}, false
	}
	// A yes/no field alone.
	if name, key, ok := fieldOf(e); ok {
		if key == "" && fieldByName[name].Kind == KindBool {
			return Row{Field: name, Op: OpYes}, true
		}
		return Row{}, false
	}
	if e.Kind() != celast.CallKind {
		return Row{}, false
	}
	call := e.AsCall()
	args := call.Args()
	fn := call.FunctionName()
	switch {
	case fn == operators.LogicalNot:
		r, ok := parseRow(args[0])
		if !ok {
			return Row{}, false
		}
		neg := map[Op]Op{OpYes: OpNo, OpIn: OpNotIn, OpHas: OpNotHas}
		if r.Field == "attrs" && r.Op == OpYes && isCall(args[0], operators.Equals) {
			r.Op = OpNo
			return r, true
		}
		if n, ok := neg[r.Op]; ok && !(r.Field == "attrs" && r.Op == OpYes) {
			r.Op = n
			return r, true
		}
		return Row{}, false
	case opOfCall[fn] != "":
		name, key, ok := fieldOf(args[0])
		if !ok {
			return Row{}, false
		}
		v, t, ok := litOf(args[1])
		if !ok {
			return Row{}, false
		}
		r := Row{Field: name, Key: key, Op: opOfCall[fn], Values: []string{v}}
		if name == "attrs" {
			r.Type = t
			if t == AttrBoolean {
				if fn != operators.Equals || v != "true" {
					return Row{}, false
				}
				r.Op, r.Values = OpYes, nil
			}
		} else if f := fieldByName[name]; f.Kind == KindBool {
			return Row{}, false
		}
		return r, validRow(r)
	case fn == operators.In:
		if name, key, ok := fieldOf(args[0]); ok && args[1].Kind() == celast.ListKind {
			r := Row{Field: name, Key: key, Op: OpIn}
			for _, el := range args[1].AsList().Elements() {
				v, t, ok := litOf(el)
				if !ok || (r.Type != "" && t != r.Type) {
					return Row{}, false
				}
				r.Type = t
				r.Values = append(r.Values, v)
			}
			if name != "attrs" {
				r.Type = ""
			}
			return r, len(r.Values) > 0 && validRow(r)
		}
		if name, _, ok := fieldOf(args[1]); ok && name == "tags" {
			v, t, ok := litOf(args[0])
			if ok && t == AttrString {
				return Row{Field: "tags", Op: OpHas, Values: []string{v}}, true
			}
		}
		return Row{}, false
	case (fn == "startsWith" || fn == "endsWith" || fn == "contains") && call.IsMemberFunction() && len(args) == 1:
		name, key, ok := fieldOf(call.Target())
		v, t, ok2 := litOf(args[0])
		if !ok || !ok2 || t != AttrString {
			return Row{}, false
		}
		op := map[string]Op{"startsWith": OpStarts, "endsWith": OpEnds, "contains": OpContains}[fn]
		r := Row{Field: name, Key: key, Op: op, Values: []string{v}}
		if name == "attrs" {
			r.Type = AttrString
		}
		return r, validRow(r)
	}
	return Row{}, false
}

// validRow reports whether the row's operator is one rows offer for its field.
func validRow(r Row) bool {
	for _, o := range OpsFor(r.Field, r.Type) {
		if o == r.Op {
			return true
		}
	}
	return false
}
