package apptest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/audit"
	"carillon/templates"
)

// CampaignTemplate is the marketing template the tests' campaigns send: SMS
// (with the mainland providers' template codes) and email variants, no WeChat
// (marketing cannot go by template message), one variable, product.
const CampaignTemplate = "campaign.wealth"

// SaveCampaignTemplate saves and activates CampaignTemplate.
func (w *World) SaveCampaignTemplate(t testing.TB) {
	t.Helper()
	_, _, err := w.Templates.Save(w.Ctx, audit.Actor{Name: "test"}, templates.Definition{Key: CampaignTemplate, Purpose: templates.Marketing,
		Source: templates.SourceCampaign, DefaultLocale: "zh-CN",
		Variables: []templates.Variable{{Name: "product", Type: templates.String, Required: true, Label: "产品", LabelEN: "Product", Sample: "稳健理财"}},
		Variants: []templates.Variant{
			{Channel: templates.SMS, Locale: "zh-CN", SMS: &templates.SMSVariant{SignName: "示例银行",
				Text: "{{.Contact.Salutation}}，{{.Campaign.product}}上线。拒收请回复R",
				Providers: map[string]templates.ProviderTemplate{
					templates.ProviderAliyun:  {Code: "SMS_100", Params: map[string]string{"name": "{{.Contact.Salutation}}", "product": "{{.Campaign.product}}"}},
					templates.ProviderTencent: {Code: "100", Params: map[string]string{"1": "{{.Contact.Salutation}}", "2": "{{.Campaign.product}}"}},
				}}},
			{Channel: templates.Email, Locale: "zh-CN", Email: &templates.EmailVariant{Subject: "{{.Campaign.product}}",
				HTML: "<p>{{.Contact.Salutation}}，{{.Campaign.product}}上线。</p><p><a href=\"https://bank.example.com/w\">详情</a></p>"}},
		}}, templates.SaveOptions{Activate: true})
	require.NoError(t, err)
}
