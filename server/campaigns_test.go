package server_test

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/identity"
)

func TestCampaignLifecycleThroughTheAPI(t *testing.T) {
	t.Parallel()
	b, _ := setupCampaignServer(t)
	mk := b.as(b.newUser(t, "mk", "", identity.RoleMarketer))
	ap := b.as(b.newUser(t, "ap", "", identity.RoleApprover))
	both := b.as(b.newUser(t, "both", "", identity.RoleMarketer, identity.RoleApprover))
	auditor := b.as(b.newUser(t, "au", "", identity.RoleAuditor))
	for i := 1; i <= 3; i++ {
		r := b.jsonReq(t, "POST", "/api/contacts", map[string]any{"external_id": fmt.Sprintf("C%d", i), "phone": fmt.Sprintf("1381234567%d", i), "tags": []string{"wealth"}})
		require.Equal(t, 201, r.status, string(r.body))
	}
	body := map[string]any{"name": "Q1 wealth", "expression": `"wealth" in tags`, "template": "campaign.wealth", "channels": []string{"sms"},
		"vars": map[string]any{"product": "稳健理财"}, "throttle": 100, "window": "10:00-18:00"}

	// Bad input: 400 with the field, nothing saved.
	bad := map[string]any{"name": "x", "expression": `teir == "A"`, "template": "campaign.wealth", "channels": []string{"sms"}}
	r := mk.jsonReq(t, "POST", "/api/campaigns", bad)
	require.Equal(t, 400, r.status, string(r.body))
	require.Contains(t, string(r.body), `1:1: unknown field \"teir\"`)
	bad = map[string]any{"name": "x", "expression": `true`, "template": "campaign.wealth", "channels": []string{"wechat"}}
	r = mk.jsonReq(t, "POST", "/api/campaigns", bad)
	require.Equal(t, 400, r.status, string(r.body))
	require.Contains(t, string(r.body), "has no variant for any of the channels wechat")
	bad = map[string]any{"name": "x", "expression": `true`, "template": "campaign.wealth", "channels": []string{"sms"}, "schedule": map[string]any{"kind": "cron", "cron": "every day"}}
	r = mk.jsonReq(t, "POST", "/api/campaigns", bad)
	require.Equal(t, 400, r.status, string(r.body))
	require.Contains(t, string(r.body), "schedule.cron")
	require.Equal(t, 403, ap.jsonReq(t, "POST", "/api/campaigns", body).status)
	require.Equal(t, 403, auditor.jsonReq(t, "POST", "/api/campaigns", body).status)

	r = mk.jsonReq(t, "POST", "/api/campaigns", body)
	require.Equal(t, 201, r.status, string(r.body))
	c := r.json(t)
	path := fmt.Sprintf("/api/campaigns/%d", int64(c["id"].(float64)))
	require.Equal(t, "draft", c["status"])
	require.Equal(t, "10:00-18:00", c["window"])

	r = mk.jsonReq(t, "POST", path+"/submit", nil)
	require.Equal(t, 200, r.status, string(r.body))
	c = r.json(t)
	review := c["review"].(map[string]any)
	require.Equal(t, float64(3), review["recipients"])
	require.Len(t, review["samples"], 3)
	require.NotContains(t, string(r.body), "13812345671", "samples hold no phone number")

	// Approval: not by a marketer (role), not by the author even with the role.
	require.Equal(t, 403, mk.jsonReq(t, "POST", path+"/approve", nil).status)
	r = both.jsonReq(t, "POST", "/api/campaigns", body)
	require.Equal(t, 201, r.status)
	own := fmt.Sprintf("/api/campaigns/%d", int64(r.json(t)["id"].(float64)))
	require.Equal(t, 200, both.jsonReq(t, "POST", own+"/submit", nil).status)
	r = both.jsonReq(t, "POST", own+"/approve", nil)
	require.Equal(t, 403, r.status)
	require.Contains(t, string(r.body), "a second person must approve it")
	require.Equal(t, "submitted", both.do(t, "GET", own, "", nil).json(t)["status"], "nothing changed")

	r = ap.jsonReq(t, "POST", path+"/reject", map[string]any{})
	require.Equal(t, 400, r.status)
	require.Equal(t, 409, ap.jsonReq(t, "POST", path+"/approve", map[string]any{"version": 7}).status)
	r = ap.jsonReq(t, "POST", path+"/approve", map[string]any{"version": 1})
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, "approved", r.json(t)["status"])
	require.Equal(t, "api:ap", r.json(t)["approved_by"])
	require.Equal(t, 409, ap.jsonReq(t, "POST", path+"/approve", nil).status, "approved already")

	// An edit after approval returns it to draft.
	r = mk.jsonReq(t, "PATCH", path, map[string]any{"notes": "one more line"})
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, "draft", r.json(t)["status"])
	require.Nil(t, r.json(t)["approved_by"])

	_, err := b.db.Pool.Exec(b.ctx, `UPDATE contacts SET tags = tags || '{test}' WHERE external_id = 'C1'`) // the bank's test account
	require.NoError(t, err)
	r = mk.jsonReq(t, "POST", path+"/test-send", map[string]any{"contact": "C1"})
	require.Equal(t, 202, r.status, string(r.body))
	require.Positive(t, r.json(t)["message_id"])

	r = auditor.do(t, "GET", path+"/history", "", nil)
	require.Equal(t, 200, r.status)
	require.Len(t, r.json(t)["items"], 5) // create, submit, approve, edit, test_send: nothing of the refusals
	r = auditor.do(t, "GET", "/api/campaigns?status=draft", "", nil)
	require.Equal(t, 200, r.status)
	require.Len(t, r.json(t)["items"], 1)
	require.Equal(t, 404, mk.do(t, "GET", "/api/campaigns/999", "", nil).status)
	require.Equal(t, 200, mk.jsonReq(t, "POST", path+"/cancel", map[string]any{"reason": "later"}).status)
	require.Equal(t, 409, mk.jsonReq(t, "PATCH", path, map[string]any{"notes": "x"}).status)
}

// Start, pause, resume and cancel through the API (the fan-out itself is tested
// in package campaigns with River running).
func TestCampaignRunControlsThroughTheAPI(t *testing.T) {
	t.Parallel()
	b, _ := setupCampaignServer(t)
	mk := b.as(b.newUser(t, "mk", "", identity.RoleMarketer))
	ap := b.as(b.newUser(t, "ap", "", identity.RoleApprover))
	auditor := b.as(b.newUser(t, "au", "", identity.RoleAuditor))
	r := b.jsonReq(t, "POST", "/api/contacts", map[string]any{"external_id": "C1", "phone": "13812345671", "tags": []string{"wealth"}})
	require.Equal(t, 201, r.status, string(r.body))
	r = mk.jsonReq(t, "POST", "/api/campaigns", map[string]any{"name": "Q1", "expression": `"wealth" in tags`, "template": "campaign.wealth",
		"channels": []string{"sms"}, "vars": map[string]any{"product": "稳健理财"}})
	require.Equal(t, 201, r.status, string(r.body))
	path := fmt.Sprintf("/api/campaigns/%d", int64(r.json(t)["id"].(float64)))
	require.Equal(t, 409, mk.jsonReq(t, "POST", path+"/start", nil).status, "not approved yet")
	require.Equal(t, 200, mk.jsonReq(t, "POST", path+"/submit", nil).status)
	require.Equal(t, 200, ap.jsonReq(t, "POST", path+"/approve", nil).status)
	require.Equal(t, 403, ap.jsonReq(t, "POST", path+"/start", nil).status)
	r = mk.jsonReq(t, "POST", path+"/start", nil)
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, "running", r.json(t)["status"])
	require.Equal(t, 403, auditor.jsonReq(t, "POST", path+"/pause", nil).status)
	r = ap.jsonReq(t, "POST", path+"/pause", nil)
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, "paused", r.json(t)["campaign"].(map[string]any)["status"])
	require.Equal(t, float64(0), r.json(t)["in_flight"])
	require.Equal(t, 409, mk.jsonReq(t, "POST", path+"/pause", nil).status)
	r = mk.jsonReq(t, "POST", path+"/resume", nil)
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, "running", r.json(t)["status"])
	r = mk.jsonReq(t, "POST", path+"/cancel", map[string]any{"reason": "stop"})
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, "cancelled", r.json(t)["campaign"].(map[string]any)["status"])

	r = auditor.do(t, "GET", path+"/stats", "", nil)
	require.Equal(t, 200, r.status, string(r.body))
	require.Len(t, r.json(t)["runs"], 1)
	r = auditor.do(t, "GET", path+"/stats.csv", "", nil)
	require.Equal(t, 200, r.status, string(r.body))
	require.True(t, strings.HasPrefix(string(r.body), "run,fire_at,channel,targeted,"), string(r.body))
	require.Equal(t, 404, auditor.do(t, "GET", "/api/campaigns/999/stats", "", nil).status)
}

// A transition's body may come chunked (no Content-Length): it is read.
func TestCampaignActionReadsAChunkedBody(t *testing.T) {
	t.Parallel()
	b, _ := setupCampaignServer(t)
	mk := b.as(b.newUser(t, "mk", "", identity.RoleMarketer))
	ap := b.as(b.newUser(t, "ap", "", identity.RoleApprover))
	r := mk.jsonReq(t, "POST", "/api/campaigns", map[string]any{"name": "Q1", "expression": `true`, "template": "campaign.wealth", "channels": []string{"sms"},
		"vars": map[string]any{"product": "稳健理财"}})
	require.Equal(t, 201, r.status, string(r.body))
	path := fmt.Sprintf("/api/campaigns/%d", int64(r.json(t)["id"].(float64)))
	r = mk.do(t, "POST", path+"/submit", "", nil)
	require.Equal(t, 200, r.status, "no body at all: %s", r.body)
	r = ap.do(t, "POST", path+"/reject", "application/json", io.MultiReader(strings.NewReader(`{"reason":`), strings.NewReader(`"say which fund"}`)))
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, "say which fund", r.json(t)["rejected_reason"])
}
