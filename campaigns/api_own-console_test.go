package campaigns_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/campaigns"
)

// What the console reads of campaigns: who authored one (created, edited or
// submitted it: they may not approve it) and its runs, newest first.
func TestAuthoredAndRunSummaries(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.addContacts(t, 1, 2, nil)
	mk2 := b.users["mk2"]
	c := b.draft(t, campaigns.Input{})
	authored := func(login string) bool {
		t.Helper()
		a, err := b.svc.Authored(b.ctx, c.ID, *b.users[login].Actor.UserID)
		require.NoError(t, err)
		return a
	}
	require.True(t, authored("mk"), "the creator")
	require.False(t, authored("mk2"))
	_, err := b.svc.Update(b.ctx, mk2, c.ID, campaigns.Input{Notes: ptr("edited")})
	require.NoError(t, err)
	require.True(t, authored("mk2"), "an editor")
	require.False(t, authored("ap"))

	runs, err := b.svc.RunSummaries(b.ctx, []int64{c.ID})
	require.NoError(t, err)
	require.Empty(t, runs, "never started")
	c2 := b.approved(t, campaigns.Input{})
	_, err = b.svc.Start(b.ctx, b.users["mk"], c2.ID)
	require.NoError(t, err)
	runs, err = b.svc.RunSummaries(b.ctx, []int64{c.ID, c2.ID})
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Equal(t, c2.ID, runs[0].CampaignID)
	require.Zero(t, runs[0].Enqueued, "nothing written before the run's job works")
}
