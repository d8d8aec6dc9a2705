package templates

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"carillon/internal/locale"
)

var keyRE = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$`)

// VariantReport is what a check found about one variant: the SMS segment counts of
// the sample render.
type VariantReport struct {
	Channel      Channel   `json:"channel"`
	Locale       string    `json:"locale"`
	Segments     *Segments `json:"segments,omitempty"`      // SMS text (mainland, with 【sign】)
	BodySegments *Segments `json:"body_segments,omitempty"` // SMS body (Twilio)
}

// Report is the outcome of a successful check.
type Report struct {
	Variants []VariantReport `json:"variants"`
}

// execErrRE reads text/template's execution errors: "template: NAME:LINE:COL: executing …".
var execErrRE = regexp.MustCompile(`template: ([^:]+(?::[^:\s]+)*?):(\d+):(\d+): (.*)$`)

// Check validates a definition against the schemas of its source: structure,
// parse errors, unknown variables and functions (walking the parse tree), WeChat
// fields, the marketing SMS rules, and a trial render of every variant with the
// sample variables, which also counts SMS segments against maxSegments. The
// trial render runs under lim (zero fields: defaults) and ctx's deadline; a
// range over a number whose nested counts multiply past lim.MaxSteps is
// refused before any render.
func Check(ctx context.Context, def Definition, schemas map[string]Schema, maxSegments int, lim Limits) (Report, error) {
	lim = lim.WithDefaults()
	var probs []Problem
	bad := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if !keyRE.MatchString(def.Key) || len(def.Key) > 100 {
		bad("key", "%q is not a template key (lower-case words joined by . and _, e.g. festival.mid_autumn)", def.Key)
	}
	if def.Purpose != Service && def.Purpose != Marketing {
		bad("purpose", "%q is not a purpose (service or marketing)", def.Purpose)
	}
	schema, ok := schemas[def.Source]
	if !ok {
		bad("source", "unknown source %q (one of %s)", def.Source, strings.Join(slices.Sorted(maps.Keys(schemas)), ", "))
	} else {
		probs = append(probs, checkVariables(def)...)
		if def.Source == SourceCampaign {
			schema = declaredSchema(def, schemas)
		}
	}
	if loc, err := locale.Parse(def.DefaultLocale); err != nil || loc == "" {
		bad("default_locale", "a default locale such as zh-CN or en is required")
	}
	if len(def.Variants) == 0 {
		bad("variants", "at least one variant is required")
	}
	seen := map[string]bool{}
	byChannel := map[Channel][]string{}
	for i, v := range def.Variants {
		at := fmt.Sprintf("variants[%d]", i)
		if !v.Channel.valid() {
			bad(at+".channel", "%q is not a channel (sms, email, wechat, wecom)", v.Channel)
			continue
		}
		if loc, err := locale.Parse(v.Locale); err != nil || loc == "" || loc != v.Locale {
			bad(at+".locale", "%q is not a locale such as zh-CN or en", v.Locale)
			continue
		}
		id := string(v.Channel) + "." + v.Locale
		if seen[id] {
			bad(id, "two variants for the same channel and locale")
		}
		seen[id] = true
		byChannel[v.Channel] = append(byChannel[v.Channel], v.Locale)
		set := 0
		for _, p := range []bool{v.SMS != nil, v.Email != nil, v.WeChat != nil, v.WeCom != nil} {
			if p {
				set++
			}
		}
		own := map[Channel]bool{SMS: v.SMS != nil, Email: v.Email != nil, WeChat: v.WeChat != nil, WeCom: v.WeCom != nil}[v.Channel]
		if set != 1 || !own {
			bad(id, "a %s variant must set exactly its %q part", v.Channel, v.Channel)
			continue
		}
		probs = append(probs, checkVariant(def, v, schema, lim.MaxSteps)...)
	}
	for ch, locs := range byChannel {
		if def.DefaultLocale != "" && !slices.Contains(locs, def.DefaultLocale) {
			bad(string(ch), "no variant in the default locale %s, which other locales fall back to", def.DefaultLocale)
		}
	}
	if len(probs) > 0 || schema == nil {
		return Report{}, &ValidationError{Problems: probs}
	}
	// Trial render with the sample variables: execution errors (a date helper given
	// a name), SMS length, WeChat values over their limits.
	var rep Report
	for _, v := range def.Variants {
		c, err := compile(v)
		if err != nil {
			probs = append(probs, Problem{Field: fieldName(v, "text"), Message: err.Error()})
			continue
		}
		vars := SampleVars(def.Source, v.Locale, nil)
		if def.Source == SourceCampaign && len(def.Variables) > 0 {
			vars["Campaign"] = sampleCampaign(def.Variables)
		}
		vars = fill(vars, schema)
		typedCampaign(vars, def.Variables)
		r, err := c.render(ctx, def.Key, 0, def.Purpose, vars, lim)
		var le *LimitError
		switch {
		case errors.As(err, &le):
			probs = append(probs, Problem{Field: le.Field, Message: le.Message()})
			continue
		case err != nil && ctx.Err() != nil:
			return Report{}, fmt.Errorf("check template %s: %w", def.Key, err)
		case err != nil:
			probs = append(probs, execProblem(v, err))
			continue
		}
		vr := VariantReport{Channel: v.Channel, Locale: v.Locale}
		if r.SMS != nil {
			if v.SMS.Text != "" {
				vr.Segments = &r.SMS.Segments
				if r.SMS.Segments.Parts > maxSegments {
					bad(fieldName(v, "text"), "the sample renders to %d SMS segments (%d %s units), more than the maximum %d", r.SMS.Segments.Parts, r.SMS.Segments.Units, r.SMS.Segments.Encoding, maxSegments)
				}
			}
			vr.BodySegments = &r.SMS.BodySegments
			if r.SMS.BodySegments.Parts > maxSegments && v.SMS.Body != "" {
				bad(fieldName(v, "body"), "the sample renders to %d SMS segments (%d %s units), more than the maximum %d", r.SMS.BodySegments.Parts, r.SMS.BodySegments.Units, r.SMS.BodySegments.Encoding, maxSegments)
			}
		}
		rep.Variants = append(rep.Variants, vr)
	}
	if len(probs) > 0 {
		return Report{}, &ValidationError{Problems: probs}
	}
	return rep, nil
}

func execProblem(v Variant, err error) Problem {
	msg := err.Error()
	if m := execErrRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[2])
		col, _ := strconv.Atoi(m[3])
		return Problem{Field: m[1], Line: line, Column: col + 1, Message: m[4]}
	}
	return Problem{Field: string(v.Channel) + "." + v.Locale, Message: msg}
}

func checkVariant(def Definition, v Variant, schema Schema, maxSteps int) []Problem {
	var probs []Problem
	bad := func(part, format string, args ...any) {
		probs = append(probs, Problem{Field: fieldName(v, part), Message: fmt.Sprintf(format, args...)})
	}
	if schema != nil {
		campaign := def.Source == SourceCampaign
		for _, name := range slices.Sorted(maps.Keys(texts(v))) {
			probs = append(probs, checkText(name, texts(v)[name], schema, campaign, maxSteps)...)
		}
		if v.Email != nil {
			probs = append(probs, checkText(fieldName(v, "html"), v.Email.HTML, schema, campaign, maxSteps)...)
		}
	}
	switch {
	case v.SMS != nil:
		s := v.SMS
		if strings.TrimSpace(s.Text) == "" && strings.TrimSpace(s.Body) == "" {
			bad("text", "an SMS variant needs the approved text (mainland providers) or a body (Twilio)")
		}
		for _, p := range slices.Sorted(maps.Keys(s.Providers)) {
			if p != ProviderAliyun && p != ProviderTencent {
				bad("providers."+p, "unknown mainland provider %q (aliyun, tencent; Twilio takes the free-text body)", p)
			}
			if strings.TrimSpace(s.Providers[p].Code) == "" {
				bad("providers."+p+".code", "the provider's template code is required")
			}
		}
		if len(s.Providers) > 0 && strings.TrimSpace(s.Text) == "" {
			bad("text", "the approved text is required with a provider template code (for preview and segment counting)")
		}
		if len(s.Providers) > 0 && strings.TrimSpace(s.SignName) == "" {
			bad("sign_name", "a mainland provider template needs its approved sign name (签名)")
		}
		if def.Purpose == Marketing && strings.TrimSpace(s.Text) != "" {
			if strings.TrimSpace(s.SignName) == "" {
				bad("sign_name", "a marketing SMS must name its sign name (签名)")
			}
			if !HasOptOut(s.Text) {
				bad("text", "a marketing SMS's approved text must carry an opt-out line (拒收请回复R, 回TD退订, …): a provider's approved text cannot be appended to")
			}
		}
	case v.Email != nil:
		if strings.TrimSpace(v.Email.Subject) == "" {
			bad("subject", "the subject is required")
		}
		if strings.TrimSpace(v.Email.HTML) == "" {
			bad("html", "the HTML body is required")
		}
	case v.WeChat != nil:
		w := v.WeChat
		if def.Purpose == Marketing {
			bad("purpose", "WeChat template messages may not carry marketing")
		}
		if strings.TrimSpace(w.TemplateID) == "" {
			bad("template_id", "the WeChat template id is required")
		}
		if len(w.Fields) == 0 {
			bad("fields", "map the WeChat template's data fields (thing1, time2, …)")
		}
		for _, f := range slices.Sorted(maps.Keys(w.Fields)) {
			typ, ok := wechatType(f)
			if !ok {
				bad("fields."+f, "%q is not a WeChat field (a type and a number: thing1, time2, amount3, character_string4, phrase5, number6, date7, name8, …)", f)
				continue
			}
			expr := w.Fields[f]
			if strings.TrimSpace(expr) == "" {
				bad("fields."+f, "the expression is empty")
			}
			if !strings.Contains(expr, "{{") {
				if limit := wechatLimit(typ, expr); limit > 0 && utf8.RuneCountInString(expr) > limit {
					bad("fields."+f, "the text %q has %d characters; a %s field holds at most %d", expr, utf8.RuneCountInString(expr), typ, limit)
				}
			}
		}
		for _, f := range w.Required {
			if _, ok := w.Fields[f]; !ok {
				bad("fields."+f, "the WeChat template has field %s but the mapping lacks it", f)
			}
		}
	case v.WeCom != nil:
		if v.WeCom.Format != FormatText && v.WeCom.Format != FormatMarkdown {
			bad("format", "%q is not a WeCom format (text, markdown)", v.WeCom.Format)
		}
		if strings.TrimSpace(v.WeCom.Content) == "" {
			bad("content", "the content is required")
		}
	}
	return probs
}

// IsValidation reports whether err is a validation error, and returns it.
func IsValidation(err error) (*ValidationError, bool) {
	var ve *ValidationError
	ok := errors.As(err, &ve)
	return ve, ok
}
