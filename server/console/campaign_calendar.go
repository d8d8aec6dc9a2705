package console

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/robfig/cron/v3"

	"carillon/calendar"
	"carillon/campaigns"
	"carillon/care"
)

// The campaign calendar: a month, day by day, with the campaigns' firings
// (the runs that happened, the send times and the recurring schedules to
// come), the festivals and the public holidays and make-up workdays of the
// care calendar (the calendar package, with the care planner's festivals).

// calendarLimit bounds the campaigns the calendar reads (the campaigns
// package's most a search returns).
const calendarLimit = 500

// perDayCap bounds how many firings of one campaign a day counts: a spec
// that fires every minute is shown once, with its count, not 1,440 times.
const perDayCap = 1440

// firingStatuses are the campaigns whose coming firings are shown: those
// submitted or approved (planned, if approved) and those the scheduler runs.
var firingStatuses = []campaigns.Status{campaigns.StatusSubmitted, campaigns.StatusApproved, campaigns.StatusScheduled, campaigns.StatusRunning}

// ranStatuses are the campaigns whose runs of the month are shown too.
var ranStatuses = []campaigns.Status{campaigns.StatusPaused, campaigns.StatusCompleted, campaigns.StatusCancelled}

// calFiring is one campaign on one day: its first firing that day and how
// many it has; Ran when it is a run that happened.
type calFiring struct {
	At     time.Time
	Count  int
	Ran    bool
	ID     int64
	Name   string
	Status campaigns.Status
}

// calFestival is a festival of the day; Care when its greeting rule is on.
type calFestival struct {
	Name     string
	Care     bool
	SendTime string
}

// campDay is one day of the month.
type campDay struct {
	Date      calendar.Date
	Weekday   string
	Kind      string // workday, weekend, holiday, makeup
	Holiday   string
	Today     bool
	Col       int // 1 (Monday) to 7 (Sunday): the day's column on a wide screen
	Festivals []calFestival
	Firings   []calFiring
}

// Empty reports a day with nothing on it (a phone hides it).
func (d campDay) Empty() bool {
	return len(d.Festivals) == 0 && len(d.Firings) == 0 && d.Holiday == "" && !d.Today
}

type campCalendarData struct {
	Month      string // YYYY-MM
	Title      string
	Prev, Next string
	Days       []campDay
	Weekdays   []string
	Firings    int
	Warning    string
}

// festivalConfig is the festivals the care planner greets (the defaults
// without a planner).
func (c *Console) festivalConfig() calendar.Config {
	if c.deps.Care != nil {
		return c.deps.Care.Config().Festivals
	}
	return calendar.Config{}.WithDefaults()
}

func (c *Console) campaignCalendar(w http.ResponseWriter, r *http.Request, q *req) error {
	now := c.now()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, c.loc)
	if m := r.URL.Query().Get("month"); m != "" {
		t, err := time.ParseInLocation("2006-01", m, c.loc)
		if err != nil || t.Year() < 1901 || t.Year() > 2100 {
			return badRequest("month must be a month (YYYY-MM) from 1901 to 2100")
		}
		first = t
	}
	end := first.AddDate(0, 1, 0)
	d := campCalendarData{Month: first.Format("2006-01"), Prev: first.AddDate(0, -1, 0).Format("2006-01"), Next: end.Format("2006-01"),
		Title: strconv.Itoa(first.Year()) + " " + tr(q.Lang, "cal.m"+strconv.Itoa(int(first.Month())))}
	if q.Lang != "en" {
		d.Title = strconv.Itoa(first.Year()) + "年" + strconv.Itoa(int(first.Month())) + "月"
	}
	for i := range 7 {
		d.Weekdays = append(d.Weekdays, tr(q.Lang, "cal.wd"+strconv.Itoa(i)))
	}
	// The days, with the business-day calendar and the festivals.
	cfg := c.festivalConfig()
	today := calendar.DateOf(now)
	byDate := map[calendar.Date]int{}
	for day := calendar.DateOf(first); day.Month == first.Month(); day = day.AddDays(1) {
		dd := cfg.DayOf(day)
		cd := campDay{Date: day, Weekday: tr(q.Lang, "form.wd."+strconv.Itoa(int(day.Weekday()))), Kind: dd.Kind, Today: day == today,
			Col: (int(day.Weekday())+6)%7 + 1}
		if dd.Kind == "holiday" || dd.Kind == "makeup" {
			cd.Holiday = dd.Holiday
		}
		if dd.Warning != "" {
			d.Warning = dd.Warning
		}
		byDate[day] = len(d.Days)
		d.Days = append(d.Days, cd)
	}
	fests, err := calendar.Festivals(first.Year(), cfg)
	if err != nil {
		return badRequest(err.Error())
	}
	rules := map[string]care.Rule{}
	if c.deps.Care != nil {
		list, err := c.deps.Care.Rules(r.Context())
		if err != nil {
			return err
		}
		for _, ru := range list {
			rules[ru.Key] = ru
		}
	}
	for _, f := range fests {
		i, ok := byDate[f.Date]
		if !ok {
			continue
		}
		cf := calFestival{Name: f.Name}
		if q.Lang == "en" {
			cf.Name = f.NameEN
		}
		if ru, ok := rules[care.FestivalRule(f.Key)]; ok && ru.Enabled {
			cf.Care, cf.SendTime = true, ru.SendTime
		}
		d.Days[i].Festivals = append(d.Days[i].Festivals, cf)
	}
	// The campaigns: coming firings of those planned or scheduled, and the
	// runs of the month.
	var list []campaigns.Campaign
	for _, s := range []campaigns.Search{
		{Statuses: firingStatuses, Limit: calendarLimit},
		{Statuses: ranStatuses, ScheduledFrom: &first, ScheduledTo: &end, Limit: calendarLimit},
	} {
		found, err := c.deps.Campaigns.Search(r.Context(), s)
		if err != nil {
			return err
		}
		list = append(list, found.Campaigns...)
	}
	add := func(cp campaigns.Campaign, at time.Time, ran bool) {
		at = at.In(c.loc)
		i, ok := byDate[calendar.DateOf(at)]
		if !ok {
			return
		}
		fs := d.Days[i].Firings
		for j := range fs {
			if fs[j].ID == cp.ID && fs[j].Ran == ran {
				fs[j].Count++
				return
			}
		}
		d.Days[i].Firings = append(fs, calFiring{At: at, Count: 1, Ran: ran, ID: cp.ID, Name: cp.Name, Status: cp.Status})
	}
	ids := make([]int64, len(list))
	for i, cp := range list {
		ids[i] = cp.ID
	}
	runs, err := c.deps.Campaigns.RunSummaries(r.Context(), ids)
	if err != nil {
		return err
	}
	byID := map[int64]campaigns.Campaign{}
	for _, cp := range list {
		byID[cp.ID] = cp
	}
	ran := map[int64]bool{}
	for _, rs := range runs {
		ran[rs.CampaignID] = true
		if !rs.FireAt.Before(first) && rs.FireAt.Before(end) {
			add(byID[rs.CampaignID], rs.FireAt, true)
		}
	}
	for _, cp := range list {
		if !slices.Contains(firingStatuses, cp.Status) {
			continue
		}
		switch cp.Schedule.Kind {
		case "at":
			if cp.Schedule.At != nil && !ran[cp.ID] && !cp.Schedule.At.Before(first) && cp.Schedule.At.Before(end) {
				add(cp, *cp.Schedule.At, false)
			}
		case "cron":
			c.addFirings(cp, first, end, now, add)
		}
	}
	for i := range d.Days {
		slices.SortFunc(d.Days[i].Firings, func(a, b calFiring) int { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID)) })
		d.Firings += len(d.Days[i].Firings)
	}
	c.render(w, r, q, http.StatusOK, "campaign_calendar", "camp.calendar", d)
	return nil
}

// addFirings adds the firings of cp's cron spec in [from, end), none before
// now nor at or after the campaign's end.
func (c *Console) addFirings(cp campaigns.Campaign, from, end, now time.Time, add func(campaigns.Campaign, time.Time, bool)) {
	sched, err := cron.ParseStandard(cp.Schedule.Cron)
	if err != nil {
		return // the campaigns package refuses such a spec; nothing to show
	}
	if cp.EndsAt != nil && cp.EndsAt.Before(end) {
		end = *cp.EndsAt
	}
	t := from.Add(-time.Second)
	if now.After(t) {
		t = now
	}
	for n := 0; n < 31*perDayCap; n++ {
		t = sched.Next(t)
		if t.IsZero() || !t.Before(end) {
			return
		}
		add(cp, t, false)
	}
}
