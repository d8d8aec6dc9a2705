package delivery_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/channels"
	"carillon/delivery"
	"carillon/internal/audit"
	"carillon/internal/pgtest"
	"carillon/templates"
)

// The worker renders under the template limits: a message whose text would
// pass them on every channel ends failed, reason render_limit naming the
// template and the limit, and nothing is sent; a channel over its cap is
// skipped for the next one.
func TestWorkerRendersUnderTheTemplateLimits(t *testing.T) {
	t.Parallel()
	var st *templates.Store
	h := newHarness(t, harnessOpts{renderer: func(db *pgtest.DB) delivery.Renderer {
		var err error
		st, err = templates.NewStore(db.Pool, templates.Config{})
		require.NoError(t, err)
		return delivery.TemplateRenderer(st)
	}})
	note := templates.Variable{Name: "note", Type: templates.String, Default: "", Sample: "短"}
	def := templates.Definition{Key: "notice.note", Purpose: templates.Service, Source: templates.SourceCampaign, DefaultLocale: "zh-CN",
		Variables: []templates.Variable{note},
		Variants: []templates.Variant{
			{Channel: templates.SMS, Locale: "zh-CN", SMS: &templates.SMSVariant{SignName: "Carillon", Text: "{{.Campaign.note}}",
				Providers: map[string]templates.ProviderTemplate{"aliyun": {Code: "SMS_100", Params: map[string]string{"note": "{{.Campaign.note}}"}}}}},
			{Channel: templates.Email, Locale: "zh-CN", Email: &templates.EmailVariant{Subject: "通知", HTML: "<p>{{.Campaign.note}}</p>"}},
		}}
	_, _, err := st.Save(h.ctx, audit.Actor{Name: "test"}, def, templates.SaveOptions{Activate: true})
	require.NoError(t, err)
	c1 := h.contact(t, "C1")

	long := strings.Repeat("备注", 1000) // 2,000 characters: 30 SMS parts
	p := planned("limit:1", c1.ID, channels.PurposeService, channels.SMS)
	p.TemplateKey, p.Vars = "notice.note", map[string]any{"Campaign": map[string]any{"note": long}}
	res := h.enqueue(t, p)
	m := h.waitFor(t, res.IDs[0], "failed", "suppressed", "sent", "delivered")
	require.Equal(t, "failed", m.Status)
	require.True(t, strings.HasPrefix(m.Reason, "render_limit: template notice.note v1 (sms, zh-CN) "), m.Reason)
	require.Contains(t, m.Reason, "template notice.note v1 (sms, zh-CN) sms.zh-CN.text: renders to 30 SMS segments, more than the limit of 10")
	require.Zero(t, h.built.Sandboxes["ali"].Recorder().SendsOf(itoa(res.IDs[0])), "nothing is sent")

	// Email carries the same text within its cap: the SMS is skipped for it.
	p = planned("limit:2", c1.ID, channels.PurposeService, channels.SMS, channels.Email)
	p.TemplateKey, p.Vars = "notice.note", map[string]any{"Campaign": map[string]any{"note": long}}
	res = h.enqueue(t, p)
	m = h.waitFor(t, res.IDs[0], "failed", "suppressed", "sent", "delivered")
	require.Equal(t, "email", m.Channel, "%+v", m)
	require.Zero(t, h.built.Sandboxes["ali"].Recorder().SendsOf(itoa(res.IDs[0])))
}
