package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
	"carillon/care"
	"carillon/contacts"
	"carillon/internal/app"
	"carillon/internal/apptest"
	"carillon/internal/audit"
	"carillon/internal/testclock"
	"carillon/internal/testlog"
	"carillon/revisits"
)

// The care planner that plan and serve build carries the managers' digest as
// its extension, and the digest follows its care rule through the planner
// (revisits.Config.Rules): the rule's channels decide the digest's.
func TestPlannerWiresTheDigestToItsCareRule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := apptest.New(t, apptest.Options{Clock: testclock.New(time.Date(2026, 9, 24, 2, 0, 0, 0, time.UTC))})
	db, store := w.DB, w.Contacts
	actor := audit.Actor{Name: "test"}
	rep, err := store.ImportManagers(ctx, strings.NewReader("code,name,email,wecom_userid,team,lead,timezone\n"+
		"M001,王芳,wang.fang@bank.example,wangfang,east,M001,Asia/Shanghai\n"), contacts.ImportOptions{Actor: actor})
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
	rep, err = store.ImportContacts(ctx, strings.NewReader("external_id,name,phone,tier,manager\nCA,甲,13800000001,A,M001\n"),
		contacts.ImportOptions{Actor: actor, SourceName: "test.csv"})
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
	planner, rv, err := app.NewPlanner(db.Pool, store, w.Delivery, testlog.New(t), calendar.Config{})
	require.NoError(t, err)
	require.Same(t, planner, rv.Config().Rules)

	_, err = db.Pool.Exec(ctx, `UPDATE care_rules SET channels = '{email}' WHERE key = $1`, revisits.RuleDigest)
	require.NoError(t, err)
	var lines []string
	// A Tuesday weeks after the customer's 7-day cadence began: overdue.
	res, err := planner.Plan(ctx, calendar.NewDate(2026, time.October, 20), care.PlanOptions{DryRun: true,
		Rules: []string{revisits.RuleDigest}, EmitLine: func(l any) error {
			b, err := json.Marshal(l)
			lines = append(lines, string(b))
			return err
		}})
	require.NoError(t, err)
	require.Equal(t, 1, res.Messages)
	require.Len(t, lines, 1)
	require.Contains(t, lines[0], `"manager":"M001"`)
	require.Contains(t, lines[0], `"channels":["email"]`, "the rule's channels, not the configured wecom, email")
}
