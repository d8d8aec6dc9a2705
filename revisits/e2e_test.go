package revisits_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"carillon/internal/apptest"
	"carillon/revisits"
)

const sandboxProviders = `
[[provider]]
name = "wecom"
provider = "wecom"
endpoint = "sandbox"
app_id = "1000002"

[[provider]]
name = "mail"
provider = "smtp"
endpoint = "sandbox"
from = "care@bank.example"
`

// TestDigestsAndComplaintAlertReachTheWeComSandbox plans a day's digests and
// a complaint's alert, and lets a real River client deliver them through the
// WeCom adapter to its sandbox, rendered by the template store; a manager
// without a WeCom id falls back to email.
func TestDigestsAndComplaintAlertReachTheWeComSandbox(t *testing.T) {
	t.Parallel()
	w := newDigestWorldWith(t, apptest.Options{Providers: sandboxProviders, Run: true, NoStart: true})
	ctx, built, svc := w.ctx, w.world.Built, w.svc
	tstore := w.world.Templates // delivery renders by the template store
	require.NoError(t, revisits.InstallTemplates(ctx, tstore))
	require.NoError(t, revisits.InstallTemplates(ctx, tstore), "installing twice is harmless")

	res, err := svc.PlanDigests(ctx, w.day, revisits.DigestOptions{})
	require.NoError(t, err)
	require.Equal(t, 3, res.Planned)
	w.clock.Set(at(2026, time.October, 13, 9, 0))
	_, err = svc.CreateFeedback(ctx, tester, revisits.FeedbackInput{ContactID: w.contactID(t, "CD"), Category: revisits.Complaint, Summary: "card blocked twice"})
	require.NoError(t, err)

	// Past 08:30 in London too, so every digest is due.
	w.clock.Set(at(2026, time.October, 13, 16, 0))
	w.world.Start() // River, on the test's clock

	// Wait until every message is final.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var open int
		require.NoError(t, w.db.Pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE status IN ('queued', 'sending')`).Scan(&open))
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			var left string
			require.NoError(t, w.db.Pool.QueryRow(ctx, `SELECT string_agg(dedupe_key || ' ' || status || ' ' || reason || ' ' || send_at::text, '; ')
				FROM messages WHERE status IN ('queued', 'sending')`).Scan(&left))
			t.Fatalf("%d messages still open: %s", open, left)
		}
		time.Sleep(50 * time.Millisecond)
	}
	type sent struct{ key, status, channel, reason string }
	rows, err := w.db.Pool.Query(ctx, `SELECT dedupe_key, status, COALESCE(channel, ''), reason FROM messages WHERE parent_id IS NULL ORDER BY dedupe_key`)
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sent, error) {
		var s sent
		return s, r.Scan(&s.key, &s.status, &s.channel, &s.reason)
	})
	require.NoError(t, err)
	require.Len(t, got, 4)
	for _, s := range got {
		require.Contains(t, []string{"sent", "delivered"}, s.status, s.key+" "+s.reason)
	}

	byTo := map[string]string{}
	for _, d := range built.Sandboxes["wecom"].Recorder().Deliveries() {
		byTo[d.To] += d.Content + "\n"
	}
	// M002's digest: two customers, one overdue; M001's complaint-free lead
	// digest; the complaint pushed to M002 at once.
	require.Contains(t, byTo["liqiang"], "今日回访提醒")
	require.Contains(t, byTo["liqiang"], "甲（A 类）")
	require.Contains(t, byTo["liqiang"], "逾期 4 个工作日", "business days, said so")
	require.Contains(t, byTo["liqiang"], "乙（B 类）")
	require.Contains(t, byTo["liqiang"], "客户投诉提醒")
	require.Contains(t, byTo["liqiang"], "丁（D 类）")
	require.NotContains(t, byTo["liqiang"], "13800000004", "no raw phone number in a digest")
	require.Contains(t, byTo, "wangfang")
	require.NotContains(t, byTo, "zhangmin", "M003 had nothing: no digest")
	// M004 has no WeCom id: email.
	mails := built.Sandboxes["mail"].Recorder().Deliveries()
	require.Len(t, mails, 1)
	require.True(t, strings.Contains(mails[0].To, "anna@bank.example"), mails[0].To)
}
