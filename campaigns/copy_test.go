package campaigns_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/campaigns"
)

// A copy is a new draft with the original's settings, authored by the copier
// and recorded with the campaign it came from; an approver may not copy.
func TestCopy(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.addContacts(t, 1, 2, nil)
	src := b.approved(t, campaigns.Input{Name: ptr("Weekly wealth"), Schedule: &campaigns.Schedule{Kind: "cron", Cron: "CRON_TZ=Asia/Shanghai 0 10 * * 1"},
		Window: ptr("09:00-20:00"), Throttle: ptr(50), Notes: ptr("for the branch")})
	cp, err := b.svc.Copy(b.ctx, b.users["mk2"], src.ID, "Weekly wealth (copy)")
	require.NoError(t, err)
	require.NotEqual(t, src.ID, cp.ID)
	require.Equal(t, campaigns.StatusDraft, cp.Status)
	require.Equal(t, "Weekly wealth (copy)", cp.Name)
	require.Equal(t, src.Segment, cp.Segment)
	require.Equal(t, src.Template, cp.Template)
	require.Equal(t, src.Channels, cp.Channels)
	require.Equal(t, src.Vars, cp.Vars)
	require.Equal(t, src.Schedule, cp.Schedule)
	require.Equal(t, "09:00-20:00", cp.Window)
	require.Equal(t, 50, cp.Throttle)
	require.Equal(t, "for the branch", cp.Notes)
	require.Nil(t, cp.Review, "the copy is reviewed afresh")
	a, err := b.svc.Authored(b.ctx, cp.ID, *b.users["mk2"].Actor.UserID)
	require.NoError(t, err)
	require.True(t, a, "the copier is its author")
	hist, err := b.svc.History(b.ctx, cp.ID)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	require.Contains(t, string(hist[0].Data), `"copied_from": `+itoa(src.ID))
	_, err = b.svc.Copy(b.ctx, b.users["ap"], src.ID, "x")
	require.True(t, errors.Is(err, campaigns.ErrForbidden))
}
