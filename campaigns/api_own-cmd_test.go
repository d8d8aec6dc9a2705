package campaigns_test

import (
	"testing"

	"carillon/campaigns"

	"github.com/stretchr/testify/require"
)

// The drills' reads of a campaign's runs: the newest run, and its recipients
// once the snapshot is taken.
func TestDrillRunReads(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.addContacts(t, 1, 3, nil)
	c := b.approved(t, campaigns.Input{})
	_, err := b.svc.LatestRun(b.ctx, c.ID)
	require.Error(t, err, "no run yet")

	_, err = b.svc.Start(b.ctx, b.users["mk"], c.ID)
	require.NoError(t, err)
	run, err := b.svc.LatestRun(b.ctx, c.ID)
	require.NoError(t, err)
	var want int64
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT max(id) FROM campaign_runs WHERE campaign_id = $1`, c.ID).Scan(&want))
	require.Equal(t, want, run)

	n, err := b.svc.RunRecipients(b.ctx, run)
	require.NoError(t, err)
	require.Zero(t, n, "before the snapshot")
	_, err = b.db.Pool.Exec(b.ctx, `UPDATE campaign_runs SET recipients = 3 WHERE id = $1`, run)
	require.NoError(t, err)
	n, err = b.svc.RunRecipients(b.ctx, run)
	require.NoError(t, err)
	require.Equal(t, 3, n)
}
