package delivery_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
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

// A source's messages, held, counted, superseded and counted in its funnel
// through delivery's API (what campaigns' pause, resume and stats use).
func TestSourceHoldSupersedeAndFunnel(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{noStart: true}) // nothing is sent: the messages stay queued
	c1, c2 := h.contact(t, "C1"), h.contact(t, "C2")
	p := func(key string, contactID int64, sourceID string) delivery.Planned {
		x := planned(key, contactID, channels.PurposeMarketing, channels.Email, channels.SMS)
		x.Source, x.SourceID, x.Vars = "src", sourceID, map[string]any{"Offer": "A"}
		x.Window = &delivery.Window{Start: 9 * 60, End: 20 * 60}
		return x
	}
	res := h.enqueue(t, p("src:1", c1.ID, "1"), p("src:2", c2.ID, "1"), p("src:3", c1.ID, "2"))
	require.Len(t, res.IDs, 3)

	written, err := h.svc.Written(h.ctx, "src:2")
	require.NoError(t, err)
	require.True(t, written)
	written, err = h.svc.Written(h.ctx, "src:9")
	require.NoError(t, err)
	require.False(t, written)

	var held []delivery.Held
	require.NoError(t, pgx.BeginFunc(h.ctx, h.db.Pool, func(tx pgx.Tx) error {
		open, err := h.svc.SourceOpen(h.ctx, tx, "src", "1")
		require.NoError(t, err)
		require.True(t, open)
		n, err := h.svc.HoldSource(h.ctx, tx, "src", "1", "paused", h.clock.Now())
		require.NoError(t, err)
		require.EqualValues(t, 2, n, "source 1 only")
		open, err = h.svc.SourceOpen(h.ctx, tx, "src", "1")
		require.NoError(t, err)
		require.False(t, open)
		held, err = h.svc.Supersede(h.ctx, tx, "src", "1", "paused", "resumed", h.clock.Now())
		return err
	}))
	sending, queued, err := h.svc.SourceOpenCounts(h.ctx, "src", "2")
	require.NoError(t, err)
	require.Equal(t, [2]int64{0, 1}, [2]int64{sending, queued})

	require.Len(t, held, 2)
	require.Equal(t, []int64{res.IDs[0], res.IDs[1]}, []int64{held[0].ID, held[1].ID}, "in id order")
	require.Equal(t, delivery.Held{ID: res.IDs[0], DedupeKey: "src:1", ContactID: c1.ID, TemplateKey: "greeting", Vars: map[string]any{"Offer": "A"},
		Channels: []channels.Channel{channels.Email, channels.SMS}, Window: &delivery.Window{Start: 9 * 60, End: 20 * 60}}, held[0])
	require.Equal(t, "resumed", h.message(t, res.IDs[0]).Reason)

	gs, err := h.svc.Funnel(h.ctx, "src", []string{"1", "2"})
	require.NoError(t, err)
	require.ElementsMatch(t, []delivery.FunnelGroup{
		{SourceID: "1", Channel: "email", Status: delivery.StatusCancelled, Class: "resumed", Messages: 2},
		{SourceID: "2", Channel: "email", Status: delivery.StatusQueued, Messages: 1},
	}, gs)
}
