package console_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/contacts"
	"carillon/internal/audit"
)

// TestDashboardReusesSettledDays checks the dashboard's counts of the days
// before yesterday: reused within their TTL, recounted behind the page after
// it, and at once with ?fresh=1.
func TestDashboardReusesSettledDays(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	clk := w.clock
	b := w.signedIn(t, "admin")

	// Five messages created five days ago, queued.
	var csv strings.Builder
	csv.WriteString("external_id,name,phone\n")
	for i := range 5 {
		fmt.Fprintf(&csv, "D%d,客户%d,1390000000%d\n", i, i, i)
	}
	_, err := w.contacts.ImportContacts(w.ctx, strings.NewReader(csv.String()), contacts.ImportOptions{Actor: audit.Actor{Name: "test"}, SourceName: "d.csv"})
	require.NoError(t, err)
	_, err = w.db.Pool.Exec(w.ctx, `INSERT INTO messages (dedupe_key, contact_id, source, source_id, purpose, template_key, channels, status, send_at, created_at)
		SELECT 'test:' || id, id, 'api', '', 'service', 'birthday', '{sms}', 'queued', $1::timestamptz, $1::timestamptz - interval '5 days'
		FROM contacts WHERE external_id LIKE 'D%'`, clk.Now())
	require.NoError(t, err)
	loc, _ := time.LoadLocation("Asia/Shanghai")
	label := clk.Now().In(loc).AddDate(0, 0, -5).Format("01-02")
	count := func(path, status string) string {
		m := regexp.MustCompile(`<title>` + label + ` ` + status + `: (\d+)</title>`).FindStringSubmatch(b.getOK(path).body)
		if m == nil {
			return "0"
		}
		return m[1]
	}
	require.Equal(t, "5", count(Prefix+"/", "queued"))

	// Two are delivered since: within the TTL the settled day is not recounted.
	_, err = w.db.Pool.Exec(w.ctx, `UPDATE messages SET status = 'delivered' WHERE dedupe_key IN ('test:'||(SELECT min(id) FROM contacts WHERE external_id LIKE 'D%'), 'test:'||(SELECT max(id) FROM contacts WHERE external_id LIKE 'D%'))`)
	require.NoError(t, err)
	clk.Advance(time.Minute)
	require.Equal(t, "5", count(Prefix+"/?fresh=page", "queued"))
	// Past the TTL the page shows the cached counts once more while they are recounted.
	clk.Advance(15 * time.Minute)
	require.Equal(t, "5", count(Prefix+"/?fresh=page", "queued"))
	require.Eventually(t, func() bool { return count(Prefix+"/?fresh=page", "queued") == "3" }, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, "2", count(Prefix+"/?fresh=page", "delivered"))
	// ?fresh=1 recounts at once.
	_, err = w.db.Pool.Exec(w.ctx, `UPDATE messages SET status = 'failed' WHERE dedupe_key LIKE 'test:%' AND status = 'queued'`)
	require.NoError(t, err)
	require.Equal(t, "3", count(Prefix+"/?fresh=1", "failed"))
}

// TestSessionsEndWhenIdleOrOld: a session unused for 2 hours ends, and one in
// use ends 12 hours after the sign-in.
func TestSessionsEndWhenIdleOrOld(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	clk := w.clock
	reason := func(login string) string {
		var r *string
		require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT ended_reason FROM console_sessions s JOIN users u ON u.id = s.user_id
			WHERE u.login = $1 ORDER BY s.id DESC LIMIT 1`, login).Scan(&r))
		if r == nil {
			return ""
		}
		return *r
	}

	idle := w.signedIn(t, "auditor")
	clk.Advance(119 * time.Minute)
	require.Equal(t, 200, idle.get(Prefix+"/contacts").status, "used within 2 hours")
	clk.Advance(2 * time.Hour)
	require.Equal(t, 303, idle.get(Prefix+"/contacts").status)
	require.Equal(t, "idle", reason("auditor"))

	busy := w.signedIn(t, "approver")
	for range 11 {
		clk.Advance(time.Hour)
		require.Equal(t, 200, busy.get(Prefix+"/contacts").status)
	}
	clk.Advance(time.Hour)
	require.Equal(t, 303, busy.get(Prefix+"/contacts").status, "12 hours after the sign-in")
	require.Equal(t, "expired", reason("approver"))
}
