package templates

import (
	"context"
	"errors"
	"fmt"
	"html"
	htmltemplate "html/template"
	"maps"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"
)

// Rendered is a message ready for a channel, with the template version it came from
// (the outbox records TemplateKey and Version).
type Rendered struct {
	TemplateKey string          `json:"template_key"`
	Version     int             `json:"version"`
	Channel     Channel         `json:"channel"`
	Locale      string          `json:"locale"` // the variant's locale (after fallback)
	Purpose     Purpose         `json:"purpose"`
	SMS         *RenderedSMS    `json:"sms,omitempty"`
	Email       *RenderedEmail  `json:"email,omitempty"`
	WeChat      *RenderedWeChat `json:"wechat,omitempty"`
	WeCom       *RenderedWeCom  `json:"wecom,omitempty"`
}

// RenderedSMS is an SMS. Mainland providers get SignName, the provider's template
// code and Params; Text is what the customer reads (【SignName】 and the approved
// text) and what Segments counts. Twilio gets Body (the opt-out line appended for
// marketing) and BodySegments.
type RenderedSMS struct {
	SignName     string                      `json:"sign_name,omitempty"`
	Text         string                      `json:"text"`
	Segments     Segments                    `json:"segments"`
	Providers    map[string]RenderedProvider `json:"providers,omitempty"`
	Body         string                      `json:"body"`
	BodySegments Segments                    `json:"body_segments"`
}

// RenderedProvider is a mainland provider's template code and parameter values.
type RenderedProvider struct {
	Code   string            `json:"code"`
	Params map[string]string `json:"params,omitempty"`
}

// RenderedEmail is an email's subject, HTML and plain text.
type RenderedEmail struct {
	Subject string `json:"subject"`
	HTML    string `json:"html"`
	Text    string `json:"text"`
}

// RenderedWeChat is an Official Account template message's payload.
type RenderedWeChat struct {
	TemplateID string            `json:"template_id"`
	URL        string            `json:"url,omitempty"`
	Data       map[string]string `json:"data"`
}

// RenderedWeCom is a WeCom application message.
type RenderedWeCom struct {
	Format  string `json:"format"`
	Content string `json:"content"`
}

// OptOutLine returns the line appended to a free-text (Twilio) marketing SMS.
func OptOutLine(locale string) string {
	if isChinese(locale) {
		return "拒收请回复R"
	}
	return "Reply STOP to unsubscribe"
}

// optOutRE recognises an opt-out instruction in an SMS text: 拒收请回复R, 回TD退订,
// 退订回T, 回复N退订, Reply STOP, unsubscribe.
var optOutRE = regexp.MustCompile(`(?i)(拒收|退订|\bSTOP\b|unsubscribe|opt[ -]?out)`)

// HasOptOut reports whether an SMS text tells the reader how to opt out.
func HasOptOut(text string) bool { return optOutRE.MatchString(text) }

// WeChat field types and their maximum lengths in characters (0: no length limit
// but a format: time and date). Since 2023 Official Account template fields are
// typed; a value over its limit is refused by WeChat (errcode 47003).
var wechatLimits = map[string]int{
	"thing":            20,
	"short_thing":      5,
	"phrase":           5,
	"name":             10, // 20 when in Latin letters only
	"character_string": 32,
	"number":           32,
	"letter":           32,
	"symbol":           5,
	"amount":           32,
	"phone_number":     17,
	"car_number":       8,
	"const":            20,
	"time":             0,
	"date":             0,
}

var wechatFieldRE = regexp.MustCompile(`^([a-z_]+?)(\d+)$`)

// wechatType returns a field's type (thing1 → thing) and whether it is known.
func wechatType(field string) (string, bool) {
	m := wechatFieldRE.FindStringSubmatch(field)
	if m == nil {
		return "", false
	}
	_, ok := wechatLimits[m[1]]
	return m[1], ok
}

// wechatLimit is the maximum length of value in a field of type typ (0: none).
func wechatLimit(typ, value string) int {
	if typ == "name" && isLatin(value) {
		return 20
	}
	return wechatLimits[typ]
}

func isLatin(s string) bool {
	for _, r := range s {
		if r > 0x7F {
			return false
		}
	}
	return true
}

// fitWeChat makes a value fit its field: thing, short_thing and name values are cut
// with … (a greeting survives a long name); other types over their limit are an error.
func fitWeChat(field, value string) (string, error) {
	typ, _ := wechatType(field)
	limit := wechatLimit(typ, value)
	if limit == 0 || utf8.RuneCountInString(value) <= limit {
		return value, nil
	}
	switch typ {
	case "thing", "short_thing", "name", "const":
		return truncate(limit, value), nil
	}
	return "", fmt.Errorf("wechat field %s: %q is longer than %d characters", field, value, limit)
}

// compiled is one variant's templates, parsed with the locale's helpers.
type compiled struct {
	variant Variant
	text    map[string]*template.Template // field name → template
	html    *htmltemplate.Template
}

func fieldName(v Variant, part string) string {
	return string(v.Channel) + "." + v.Locale + "." + part
}

// texts lists a variant's text/template sources by field name.
func texts(v Variant) map[string]string {
	out := map[string]string{}
	switch {
	case v.SMS != nil:
		if v.SMS.Text != "" {
			out[fieldName(v, "text")] = v.SMS.Text
		}
		if v.SMS.Body != "" {
			out[fieldName(v, "body")] = v.SMS.Body
		}
		for p, pt := range v.SMS.Providers {
			for k, e := range pt.Params {
				out[fieldName(v, "providers."+p+".params."+k)] = e
			}
		}
	case v.Email != nil:
		out[fieldName(v, "subject")] = v.Email.Subject
		if v.Email.Text != "" {
			out[fieldName(v, "text")] = v.Email.Text
		}
	case v.WeChat != nil:
		for k, e := range v.WeChat.Fields {
			out[fieldName(v, "fields."+k)] = e
		}
		if v.WeChat.URL != "" {
			out[fieldName(v, "url")] = v.WeChat.URL
		}
	case v.WeCom != nil:
		out[fieldName(v, "content")] = v.WeCom.Content
	}
	return out
}

// compile parses a variant's templates once; each range body gets the step
// action that holds a render to its budget (see instrument).
func compile(v Variant) (*compiled, error) {
	c := &compiled{variant: v, text: map[string]*template.Template{}}
	fm := funcs(v.Locale)
	fm[stepFunc] = stepHelper
	for name, src := range texts(v) {
		t, err := template.New(name).Funcs(fm).Option("missingkey=zero").Parse(src)
		if err != nil {
			return nil, err
		}
		for _, x := range t.Templates() {
			if x.Tree != nil {
				instrument(x.Tree.Root)
			}
		}
		c.text[name] = t
	}
	if v.Email != nil {
		name := fieldName(v, "html")
		t, err := htmltemplate.New(name).Funcs(htmltemplate.FuncMap(fm)).Option("missingkey=zero").Parse(v.Email.HTML)
		if err != nil {
			return nil, err
		}
		for _, x := range t.Templates() {
			if x.Tree != nil {
				instrument(x.Tree.Root)
			}
		}
		c.html = t
	}
	return c, nil
}

// execution is one render of a compiled variant: its data (with the budget
// under budgetKey), the budget and the limits.
type execution struct {
	c    *compiled
	data map[string]any
	b    *budget
	lim  Limits
}

// exec executes one text field into a writer capped at max bytes.
func (e *execution) exec(name string, max int) (string, error) {
	t, ok := e.c.text[name]
	if !ok {
		return "", nil
	}
	w := &capWriter{max: max, b: e.b}
	if err := t.Execute(w, e.data); err != nil {
		if err = limitOf(err, name); errors.Is(err, ErrRenderLimit) {
			return "", err
		}
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return w.buf.String(), nil
}

// render executes a compiled variant with data (already filled from the
// schema) under lim: a deadline (lim.Timeout, or ctx's when sooner), the
// range iterations allowed and each channel's output cap. A render stopped by
// a limit returns a *LimitError naming the template, version, channel, locale
// and field; ctx's own end returns ctx's error.
func (c *compiled) render(ctx context.Context, key string, version int, purpose Purpose, data map[string]any, lim Limits) (Rendered, error) {
	lim = lim.WithDefaults()
	v := c.variant
	out := Rendered{TemplateKey: key, Version: version, Channel: v.Channel, Locale: v.Locale, Purpose: purpose}
	deadline := time.Now().Add(lim.Timeout)
	ctx, cancel := context.WithDeadlineCause(ctx, deadline, errTimeout)
	defer cancel()
	b := &budget{ctx: ctx, deadline: deadline, timeout: lim.Timeout, max: lim.MaxSteps}
	if err := b.alive(); err != nil {
		return out, c.named(err, key, version, string(v.Channel)+"."+v.Locale)
	}
	d := make(map[string]any, len(data)+1)
	maps.Copy(d, data)
	d[budgetKey] = b
	e := &execution{c: c, data: d, b: b, lim: lim}
	r, err := e.render(out)
	if err != nil {
		return out, c.named(err, key, version, string(v.Channel)+"."+v.Locale)
	}
	return r, nil
}

// named fills in a *LimitError's template, version, channel and locale.
func (c *compiled) named(err error, key string, version int, field string) error {
	var le *LimitError
	if errors.As(err, &le) {
		le.Key, le.Version, le.Channel, le.Locale = key, version, c.variant.Channel, c.variant.Locale
		if le.Field == "" {
			le.Field = field
		}
	}
	return err
}

func (e *execution) render(out Rendered) (Rendered, error) {
	purpose := out.Purpose
	c, lim := e.c, e.lim
	v := c.variant
	var err error
	switch {
	case v.SMS != nil:
		smsMax := lim.SMSSegments * smsFieldBytes
		r := &RenderedSMS{SignName: v.SMS.SignName, Providers: map[string]RenderedProvider{}}
		text, err := e.exec(fieldName(v, "text"), smsMax)
		if err != nil {
			return out, err
		}
		text = strings.TrimSpace(text)
		if v.SMS.SignName != "" && text != "" {
			r.Text = "【" + v.SMS.SignName + "】" + text
		} else {
			r.Text = text
		}
		r.Segments = CountSegments(r.Text)
		if v.SMS.Text != "" && r.Segments.Parts > lim.SMSSegments {
			return out, &LimitError{Field: fieldName(v, "text"), Limit: LimitSegments, Max: lim.SMSSegments, Got: r.Segments.Parts}
		}
		for _, p := range slices.Sorted(maps.Keys(v.SMS.Providers)) {
			pt := v.SMS.Providers[p]
			rp := RenderedProvider{Code: pt.Code, Params: map[string]string{}}
			for k := range pt.Params {
				val, err := e.exec(fieldName(v, "providers."+p+".params."+k), smsMax)
				if err != nil {
					return out, err
				}
				rp.Params[k] = val
			}
			r.Providers[p] = rp
		}
		body := text
		if v.SMS.Body != "" {
			if body, err = e.exec(fieldName(v, "body"), smsMax); err != nil {
				return out, err
			}
			body = strings.TrimSpace(body)
		}
		if purpose == Marketing && !HasOptOut(body) {
			body += "\n" + OptOutLine(v.Locale)
		}
		r.Body = body
		r.BodySegments = CountSegments(body)
		if r.BodySegments.Parts > lim.SMSSegments {
			part := "text"
			if v.SMS.Body != "" {
				part = "body"
			}
			return out, &LimitError{Field: fieldName(v, part), Limit: LimitSegments, Max: lim.SMSSegments, Got: r.BodySegments.Parts}
		}
		out.SMS = r
	case v.Email != nil:
		m := &RenderedEmail{}
		if m.Subject, err = e.exec(fieldName(v, "subject"), lim.SubjectBytes); err != nil {
			return out, err
		}
		m.Subject = strings.Join(strings.Fields(m.Subject), " ")
		name := fieldName(v, "html")
		w := &capWriter{max: lim.EmailBytes, b: e.b}
		if err := c.html.Execute(w, e.data); err != nil {
			if err = limitOf(err, name); errors.Is(err, ErrRenderLimit) {
				return out, err
			}
			return out, fmt.Errorf("render %s: %w", name, err)
		}
		m.HTML = w.buf.String()
		if v.Email.Text != "" {
			if m.Text, err = e.exec(fieldName(v, "text"), lim.EmailBytes); err != nil {
				return out, err
			}
		} else {
			m.Text = HTMLToText(m.HTML)
		}
		out.Email = m
	case v.WeChat != nil:
		w := &RenderedWeChat{TemplateID: v.WeChat.TemplateID, Data: map[string]string{}}
		for _, k := range slices.Sorted(maps.Keys(v.WeChat.Fields)) {
			val, err := e.exec(fieldName(v, "fields."+k), lim.WeChatBytes)
			if err != nil {
				return out, err
			}
			if w.Data[k], err = fitWeChat(k, strings.TrimSpace(val)); err != nil {
				return out, err
			}
		}
		if w.URL, err = e.exec(fieldName(v, "url"), lim.WeChatBytes); err != nil {
			return out, err
		}
		out.WeChat = w
	case v.WeCom != nil:
		max := lim.WeComTextBytes
		if v.WeCom.Format == FormatMarkdown {
			max = lim.WeComMarkdownBytes
		}
		content, err := e.exec(fieldName(v, "content"), max)
		if err != nil {
			return out, err
		}
		out.WeCom = &RenderedWeCom{Format: v.WeCom.Format, Content: strings.TrimSpace(content)}
	}
	return out, nil
}

var (
	blockEndRE = regexp.MustCompile(`(?i)</(p|div|h[1-6]|li|tr|table|ul|ol|blockquote)\s*>|<br\s*/?>`)
	cellRE     = regexp.MustCompile(`(?i)</t[dh]\s*>`)
	liRE       = regexp.MustCompile(`(?i)<li[^>]*>`)
	dropRE     = regexp.MustCompile(`(?is)<(style|script|head)[^>]*>.*?</(style|script|head)\s*>`)
	hrefRE     = regexp.MustCompile(`(?is)<a\s[^>]*href="([^"]*)"[^>]*>(.*?)</a\s*>`)
	tagRE      = regexp.MustCompile(`(?s)<[^>]*>`)
	spaceRE    = regexp.MustCompile(`[ \t\r\f\v]+`)
	blankRE    = regexp.MustCompile(`\n\s*\n\s*(\n\s*)+`)
)

// HTMLToText derives an email's plain-text part from its HTML: blocks and <br>
// become line breaks, list items get "- ", links keep their address in
// parentheses, tags go and entities are decoded.
func HTMLToText(h string) string {
	s := dropRE.ReplaceAllString(h, "")
	s = hrefRE.ReplaceAllStringFunc(s, func(a string) string {
		m := hrefRE.FindStringSubmatch(a)
		text := strings.TrimSpace(tagRE.ReplaceAllString(m[2], ""))
		if m[1] == "" || strings.Contains(text, m[1]) {
			return text
		}
		return text + " (" + m[1] + ")"
	})
	s = strings.ReplaceAll(s, "\n", " ")
	s = liRE.ReplaceAllString(s, "\n- ")
	s = cellRE.ReplaceAllString(s, " | ")
	s = blockEndRE.ReplaceAllString(s, "\n")
	s = tagRE.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(strings.TrimSpace(spaceRE.ReplaceAllString(l, " ")), " |")
	}
	s = strings.Join(lines, "\n")
	s = blankRE.ReplaceAllString(s, "\n\n")
	return strings.TrimSpace(s) + "\n"
}
