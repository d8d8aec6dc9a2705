package segment

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"

	"carillon/contacts"
)

// Problem is one thing wrong with a filter, at its line and column (both from 1).
type Problem struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

// Error is a filter that cannot be compiled.
type Error struct {
	Problems []Problem `json:"problems"`
	// Known lists the fields a filter may use.
	Known string `json:"known_fields"`
}

// ErrInvalid matches every *Error.
var ErrInvalid = errors.New("invalid segment")

func (e *Error) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = fmt.Sprintf("%d:%d: %s", p.Line, p.Column, p.Message)
	}
	return "segment: " + strings.Join(parts, "; ") + " (known fields: " + e.Known + ")"
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

func problemErr(ps ...Problem) *Error { return &Error{Problems: ps, Known: knownFields()} }

// Segment is a compiled filter.
type Segment struct {
	// Source is the filter as written.
	Source string
	pred   pred
	// attrs are the attrs.<key> comparisons, checked against the data's own
	// types by Store.Check: an attrs column has no declared type.
	attrs []AttrUse
}

// AttrUse is one comparison of an attribute with a literal.
type AttrUse struct {
	Key     string
	Literal string // the literal's JSON type: string, number, boolean, null
	Text    string // the literal as written
	Line    int
	Column  int
}

// AttrUses lists the filter's comparisons of attributes with literals.
func (s *Segment) AttrUses() []AttrUse { return s.attrs }

// pred renders one predicate; it cannot fail (everything was checked at Compile).
type pred func(b *builder) string

type builder struct {
	start int
	args  []any
	today time.Time
}

// arg binds v and returns its placeholder, cast to typ.
func (b *builder) arg(v any, typ string) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(b.start+len(b.args)-1) + "::" + typ
}

// SQL returns the filter as a predicate over the contacts table (alias c) and
// its arguments, numbered from $start. today is the date ages are counted at
// (its year, month and day are used as they are). The fragment says nothing of
// status or erasure: callers add "c.status = 'active' AND c.erased_at IS NULL".
func (s *Segment) SQL(start int, today time.Time) (string, []any) {
	if start < 1 {
		start = 1
	}
	b := &builder{start: start, today: today}
	return s.pred(b), b.args
}

var (
	envOnce sync.Once
	env     *cel.Env
	envErr  error
)

// Compile parses and type-checks a filter and translates it to SQL.
func Compile(src string) (*Segment, error) {
	if strings.TrimSpace(src) == "" {
		return nil, problemErr(Problem{Line: 1, Column: 1, Message: "the filter is empty"})
	}
	if len(src) > MaxLength {
		return nil, problemErr(Problem{Line: 1, Column: 1, Message: fmt.Sprintf("the filter is longer than %d bytes", MaxLength)})
	}
	envOnce.Do(func() { env, envErr = newEnv() })
	if envErr != nil {
		return nil, fmt.Errorf("segment environment: %w", envErr)
	}
	checked, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		var ps []Problem
		for _, e := range iss.Errors() {
			line, col := max(e.Location.Line(), 1), max(e.Location.Column(), 0)+1
			ps = append(ps, Problem{Line: line, Column: col, Message: friendly(e.Message, dottedAt(src, line, col))})
		}
		return nil, problemErr(ps...)
	}
	if !checked.OutputType().IsExactType(types.BoolType) && !checked.OutputType().IsExactType(types.DynType) {
		return nil, problemErr(Problem{Line: 1, Column: 1, Message: fmt.Sprintf("a filter must be true or false for a contact; this one is a %s", checked.OutputType())})
	}
	native := checked.NativeRep()
	c := &compiler{info: native.SourceInfo()}
	p, err := c.condition(native.Expr())
	if err != nil {
		return nil, err
	}
	return &Segment{Source: src, pred: p, attrs: c.attrs}, nil
}

var (
	undeclaredRe = regexp.MustCompile(`undeclared reference to '([^']+)'(?: \(in container '[^']*'\))?`)
	overloadRe   = regexp.MustCompile(`found no matching overload for '([^']+)' applied to '\((.*)\)'`)
)

var dottedRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*`)

// dottedAt is the dotted name (manger.team) that starts at line and column
// (both from 1, the column in characters) of src, "" when none does.
func dottedAt(src string, line, col int) string {
	lines := strings.Split(src, "\n")
	if line > len(lines) {
		return ""
	}
	rs := []rune(lines[line-1])
	if col-1 >= len(rs) || col < 1 {
		return ""
	}
	return dottedRe.FindString(string(rs[col-1:]))
}

// friendly rewrites CEL's messages in the language's terms; dotted is the
// whole dotted name written where the problem is, for its suggestion.
func friendly(msg, dotted string) string {
	if m := undeclaredRe.FindStringSubmatch(msg); m != nil {
		name := m[1]
		if strings.HasPrefix(dotted, name+".") {
			name = dotted
		}
		out := fmt.Sprintf("unknown field %q", name)
		if s := suggest(name); s != "" {
			out += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return out
	}
	if m := overloadRe.FindStringSubmatch(msg); m != nil {
		op := m[1]
		if d, ok := operators.FindReverse(op); ok && d != "" {
			op = d
		}
		return fmt.Sprintf("%s cannot be applied to (%s): the types do not match", op, m[2])
	}
	return msg
}

type compiler struct {
	info  *celast.SourceInfo
	attrs []AttrUse
}

// useAttr records a comparison of attrs.key with the literal v at e.
func (c *compiler) useAttr(e celast.Expr, key string, v any) {
	if e.Kind() == celast.SelectKind { // attrs.key: where "attrs" starts
		e = e.AsSelect().Operand()
	}
	loc := c.info.GetStartLocation(e.ID())
	u := AttrUse{Key: key, Line: max(loc.Line(), 1), Column: max(loc.Column(), 0) + 1}
	switch x := v.(type) {
	case string:
		u.Literal, u.Text = "string", strconv.Quote(x)
	case int64:
		u.Literal, u.Text = "number", strconv.FormatInt(x, 10)
	case float64:
		u.Literal, u.Text = "number", strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		u.Literal, u.Text = "boolean", strconv.FormatBool(x)
	case nil:
		u.Literal, u.Text = "null", "null"
	}
	c.attrs = append(c.attrs, u)
}

func (c *compiler) errAt(e celast.Expr, format string, args ...any) *Error {
	loc := c.info.GetStartLocation(e.ID())
	return problemErr(Problem{Line: max(loc.Line(), 1), Column: max(loc.Column(), 0) + 1, Message: fmt.Sprintf(format, args...)})
}

// condition compiles an expression that must be true or false.
func (c *compiler) condition(e celast.Expr) (pred, error) {
	switch e.Kind() {
	case celast.LiteralKind:
		if v, ok := e.AsLiteral().(types.Bool); ok {
			if v {
				return constPred("TRUE"), nil
			}
			return constPred("FALSE"), nil
		}
	case celast.IdentKind, celast.SelectKind:
		o, err := c.operand(e)
		if err != nil {
			return nil, err
		}
		switch o.kind {
		case opField:
			if o.field.Kind == KindBool {
				return constPred(o.field.sql), nil
			}
			return nil, c.errAt(e, "%s is a %s, not a condition: compare it with a value", o.field.Name, o.field.Kind)
		case opAttr:
			// A JSON true is true; anything else (false, absent, another type) is not.
			return attrContains(o.attr, true), nil
		case opHas:
			key := o.attr
			return func(b *builder) string { return "(c.attrs ? " + b.arg(key, "text") + ")" }, nil
		}
	case celast.CallKind:
		call := e.AsCall()
		args := call.Args()
		switch call.FunctionName() {
		case operators.LogicalAnd, operators.LogicalOr:
			l, err := c.condition(args[0])
			if err != nil {
				return nil, err
			}
			r, err := c.condition(args[1])
			if err != nil {
				return nil, err
			}
			op := " AND "
			if call.FunctionName() == operators.LogicalOr {
				op = " OR "
			}
			return func(b *builder) string { return "(" + l(b) + op + r(b) + ")" }, nil
		case operators.LogicalNot:
			x, err := c.condition(args[0])
			if err != nil {
				return nil, err
			}
			return not(x), nil
		case operators.Equals, operators.NotEquals, operators.Less, operators.LessEquals, operators.Greater, operators.GreaterEquals:
			return c.compare(e, call.FunctionName(), args[0], args[1])
		case operators.In:
			return c.in(e, args[0], args[1])
		case "startsWith", "endsWith", "contains":
			if call.IsMemberFunction() && len(args) == 1 {
				return c.like(e, call.FunctionName(), call.Target(), args[0])
			}
		case operators.Conditional:
			return nil, c.errAt(e, "the ? : operator is not supported: write the condition with && and ||")
		}
		return nil, c.errAt(e, "%s is not supported in a filter", displayName(call.FunctionName()))
	}
	return nil, c.errAt(e, "this is not a condition: compare a field with a value (e.g. tier == \"A\")")
}

func displayName(fn string) string {
	if d, ok := operators.FindReverse(fn); ok && d != "" {
		return d
	}
	return fn
}

func constPred(sql string) pred { return func(*builder) string { return sql } }

// not is the exact complement of x: a NULL inside x (an absent value) counts as false.
func not(x pred) pred {
	return func(b *builder) string { return "(NOT COALESCE(" + x(b) + ", false))" }
}

// operand kinds.
type opKind int

const (
	opLiteral opKind = iota
	opList           // a list of literals
	opField          // a declared field
	opAttr           // attrs.<key>
	opHas            // has(attrs.<key>)
	opSize           // size(tags)
)

type operand struct {
	kind  opKind
	field Field
	attr  string
	lit   any   // string, int64, float64, bool or nil (JSON null)
	list  []any // literals of one type
	expr  celast.Expr
}

func (o operand) isLit() bool { return o.kind == opLiteral || o.kind == opList }

func (c *compiler) literal(e celast.Expr) (any, bool) {
	switch e.Kind() {
	case celast.LiteralKind:
		switch v := e.AsLiteral().(type) {
		case types.String:
			return string(v), true
		case types.Int:
			return int64(v), true
		case types.Uint:
			if uint64(v) > 1<<62 {
				return nil, false
			}
			return int64(v), true
		case types.Double:
			return float64(v), true
		case types.Bool:
			return bool(v), true
		case types.Null:
			return nil, true
		}
	case celast.CallKind:
		call := e.AsCall()
		if call.FunctionName() == operators.Negate && len(call.Args()) == 1 {
			if v, ok := c.literal(call.Args()[0]); ok {
				switch n := v.(type) {
				case int64:
					return -n, true
				case float64:
					return -n, true
				}
			}
		}
	}
	return nil, false
}

func (c *compiler) operand(e celast.Expr) (operand, error) {
	if v, ok := c.literal(e); ok {
		return operand{kind: opLiteral, lit: v, expr: e}, nil
	}
	switch e.Kind() {
	case celast.ListKind:
		var out []any
		for _, el := range e.AsList().Elements() {
			v, ok := c.literal(el)
			if !ok || v == nil {
				return operand{}, c.errAt(el, "a list in a filter holds only literal strings or numbers")
			}
			out = append(out, v)
		}
		return operand{kind: opList, list: out, expr: e}, nil
	case celast.IdentKind:
		name := strings.TrimPrefix(e.AsIdent(), ".")
		if f, ok := fieldByName[name]; ok {
			if f.Kind == KindAttrs {
				return operand{}, c.errAt(e, "attrs is a map: use one of its keys (attrs.assets, attrs[\"branch code\"])")
			}
			return operand{kind: opField, field: f, expr: e}, nil
		}
	case celast.SelectKind:
		sel := e.AsSelect()
		if op := sel.Operand(); op.Kind() == celast.IdentKind && strings.TrimPrefix(op.AsIdent(), ".") == "attrs" {
			if sel.IsTestOnly() {
				return operand{kind: opHas, attr: sel.FieldName(), expr: e}, nil
			}
			return operand{kind: opAttr, attr: sel.FieldName(), expr: e}, nil
		}
		if sel.IsTestOnly() {
			return operand{}, c.errAt(e, "has() takes an attrs key, e.g. has(attrs.assets)")
		}
	case celast.CallKind:
		call := e.AsCall()
		args := call.Args()
		switch {
		case call.FunctionName() == operators.Index && len(args) == 2 && args[0].Kind() == celast.IdentKind && strings.TrimPrefix(args[0].AsIdent(), ".") == "attrs":
			k, ok := c.literal(args[1])
			if s, isStr := k.(string); ok && isStr {
				return operand{kind: opAttr, attr: s, expr: e}, nil
			}
			return operand{}, c.errAt(args[1], "an attrs key is a literal string, e.g. attrs[\"branch code\"]")
		case call.FunctionName() == "size":
			var target celast.Expr
			if call.IsMemberFunction() && len(args) == 0 {
				target = call.Target()
			} else if !call.IsMemberFunction() && len(args) == 1 {
				target = args[0]
			}
			if target != nil && target.Kind() == celast.IdentKind && strings.TrimPrefix(target.AsIdent(), ".") == "tags" {
				return operand{kind: opSize, expr: e}, nil
			}
			return operand{}, c.errAt(e, "size() is supported for tags only: size(tags) > 0")
		}
		return operand{}, c.errAt(e, "%s is not supported in a filter", displayName(call.FunctionName()))
	}
	return operand{}, c.errAt(e, "this is not supported in a filter: compare a field with a literal value")
}

var flip = map[string]string{
	operators.Less: operators.Greater, operators.Greater: operators.Less,
	operators.LessEquals: operators.GreaterEquals, operators.GreaterEquals: operators.LessEquals,
	operators.Equals: operators.Equals, operators.NotEquals: operators.NotEquals,
}

var sqlOp = map[string]string{
	operators.Less: "<", operators.LessEquals: "<=", operators.Greater: ">", operators.GreaterEquals: ">=",
	operators.Equals: "=", operators.NotEquals: "<>",
}

// compare compiles field <op> literal (either way round).
func (c *compiler) compare(e celast.Expr, op string, le, re celast.Expr) (pred, error) {
	l, err := c.operand(le)
	if err != nil {
		return nil, err
	}
	r, err := c.operand(re)
	if err != nil {
		return nil, err
	}
	if l.isLit() && !r.isLit() {
		l, r, op = r, l, flip[op]
	}
	if l.isLit() || !r.isLit() {
		return nil, c.errAt(e, "a comparison takes a field on one side and a literal value on the other")
	}
	if r.kind == opList {
		return nil, c.errAt(re, "compare with a single value; to test membership write field in [..]")
	}
	if op == operators.NotEquals {
		eq, err := c.compareLit(e, operators.Equals, l, r.lit)
		if err != nil {
			return nil, err
		}
		return not(eq), nil
	}
	return c.compareLit(e, op, l, r.lit)
}

func (c *compiler) compareLit(e celast.Expr, op string, l operand, v any) (pred, error) {
	sop := sqlOp[op]
	ordering := op != operators.Equals
	switch l.kind {
	case opField:
		f := l.field
		switch f.Kind {
		case KindString:
			s, ok := v.(string)
			if !ok {
				return nil, c.errAt(e, "%s is a string: compare it with a string", f.Name)
			}
			if strings.HasPrefix(f.Name, "manager.") {
				return managerPred(f.Name, sop, []string{s}), nil
			}
			coll := ""
			if ordering {
				coll = ` COLLATE "C"`
			}
			col := f.sql
			return func(b *builder) string { return "(" + col + coll + " " + sop + " " + b.arg(s, "text") + ")" }, nil
		case KindInt: // age
			n, ok := v.(int64)
			if !ok {
				return nil, c.errAt(e, "age is a whole number: compare it with one")
			}
			return agePred(op, n), nil
		case KindBool:
			bv, ok := v.(bool)
			if !ok || ordering {
				return nil, c.errAt(e, "%s is true or false: use it alone, negate it with !, or compare with == true", f.Name)
			}
			p := constPred(f.sql)
			if !bv {
				return not(p), nil
			}
			return p, nil
		}
		return nil, c.errAt(e, "%s (%s) cannot be compared with a value", f.Name, f.Kind)
	case opSize:
		n, ok := v.(int64)
		if !ok {
			return nil, c.errAt(e, "size(tags) is a whole number: compare it with one")
		}
		return func(b *builder) string { return "(cardinality(c.tags) " + sop + " " + b.arg(n, "bigint") + ")" }, nil
	case opHas:
		return nil, c.errAt(e, "has() is a condition by itself; it cannot be compared")
	case opAttr:
		key := l.attr
		c.useAttr(l.expr, key, v)
		switch x := v.(type) {
		case string:
			if !ordering {
				return attrContains(key, x), nil
			}
			return func(b *builder) string {
				return "(carillon_jsonb_text(c.attrs -> " + b.arg(key, "text") + `) COLLATE "C" ` + sop + " " + b.arg(x, "text") + ")"
			}, nil
		case int64, float64:
			return func(b *builder) string {
				return "(carillon_jsonb_number(c.attrs -> " + b.arg(key, "text") + ") " + sop + " " + b.arg(x, "numeric") + ")"
			}, nil
		case bool, nil:
			if ordering {
				return nil, c.errAt(e, "attrs.%s can be compared with true, false or null only by == and !=", key)
			}
			return attrContains(key, x), nil
		}
	}
	return nil, c.errAt(e, "this comparison is not supported")
}

// attrContains is attrs.key == v by JSON containment (the GIN index on attrs).
func attrContains(key string, v any) pred {
	doc, _ := json.Marshal(map[string]any{key: v})
	return func(b *builder) string { return "(c.attrs @> " + b.arg(string(doc), "jsonb") + ")" }
}

// managerPred compares the customer manager's code or team. Equality and
// membership with non-empty values go through the managers table's indexes;
// anything else reads the value per contact ("" without a manager).
func managerPred(name, sop string, vals []string) pred {
	col := "code"
	if name == "manager.team" {
		col = "team"
	}
	hasEmpty := false
	for _, v := range vals {
		hasEmpty = hasEmpty || v == ""
	}
	if sop == "=" && !hasEmpty {
		return func(b *builder) string {
			return contacts.ManagerMatchSQL(col, "= ANY("+b.arg(vals, "text[]")+")")
		}
	}
	expr := contacts.ManagerValueSQL(col)
	if sop == "=" {
		return func(b *builder) string { return "(" + expr + " = ANY(" + b.arg(vals, "text[]") + "))" }
	}
	return func(b *builder) string {
		return "(" + expr + ` COLLATE "C" ` + sop + " " + b.arg(vals[0], "text") + ")"
	}
}

// agePred compares a contact's age in whole years: age >= n holds when the birth
// date is on or before today n years ago (29 February counting from 1 March in
// common years). An unknown birth year matches no comparison.
func agePred(op string, n int64) pred {
	// Birth years are 1880–2200: any age beyond ±10,000 compares as that bound
	// does, and the arithmetic below cannot overflow.
	n = min(max(n, -10000), 10000)
	// birthOnOrBefore(n): age >= n; bornAfter(n): age < n.
	geq := func(n int64) pred {
		return func(b *builder) string {
			y, m, d := threshold(b.today, n)
			return "((c.birth_year, c.birth_month, c.birth_day) <= (" + b.arg(y, "int") + ", " + b.arg(m, "int") + ", " + b.arg(d, "int") + "))"
		}
	}
	lt := func(n int64) pred {
		return func(b *builder) string {
			y, m, d := threshold(b.today, n)
			return "((c.birth_year, c.birth_month, c.birth_day) > (" + b.arg(y, "int") + ", " + b.arg(m, "int") + ", " + b.arg(d, "int") + "))"
		}
	}
	and := func(a, z pred) pred { return func(b *builder) string { return "(" + a(b) + " AND " + z(b) + ")" } }
	switch op {
	case operators.GreaterEquals:
		return geq(n)
	case operators.Greater:
		return geq(n + 1)
	case operators.Less:
		return lt(n)
	case operators.LessEquals:
		return lt(n + 1)
	default: // ==
		return and(geq(n), lt(n+1))
	}
}

// threshold is today n years ago, the day clamped to the month's length.
func threshold(today time.Time, n int64) (int64, int64, int64) {
	y := int64(today.Year()) - n
	m := int64(today.Month())
	d := int64(today.Day())
	if last := int64(time.Date(int(y), time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()); d > last {
		d = last
	}
	return y, m, d
}

// in compiles x in [..], "v" in tags and "v" in attrs.key.
func (c *compiler) in(e, le, re celast.Expr) (pred, error) {
	l, err := c.operand(le)
	if err != nil {
		return nil, err
	}
	r, err := c.operand(re)
	if err != nil {
		return nil, err
	}
	switch {
	case r.kind == opList:
		if len(r.list) == 0 {
			return constPred("FALSE"), nil
		}
		switch l.kind {
		case opField:
			switch l.field.Kind {
			case KindString:
				vals, ok := strs(r.list)
				if !ok {
					return nil, c.errAt(re, "%s is a string: the list must hold strings", l.field.Name)
				}
				if strings.HasPrefix(l.field.Name, "manager.") {
					return managerPred(l.field.Name, "=", vals), nil
				}
				col := l.field.sql
				return func(b *builder) string { return "(" + col + " = ANY(" + b.arg(vals, "text[]") + "))" }, nil
			case KindInt:
				var ps []pred
				for _, v := range r.list {
					n, ok := v.(int64)
					if !ok {
						return nil, c.errAt(re, "age is a whole number: the list must hold whole numbers")
					}
					ps = append(ps, agePred(operators.Equals, n))
				}
				return func(b *builder) string {
					parts := make([]string, len(ps))
					for i, p := range ps {
						parts[i] = p(b)
					}
					return "(" + strings.Join(parts, " OR ") + ")"
				}, nil
			}
			return nil, c.errAt(e, "%s (%s) cannot be tested against a list", l.field.Name, l.field.Kind)
		case opAttr:
			key := l.attr
			if len(r.list) > 0 {
				c.useAttr(l.expr, key, r.list[0])
			}
			if vals, ok := strs(r.list); ok {
				return func(b *builder) string {
					return "(carillon_jsonb_text(c.attrs -> " + b.arg(key, "text") + ") = ANY(" + b.arg(vals, "text[]") + "))"
				}, nil
			}
			var nums []float64
			for _, v := range r.list {
				switch n := v.(type) {
				case int64:
					nums = append(nums, float64(n))
				case float64:
					nums = append(nums, n)
				default:
					return nil, c.errAt(re, "the list must hold only strings or only numbers")
				}
			}
			return func(b *builder) string {
				return "(carillon_jsonb_number(c.attrs -> " + b.arg(key, "text") + ") = ANY(" + b.arg(nums, "numeric[]") + "))"
			}, nil
		}
	case r.kind == opField && r.field.Name == "tags":
		s, ok := l.lit.(string)
		if l.kind != opLiteral || !ok {
			return nil, c.errAt(le, "write a literal string before in tags, e.g. \"wealth\" in tags")
		}
		return func(b *builder) string { return "(c.tags @> ARRAY[" + b.arg(s, "text") + "])" }, nil
	case r.kind == opAttr:
		if l.kind != opLiteral || l.lit == nil {
			return nil, c.errAt(le, "write a literal value before in attrs.%s", r.attr)
		}
		key, v := r.attr, l.lit
		doc, _ := json.Marshal(map[string]any{key: []any{v}})
		return func(b *builder) string { return "(c.attrs @> " + b.arg(string(doc), "jsonb") + ")" }, nil
	}
	return nil, c.errAt(e, "in takes a list of literal values ([\"A\", \"B\"]), tags, or an attrs key holding a list")
}

func strs(vs []any) ([]string, bool) {
	out := make([]string, len(vs))
	for i, v := range vs {
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}

// like compiles startsWith, endsWith and contains on a string field or attrs key.
func (c *compiler) like(e celast.Expr, fn string, te, ae celast.Expr) (pred, error) {
	t, err := c.operand(te)
	if err != nil {
		return nil, err
	}
	a, err := c.operand(ae)
	if err != nil {
		return nil, err
	}
	s, ok := a.lit.(string)
	if a.kind != opLiteral || !ok {
		return nil, c.errAt(ae, "%s takes a literal string", fn)
	}
	pat := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
	switch fn {
	case "startsWith":
		pat += "%"
	case "endsWith":
		pat = "%" + pat
	default:
		pat = "%" + pat + "%"
	}
	switch {
	case t.kind == opField && t.field.Kind == KindString && !strings.HasPrefix(t.field.Name, "manager."):
		col := t.field.sql
		return func(b *builder) string { return "(" + col + " LIKE " + b.arg(pat, "text") + ")" }, nil
	case t.kind == opField && strings.HasPrefix(t.field.Name, "manager."):
		col := "code"
		if t.field.Name == "manager.team" {
			col = "team"
		}
		return func(b *builder) string {
			return contacts.ManagerMatchSQL(col, "LIKE "+b.arg(pat, "text"))
		}, nil
	case t.kind == opAttr:
		key := t.attr
		return func(b *builder) string {
			return "(carillon_jsonb_text(c.attrs -> " + b.arg(key, "text") + ") LIKE " + b.arg(pat, "text") + ")"
		}, nil
	}
	return nil, c.errAt(e, "%s applies to a string field or an attrs key", fn)
}
