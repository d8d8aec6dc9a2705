package templates

import (
	"carillon/internal/apperr"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Channel is a channel a template variant is written for.
type Channel string

// Channels.
const (
	SMS    Channel = "sms"
	Email  Channel = "email"
	WeChat Channel = "wechat" // Official Account template message
	WeCom  Channel = "wecom"  // WeCom application message (managers)
)

// Channels lists every channel, in the order variants are shown.
func Channels() []Channel { return []Channel{SMS, Email, WeChat, WeCom} }

func (c Channel) valid() bool { return c == SMS || c == Email || c == WeChat || c == WeCom }

// Purpose is what a template's messages are for: consent and channel rules depend on it.
type Purpose string

// Purposes.
const (
	Service   Purpose = "service"
	Marketing Purpose = "marketing"
)

// Mainland SMS providers, which send only templates approved in advance.
const (
	ProviderAliyun  = "aliyun"
	ProviderTencent = "tencent"
)

// WeCom message formats.
const (
	FormatText     = "text"
	FormatMarkdown = "markdown"
)

// Definition is what a user saves: the whole content of one version.
type Definition struct {
	Key           string  `json:"key"`
	Purpose       Purpose `json:"purpose"`
	Source        string  `json:"source"`         // the schema its variables come from, e.g. care.birthday
	DefaultLocale string  `json:"default_locale"` // the locale a missing one falls back to
	Description   string  `json:"description,omitempty"`
	// Names are the template's display names by locale (zh-CN, en), shown where
	// staff pick or list templates; a locale without one shows another, then the key.
	Names map[string]string `json:"names,omitempty"`
	// Variables declares a campaign template's own variables (.Campaign.<name>);
	// other sources provide theirs.
	Variables []Variable `json:"variables,omitempty"`
	Variants  []Variant  `json:"variants"`
}

// Variant is the template for one channel and locale. Exactly the field of its
// channel is set.
type Variant struct {
	Channel Channel        `json:"channel"`
	Locale  string         `json:"locale"`
	SMS     *SMSVariant    `json:"sms,omitempty"`
	Email   *EmailVariant  `json:"email,omitempty"`
	WeChat  *WeChatVariant `json:"wechat,omitempty"`
	WeCom   *WeComVariant  `json:"wecom,omitempty"`
}

// SMSVariant is an SMS template. Mainland providers (aliyun, tencent) send only
// the text approved in advance under a template code: Text is that approved text
// written in template syntax (for preview and segment counting), Providers maps
// each provider to its code and its parameters. Twilio sends free text: Body, or
// Text when Body is empty.
type SMSVariant struct {
	// SignName is the approved signature (签名), shown as 【SignName】 before the
	// text. Required for marketing.
	SignName string `json:"sign_name,omitempty"`
	// Text is the approved text, with expressions where the provider has parameters.
	Text string `json:"text,omitempty"`
	// Providers holds each mainland provider's template code and parameters.
	Providers map[string]ProviderTemplate `json:"providers,omitempty"`
	// Body is the free-text body for Twilio; empty means Text.
	Body string `json:"body,omitempty"`
}

// ProviderTemplate is a mainland provider's approved template: its code and a map
// from the provider's parameter names (aliyun: name; tencent: 1, 2, …) to expressions.
type ProviderTemplate struct {
	Code   string            `json:"code"`
	Params map[string]string `json:"params,omitempty"`
}

// EmailVariant is an email: the subject (text/template), the HTML body
// (html/template: contact data is escaped) and the plain text, derived from
// the HTML when empty.
type EmailVariant struct {
	Subject string `json:"subject"`
	HTML    string `json:"html"`
	Text    string `json:"text,omitempty"`
}

// WeChatVariant is an Official Account template message: the template id, its
// typed data fields (thing1, time2, amount3, …) mapped to expressions, and the
// link it opens.
type WeChatVariant struct {
	TemplateID string            `json:"template_id"`
	Fields     map[string]string `json:"fields"`
	// Required lists the fields the WeChat template has; each must be mapped.
	// Empty means the mapped fields are the template's fields.
	Required []string `json:"required,omitempty"`
	URL      string   `json:"url,omitempty"`
}

// WeComVariant is a WeCom application message to a manager.
type WeComVariant struct {
	Format  string `json:"format"` // text | markdown
	Content string `json:"content"`
}

// Template is a key with its active version and history.
type Template struct {
	Key           string            `json:"key"`
	ActiveVersion int               `json:"active_version"`
	Purpose       Purpose           `json:"purpose"`
	Source        string            `json:"source"`
	DefaultLocale string            `json:"default_locale"`
	Description   string            `json:"description,omitempty"`
	Names         map[string]string `json:"names,omitempty"`
	Channels      []Channel         `json:"channels"`
	Locales       []string          `json:"locales"`
	Edited        bool              `json:"edited"` // someone saved a version of their own
	UpdatedAt     time.Time         `json:"updated_at"`
	Versions      []Info            `json:"versions,omitempty"`
}

// DisplayName is the template's name in locale: the name of that locale, of
// its language, of the other locales (Chinese first), or else the key.
func (t Template) DisplayName(locale string) string { return displayName(t.Key, t.Names, locale) }

// DisplayName is the definition's name in locale (see Template.DisplayName).
func (d Definition) DisplayName(locale string) string { return displayName(d.Key, d.Names, locale) }

func displayName(key string, names map[string]string, locale string) string {
	if n := strings.TrimSpace(names[locale]); n != "" {
		return n
	}
	lang := language(locale)
	for _, l := range slices.Sorted(maps.Keys(names)) {
		if language(l) == lang && strings.TrimSpace(names[l]) != "" {
			return strings.TrimSpace(names[l])
		}
	}
	for _, l := range []string{"zh-CN", "en"} {
		if n := strings.TrimSpace(names[l]); n != "" {
			return n
		}
	}
	for _, l := range slices.Sorted(maps.Keys(names)) {
		if n := strings.TrimSpace(names[l]); n != "" {
			return n
		}
	}
	return key
}

// Info describes one version without its content.
type Info struct {
	Version   int       `json:"version"`
	Author    string    `json:"author"`
	Builtin   bool      `json:"builtin"`
	Note      string    `json:"note,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	Active    bool      `json:"active"`
}

// Version is one immutable saved version of a template.
type Version struct {
	Definition
	Version   int       `json:"version"`
	Author    string    `json:"author"`
	Builtin   bool      `json:"builtin"`
	Note      string    `json:"note,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Errors.
var (
	// ErrNotFound: no such template or version.
	ErrNotFound = apperr.NotFound("template not found", "no such template or version")
	// ErrExists: Store.Create was given a key that is taken.
	ErrExists = apperr.Conflict("a template with that key exists", "template_exists")
	// ErrNoVariant: the template has no variant for the channel (in any locale),
	// so that channel cannot carry it; the delivery policy tries the next channel.
	ErrNoVariant = errors.New("template has no variant for this channel")
)

// NoVariantError says which template and channel lack a variant. It matches ErrNoVariant.
type NoVariantError struct {
	Key     string
	Version int
	Channel Channel
}

func (e *NoVariantError) Error() string {
	return fmt.Sprintf("template %s v%d has no %s variant", e.Key, e.Version, e.Channel)
}

// Is makes errors.Is(err, ErrNoVariant) true.
func (e *NoVariantError) Is(target error) bool { return target == ErrNoVariant }

// Problem is one mistake in a definition. Line and Column (1-based, in runes)
// locate it inside Field's text when it is a template expression.
type Problem struct {
	Field   string `json:"field"` // e.g. sms.zh-CN.text, wechat.en.fields.thing1
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", p.Field, p.Line, p.Column, p.Message)
	}
	return p.Field + ": " + p.Message
}

// ValidationError lists every problem of a definition refused at save.
type ValidationError struct{ Problems []Problem }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "invalid template: " + strings.Join(parts, "; ")
}

// Lookup returns the variant for channel ch in locale, falling back to the
// template's default locale, then to the language alone (zh-CN → zh, en-GB → en)
// and any variant of the same language. A channel with no variant at all gives a
// *NoVariantError (errors.Is ErrNoVariant). The locale found is returned.
func (v Version) Lookup(ch Channel, locale string) (Variant, error) {
	var ofChannel []Variant
	for _, x := range v.Variants {
		if x.Channel == ch {
			ofChannel = append(ofChannel, x)
		}
	}
	if len(ofChannel) == 0 {
		return Variant{}, &NoVariantError{Key: v.Key, Version: v.Version, Channel: ch}
	}
	find := func(loc string) (Variant, bool) {
		for _, x := range ofChannel {
			if strings.EqualFold(x.Locale, loc) {
				return x, true
			}
		}
		lang := language(loc)
		for _, x := range ofChannel {
			if language(x.Locale) == lang {
				return x, true
			}
		}
		return Variant{}, false
	}
	if locale != "" {
		if x, ok := find(locale); ok {
			return x, nil
		}
	}
	if x, ok := find(v.DefaultLocale); ok {
		return x, nil
	}
	return ofChannel[0], nil
}

func language(locale string) string {
	l, _, _ := strings.Cut(strings.ReplaceAll(locale, "_", "-"), "-")
	return strings.ToLower(l)
}

// isChinese reports whether locale is a Chinese one.
func isChinese(locale string) bool { return language(locale) == "zh" }
