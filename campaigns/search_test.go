package campaigns_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/campaigns"
)

// Search finds campaigns by a part of their name (typed text, never a
// pattern), status, author, creation time, and what awaits an approver, with
// the total of all matches beside the page.
func TestSearch(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.addContacts(t, 1, 2, nil)
	mk, mk2 := b.users["mk"], b.users["mk2"]
	a := b.draft(t, campaigns.Input{Name: ptr("Autumn wealth 100%")})
	bb := b.draft(t, campaigns.Input{Name: ptr("春季 理财")})
	_, err := b.svc.Submit(b.ctx, mk, bb.ID)
	require.NoError(t, err)
	other, err := b.svc.Create(b.ctx, mk2, campaigns.Input{Name: ptr("autumn deposit"), Expression: ptr(a.Segment), Template: ptr(a.Template),
		Channels: ptr(a.Channels), Vars: a.Vars})
	require.NoError(t, err)
	ids := func(f campaigns.Search) ([]int64, int64) {
		t.Helper()
		got, err := b.svc.Search(b.ctx, f)
		require.NoError(t, err)
		var out []int64
		for _, c := range got.Campaigns {
			out = append(out, c.ID)
		}
		return out, got.Total
	}
	got, total := ids(campaigns.Search{Name: "AUTUMN"})
	require.Equal(t, []int64{other.ID, a.ID}, got)
	require.EqualValues(t, 2, total)
	got, _ = ids(campaigns.Search{Name: "0%"})
	require.Equal(t, []int64{a.ID}, got, "% is a character typed, not a pattern")
	got, _ = ids(campaigns.Search{Name: "_"})
	require.Empty(t, got)
	got, _ = ids(campaigns.Search{CreatedBy: *mk.Actor.UserID, Statuses: []campaigns.Status{campaigns.StatusDraft}})
	require.Equal(t, []int64{a.ID}, got)
	got, _ = ids(campaigns.Search{AwaitingOf: *b.users["ap"].Actor.UserID, Statuses: []campaigns.Status{campaigns.StatusSubmitted}})
	require.Equal(t, []int64{bb.ID}, got)
	got, _ = ids(campaigns.Search{AwaitingOf: *mk.Actor.UserID, Statuses: []campaigns.Status{campaigns.StatusSubmitted}})
	require.Empty(t, got, "its author does not approve it")
	after := bb.CreatedAt.Add(time.Microsecond)
	got, _ = ids(campaigns.Search{CreatedTo: &after})
	require.Equal(t, []int64{bb.ID, a.ID}, got)
	got, total = ids(campaigns.Search{Limit: 1, Offset: 1})
	require.Equal(t, []int64{bb.ID}, got)
	require.EqualValues(t, 3, total)
	got, total = ids(campaigns.Search{Limit: 1, Offset: 9})
	require.Empty(t, got)
	require.EqualValues(t, 3, total, "past the last page the total is still told")
}
