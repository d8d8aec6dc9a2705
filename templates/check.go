package templates

import (
	"fmt"
	"maps"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template/parse"
	"unicode/utf8"

	"carillon/internal/textdist"
)

// checkText parses src as a template and checks every variable against schema and
// every function against the helpers, walking the parse tree. Problems carry the
// line and column (1-based, runes) inside src. A range over a number whose
// count, times those of the ranges over numbers around it, passes maxSteps is
// refused: it could not render within the limit.
func checkText(field, src string, schema Schema, campaign bool, maxSteps int) []Problem {
	trees := map[string]*parse.Tree{}
	t := parse.New(field)
	t.Mode = parse.SkipFuncCheck
	if _, err := t.Parse(src, "", "", trees); err != nil {
		return parseAll(field, src, err)
	}
	c := &checker{field: field, src: src, schema: schema, campaign: campaign, maxSteps: int64(max(maxSteps, 1)), loops: 1}
	for name, tr := range trees {
		if name != field {
			c.add(tr.Root, "define and block are not allowed in a message template")
			continue
		}
		if tr.Root != nil {
			c.walk(tr.Root, scope{dot: ref{known: true}, vars: map[string]ref{"$": {known: true}}})
		}
	}
	slices.SortFunc(c.problems, func(a, b Problem) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	return c.problems
}

// parseErrRE reads text/template's "template: NAME:LINE: message".
var parseErrRE = regexp.MustCompile(`^template: .*?:(\d+):\s*(.*)$`)

// parseProblem turns a parse error into a problem. text/template reports the line
// only; the column is that of the first action on the line (the line's start when
// it has none).
func parseProblem(field, src string, err error) Problem {
	msg := err.Error()
	m := parseErrRE.FindStringSubmatch(msg)
	if m == nil {
		return Problem{Field: field, Line: 1, Column: 1, Message: msg}
	}
	line, _ := strconv.Atoi(m[1])
	col := 1
	lines := strings.Split(src, "\n")
	if line >= 1 && line <= len(lines) {
		if i := strings.Index(lines[line-1], "{{"); i >= 0 {
			col = utf8.RuneCountInString(lines[line-1][:i]) + 1
		}
	}
	return Problem{Field: field, Line: line, Column: col, Message: m[2]}
}

// lineCol converts a byte offset of src into a 1-based line and rune column.
func lineCol(src string, pos int) (int, int) {
	pos = min(max(pos, 0), len(src))
	before := src[:pos]
	line := 1 + strings.Count(before, "\n")
	start := strings.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCountInString(before[start:]) + 1
}

// ref is what a value is known to be: a schema path ("" the root), or unknown
// (a function's result, a map value) which is not checked further.
type ref struct {
	path  string
	known bool
}

type scope struct {
	dot  ref
	vars map[string]ref
}

func (s scope) with(dot ref) scope {
	return scope{dot: dot, vars: s.vars}
}

func (s scope) child() scope {
	vars := make(map[string]ref, len(s.vars))
	for k, v := range s.vars {
		vars[k] = v
	}
	return scope{dot: s.dot, vars: vars}
}

type checker struct {
	field, src string
	schema     Schema
	campaign   bool // a campaign template: .Campaign.x must be declared
	maxSteps   int64
	loops      int64 // iterations of the ranges over numbers around the node walked
	problems   []Problem
}

func (c *checker) add(n parse.Node, msg string) {
	pos := int(n.Position())
	switch n.(type) {
	case *parse.FieldNode, *parse.VariableNode:
		// A chain's node sits at its last part: report where its text begins.
		str := n.String()
		if i := strings.LastIndex(c.src[:min(len(c.src), pos+len(str))], str); i >= 0 && i <= pos {
			pos = i
		}
	case *parse.IdentifierNode:
	default:
		// Control nodes sit inside their action: report the action's start.
		if i := strings.LastIndex(c.src[:min(len(c.src), pos)], "{{"); i >= 0 {
			pos = i
		}
	}
	line, col := lineCol(c.src, pos)
	c.problems = append(c.problems, Problem{Field: c.field, Line: line, Column: col, Message: msg})
}

func (c *checker) walk(n parse.Node, s scope) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, x := range n.Nodes {
			c.walk(x, s)
		}
	case *parse.ActionNode:
		c.pipe(n.Pipe, s)
	case *parse.IfNode:
		inner := s.child()
		c.pipe(n.Pipe, inner)
		c.walk(n.List, inner)
		c.walk(n.ElseList, s.child())
	case *parse.WithNode:
		inner := s.child()
		r := c.pipe(n.Pipe, inner)
		if r.known && r.path != "" {
			if t := c.schema[r.path]; t != "" && t != Map && t != List {
				// with on a scalar: dot is that scalar
				r = ref{path: r.path, known: true}
			}
		}
		c.walk(n.List, inner.with(r))
		c.walk(n.ElseList, s.child())
	case *parse.RangeNode:
		inner := s.child()
		r := c.pipe(n.Pipe, inner)
		elem := ref{}
		if r.known {
			switch c.schema[r.path] {
			case List:
				elem = ref{path: r.path + "[]", known: true}
			case Strings:
				elem = ref{path: r.path + "[]", known: true} // checked as a leaf below
			case Map:
			case "":
				if r.path != "" {
					c.add(n, fmt.Sprintf("cannot range over .%s: it is not a list", r.path))
				}
			default:
				c.add(n, fmt.Sprintf("cannot range over .%s: it is a %s", r.path, c.schema[r.path]))
			}
		}
		if d := n.Pipe.Decl; len(d) == 1 {
			inner.vars[d[0].Ident[0]] = elem
		} else if len(d) == 2 {
			inner.vars[d[0].Ident[0]] = ref{}
			inner.vars[d[1].Ident[0]] = elem
		}
		outer := c.loops
		if k := rangeCount(n); k > 0 && c.loops <= c.maxSteps {
			if k > c.maxSteps/c.loops {
				total := new(big.Int).Mul(big.NewInt(c.loops), big.NewInt(k))
				c.add(n, fmt.Sprintf("range %d repeats %s times in all, more than the limit of %d iterations per render / 循环总次数 %s 超过每次渲染的上限 %d 次", k, total, c.maxSteps, total, c.maxSteps))
				c.loops = c.maxSteps + 1 // report the outermost range over the limit only
			} else {
				c.loops *= k
			}
		}
		c.walk(n.List, inner.with(elem))
		c.loops = outer
		c.walk(n.ElseList, s.child())
	case *parse.TemplateNode:
		c.add(n, "{{template}} is not allowed in a message template")
	case *parse.TextNode, *parse.CommentNode, *parse.BreakNode, *parse.ContinueNode:
	default:
		c.add(n, fmt.Sprintf("unsupported construct %s", n))
	}
}

// pipe checks a pipeline and returns what its value is known to be. A
// declaration ($x := …) binds the variable in s (range handles its own).
func (c *checker) pipe(p *parse.PipeNode, s scope) ref {
	if p == nil {
		return ref{}
	}
	var r ref
	for _, cmd := range p.Cmds {
		r = c.command(cmd, s)
	}
	if len(p.Cmds) != 1 {
		r = ref{}
	}
	for _, d := range p.Decl {
		if !p.IsAssign || s.vars[d.Ident[0]] == (ref{}) {
			s.vars[d.Ident[0]] = r
		}
	}
	return r
}

func (c *checker) command(cmd *parse.CommandNode, s scope) ref {
	var r ref
	for i, arg := range cmd.Args {
		a := c.arg(arg, s)
		if i == 0 {
			r = a
		}
	}
	if len(cmd.Args) != 1 {
		return ref{}
	}
	return r
}

func (c *checker) arg(n parse.Node, s scope) ref {
	switch n := n.(type) {
	case *parse.FieldNode:
		return c.resolve(n, s.dot, n.Ident)
	case *parse.VariableNode:
		base, ok := s.vars[n.Ident[0]]
		if !ok || !base.known {
			return ref{}
		}
		return c.resolve(n, base, n.Ident[1:])
	case *parse.DotNode:
		return s.dot
	case *parse.IdentifierNode:
		if !slices.Contains(funcNames, n.Ident) && !slices.Contains(builtinFuncs, n.Ident) {
			c.add(n, fmt.Sprintf("unknown function %q (helpers: %s)", n.Ident, strings.Join(funcNames, ", ")))
		}
	case *parse.PipeNode:
		c.pipe(n, s.child())
		return ref{}
	case *parse.ChainNode:
		c.arg(n.Node, s)
	}
	return ref{}
}

// resolve follows fields from base through the schema.
func (c *checker) resolve(n parse.Node, base ref, idents []string) ref {
	if !base.known {
		return ref{}
	}
	path := base.path
	for i, id := range idents {
		if path != "" {
			if t := c.schema[path]; t != "" {
				switch t {
				case Map:
					// any key; nothing after it is checked
					return ref{}
				case List:
					c.add(n, fmt.Sprintf(".%s is a list: use range to reach .%s", path, id))
				default:
					c.add(n, fmt.Sprintf(".%s is a %s and has no field %s", path, t, id))
				}
				return ref{}
			}
		}
		next := id
		if path != "" {
			next = path + "." + id
		}
		if _, ok := c.schema[next]; !ok && !c.schema.hasChildren(next) {
			if c.campaign && (next == "Campaign" || strings.HasPrefix(next, "Campaign.")) {
				full := strings.Join(append([]string{"Campaign"}, idents[i+1:]...), ".")
				if path != "" {
					full = path + "." + strings.Join(idents[i:], ".")
				}
				c.add(n, fmt.Sprintf("campaign variable .%s is not declared: add it to the template's variables (name, type, required or a default)%s", full, c.suggest(full)))
				return ref{}
			}
			c.add(n, fmt.Sprintf("unknown variable .%s%s", next, c.suggest(next)))
			return ref{}
		}
		path = next
		_ = i
	}
	return ref{path: path, known: true}
}

// suggest names a declared variable close to a misspelt one.
func (c *checker) suggest(path string) string {
	best, bestD := "", 3
	for p := range c.schema {
		if d := textdist.Levenshtein(strings.ToLower(p), strings.ToLower(path)); d < bestD {
			best, bestD = p, d
		}
	}
	if best != "" {
		return " (did you mean ." + best + "?)"
	}
	return ""
}

// parseProblems lists the parse errors of every text of a variant (its
// text/template fields and an email's HTML).
func parseProblems(v Variant) []Problem {
	srcs := texts(v)
	if v.Email != nil {
		srcs[fieldName(v, "html")] = v.Email.HTML
	}
	var probs []Problem
	for _, name := range slices.Sorted(maps.Keys(srcs)) {
		probs = append(probs, parseText(name, srcs[name])...)
	}
	return probs
}

// parseText parses src as a template and lists its parse errors.
func parseText(field, src string) []Problem {
	t := parse.New(field)
	t.Mode = parse.SkipFuncCheck
	if _, err := t.Parse(src, "", "", map[string]*parse.Tree{}); err != nil {
		return parseAll(field, src, err)
	}
	return nil
}

// parseAll lists every parse error of src, whose whole parse failed with err.
// text/template stops at its first error, so each action is parsed again on
// its own: the text is cut into actions ({{ … }}; one with another {{ before
// its }} is an unclosed action, reported at its {{), a control action is
// parsed with a closing {{end}} (an {{else}} inside an {{if}}), and the
// opening and closing of blocks are matched on a stack, so a missing or
// stray {{end}} is found too. Variables declared anywhere in src are known to
// every action. Each problem sits at its action's {{, in plain words
// (plainParse). Should this find nothing, err itself is the one problem.
func parseAll(field, src string, err error) []Problem {
	var probs []Problem
	at := func(pos int, msg string) {
		line, col := lineCol(src, pos)
		probs = append(probs, Problem{Field: field, Line: line, Column: col, Message: msg})
	}
	var prelude strings.Builder
	for _, m := range declRE.FindAllStringSubmatch(src, -1) {
		for _, name := range varRE.FindAllString(m[1], -1) {
			prelude.WriteString("{{" + name + " := 0}}")
		}
	}
	try := func(pos int, text string) {
		t := parse.New(field)
		t.Mode = parse.SkipFuncCheck
		if _, e := t.Parse(prelude.String()+text, "", "", map[string]*parse.Tree{}); e != nil {
			at(pos, plainParse(e))
		}
	}
	type open struct {
		pos  int
		word string
	}
	var stack []open
	for i := 0; i < len(src); {
		start := strings.Index(src[i:], "{{")
		if start < 0 {
			break
		}
		start += i
		end := strings.Index(src[start+2:], "}}")
		next := strings.Index(src[start+2:], "{{")
		if end < 0 || (next >= 0 && next < end) {
			at(start, "unclosed action: this {{ has no }} to close it")
			if next < 0 {
				break
			}
			i = start + 2 + next
			continue
		}
		action := src[start : start+2+end+2]
		i = start + len(action)
		inner := strings.TrimSpace(strings.Trim(strings.TrimSuffix(strings.TrimPrefix(action, "{{"), "}}"), "-"))
		word, _, _ := strings.Cut(inner, " ")
		switch word {
		case "if", "with", "range":
			stack = append(stack, open{start, word})
			try(start, action+"{{end}}")
		case "else":
			if len(stack) == 0 {
				at(start, "{{else}} without an {{if}}, {{with}} or {{range}} before it")
				continue
			}
			try(start, "{{"+stack[len(stack)-1].word+" 1}}"+action+"{{end}}")
		case "end":
			if len(stack) == 0 {
				at(start, "{{end}} without an {{if}}, {{with}} or {{range}} to close")
				continue
			}
			stack = stack[:len(stack)-1]
		case "define", "block", "template", "break", "continue":
			// the checker refuses the first three; break and continue need their range
		default:
			if strings.HasPrefix(inner, "/*") && !strings.HasSuffix(inner, "*/") {
				at(start, "the comment is not closed: end it with */}}")
				continue
			}
			try(start, action)
		}
	}
	for _, o := range stack {
		at(o.pos, fmt.Sprintf("{{%s}} is not closed: add {{end}} after its text", o.word))
	}
	if len(probs) == 0 {
		p := parseProblem(field, src, err)
		p.Message = plainParse(err)
		return []Problem{p}
	}
	slices.SortStableFunc(probs, func(a, b Problem) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	return probs
}

var (
	declRE = regexp.MustCompile(`((?:\$\w+\s*,\s*)?\$\w+)\s*:=`)
	varRE  = regexp.MustCompile(`\$\w+`)
)

// plainRules rewrite text/template's parse errors in plain words.
var plainRules = []struct {
	re  *regexp.Regexp
	msg string
}{
	{regexp.MustCompile(`unclosed action|unexpected EOF`), "unclosed action: this {{ has no }} to close it"},
	{regexp.MustCompile(`unexpected "\}"|bad character U\+007D`), `a single "}": close the action with }}`},
	{regexp.MustCompile(`unterminated (?:raw )?quoted string|unterminated character constant`), `a quoted text is not closed: add the closing quote`},
	{regexp.MustCompile(`missing value for command`), "empty action: write a variable or a function between {{ and }}"},
	{regexp.MustCompile(`missing value for (if|with|range)`), "{{$1}} needs a value to test"},
	{regexp.MustCompile(`undefined variable "(\$\w*)"`), "variable $1 is used before it is set"},
	{regexp.MustCompile(`(?:unrecognized character in action: |bad character )U\+[0-9A-F]+ '(.+)'`), `the character "$1" cannot be used inside {{ }} (a full-width character?)`},
	{regexp.MustCompile(`bad number syntax: "([^"]*)"`), `"$1" is not a number`},
	{regexp.MustCompile(`unclosed comment|comment ends before closing delimiter`), "the comment is not closed: end it with */}}"},
	{regexp.MustCompile(`unexpected (.+?) in (operand|command)`), "cannot read $1 here"},
}

// plainParse is a parse error in plain words, without its "template: NAME:LINE:" lead.
func plainParse(err error) string {
	msg := err.Error()
	if m := parseErrRE.FindStringSubmatch(msg); m != nil {
		msg = m[2]
	}
	for _, r := range plainRules {
		if m := r.re.FindStringSubmatchIndex(msg); m != nil {
			return string(r.re.ExpandString(nil, r.msg, msg, m))
		}
	}
	return "cannot read this action: " + msg
}
