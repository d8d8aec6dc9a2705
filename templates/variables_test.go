package templates

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func campaignDef(text string, vars ...Variable) Definition {
	return Definition{Key: "campaign.offer", Purpose: Marketing, Source: SourceCampaign, DefaultLocale: "zh-CN", Variables: vars,
		Variants: []Variant{{Channel: SMS, Locale: "zh-CN", SMS: &SMSVariant{SignName: "示例银行", Text: text}}}}
}

func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	var ve *ValidationError
	require.True(t, errors.As(err, &ve), "want a validation error, got %v", err)
	return ve.Problems
}

// A campaign template may use only the variables it declares: an undeclared
// .Campaign.x is refused at save with its line and column.
func TestCampaignTemplateUsesOnlyDeclaredVariables(t *testing.T) {
	t.Parallel()
	def := campaignDef("{{.Contact.Salutation}}，{{.Campaign.product}}\n年化{{.Campaign.rate}}。拒收请回复R",
		Variable{Name: "product", Type: String, Required: true})
	probs := problemsOf(t, func() error {
		_, err := Check(t.Context(), def, BuiltinSchemas(), DefaultMaxSegments, Limits{})
		return err
	}())
	require.Len(t, probs, 1, "%v", probs)
	require.Equal(t, "sms.zh-CN.text", probs[0].Field)
	require.Equal(t, 2, probs[0].Line)
	require.Equal(t, 5, probs[0].Column)
	require.Contains(t, probs[0].Message, "campaign variable .Campaign.rate is not declared")

	// Declared, it saves; its sample shows in the trial render only.
	def.Variables = append(def.Variables, Variable{Name: "rate", Type: Number, Default: 3.1})
	_, err := Check(t.Context(), def, BuiltinSchemas(), DefaultMaxSegments, Limits{})
	require.NoError(t, err)

	// With no declarations at all, every .Campaign.x is undeclared.
	_, err = Check(t.Context(), campaignDef("{{.Campaign.product}}。拒收请回复R"), BuiltinSchemas(), DefaultMaxSegments, Limits{})
	require.Contains(t, problemsOf(t, err)[0].Message, ".Campaign.product is not declared")
}

func TestVariableDeclarationsAreChecked(t *testing.T) {
	t.Parallel()
	def := campaignDef("{{.Campaign.a}}。拒收请回复R",
		Variable{Name: "a", Type: "colour"},
		Variable{Name: "B", Type: String},
		Variable{Name: "c", Type: String, Required: true, Default: "x"},
		Variable{Name: "d", Type: Date, Default: "next week"},
		Variable{Name: "e", Type: Int, Sample: 1.5},
		Variable{Name: "e", Type: Int})
	_, err := Check(t.Context(), def, BuiltinSchemas(), DefaultMaxSegments, Limits{})
	got := map[string]string{}
	for _, p := range problemsOf(t, err) {
		got[p.Field] += p.Message
	}
	require.Contains(t, got["variables.a.type"], `"colour" is not a variable type`)
	require.Contains(t, got["variables[1].name"], `"B" is not a variable name`)
	require.Contains(t, got["variables.c.default"], "a required variable has no default")
	require.Contains(t, got["variables.d.default"], "must be a date")
	require.Contains(t, got["variables.e.sample"], "must be a whole number")
	require.Contains(t, got["variables.e"], "declared twice")

	other := smsDef("{{.Contact.Name}}")
	other.Variables = []Variable{{Name: "x", Type: String}}
	_, err = Check(t.Context(), other, BuiltinSchemas(), DefaultMaxSegments, Limits{})
	require.Contains(t, problemsOf(t, err)[0].Message, "only campaign templates")
}

func TestCampaignVarsResolution(t *testing.T) {
	t.Parallel()
	v := Version{Definition: campaignDef("", Variable{Name: "product", Type: String, Required: true, Sample: "SAMPLE"},
		Variable{Name: "rate", Type: Money, Default: "3.10"}, Variable{Name: "until", Type: Date}, Variable{Name: "vip", Type: Bool})}

	// Missing and empty required, wrong types, an undeclared (misspelt) one: all at once.
	_, err := v.CampaignVars(map[string]any{"product": "", "rate": "a lot", "until": "soon", "vip": "yes", "prodcut": "x"})
	got := map[string]string{}
	for _, p := range problemsOf(t, err) {
		got[p.Field] += p.Message
	}
	require.Contains(t, got["vars.product"], "product is required")
	require.Contains(t, got["vars.rate"], "must be a number")
	require.Contains(t, got["vars.until"], "must be a date")
	require.Contains(t, got["vars.vip"], "must be true or false")
	require.Contains(t, got["vars.prodcut"], `did you mean "product"?`)

	// Given values in their type's form, a default for the one left out, never the sample.
	out, err := v.CampaignVars(map[string]any{"product": "稳健理财", "until": "2027-01-31", "vip": true})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"product": "稳健理财", "rate": 3.1, "until": "2027-01-31", "vip": true}, out)

	// A version saved before declarations existed takes the values as given.
	legacy := Version{Definition: campaignDef("")}
	out, err = legacy.CampaignVars(map[string]any{"anything": "goes"})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"anything": "goes"}, out)
}

// Declared values render in their type's form (a date with the date helper, a
// default amount with money), whatever form the stored message vars hold them in.
func TestDeclaredDateRendersAsADate(t *testing.T) {
	t.Parallel()
	def := campaignDef(`{{.Contact.Salutation}}，优惠截至{{date .Campaign.until}}，年化{{money .Campaign.rate}}。拒收请回复R`,
		Variable{Name: "until", Type: Date, Required: true}, Variable{Name: "rate", Type: Money, Default: 3.1})
	_, err := Check(t.Context(), def, BuiltinSchemas(), DefaultMaxSegments, Limits{})
	require.NoError(t, err)
	s, err := NewStore(nil, Config{})
	require.NoError(t, err)
	v := Version{Definition: def, Version: 1}
	cv, err := v.CampaignVars(map[string]any{"until": "2027-01-31"})
	require.NoError(t, err)
	r, err := s.RenderVersion(t.Context(), v, SMS, "zh-CN", Vars{"Contact": map[string]any{"Salutation": "张先生"}, "Campaign": cv})
	require.NoError(t, err)
	require.Contains(t, r.SMS.Text, "优惠截至2027年1月31日，年化¥3.10")
}
