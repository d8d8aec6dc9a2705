package delivery_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The benchmarks' outboxes: a month of history for the console, and sent
// messages awaiting their receipts; the progress and the size of the outbox.
func TestBenchOutboxSeedsAndReads(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{noStart: true})
	c1, c2 := h.contact(t, "C1"), h.contact(t, "C2")
	count := func(sql string) int {
		var n int
		require.NoError(t, h.db.Pool.QueryRow(h.ctx, sql).Scan(&n))
		return n
	}

	var ten []int64
	for range 5 {
		ten = append(ten, c1.ID, c2.ID)
	}
	require.NoError(t, h.svc.SeedBenchHistory(h.ctx, ten))
	require.Equal(t, 10, count(`SELECT count(*) FROM messages WHERE starts_with(dedupe_key, 'bench:')`))
	require.Equal(t, 6, count(`SELECT count(*) FROM messages WHERE status = 'delivered'`))
	require.Equal(t, 2, count(`SELECT count(DISTINCT contact_id) FROM messages`), "spread over the contacts given")
	require.Equal(t, 200, count(`SELECT count(*) FROM receipts WHERE NOT applied`))
	p, err := h.svc.Progress(h.ctx)
	require.NoError(t, err)
	require.Equal(t, 0, p.Unsent)
	require.Equal(t, 1, p.Open, "message 6: sent, awaiting its receipt")

	require.NoError(t, h.svc.ClearBenchOutbox(h.ctx))
	require.Zero(t, count(`SELECT count(*) FROM messages`))

	require.NoError(t, h.svc.SeedBenchSent(h.ctx, 5, []int64{c1.ID, c2.ID}, "ali"))
	var toFirst int
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT count(*) FROM messages WHERE contact_id = $1`, c1.ID).Scan(&toFirst))
	require.Equal(t, 2, toFirst, "2 and 4 to the first, 1, 3 and 5 to the second")
	p, err = h.svc.Progress(h.ctx)
	require.NoError(t, err)
	require.Equal(t, 5, p.Open)
	require.Zero(t, p.Unsent)
	_, err = h.db.Pool.Exec(h.ctx, `UPDATE messages SET status = 'queued' WHERE provider_message_id = 'biz1'`)
	require.NoError(t, err)
	p, err = h.svc.Progress(h.ctx)
	require.NoError(t, err)
	require.Equal(t, 5, p.Open)
	require.Equal(t, 1, p.Unsent)

	require.NoError(t, h.svc.BareMarkDelivered(h.ctx, "ali", []string{"biz2", "biz3"}))
	require.NoError(t, h.svc.BareMarkDelivered(h.ctx, "tencent", []string{"biz4"}))
	n, err := h.svc.CountStatus(h.ctx, "delivered")
	require.NoError(t, err)
	require.Equal(t, 2, n, "of ali only")
	require.NoError(t, h.svc.ResetBenchSent(h.ctx))
	n, err = h.svc.CountStatus(h.ctx, "sent")
	require.NoError(t, err)
	require.Equal(t, 5, n)

	took, rows, err := h.svc.BareOutboxCopy(h.ctx)
	require.NoError(t, err)
	require.Equal(t, int64(5), rows)
	require.Positive(t, took)
	size, err := h.svc.OutboxBytes(h.ctx)
	require.NoError(t, err)
	require.Positive(t, size)
}
