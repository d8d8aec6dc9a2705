package templates

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"text/template/parse"
	"time"
)

// Render limits: every render (the trial render at save, a preview, a campaign's
// review, the delivery worker) runs under them. See docs/templates.md.
const (
	// DefaultRenderTimeout is the longest one render may take; a context with an
	// earlier deadline wins.
	DefaultRenderTimeout = 2 * time.Second
	// DefaultMaxSteps is the most range iterations one render may make, over
	// all its fields and nested ranges together.
	DefaultMaxSteps = 100_000
	// DefaultMaxRenderSegments is the most parts an SMS may have once rendered
	// for a recipient (Twilio takes at most 1,600 characters, about 10 parts).
	// The sample render at save is held to the smaller Config.MaxSegments.
	DefaultMaxRenderSegments = 10
	// DefaultEmailBytes caps an email's HTML and its plain text, each.
	DefaultEmailBytes = 512 << 10
	// DefaultSubjectBytes caps an email's subject.
	DefaultSubjectBytes = 1 << 10
	// DefaultWeChatBytes caps each WeChat template field and the link (the
	// typed fields' own limits, 20 or 32 characters, apply beside it).
	DefaultWeChatBytes = 2 << 10
	// DefaultWeComTextBytes and DefaultWeComMarkdownBytes are WeCom's limits on
	// an application message's content: 2,048 bytes as text, 4,096 as markdown.
	DefaultWeComTextBytes     = 2048
	DefaultWeComMarkdownBytes = 4096
	// smsFieldBytes bounds the raw output of an SMS field per allowed segment,
	// before its segments are counted (a segment is at most 160 characters of at
	// most 4 bytes).
	smsFieldBytes = 160 * 4
)

// Limits bound every render. A zero field takes its default.
type Limits struct {
	// Timeout is the longest one render may take. Default DefaultRenderTimeout.
	Timeout time.Duration
	// MaxSteps is the most range iterations one render may make; a range over
	// a number whose nested counts multiply past it is refused at save. Default
	// DefaultMaxSteps.
	MaxSteps int
	// SMSSegments is the most parts a rendered SMS (the approved text with its
	// sign, or the Twilio body with its opt-out line) may take. Default
	// DefaultMaxRenderSegments; at least Config.MaxSegments.
	SMSSegments int
	// EmailBytes caps an email's HTML and plain text, each. Default DefaultEmailBytes.
	EmailBytes int
	// SubjectBytes caps an email's subject. Default DefaultSubjectBytes.
	SubjectBytes int
	// WeChatBytes caps each WeChat field and the link. Default DefaultWeChatBytes.
	WeChatBytes int
	// WeComTextBytes caps a WeCom text message. Default DefaultWeComTextBytes.
	WeComTextBytes int
	// WeComMarkdownBytes caps a WeCom markdown message. Default DefaultWeComMarkdownBytes.
	WeComMarkdownBytes int
}

// WithDefaults returns l with defaults applied.
func (l Limits) WithDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultRenderTimeout
	}
	if l.MaxSteps <= 0 {
		l.MaxSteps = DefaultMaxSteps
	}
	if l.SMSSegments <= 0 {
		l.SMSSegments = DefaultMaxRenderSegments
	}
	if l.EmailBytes <= 0 {
		l.EmailBytes = DefaultEmailBytes
	}
	if l.SubjectBytes <= 0 {
		l.SubjectBytes = DefaultSubjectBytes
	}
	if l.WeChatBytes <= 0 {
		l.WeChatBytes = DefaultWeChatBytes
	}
	if l.WeComTextBytes <= 0 {
		l.WeComTextBytes = DefaultWeComTextBytes
	}
	if l.WeComMarkdownBytes <= 0 {
		l.WeComMarkdownBytes = DefaultWeComMarkdownBytes
	}
	return l
}

func (l Limits) validate(maxSegments int) error {
	if l.SMSSegments < maxSegments {
		return fmt.Errorf("templates: Limits.SMSSegments %d is below MaxSegments %d", l.SMSSegments, maxSegments)
	}
	return nil
}

// ErrRenderLimit matches every *LimitError: a template that would render past
// a limit. Retrying does not help; the template (or the values given) must change.
var ErrRenderLimit = errors.New("template render over its limits")

// Kinds of limit a *LimitError names.
const (
	LimitOutput   = "output"   // Max bytes of a field's output
	LimitSegments = "segments" // Max SMS parts
	LimitSteps    = "steps"    // Max range iterations
	LimitTimeout  = "timeout"  // Max milliseconds
)

// LimitError is a render stopped by a limit: which template, version, channel,
// locale and field, and which limit. It matches ErrRenderLimit.
type LimitError struct {
	Key     string
	Version int
	Channel Channel
	Locale  string
	Field   string // e.g. sms.zh-CN.text
	Limit   string // LimitOutput, LimitSegments, LimitSteps, LimitTimeout
	Max     int    // the limit, in bytes, parts, iterations or milliseconds
	Got     int    // SMS parts rendered (LimitSegments only)
}

// Message says which limit was passed, in English and Chinese, without the
// template's name (a Problem carries the field).
func (e *LimitError) Message() string {
	switch e.Limit {
	case LimitOutput:
		return fmt.Sprintf("renders more than %d bytes, the limit for %s / 渲染输出超过%s的上限 %d 字节", e.Max, channelWord(e), channelWord(e), e.Max)
	case LimitSegments:
		return fmt.Sprintf("renders to %d SMS segments, more than the limit of %d / 短信为 %d 条，超过上限 %d 条", e.Got, e.Max, e.Got, e.Max)
	case LimitSteps:
		return fmt.Sprintf("repeats more than %d times (range iterations per render) / 循环次数超过每次渲染的上限 %d 次", e.Max, e.Max)
	case LimitTimeout:
		return fmt.Sprintf("did not finish rendering within %d ms / 渲染未在 %d 毫秒内完成", e.Max, e.Max)
	}
	return "over a render limit / 超过渲染上限"
}

func channelWord(e *LimitError) string {
	if e.Field != "" {
		return e.Field
	}
	return string(e.Channel)
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("template %s v%d (%s, %s) %s: %s", e.Key, e.Version, e.Channel, e.Locale, e.Field, e.Message())
}

// Is makes errors.Is(err, ErrRenderLimit) true.
func (e *LimitError) Is(target error) bool { return target == ErrRenderLimit }

// errTimeout is the cause of a render's own deadline, told apart from the
// caller's context ending.
var errTimeout = errors.New("render timeout")

// budget is one render's allowance: its context (with the render's deadline)
// and the range iterations left. The step helper and every write consult it.
type budget struct {
	ctx      context.Context
	deadline time.Time // the render's own, also checked directly: a timer may fire late
	timeout  time.Duration
	steps    int
	max      int
}

// alive reports the context's end: the render's own deadline as a *LimitError,
// the caller's cancellation or deadline as that context's error.
func (b *budget) alive() error {
	if b.ctx.Err() == nil {
		if time.Now().Before(b.deadline) {
			return nil
		}
		return &LimitError{Limit: LimitTimeout, Max: int(b.timeout / time.Millisecond)}
	}
	if cause := context.Cause(b.ctx); errors.Is(cause, errTimeout) {
		return &LimitError{Limit: LimitTimeout, Max: int(b.timeout / time.Millisecond)}
	}
	return b.ctx.Err()
}

func (b *budget) step() error {
	b.steps++
	if b.steps > b.max {
		return &LimitError{Limit: LimitSteps, Max: b.max}
	}
	return b.alive()
}

// capWriter collects a field's output and fails the first write that would
// take it past max bytes, or that comes after the render's context ended:
// text/template stops executing at a failed write.
type capWriter struct {
	buf bytes.Buffer
	max int
	b   *budget
}

func (w *capWriter) Write(p []byte) (int, error) {
	if err := w.b.alive(); err != nil {
		return 0, err
	}
	if w.buf.Len()+len(p) > w.max {
		return 0, &LimitError{Limit: LimitOutput, Max: w.max}
	}
	return w.buf.Write(p)
}

// A range body writes nothing when it is empty, so a write-based check cannot
// see it: every range body of a compiled template starts with
// {{$_carillonStep := _carillonStep $._carillonBudget}}, which counts the
// iteration against the budget and checks the deadline; its error stops the
// render. The data of each render carries its own budget under budgetKey, so
// one compiled template serves concurrent renders. The action declares a
// variable, so it prints nothing (html/template leaves it unescaped).
const (
	stepFunc  = "_carillonStep"
	budgetKey = "_carillonBudget"
)

func stepHelper(x any) (string, error) {
	b, ok := x.(*budget)
	if !ok {
		return "", errors.New("render budget missing")
	}
	return "", b.step()
}

// stepNode returns a fresh copy of the step action.
func stepNode() parse.Node {
	trees := map[string]*parse.Tree{}
	t := parse.New("step")
	t.Mode = parse.SkipFuncCheck
	if _, err := t.Parse("{{$"+stepFunc+" := "+stepFunc+" $."+budgetKey+"}}", "", "", trees); err != nil {
		panic(err) // a constant
	}
	return trees["step"].Root.Nodes[0]
}

// instrument puts the step action at the start of every range body of t.
func instrument(n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, x := range n.Nodes {
			instrument(x)
		}
	case *parse.IfNode:
		instrument(n.List)
		instrument(n.ElseList)
	case *parse.WithNode:
		instrument(n.List)
		instrument(n.ElseList)
	case *parse.RangeNode:
		instrument(n.List)
		instrument(n.ElseList)
		if n.List != nil {
			n.List.Nodes = append([]parse.Node{stepNode()}, n.List.Nodes...)
		}
	}
}

// limitOf finds a *LimitError in err (text/template wraps a helper's error
// in its own), filling in where it happened; other errors come back unchanged.
func limitOf(err error, field string) error {
	var le *LimitError
	if errors.As(err, &le) {
		le.Field = field
		return le
	}
	return err
}

// rangeCount is the number of iterations of a range over an integer constant
// ({{range 10}}), or 0 when it ranges over anything else.
func rangeCount(n *parse.RangeNode) int64 {
	p := n.Pipe
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return 0
	}
	num, ok := p.Cmds[0].Args[0].(*parse.NumberNode)
	if !ok || !num.IsInt {
		return 0
	}
	return max(num.Int64, 0)
}
