package revisits_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/revisits"
	"carillon/templates"
)

// A manager's digest as the manager reads it: an assets_drop alert is named
// 资产下降 / Assets down, never by its key, and days late are business days
// and say so (the overdue customer's due date lies before a weekend, so the
// calendar days are more).
func TestDigestNamesRulesAndCountsBusinessDaysAsRendered(t *testing.T) {
	t.Parallel()
	w := newDigestWorld(t)
	w.reimport(t, "external_id,assets\nCE,340000\n") // CE: 500000 → 340000, a 32% fall
	tstore, err := templates.NewStore(w.db.Pool, templates.Config{})
	require.NoError(t, err)
	require.NoError(t, revisits.InstallTemplates(w.ctx, tstore))
	_, err = w.svc.PlanDigests(w.ctx, w.day, revisits.DigestOptions{})
	require.NoError(t, err)

	var vars templates.Vars
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT vars FROM messages WHERE dedupe_key = 'digest:M002:2026-10-13'`).Scan(&vars))
	dg := vars["Digest"].(map[string]any)
	require.NotEmpty(t, dg["Alerts"])
	var late, calendar int
	for _, it := range dg["Items"].([]any) {
		if m := it.(map[string]any); m["Overdue"] == true {
			late = int(m["DaysLate"].(float64))
			due, err := time.Parse(time.DateOnly, m["DueDate"].(string))
			require.NoError(t, err)
			calendar = int(w.day.Time(time.UTC).Sub(due).Hours() / 24)
		}
	}
	require.Positive(t, late)
	require.NotEqual(t, calendar, late, "dates across a weekend: business days are fewer")

	zh, err := tstore.Render(w.ctx, "revisit_digest", 0, templates.WeCom, "zh-CN", vars)
	require.NoError(t, err)
	mailZh, err := tstore.Render(w.ctx, "revisit_digest", 0, templates.Email, "zh-CN", vars)
	require.NoError(t, err)
	en, err := tstore.Render(w.ctx, "revisit_digest", 0, templates.WeCom, "en", vars)
	require.NoError(t, err)
	for _, text := range []string{zh.WeCom.Content, mailZh.Email.HTML, mailZh.Email.Text} {
		require.Contains(t, text, "资产下降")
		require.NotContains(t, text, "assets_drop")
		require.Contains(t, text, fmt.Sprintf("逾期 %d 个工作日", late))
		require.NotContains(t, text, fmt.Sprintf("逾期 %d 天", late))
	}
	require.Contains(t, en.WeCom.Content, "Assets down")
	require.NotContains(t, en.WeCom.Content, "assets_drop")
	require.Contains(t, en.WeCom.Content, fmt.Sprintf("%d business days late", late))
}
