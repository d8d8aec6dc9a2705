package delivery_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/channels"
	"carillon/delivery"
	"carillon/internal/audit"
	"carillon/internal/pgtest"
)

// A contact erased while its message is with the provider: the send is
// recorded without the body (contacts' contact_erased decides it in the
// record's own snapshot).
func TestContactErasedDuringTheSendKeepsNoBody(t *testing.T) {
	t.Parallel()
	var h *harness
	h = newHarness(t, harnessOpts{cfg: delivery.Config{AfterSend: func(int64) {
		c := h.contact(t, "C2")
		if c.ErasedAt == nil {
			require.NoError(t, h.store.Erase(h.ctx, audit.Actor{Name: "test"}, c.ID))
		}
	}}})
	c2 := h.contact(t, "C2")
	res := h.enqueue(t, planned("erase-mid-send:1", c2.ID, channels.PurposeService, channels.SMS))
	h.waitFor(t, res.IDs[0], "sent", "delivered")
	var body *string
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT body FROM messages WHERE id = $1`, res.IDs[0]).Scan(&body))
	require.Nil(t, body, "no body is kept for an erased contact")

	// The same send to a contact not erased keeps it.
	c1 := h.contact(t, "C1")
	res = h.enqueue(t, planned("erase-mid-send:2", c1.ID, channels.PurposeService, channels.SMS))
	h.waitFor(t, res.IDs[0], "sent", "delivered")
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT body FROM messages WHERE id = $1`, res.IDs[0]).Scan(&body))
	require.NotNil(t, body)
	require.NotEmpty(t, *body)
}

// Go's rank table and SQL's status_rank, which the record and receipt
// statements compare with, are one order.
func TestStatusRankIsTheSQLStatusRank(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	names := []string{"unknown"}
	for _, s := range delivery.Statuses {
		names = append(names, string(s))
	}
	rows, err := db.Pool.Query(context.Background(), `SELECT s, status_rank(s) FROM unnest($1::text[]) AS s`, names)
	require.NoError(t, err)
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var s string
		var r int
		require.NoError(t, rows.Scan(&s, &r))
		got[s] = r
	}
	require.NoError(t, rows.Err())
	require.Len(t, got, len(names))
	for s, r := range got {
		require.Equal(t, r, delivery.Status(s).Rank(), "status_rank(%q)", s)
	}
}

// A status moves forward only; a claimed message takes whatever its send came to.
func TestStatusNext(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ from, to, want delivery.Status }{
		{delivery.StatusQueued, delivery.StatusSending, delivery.StatusSending},
		{delivery.StatusSending, delivery.StatusQueued, delivery.StatusQueued}, // deferred
		{delivery.StatusSending, delivery.StatusSent, delivery.StatusSent},
		{delivery.StatusSent, delivery.StatusDelivered, delivery.StatusDelivered},
		{delivery.StatusSent, delivery.StatusFailed, delivery.StatusFailed},
		{delivery.StatusDelivered, delivery.StatusSent, delivery.StatusDelivered}, // a late record
		{delivery.StatusDelivered, delivery.StatusFailed, delivery.StatusDelivered},
		{delivery.StatusCancelled, delivery.StatusSent, delivery.StatusCancelled},
		{delivery.StatusSuppressed, delivery.StatusQueued, delivery.StatusSuppressed},
	} {
		require.Equal(t, tc.want, tc.from.Next(tc.to), "%s then %s", tc.from, tc.to)
	}
	for _, s := range delivery.Statuses {
		require.Equal(t, s.Rank() == 3, s.Final(), "%s", s)
	}
	require.False(t, delivery.StatusSent.Final())
}
