package console_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// listed reports the campaign ids the list page shows.
func listed(t *testing.T, body string) []int64 {
	t.Helper()
	var ids []int64
	for _, part := range strings.Split(body, `<tr id="campaign-`)[1:] {
		n, err := strconv.ParseInt(part[:strings.IndexByte(part, '"')], 10, 64)
		require.NoError(t, err)
		ids = append(ids, n)
	}
	return ids
}

// The campaign list searches by a part of the name, a status, the user's own
// campaigns, and created and scheduled dates; the filter stays in the URL and
// in the form, and the pages are numbered with the total.
func TestCampaignListSearch(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	mk, mk2 := w.signedIn(t, "marketer"), w.signedIn(t, "marketer2")
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	day0 := w.clock.Now().In(loc).Format(time.DateOnly)

	alpha := campaignID(t, createCampaign(t, mk, campaignForm("Alpha wealth")))
	beta := createCampaign(t, mk, campaignForm("Beta card"))
	require.Equal(t, http.StatusSeeOther, mk.post(beta+"/submit", nil).status)
	pension := campaignID(t, createCampaign(t, mk2, campaignForm("ALPHA pension")))
	// Three days later: a campaign sent at a time ten days on.
	w.clock.Advance(72 * time.Hour)
	mk, mk2 = w.signedIn(t, "marketer"), w.signedIn(t, "marketer2") // the sessions have expired
	day3 := w.clock.Now().In(loc).Format(time.DateOnly)
	at := campaignForm("Gamma deposit")
	sendAt := w.clock.Now().In(loc).AddDate(0, 0, 10)
	at.Set("kind", "at")
	at.Set("at", sendAt.Format("2006-01-02T15:04"))
	gamma := campaignID(t, createCampaign(t, mk, at))

	get := func(b *browser, v url.Values) page {
		t.Helper()
		return b.getOK(Prefix + "/campaigns?" + v.Encode())
	}
	p := get(mk, url.Values{"name": {"alpha"}})
	require.ElementsMatch(t, []int64{alpha, pension}, listed(t, p.body), "a part of the name, in any case")
	require.Contains(t, p.body, `id="campaign-count">2 campaigns found<`)
	require.Contains(t, p.body, `id="camp-name" value="alpha"`, "the search stays in the form")

	p = get(mk, url.Values{"name": {"alpha"}, "mine": {"1"}})
	require.Equal(t, []int64{alpha}, listed(t, p.body), "only the user's own")
	require.Contains(t, p.body, `id="camp-mine" checked`)
	require.Equal(t, []int64{pension}, listed(t, get(mk2, url.Values{"mine": {"1"}}).body))

	p = get(mk, url.Values{"status": {"submitted"}})
	require.Equal(t, []int64{campaignID(t, beta)}, listed(t, p.body))
	require.Contains(t, p.body, `<option value="submitted" selected>`)

	require.NotContains(t, listed(t, get(mk, url.Values{"created_to": {day0}}).body), gamma, "the end day is included, the next is not")
	require.Len(t, listed(t, get(mk, url.Values{"created_to": {day0}}).body), 3)
	require.Equal(t, []int64{gamma}, listed(t, get(mk, url.Values{"created_from": {day3}}).body))
	sd := sendAt.Format(time.DateOnly)
	require.Equal(t, []int64{gamma}, listed(t, get(mk, url.Values{"scheduled_from": {sd}, "scheduled_to": {sd}}).body), "by when it runs")
	require.Empty(t, listed(t, get(mk, url.Values{"scheduled_to": {day3}}).body))

	// Nothing matches: said in words.
	p = get(mk, url.Values{"name": {"no such"}})
	require.Contains(t, p.body, `id="campaign-count">0 campaigns found<`)

	// Wrong input is refused.
	for _, v := range []url.Values{{"status": {"nope"}}, {"created_from": {"30/11/2026"}}, {"page": {"0"}}, {"name": {strings.Repeat("x", 101)}}} {
		require.Equal(t, http.StatusBadRequest, mk.get(Prefix+"/campaigns?"+v.Encode()).status, v.Encode())
	}

	// 51 of marketer2's: two pages, numbered, keeping the filter.
	for i := range 50 {
		createCampaign(t, mk2, campaignForm("Bulk "+strconv.Itoa(i)))
	}
	p = get(mk2, url.Values{"mine": {"1"}})
	require.Len(t, listed(t, p.body), 50)
	require.Contains(t, p.body, `id="campaign-count">51 campaigns found<`)
	require.Contains(t, p.body, `<span class="current" aria-current="page">1</span>`)
	require.Contains(t, p.body, `href="/console/campaigns?mine=1&amp;page=2#campaign-list"`)
	p = get(mk2, url.Values{"mine": {"1"}, "page": {"2"}})
	require.Equal(t, []int64{pension}, listed(t, p.body), "the oldest on the last page")

	// In Chinese the labels are Chinese.
	mk.lang = "zh-CN"
	p = mk.getOK(Prefix + "/campaigns?mine=1")
	require.Contains(t, p.body, "名称包含")
	require.Contains(t, p.body, "只看我的")
	require.Contains(t, p.body, "共找到 3 个活动")
}
