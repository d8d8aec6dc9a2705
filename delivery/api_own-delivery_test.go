package delivery_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/channels"
	"carillon/delivery"
	"carillon/internal/audit"
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
