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

// Copy on a campaign's page makes a draft of the copier's with the same
// settings and opens its form; an approver has no copy.
func TestCopyThroughTheConsole(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	mk, mk2, ap := w.signedIn(t, "marketer"), w.signedIn(t, "marketer2"), w.signedIn(t, "approver")
	src := createCampaign(t, mk, campaignForm("周三理财"))
	require.Contains(t, mk2.getOK(src).body, `id="copy-campaign"`)
	require.NotContains(t, ap.getOK(src).body, `id="copy-campaign"`)
	require.Equal(t, http.StatusForbidden, ap.post(src+"/copy", nil).status)
	mk2.lang = "zh-CN"
	r := mk2.post(src+"/copy", nil)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	require.Regexp(t, `^/console/campaigns/\d+/edit\?ok=ok\.copied$`, r.location)
	id := campaignID(t, r.location)
	require.NotEqual(t, campaignID(t, src), id)
	cp, err := w.camps.Get(w.ctx, id)
	require.NoError(t, err)
	require.Equal(t, "周三理财（副本）", cp.Name)
	require.Equal(t, `"retail" in tags`, cp.Segment)
	require.Equal(t, "09:00-20:00", cp.Window)
	form := mk2.getOK(r.location).body
	require.Contains(t, form, "已复制")
	require.Contains(t, mk2.getOK(Prefix+"/").body, "周三理财（副本）", "the copy is on the copier's home")
}
