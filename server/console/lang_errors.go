package console

import (
	"fmt"
	"regexp"
	"strings"
)

// Errors in the page's language. The domains and the segment compiler speak
// English; English pages show their words as they are, a Chinese page gets
// each message rewritten by the rules below, its field named, its position
// kept. A message no rule knows is shown after a Chinese lead-in.

// msgRule rewrites one English message: key's Chinese text formatted with
// the expression's groups.
type msgRule struct {
	re  *regexp.Regexp
	key string
}

var msgRules = []msgRule{
	// The segment compiler's (CEL's) messages.
	{regexp.MustCompile(`^Syntax error: token recognition error at: '=`), "lang.err.single_eq"},
	{regexp.MustCompile(`^Syntax error: (?:missing '\)'|extraneous input '\)'|mismatched input '\)')|^Syntax error: .*expecting .*'\)'`), "lang.err.parens"},
	{regexp.MustCompile(`^Syntax error: mismatched input '<EOF>'`), "lang.err.incomplete"},
	{regexp.MustCompile(`^Syntax error: `), "lang.err.syntax"},
	{regexp.MustCompile(`^unknown field "([^"]+)" \(did you mean "([^"]+)"\?\)`), "lang.err.unknown_field_hint"},
	{regexp.MustCompile(`^unknown field "([^"]+)"`), "lang.err.unknown_field"},
	{regexp.MustCompile(`^(\S+) cannot be applied to \((.*)\)`), "lang.err.types"},
	{regexp.MustCompile(`^the filter is empty`), "lang.err.empty_filter"},
	{regexp.MustCompile(`^the filter is longer than (\d+) bytes`), "lang.err.long_filter"},
	{regexp.MustCompile(`^a filter must be true or false`), "lang.err.not_bool"},
	// Field messages (internal/fielderr and the console's own forms).
	{regexp.MustCompile(`^is required: the customer has no manager`), "lang.err.no_manager"},
	{regexp.MustCompile(`^is required(?:$|[ ,(])`), "lang.err.required"},
	{regexp.MustCompile(`^"?([^"]*)"? is not HH:MM-HH:MM`), "lang.err.window"},
	{regexp.MustCompile(`^"?([^"]*)"? is not a window of the day`), "lang.err.window_order"},
	{regexp.MustCompile(`^not a date and time`), "lang.err.datetime"},
	{regexp.MustCompile(`^a whole number of messages per second`), "lang.err.throttle"},
	{regexp.MustCompile(`^a JSON object`), "lang.err.json"},
	{regexp.MustCompile(`^must be a number`), "lang.err.number"},
	{regexp.MustCompile(`^must be a date`), "lang.err.date"},
	{regexp.MustCompile(`^must be true or false`), "lang.err.bool"},
	{regexp.MustCompile(`^too long \(at most (\d+) bytes\)`), "lang.err.too_long"},
	{regexp.MustCompile(`^given without a tier`), "lang.err.no_tier"},
	{regexp.MustCompile(`^"?([^"]*)"? is not a tier`), "lang.err.tier"},
	{regexp.MustCompile(`^"?([^"]*)"? is not a method`), "lang.err.method"},
	{regexp.MustCompile(`^unknown variable (\S+) \(did you mean (\S+)\?\)`), "lang.err.unknown_var_hint"},
	{regexp.MustCompile(`^unknown variable (\S+)`), "lang.err.unknown_var"},
	{regexp.MustCompile(`^"?([^"]*)"? is not a test contact`), "lang.err.not_test"},
	{regexp.MustCompile(`^unknown timeline filter`), "lang.err.timeline_filter"},
	{regexp.MustCompile(`^a reason is required to change a consent`), "lang.err.consent_reason"},
	{regexp.MustCompile(`^name the customer number to send the test to`), "lang.err.test_to"},
	{regexp.MustCompile(`^unknown status`), "lang.err.status"},
	{regexp.MustCompile(`^month must be a month`), "lang.err.month"},
	{regexp.MustCompile(`^tier must be A, B, C or D`), "lang.err.tier_filter"},
	{regexp.MustCompile(`^the search is longer than 100 characters`), "lang.err.search_long"},
	// The templates package's parse errors, in its plain words (parseAll).
	{regexp.MustCompile(`^unclosed action: `), "lang.err.tpl_unclosed"},
	{regexp.MustCompile(`^a single "\}": `), "lang.err.tpl_brace"},
	{regexp.MustCompile(`^a quoted text is not closed`), "lang.err.tpl_quote"},
	{regexp.MustCompile(`^empty action: `), "lang.err.tpl_empty"},
	{regexp.MustCompile(`^\{\{(\w+)\}\} needs a value to test`), "lang.err.tpl_novalue"},
	{regexp.MustCompile(`^variable (\S+) is used before it is set`), "lang.err.tpl_var"},
	{regexp.MustCompile(`^the character "(.+)" cannot be used inside`), "lang.err.tpl_char"},
	{regexp.MustCompile(`^"([^"]*)" is not a number`), "lang.err.tpl_number"},
	{regexp.MustCompile(`^the comment is not closed`), "lang.err.tpl_comment"},
	{regexp.MustCompile(`^\{\{else\}\} without an`), "lang.err.tpl_else"},
	{regexp.MustCompile(`^\{\{end\}\} without an`), "lang.err.tpl_end"},
	{regexp.MustCompile(`^\{\{(\w+)\}\} is not closed`), "lang.err.tpl_open"},
	{regexp.MustCompile(`^unknown function "([^"]+)"`), "lang.err.tpl_func"},
	{regexp.MustCompile(`^cannot read (.+) here`), "lang.err.tpl_unexpected"},
	{regexp.MustCompile(`^cannot read this action: `), "lang.err.tpl_other"},
	{regexp.MustCompile(`^the search matches more than (\d+) customers`), "lang.err.bulk_max"},
}

// positionRE is a compiler message's "line:column: " lead.
var positionRE = regexp.MustCompile(`^(\d+):(\d+): (.*)$`)

// trMessage is one error message in lang.
func trMessage(lang, msg string) string {
	if lang == "en" || msg == "" {
		return msg
	}
	if m := positionRE.FindStringSubmatch(msg); m != nil {
		var line, col int
		_, _ = fmt.Sscan(m[1], &line)
		_, _ = fmt.Sscan(m[2], &col)
		return fmt.Sprintf(tr(lang, "tpl.at"), line, col) + trMessage(lang, m[3])
	}
	for _, r := range msgRules {
		if g := r.re.FindStringSubmatch(msg); g != nil {
			args := make([]any, len(g)-1)
			for i, s := range g[1:] {
				args[i] = s
			}
			return fmt.Sprintf(tr(lang, r.key), args...)
		}
	}
	return tr(lang, "lang.err.other") + msg
}

// fieldName is a form field's name in lang (tier_reason → 等级变更原因).
func fieldName(lang, field string) string {
	if lang == "en" {
		return field
	}
	return trOr(lang, "lang.field."+field, field)
}

// trFieldErrors rewrites a form's messages, field by field.
func trFieldErrors(lang string, errs map[string][]string) map[string][]string {
	if lang == "en" || len(errs) == 0 {
		return errs
	}
	out := make(map[string][]string, len(errs))
	for f, ms := range errs {
		for _, m := range ms {
			out[f] = append(out[f], trMessage(lang, m))
		}
	}
	return out
}

// trDetail is an error page's detail in lang: a validation error's fields
// ("invalid input: reason: is required; …") each named and rewritten, the
// wrapping callers' prefixes ("campaigns: test send: ") dropped.
func trDetail(lang, detail string) string {
	if lang == "en" || detail == "" {
		return detail
	}
	if _, list, ok := strings.Cut(detail, "invalid input: "); ok {
		var parts []string
		for p := range strings.SplitSeq(list, "; ") {
			f, m, ok := strings.Cut(p, ": ")
			if !ok {
				parts = append(parts, trMessage(lang, p))
				continue
			}
			parts = append(parts, fieldName(lang, f)+tr(lang, "lang.err.colon")+trMessage(lang, m))
		}
		return tr(lang, "lang.err.invalid") + strings.Join(parts, "；")
	}
	for _, r := range msgRules {
		if loc := r.re.FindStringIndex(detail); loc != nil {
			return trMessage(lang, detail)
		}
	}
	// "pkg: step: message": the message is the last part a rule knows.
	rest := detail
	for {
		_, after, ok := strings.Cut(rest, ": ")
		if !ok {
			break
		}
		rest = after
		if t := trMessage(lang, rest); !strings.HasPrefix(t, tr(lang, "lang.err.other")) {
			return t
		}
	}
	return trMessage(lang, detail)
}
