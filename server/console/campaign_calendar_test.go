package console_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// dayOf is the calendar's card of one day (YYYY-MM-DD).
func dayOf(t *testing.T, body, date string) string {
	t.Helper()
	i := strings.Index(body, `<li id="day-`+date+`"`)
	require.GreaterOrEqual(t, i, 0, date)
	rest := body[i:]
	return rest[:strings.Index(rest, "</li>")]
}

// The campaign calendar shows a weekly campaign on each Monday of the month,
// the festivals with their greetings, and moves month by month.
func TestCampaignCalendar(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	require.NoError(t, w.planner.EnsureFestivalRules(w.ctx))
	mk, ap := w.signedIn(t, "marketer"), w.signedIn(t, "approver")
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)

	form := campaignForm("Monday wealth")
	form.Set("kind", "cron")
	form.Set("cron", "CRON_TZ=Asia/Shanghai 0 10 * * 1")
	path := createCampaign(t, mk, form)
	id := strings.TrimPrefix(path, Prefix+"/campaigns/")
	require.Equal(t, http.StatusSeeOther, mk.post(path+"/submit", nil).status)
	require.Equal(t, http.StatusSeeOther, ap.post(path+"/approve", nil).status)

	// Next month, from the injected clock.
	now := w.clock.Now().In(loc)
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc).AddDate(0, 1, 0)
	month := first.Format("2006-01")
	p := mk.getOK(Prefix + "/campaigns/calendar?month=" + month)
	mondays := 0
	for d := first; d.Month() == first.Month(); d = d.AddDate(0, 0, 1) {
		day := dayOf(t, p.body, d.Format(time.DateOnly))
		if d.Weekday() == time.Monday {
			mondays++
			require.Contains(t, day, `data-campaign="`+id+`"`, d)
			require.Contains(t, day, "10:00", d)
		} else {
			require.NotContains(t, day, `data-campaign="`+id+`"`, d)
		}
	}
	require.GreaterOrEqual(t, mondays, 4)
	require.Contains(t, p.body, `href="/console/campaigns/calendar?month=`+first.AddDate(0, 1, 0).Format("2006-01")+`" id="cal-next"`)
	require.Contains(t, p.body, `href="/console/campaigns/calendar?month=`+now.Format("2006-01")+`" id="cal-prev"`)

	// A festival, with its greeting rule on: 春节 2027 falls on 6 February.
	mk.lang = "zh-CN"
	p = mk.getOK(Prefix + "/campaigns/calendar?month=2027-02")
	require.Contains(t, p.body, `id="cal-month">2027年2月<`)
	day := dayOf(t, p.body, "2027-02-06")
	require.Contains(t, day, "春节")
	require.Contains(t, day, "发送问候")
	require.Contains(t, day, "holiday")
	require.Contains(t, p.body, `id="cal-prev">← 上个月<`)
	require.Contains(t, p.body, `href="/console/campaigns/calendar?month=2027-01"`)
	require.Contains(t, p.body, `href="/console/campaigns/calendar?month=2027-03"`)

	// The list and the marketer's home link to it; a bad month is refused; a manager has none.
	require.Contains(t, mk.getOK(Prefix+"/campaigns").body, `id="campaign-calendar-link"`)
	require.Contains(t, mk.getOK(Prefix+"/").body, `id="home-calendar"`)
	require.Equal(t, http.StatusBadRequest, mk.get(Prefix+"/campaigns/calendar?month=2027-13").status)
	require.Equal(t, http.StatusForbidden, w.signedIn(t, "mgr2").get(Prefix+"/campaigns/calendar").status)
}
