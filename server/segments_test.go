package server_test

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"carillon/campaigns"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/internal/pgtest"
	"carillon/internal/testlog"
	"carillon/server"
	"carillon/templates"
)

// setupCampaignServer is setup with the campaigns service mounted.
func setupCampaignServer(t *testing.T) (*bundle, *campaigns.Service) {
	t.Helper()
	b := &bundle{ctx: t.Context(), clock: newClock()}
	b.db = pgtest.New(t)
	now := b.clock.Now
	var err error
	b.store, err = contacts.NewStore(b.db.Pool, contacts.Config{Logger: testlog.New(t), Now: now})
	require.NoError(t, err)
	b.ids, err = identity.NewStore(b.db.Pool, identity.Config{Now: now})
	require.NoError(t, err)
	rc, err := river.NewClient[pgx.Tx](riverpgxv5.New(b.db.Pool), &river.Config{Test: river.TestConfig{Time: b.clock}})
	require.NoError(t, err)
	// A generous render deadline: on a busy machine the default 2 s could stop a
	// render before the limit a test is about.
	ts, err := templates.NewStore(b.db.Pool, templates.Config{Logger: testlog.New(t), Now: now, Limits: templates.Limits{Timeout: time.Minute}})
	require.NoError(t, err)
	_, _, err = ts.Save(b.ctx, audit.Actor{Name: "test"}, templates.Definition{Key: "campaign.wealth", Purpose: templates.Marketing, Source: templates.SourceCampaign,
		DefaultLocale: "zh-CN", Variables: []templates.Variable{{Name: "product", Type: templates.String, Required: true, Label: "产品", LabelEN: "Product", Sample: "稳健理财"}},
		Variants: []templates.Variant{{Channel: templates.SMS, Locale: "zh-CN", SMS: &templates.SMSVariant{SignName: "示例银行",
			Text: "{{.Contact.Salutation}}，{{.Campaign.product}}上线。拒收请回复R"}}}}, templates.SaveOptions{Activate: true})
	require.NoError(t, err)
	ds, err := delivery.New(b.db.Pool, delivery.Config{Logger: testlog.New(t), Now: now}, delivery.Deps{Renderer: delivery.TemplateRenderer(ts)})
	require.NoError(t, err)
	svc, err := campaigns.New(b.db.Pool, campaigns.Deps{Contacts: b.store, Templates: ts, Delivery: ds}, campaigns.Config{Logger: testlog.New(t), Now: now})
	require.NoError(t, err)
	s, err := server.New(server.Config{Logger: testlog.New(t), Now: now}, server.Deps{Pool: b.db.Pool, Contacts: b.store, River: rc, Auth: b.ids, Campaigns: svc})
	require.NoError(t, err)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	b.url = hs.URL
	b.token = b.newUser(t, "admin", "", identity.RoleAdmin)
	return b, svc
}

func TestSegmentsAPI(t *testing.T) {
	t.Parallel()
	b, _ := setupCampaignServer(t)
	marketer := b.as(b.newUser(t, "mk", "", identity.RoleMarketer))
	approver := b.as(b.newUser(t, "ap", "", identity.RoleApprover))
	require.Equal(t, 201, b.jsonReq(t, "POST", "/api/managers", map[string]any{"code": "M1", "name": "East", "team": "east"}).status)
	manager := b.as(b.newUser(t, "mg", "M1", identity.RoleManager))
	for _, c := range []map[string]any{
		{"external_id": "A1", "tier": "A", "phone": "13812345678", "email": "a1@example.com", "manager": "M1", "tags": []string{"wealth"}, "attrs": map[string]any{"assets": 800000}},
		{"external_id": "A2", "tier": "B", "phone": "13812345679", "tags": []string{"wealth"}, "attrs": map[string]any{"assets": 100}},
		{"external_id": "A3", "tier": "C"},
	} {
		r := b.jsonReq(t, "POST", "/api/contacts", c)
		require.Equal(t, 201, r.status, string(r.body))
	}

	// A typo is refused with its position and the known fields; nothing is saved.
	r := marketer.jsonReq(t, "POST", "/api/segments", map[string]any{"name": "rich", "expression": `teir == "A"`})
	require.Equal(t, 400, r.status, string(r.body))
	e := r.json(t)["error"].(map[string]any)
	require.Equal(t, "invalid_segment", e["code"])
	require.Contains(t, e["message"], `1:1: unknown field "teir" (did you mean "tier"?)`)
	require.Contains(t, e["message"], "known fields: age, attrs.<key>")
	require.Equal(t, []any{map[string]any{"field": "expression", "message": `1:1: unknown field "teir" (did you mean "tier"?)`}}, e["fields"])

	r = marketer.jsonReq(t, "POST", "/api/segments", map[string]any{"name": "rich", "expression": `"wealth" in tags && attrs.assets >= 500000`})
	require.Equal(t, 201, r.status, string(r.body))
	id := int64(r.json(t)["id"].(float64))
	require.Equal(t, "api:mk", r.json(t)["created_by"])
	require.Equal(t, 409, marketer.jsonReq(t, "POST", "/api/segments", map[string]any{"name": "rich", "expression": `true`}).status)
	require.Equal(t, 403, approver.jsonReq(t, "POST", "/api/segments", map[string]any{"name": "x", "expression": `true`}).status)
	require.Equal(t, 403, manager.do(t, "GET", "/api/segments", "", nil).status)
	require.Equal(t, 200, approver.do(t, "GET", "/api/segments", "", nil).status)
	r = marketer.jsonReq(t, "PATCH", fmt.Sprintf("/api/segments/%d", id), map[string]any{"expression": `tier >= 5`})
	require.Equal(t, 400, r.status)
	require.Contains(t, r.json(t)["error"].(map[string]any)["message"], "1:6: >= cannot be applied to (string, int)")

	// Preview by name: count and a sample masked for a marketer, not for an admin.
	r = marketer.jsonReq(t, "POST", "/api/segments/preview", map[string]any{"segment": "rich"})
	require.Equal(t, 200, r.status, string(r.body))
	p := r.json(t)
	require.Equal(t, float64(1), p["count"])
	require.Equal(t, false, p["estimated"])
	sample := p["sample"].([]any)
	require.Len(t, sample, 1)
	require.Equal(t, "138****5678", sample[0].(map[string]any)["phone"])
	require.NotContains(t, string(r.body), "13812345678")
	require.NotContains(t, string(r.body), "a1@example.com")
	r = b.jsonReq(t, "POST", "/api/segments/preview", map[string]any{"expression": `tier in ["A", "B"]`})
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, float64(2), r.json(t)["count"])
	require.Contains(t, string(r.body), "+8613812345678")
	require.Equal(t, 200, approver.jsonReq(t, "POST", "/api/segments/preview", map[string]any{"expression": `true`}).status)
	require.Equal(t, 400, marketer.jsonReq(t, "POST", "/api/segments/preview", map[string]any{"expression": `age >= "x"`}).status)
	// Every assets value is a number: a text literal is named, not counted as zero.
	r = marketer.jsonReq(t, "POST", "/api/segments/preview", map[string]any{"expression": `attrs.assets >= "500000"`})
	require.Equal(t, 400, r.status, string(r.body))
	require.Contains(t, string(r.body), `attrs.assets holds number values, but \"500000\" is a string: it would match no one; compare with a number: 500000`)
	require.Equal(t, 404, marketer.jsonReq(t, "POST", "/api/segments/preview", map[string]any{"segment": "nope"}).status)

	r = marketer.do(t, "GET", "/api/segments/fields", "", nil)
	require.Equal(t, 200, r.status)
	require.Contains(t, string(r.body), `"name":"manager.team"`)
	require.Equal(t, 204, marketer.do(t, "DELETE", fmt.Sprintf("/api/segments/%d", id), "", nil).status)
	require.Equal(t, 404, marketer.do(t, "GET", fmt.Sprintf("/api/segments/%d", id), "", nil).status)
}
