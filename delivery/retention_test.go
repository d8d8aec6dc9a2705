package delivery_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"carillon/channels"
	"carillon/contacts"
	"carillon/delivery"
)

// Retention removes outbox rows older than the retention with their receipts and
// links, in batches (one row per statement here, so a fallback child must go before
// its parent), keeps an old parent whose child is young, removes unmatched receipts
// after 30 days, and drops the timeline's old months after summarising them.
func TestRetentionRemovesWhatIsOlderThanTheRetention(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{noStart: true})
	var oldest string
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT min(c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'contact_events'::regclass`).Scan(&oldest))
	first, err := time.Parse("200601", oldest[len("contact_events_"):])
	require.NoError(t, err)
	// 24 months back from now lands in the month after the oldest partition.
	now := first.AddDate(0, 25, 14)
	h.clock.Set(now)
	cutoff := now.AddDate(0, -24, 0)

	c1, c2 := h.contact(t, "C1"), h.contact(t, "C2")
	ids := map[string]int64{}
	for _, name := range []string{"old", "old parent", "old child", "parent of young", "young child", "young"} {
		res := h.enqueue(t, planned("ret:"+name, c1.ID, channels.PurposeService, channels.SMS))
		ids[name] = res.IDs[0]
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := h.db.Pool.Exec(h.ctx, sql, args...)
		require.NoError(t, err)
	}
	for name, at := range map[string]time.Time{"old": cutoff.AddDate(0, 0, -30), "old parent": cutoff.AddDate(0, -1, 0), "old child": cutoff.AddDate(0, -1, 1),
		"parent of young": cutoff.Add(-time.Hour), "young child": cutoff.Add(time.Hour), "young": now} {
		exec(`UPDATE messages SET created_at = $2 WHERE id = $1`, ids[name], at)
	}
	exec(`UPDATE messages SET parent_id = $1 WHERE id = $2`, ids["old parent"], ids["old child"])
	exec(`UPDATE messages SET parent_id = $1 WHERE id = $2`, ids["parent of young"], ids["young child"])
	exec(`INSERT INTO message_links (message_id, idx, url) VALUES ($1, 0, 'https://bank.example/a'), ($2, 0, 'https://bank.example/b')`, ids["old"], ids["young"])
	exec(`INSERT INTO receipts (provider, provider_message_id, message_id, status, received_at, applied) VALUES
		('ali', 'p-old', $1, 'delivered', $3, true),
		('ali', 'p-young', $2, 'delivered', $3, true),
		('ali', 'p-lost', NULL, 'delivered', $4, false),
		('ali', 'p-recent', NULL, 'delivered', $5, false)`,
		ids["old"], ids["young"], cutoff.AddDate(0, 0, -30), now.AddDate(0, 0, -31), now.AddDate(0, 0, -10))

	tx, err := h.db.Pool.Begin(h.ctx)
	require.NoError(t, err)
	require.NoError(t, contacts.AppendEvents(h.ctx, tx, []contacts.Event{
		{ContactID: c1.ID, At: first.Add(time.Hour), Kind: "message.sent", Actor: "test"},
		{ContactID: c1.ID, At: first.Add(2 * time.Hour), Kind: "message.sent", Actor: "test"},
		{ContactID: c2.ID, At: first.Add(3 * time.Hour), Kind: "message.failed", Actor: "test"},
		{ContactID: c2.ID, At: first.AddDate(0, 1, 0), Kind: "message.sent", Actor: "test"},
	}))
	require.NoError(t, tx.Commit(h.ctx))

	rep, err := h.svc.Retain(h.ctx, h.store, delivery.RetentionConfig{Batch: 1})
	require.NoError(t, err)
	require.Equal(t, int64(3), rep.Messages)
	require.Equal(t, int64(1), rep.Receipts)
	require.Equal(t, int64(1), rep.UnmatchedReceipts)
	require.Equal(t, []string{oldest}, rep.Partitions)
	require.Equal(t, 2, rep.Summaries)

	var left []int64
	rows, err := h.db.Pool.Query(h.ctx, `SELECT id FROM messages ORDER BY id`)
	require.NoError(t, err)
	left, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	require.Equal(t, []int64{ids["parent of young"], ids["young child"], ids["young"]}, left)
	var receipts []string
	rows, err = h.db.Pool.Query(h.ctx, `SELECT provider_message_id FROM receipts ORDER BY id`)
	require.NoError(t, err)
	receipts, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"p-young", "p-recent"}, receipts)
	var links int
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT count(*) FROM message_links`).Scan(&links))
	require.Equal(t, 1, links)

	var sent, failed, kept int
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT
		(SELECT count FROM contact_event_summaries WHERE contact_id = $1 AND month = $3 AND kind = 'message.sent'),
		(SELECT count FROM contact_event_summaries WHERE contact_id = $2 AND month = $3 AND kind = 'message.failed'),
		(SELECT count(*) FROM contact_events WHERE contact_id = $2 AND kind = 'message.sent')`, c1.ID, c2.ID, first).Scan(&sent, &failed, &kept))
	require.Equal(t, []int{2, 1, 1}, []int{sent, failed, kept})

	// The daily job, run again, finds nothing more.
	require.NoError(t, h.svc.RetentionWorker(h.store, delivery.RetentionConfig{}).Work(h.ctx, &river.Job[delivery.RetentionArgs]{}))
	var n int
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT count(*) FROM messages`).Scan(&n))
	require.Equal(t, 3, n)
	require.Equal(t, "delivery.retention", delivery.RetentionArgs{}.Kind())
}
