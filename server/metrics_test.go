package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMetricsCountThroughTheOwners: the contacts by status (the contacts
// store), the open messages and unmatched receipts (the delivery service) and
// River's jobs by state (River's driver) are each reported, zeros included.
func TestMetricsCountThroughTheOwners(t *testing.T) {
	t.Parallel()
	b, _ := deliverySetup(t)
	// K1 gets one message, queued with its deliver job; two receipts match nothing.
	r := b.jsonReq(t, "POST", "/api/messages", map[string]any{"external_id": "K1", "template": "birthday", "purpose": "service",
		"channels": []string{"sms"}, "idempotency_key": "m-1"})
	require.Equal(t, 202, r.status, string(r.body))
	_, err := b.db.Pool.Exec(b.ctx, `INSERT INTO receipts (provider, provider_message_id, status) VALUES ('ali', 'unknown-1', 'delivered'), ('ali', 'unknown-2', 'failed')`)
	require.NoError(t, err)

	m := b.do(t, "GET", "/metrics", "", nil)
	require.Equal(t, 200, m.status)
	for _, line := range []string{
		`carillon_contacts{status="active"} 1`,
		`carillon_contacts{status="closed"} 0`,
		`carillon_outbox_messages{status="queued"} 1`,
		`carillon_outbox_messages{status="sending"} 0`,
		`carillon_unmatched_receipts{scope="all"} 2`,
		`carillon_river_jobs{state="available"} 1`,
		`carillon_river_jobs{state="discarded"} 0`,
	} {
		require.Contains(t, string(m.body), "\n"+line+"\n")
	}
}
