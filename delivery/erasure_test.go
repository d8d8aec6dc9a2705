package delivery_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/channels"
	"carillon/contacts"
	"carillon/internal/audit"
)

// An erased contact's suppression is kept by the address's hash only, and
// still stops a message to a new contact with the same number.
func TestErasedSuppressionStillSuppresses(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.store.RegisterEraser(h.svc.Eraser(h.store))
	c2 := h.contact(t, "C2")
	_, err := h.db.Pool.Exec(h.ctx, `INSERT INTO suppressions (channel, address, reason, source) VALUES ('sms', $1, 'complaint', 'test')`, c2.Phone)
	require.NoError(t, err)
	require.NoError(t, h.store.Erase(h.ctx, audit.Actor{Name: "test"}, c2.ID))

	var raw, keyed int
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT count(*) FILTER (WHERE address = $1), count(*) FILTER (WHERE address = $2) FROM suppressions`,
		c2.Phone, contacts.SuppressionKey(c2.Phone)).Scan(&raw, &keyed))
	require.Equal(t, 0, raw, "the raw number is gone")
	require.Equal(t, 1, keyed)

	ext, phone := "C9", c2.Phone
	c9, err := h.store.Create(h.ctx, audit.Actor{Name: "test"}, contacts.Input{ExternalID: &ext, Phone: &phone})
	require.NoError(t, err)
	res := h.enqueue(t, planned("erased:1", c9.ID, channels.PurposeService, channels.SMS))
	m := h.waitFor(t, res.IDs[0], "suppressed", "sent", "delivered")
	require.Equal(t, "suppressed", m.Status)
	var skipped string
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT data::text FROM contact_events WHERE contact_id = $1 AND kind = 'message.suppressed'`, c9.ID).Scan(&skipped))
	require.Contains(t, skipped, "address_suppressed")
}
