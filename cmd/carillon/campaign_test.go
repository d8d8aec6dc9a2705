package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/audit"
	"carillon/internal/pgtest"
	"carillon/templates"
)

// The campaign lifecycle from the CLI: each write acts for a user who proved it
// with their token; maker-checker compares those users; bad input refused.
func TestCampaignCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	c := cli{t, db.URL}
	ts, err := templates.NewStore(db.Pool, templates.Config{})
	require.NoError(t, err)
	_, _, err = ts.Save(ctx, audit.Actor{Name: "test"}, templates.Definition{Key: "campaign.q1", Purpose: templates.Marketing, Source: templates.SourceCampaign,
		DefaultLocale: "zh-CN", Variables: []templates.Variable{{Name: "product", Type: templates.String, Required: true, Label: "产品", LabelEN: "Product", Sample: "稳健理财"}},
		Variants: []templates.Variant{{Channel: templates.SMS, Locale: "zh-CN", SMS: &templates.SMSVariant{SignName: "示例银行",
			Text: "{{.Contact.Salutation}}，{{.Campaign.product}}上线。拒收请回复R"}}}}, templates.SaveOptions{Activate: true})
	require.NoError(t, err)
	_, _, err = c.run(ctx, "import", "contacts", writeTemp(t, "c.csv", "external_id,name,gender,phone,tags,consent_sms\nC1,张伟,male,13812345671,wealth,yes\nC2,李娜,female,13812345672,wealth,yes\nC3,王强,male,13812345673,,yes\n"))
	require.NoError(t, err)
	tokens := map[string]string{}
	for _, u := range [][]string{{"mk", "marketer"}, {"ap", "approver"}} {
		_, _, err = c.run(ctx, "user", "create", u[0], "--name", u[0], "--role", u[1])
		require.NoError(t, err)
		out, _, err := c.run(ctx, "token", "create", "--user", u[0])
		require.NoError(t, err)
		tokens[u[0]] = strings.TrimSpace(out)
	}
	as := func(login string, args ...string) (string, string, error) {
		return c.runEnv(ctx, map[string]string{"CARILLON_TOKEN": tokens[login]}, args...)
	}

	_, _, err = c.run(ctx, "campaign", "create", "--name", "Q1", "--expression", `"wealth" in tags`, "--template", "campaign.q1", "--channels", "sms")
	require.ErrorContains(t, err, "the acting user's credential is required")
	_, _, err = c.run(ctx, "campaign", "create", "--token", tokens["mk"], "--name", "Q1", "--expression", `true`, "--template", "campaign.q1", "--channels", "sms")
	require.ErrorContains(t, err, "visible to every user of this host")
	_, _, err = c.runEnv(ctx, map[string]string{"CARILLON_TOKEN": "crl_nope"}, "campaign", "create", "--name", "Q1", "--expression", `true`, "--template", "campaign.q1", "--channels", "sms")
	require.ErrorContains(t, err, "the token is unknown")
	_, _, err = as("mk", "campaign", "create", "--name", "Q1", "--expression", `teir == "A"`, "--template", "campaign.q1", "--channels", "sms")
	require.ErrorContains(t, err, `segment: 1:1: unknown field "teir"`)
	_, _, err = as("mk", "campaign", "create", "--name", "Q1", "--expression", `true`, "--template", "campaign.q1", "--channels", "sms", "--cron", "often")
	require.ErrorContains(t, err, "schedule.cron")

	out, _, err := as("mk", "campaign", "create", "--name", "Q1", "--expression", `"wealth" in tags`, "--template", "campaign.q1",
		"--channels", "sms", "--vars", `{"product":"稳健理财"}`, "--json")
	require.NoError(t, err)
	var created struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &created))
	require.Equal(t, "draft", created.Status)
	id := strconv.FormatInt(created.ID, 10)

	out, _, err = as("mk", "campaign", "submit", id)
	require.NoError(t, err)
	require.Contains(t, out, "submitted")
	require.Contains(t, out, "2 contacts, 2 recipients")
	require.Contains(t, out, "张先生，稳健理财上线")
	_, _, err = as("mk", "campaign", "approve", id)
	require.ErrorContains(t, err, "approving needs the approver role")
	out, _, err = as("ap", "campaign", "approve", id, "--version", "1")
	require.NoError(t, err)
	require.Contains(t, out, "approved by cli:")
	_, err = openTestPool(t, c.url).Exec(ctx, `UPDATE contacts SET tags = tags || '{test}' WHERE external_id = 'C1'`) // the bank's test account
	require.NoError(t, err)
	out, _, err = as("mk", "campaign", "test-send", id, "--contact", "C1")
	require.NoError(t, err)
	require.Contains(t, out, "to C1 by sms")
	out, _, err = as("mk", "campaign", "start", id)
	require.NoError(t, err)
	require.Contains(t, out, "running")
	out, _, err = as("mk", "campaign", "pause", id)
	require.NoError(t, err)
	require.Contains(t, out, "paused")
	out, _, err = c.run(ctx, "campaign", "list", "--json")
	require.NoError(t, err)
	require.Len(t, strings.Split(strings.TrimSpace(out), "\n"), 1)
	out, _, err = c.run(ctx, "campaign", "stats", id, "--csv")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(out, "run,fire_at,channel,targeted"), out)
	out, _, err = as("mk", "campaign", "cancel", id, "--reason", "test")
	require.NoError(t, err)
	require.Contains(t, out, "cancelled")
	out, _, err = c.run(ctx, "campaign", "history", id)
	require.NoError(t, err)
	for _, action := range []string{"create", "submit", "approve", "test_send", "start", "pause", "cancel"} {
		require.Contains(t, out, action)
	}
	require.Contains(t, out, "cli:")

	// The audit log names the user and how they authenticated.
	var auth []string
	require.NoError(t, openTestPool(t, c.url).QueryRow(ctx, `SELECT array_agg(DISTINCT actor || ' ' || auth) FROM audit_log WHERE object_type = 'campaign'`).Scan(&auth))
	require.NotEmpty(t, auth)
	for _, a := range auth {
		require.Regexp(t, `^cli:\S+ as (mk|ap) token$`, a)
	}
}

func TestCampaignConfigFromTheEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{"CARILLON_SMS_PRICES": "ali=0.045, tx=0.04", "CARILLON_CAMPAIGN_BUDGET": "5000", "CARILLON_CAMPAIGN_SECOND_APPROVAL_ABOVE": "100000"}
	cfg, err := campaignConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, map[string]float64{"ali": 0.045, "tx": 0.04}, cfg.Pricing.SMS)
	require.Equal(t, 5000.0, cfg.Pricing.MonthlyBudget)
	require.EqualValues(t, 100000, cfg.SecondApprovalAbove)
	for k, v := range map[string]string{"CARILLON_SMS_PRICES": "ali", "CARILLON_CAMPAIGN_BUDGET": "-1", "CARILLON_CAMPAIGN_SECOND_APPROVAL_ABOVE": "many"} {
		_, err := campaignConfig(func(key string) string {
			if key == k {
				return v
			}
			return ""
		})
		require.ErrorContains(t, err, k)
	}
}
