package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A marketer's home lists her own campaigns by state, with counts; another
// marketer's are not hers; empty groups say so in words.
func TestMarketerHome(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	mk, mk2 := w.signedIn(t, "marketer"), w.signedIn(t, "marketer2")
	mine := createCampaign(t, mk, campaignForm("我的草稿活动"))
	sub := createCampaign(t, mk, campaignForm("送审活动"))
	require.Equal(t, http.StatusSeeOther, mk.post(sub+"/submit", nil).status)
	createCampaign(t, mk2, campaignForm("别人的活动"))

	home := mk.getOK(Prefix + "/").body
	section := func(id string) string {
		i := strings.Index(home, `id="home-`+id+`"`)
		require.GreaterOrEqual(t, i, 0, id)
		rest := home[i:]
		if j := strings.Index(rest[1:], `class="home-group"`); j > 0 {
			rest = rest[:j]
		}
		return rest
	}
	require.Contains(t, section("drafts"), "我的草稿活动")
	require.Contains(t, section("drafts"), `id="home-campaign-`+strings.TrimPrefix(mine, Prefix+"/campaigns/")+`"`)
	require.NotContains(t, section("drafts"), "送审活动")
	require.Contains(t, section("awaiting"), "送审活动")
	require.NotContains(t, home, "别人的活动", "another marketer's campaign is not on her home")
	require.Contains(t, section("running"), "None of your campaigns is sending now.")
	// An auditor, who writes no campaign, has no such home.
	require.NotContains(t, w.signedIn(t, "auditor").getOK(Prefix+"/").body, `id="home"`)
}
