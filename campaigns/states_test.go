package campaigns_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/campaigns"
	"carillon/internal/pgtest"
)

// The Go statuses of campaigns and runs are the sets the SQL CHECKs allow.
func TestStatusesAreTheSQLCheck(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	pgtest.RequireCheck(t, db, "campaigns", "status", campaigns.Statuses)
	pgtest.RequireCheck(t, db, "campaign_runs", "status", campaigns.RunStatuses)
}

// Every action moves a campaign only between known statuses, and the moves are
// those the lifecycle documents.
func TestTransitions(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		a        campaigns.Action
		from, to campaigns.Status
		ok       bool
	}{
		{campaigns.ActionCreate, "", campaigns.StatusDraft, true},
		{campaigns.ActionEdit, campaigns.StatusScheduled, campaigns.StatusDraft, true},
		{campaigns.ActionEdit, campaigns.StatusRunning, campaigns.StatusDraft, false},
		{campaigns.ActionSubmit, campaigns.StatusRejected, campaigns.StatusSubmitted, true},
		{campaigns.ActionSubmit, campaigns.StatusApproved, campaigns.StatusSubmitted, false},
		{campaigns.ActionApprove, campaigns.StatusSubmitted, campaigns.StatusApproved, true},
		{campaigns.ActionApprove, campaigns.StatusSubmitted, campaigns.StatusRunning, false},
		{campaigns.ActionStart, campaigns.StatusApproved, campaigns.StatusRunning, true},
		{campaigns.ActionSchedule, campaigns.StatusApproved, campaigns.StatusScheduled, true},
		{campaigns.ActionRun, campaigns.StatusScheduled, campaigns.StatusRunning, true},
		{campaigns.ActionRun, campaigns.StatusApproved, campaigns.StatusRunning, false},
		{campaigns.ActionPause, campaigns.StatusRunning, campaigns.StatusPaused, true},
		{campaigns.ActionResume, campaigns.StatusPaused, campaigns.StatusRunning, true},
		{campaigns.ActionRunCompleted, campaigns.StatusRunning, campaigns.StatusScheduled, true},
		{campaigns.ActionCancel, campaigns.StatusCompleted, campaigns.StatusCancelled, false},
		{campaigns.ActionCancel, campaigns.StatusPaused, campaigns.StatusCancelled, true},
		{campaigns.ActionTestSend, campaigns.StatusCompleted, campaigns.StatusCompleted, true},
		{campaigns.ActionTestSend, campaigns.StatusCancelled, campaigns.StatusCancelled, false},
	} {
		require.Equal(t, c.ok, campaigns.Allowed(c.a, c.from, c.to), "%s: %s → %s", c.a, c.from, c.to)
	}
	require.True(t, campaigns.RunStarting.CanBecome(campaigns.RunRunning))
	require.True(t, campaigns.RunPaused.CanBecome(campaigns.RunStarting))
	require.False(t, campaigns.RunCompleted.CanBecome(campaigns.RunRunning))
	require.False(t, campaigns.RunCancelled.CanBecome(campaigns.RunCancelled))
}
