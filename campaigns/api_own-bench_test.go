package campaigns_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/campaigns"
)

// The benchmarks' read of a run's fan-out: nothing before the run, the
// recipients once the snapshot is taken, the messages written so far.
func TestBenchRunProgress(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.addContacts(t, 1, 3, nil)
	c := b.approved(t, campaigns.Input{})
	rcp, enq, err := b.svc.RunProgress(b.ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, int64(-1), rcp, "no run yet")
	require.Zero(t, enq)

	_, err = b.svc.Start(b.ctx, b.users["mk"], c.ID)
	require.NoError(t, err)
	run, err := b.svc.LatestRun(b.ctx, c.ID)
	require.NoError(t, err)
	rcp, _, err = b.svc.RunProgress(b.ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, int64(-1), rcp, "before the snapshot")

	_, err = b.db.Pool.Exec(b.ctx, `UPDATE campaign_runs SET recipients = 3, enqueued = 2 WHERE id = $1`, run)
	require.NoError(t, err)
	rcp, enq, err = b.svc.RunProgress(b.ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, int64(3), rcp)
	require.Equal(t, int64(2), enq)
}
