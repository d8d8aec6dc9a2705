package templates

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
)

func TestCountSegments(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, text string
		want       Segments
	}{
		{"empty", "", Segments{GSM7, 0, 1}},
		{"gsm 160", strings.Repeat("a", 160), Segments{GSM7, 160, 1}},
		{"gsm 161", strings.Repeat("a", 161), Segments{GSM7, 161, 2}},
		{"gsm 306", strings.Repeat("a", 306), Segments{GSM7, 306, 2}},
		{"gsm 307", strings.Repeat("a", 307), Segments{GSM7, 307, 3}},
		{"gsm extension counts 2", strings.Repeat("a", 159) + "€", Segments{GSM7, 161, 2}},
		{"chinese 70", strings.Repeat("中", 70), Segments{UCS2, 70, 1}},
		{"chinese 71", strings.Repeat("中", 71), Segments{UCS2, 71, 2}},
		{"chinese 134", strings.Repeat("中", 134), Segments{UCS2, 134, 2}},
		{"chinese 135", strings.Repeat("中", 135), Segments{UCS2, 135, 3}},
		{"mixed chinese and ascii", "尊敬的Li Na女士，您好！Code 1234", Segments{UCS2, 23, 1}},
		{"one chinese char makes all ucs-2", strings.Repeat("a", 69) + "中", Segments{UCS2, 70, 1}},
		{"emoji counts 2", strings.Repeat("a", 68) + "🎂", Segments{UCS2, 70, 1}},
		{"emoji tips over", strings.Repeat("a", 69) + "🎂", Segments{UCS2, 71, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, CountSegments(tc.text))
		})
	}
}

func TestHelpers(t *testing.T) {
	t.Parallel()
	m := func(v any, loc string) string {
		s, err := FormatMoney(v, loc)
		require.NoError(t, err)
		return s
	}
	require.Equal(t, "¥1,234.56", m(1234.56, "zh-CN"))
	require.Equal(t, "CNY 1,234.56", m("1234.555", "en"))
	require.Equal(t, "¥1,000,000.00", m(1000000, "zh-CN"))
	require.Equal(t, "¥0.10", m("0.1", "zh-CN"))
	require.Equal(t, "-¥5.00", m(-5, "zh-CN"))
	_, err := FormatMoney("abc", "zh-CN")
	require.Error(t, err)

	d := calendar.NewDate(2026, time.November, 28)
	zh, _ := FormatDate(d, "zh-CN")
	en, _ := FormatDate(d, "en")
	require.Equal(t, "2026年11月28日", zh)
	require.Equal(t, "28 Nov 2026", en)
	s, _ := FormatDate("2026-01-05", "en")
	require.Equal(t, "5 Jan 2026", s)

	require.Equal(t, "尾号5678", MaskTail("+8613800135678", "zh-CN"))
	require.Equal(t, "ending 5678", MaskTail("135678", "en"))

	require.Equal(t, "张先生", Salutation("张伟", "male", "zh-CN"))
	require.Equal(t, "欧阳女士", Salutation("欧阳娜娜", "female", "zh-CN"))
	require.Equal(t, "张伟", Salutation("张伟", "", "zh-CN"))
	require.Equal(t, "客户", Salutation("", "", "zh-CN"))
	require.Equal(t, "Ms Li Na", Salutation("Li Na", "female", "en"))
	require.Equal(t, "Li Na", Salutation("Li Na", "", "en"))
	require.Equal(t, "客户", Honorific("", "zh-CN"))
	require.Equal(t, "", Honorific("", "en"))

	require.Equal(t, "x", dflt("x", ""))
	require.Equal(t, "y", dflt("x", "y"))
	require.Equal(t, "张伟…", truncate(3, "张伟张伟"))
}

func smsDef(text string) Definition {
	return Definition{Key: "test.one", Purpose: Service, Source: SourceBirthday, DefaultLocale: "zh-CN",
		Variants: []Variant{{Channel: SMS, Locale: "zh-CN", SMS: &SMSVariant{Text: text}}}}
}

func problems(t *testing.T, def Definition) []Problem {
	t.Helper()
	_, err := Check(t.Context(), def, BuiltinSchemas(), DefaultMaxSegments, Limits{})
	var ve *ValidationError
	require.True(t, errors.As(err, &ve), "want a validation error, got %v", err)
	return ve.Problems
}

// A broken template is refused with the position of the mistake.
func TestValidationPositions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, text string
		line, col  int
		msg        string
	}{
		{"unclosed action", "您好{{.Contact.Name}", 1, 3, "unclosed action"},
		{"unknown variable", "亲爱的客户\n您好 {{.Contact.Nmae}}", 2, 6, "unknown variable .Contact.Nmae (did you mean .Contact.Name?)"},
		{"unknown top-level", "{{.Customer.Name}}", 1, 3, "unknown variable .Customer"},
		{"unknown function", "祝您 {{shout .Contact.Name}}", 1, 6, `unknown function "shout"`},
		{"field of a string", "{{.Contact.Name.First}}", 1, 3, ".Contact.Name is a string and has no field First"},
		{"inside if", "{{if .Occasion.IsLunar}}\n  {{.Occasion.Lunr}}{{end}}", 2, 5, "unknown variable .Occasion.Lunr"},
		{"inside with", "{{with .Contact}}{{.Nam}}{{end}}", 1, 20, "unknown variable .Contact.Nam"},
		{"root variable", "{{$.Contact.Tierr}}", 1, 3, "unknown variable .Contact.Tierr"},
		{"declared variable", "{{$c := .Contact}}{{$c.Gendr}}", 1, 21, "unknown variable .Contact.Gendr"},
		{"range over a string", "{{range .Contact.Name}}x{{end}}", 1, 1, "cannot range over .Contact.Name"},
		{"template call", `ok {{template "x"}}`, 1, 4, "not allowed"},
		{"undefined variable", "{{$nope}}", 1, 1, "variable $nope is used before it is set"},
		{"second line parse error", "ok\n  {{if .Contact.Name}}x", 2, 3, "{{if}} is not closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ps := problems(t, smsDef(tc.text))
			require.Len(t, ps, 1, "%v", ps)
			require.Equal(t, "sms.zh-CN.text", ps[0].Field)
			require.Equal(t, tc.line, ps[0].Line, ps[0].String())
			require.Equal(t, tc.col, ps[0].Column, ps[0].String())
			require.Contains(t, ps[0].Message, tc.msg)
		})
	}
	// Attrs and campaign variables take any key; helpers and builtins are known.
	_, err := Check(t.Context(), smsDef(`{{.Contact.Attrs.risk}}{{with .Contact.Attrs}}{{.x}}{{end}}{{default "朋友" .Contact.Name | printf "%s"}}{{money 1}}{{range $i, $t := .Contact.Tags}}{{$t}}{{end}}`), BuiltinSchemas(), DefaultMaxSegments, Limits{})
	require.NoError(t, err)
	// The digest's list: fields of its elements inside range, checked.
	d := Builtins()[len(Builtins())-1]
	d.Variants = d.Variants[:1]
	d.Variants[0].WeCom = &WeComVariant{Format: FormatText, Content: "{{range .Digest.Items}}{{.Name}} {{.Nmae}}{{end}}"}
	ps := problems(t, d)
	require.Len(t, ps, 1)
	require.Equal(t, Problem{Field: "wecom.zh-CN.content", Line: 1, Column: 36, Message: "unknown variable .Digest.Items[].Nmae (did you mean .Digest.Items[].Name?)"}, ps[0])
}

func TestValidationRules(t *testing.T) {
	t.Parallel()
	// A marketing SMS needs a sign name and an opt-out line in its approved text.
	mk := smsDef("{{.Contact.Salutation}}，稳健理财新品上线，详询{{.Manager.Name}}。")
	mk.Purpose, mk.Source = Marketing, SourceCampaign
	mk.Variants[0].SMS.Providers = map[string]ProviderTemplate{ProviderAliyun: {Code: "SMS_1", Params: map[string]string{"name": "{{.Contact.Salutation}}"}}}
	var fields []string
	for _, p := range problems(t, mk) {
		fields = append(fields, p.Field+": "+p.Message)
	}
	require.Len(t, fields, 3, "%v", fields) // sign name (provider), sign name (marketing), opt-out
	require.Contains(t, strings.Join(fields, "\n"), "opt-out")
	mk.Variants[0].SMS.SignName = "示例银行"
	mk.Variants[0].SMS.Text += "拒收请回复R"
	_, err := Check(t.Context(), mk, BuiltinSchemas(), DefaultMaxSegments, Limits{})
	require.NoError(t, err)

	// Free-text (Twilio) marketing gets the opt-out line appended.
	tw := smsDef("")
	tw.Purpose, tw.Source, tw.DefaultLocale = Marketing, SourceCampaign, "en"
	tw.Variables = []Variable{{Name: "product", Type: String, Required: true}}
	tw.Variants = []Variant{{Channel: SMS, Locale: "en", SMS: &SMSVariant{Body: "Hi {{.Contact.Name}}, our {{.Campaign.product}} is here."}}}
	_, err = Check(t.Context(), tw, BuiltinSchemas(), DefaultMaxSegments, Limits{})
	require.NoError(t, err)
	s, err := NewStore(nil, Config{})
	require.NoError(t, err)
	r, err := s.RenderVersion(t.Context(), Version{Definition: tw, Version: 1}, SMS, "en", Vars{"Contact": map[string]any{"Name": "Ann"}, "Campaign": map[string]any{"product": "Fund"}})
	require.NoError(t, err)
	require.Equal(t, "Hi Ann, our Fund is here.\nReply STOP to unsubscribe", r.SMS.Body)

	// Too many segments for the configured maximum.
	long := smsDef(strings.Repeat("祝您生日快乐，", 40))
	ps := problems(t, long)
	require.Contains(t, ps[0].Message, "SMS segments")

	// WeChat: the mapping lacks a field, a field name is not typed, a constant is
	// too long, marketing is refused.
	w := Definition{Key: "test.wx", Purpose: Marketing, Source: SourceBirthday, DefaultLocale: "zh-CN",
		Variants: []Variant{{Channel: WeChat, Locale: "zh-CN", WeChat: &WeChatVariant{TemplateID: "T1",
			Fields:   map[string]string{"thing1": "{{.Contact.Salutation}}", "phrase3": "生日快乐祝福您", "first": "x"},
			Required: []string{"thing1", "time2"}}}}}
	var msgs []string
	for _, p := range problems(t, w) {
		msgs = append(msgs, p.String())
	}
	all := strings.Join(msgs, "\n")
	require.Contains(t, all, "wechat.zh-CN.fields.time2: the WeChat template has field time2 but the mapping lacks it")
	require.Contains(t, all, "wechat.zh-CN.fields.phrase3: the text \"生日快乐祝福您\" has 7 characters; a phrase field holds at most 5")
	require.Contains(t, all, `"first" is not a WeChat field`)
	require.Contains(t, all, "may not carry marketing")

	// A long name is cut to fit a thing field at render time.
	v, err := s.RenderVersion(t.Context(), Version{Definition: builtinDef(t, KeyBirthday), Version: 1}, WeChat, "zh-CN",
		Vars{"Contact": ContactVars(Contact{Name: strings.Repeat("长", 30)}, "zh-CN")})
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("长", 19)+"…", v.WeChat.Data["thing1"])

	// Structure: bad key, unknown source, no variant in the default locale.
	bad := smsDef("hi")
	bad.Key, bad.Source, bad.DefaultLocale = "Bad Key", "nowhere", "en"
	msgs = nil
	for _, p := range problems(t, bad) {
		msgs = append(msgs, p.Field)
	}
	require.ElementsMatch(t, []string{"key", "source", "sms"}, msgs)
}

// Contact data is data: a name with markup is escaped in email HTML and never
// executed as a template.
func TestEmailEscapesContactData(t *testing.T) {
	t.Parallel()
	s, err := NewStore(nil, Config{})
	require.NoError(t, err)
	c := Contact{Name: `<script>alert("x")</script>{{.Bank.Name}}`, Locale: "zh-CN"}
	v := Version{Definition: builtinDef(t, KeyBirthday), Version: 1}
	r, err := s.RenderVersion(t.Context(), v, Email, "zh-CN", SampleVars(SourceBirthday, "zh-CN", &c))
	require.NoError(t, err)
	require.NotContains(t, r.Email.HTML, "<script>")
	require.Contains(t, r.Email.HTML, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;{{.Bank.Name}}")
	require.Contains(t, r.Email.Text, `<script>alert("x")</script>{{.Bank.Name}}`)
	require.Contains(t, r.Email.Subject, "示例银行")
}

func TestLookupFallbackAndNoVariant(t *testing.T) {
	t.Parallel()
	v := Version{Definition: Definition{Key: "k", DefaultLocale: "zh-CN", Variants: []Variant{
		{Channel: SMS, Locale: "zh-CN"}, {Channel: SMS, Locale: "en"}, {Channel: Email, Locale: "zh-CN"},
	}}, Version: 4}
	for _, tc := range []struct {
		ch            Channel
		locale, found string
	}{
		{SMS, "en", "en"}, {SMS, "en-GB", "en"}, {SMS, "zh", "zh-CN"}, {SMS, "fr", "zh-CN"}, {SMS, "", "zh-CN"},
		{Email, "en", "zh-CN"},
	} {
		x, err := v.Lookup(tc.ch, tc.locale)
		require.NoError(t, err)
		require.Equal(t, tc.found, x.Locale, "%s %s", tc.ch, tc.locale)
	}
	_, err := v.Lookup(WeChat, "zh-CN")
	require.ErrorIs(t, err, ErrNoVariant)
	var nv *NoVariantError
	require.ErrorAs(t, err, &nv)
	require.Equal(t, NoVariantError{Key: "k", Version: 4, Channel: WeChat}, *nv)
}
