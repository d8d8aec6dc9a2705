package console

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"carillon/calendar"
	"carillon/care"
	"carillon/internal/identity"
)

func (c *Console) calendarRoutes() {
	c.page("GET "+Prefix+"/calendar", identity.PermSignedIn, c.calendarPage)
	c.page("POST "+Prefix+"/care-rules/{key}", identity.PermSettingsWrite, c.switchRule)
}

// calDay is one cell of a month grid; a zero Day is padding.
type calDay struct {
	Day      int
	Class    string // workday, weekend, holiday, makeup (+ festival)
	Title    string
	Festival bool
}

type calMonth struct {
	Month    int
	Name     string
	Weeks    [][7]calDay
	Business int
}

type calendarData struct {
	Year      int
	Prev      int
	Next      int
	Info      calendar.YearInfo
	Months    []calMonth
	Business  int
	Rules     []care.Rule
	CanSwitch bool
	Weekdays  []string
}

func (c *Console) calendarPage(w http.ResponseWriter, r *http.Request, q *req) error {
	year := c.now().Year()
	if y := r.URL.Query().Get("year"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil || n < 1900 || n > 2100 {
			return badRequest("year must be between 1900 and 2100")
		}
		year = n
	}
	cfg := calendar.Config{}.WithDefaults()
	if c.deps.Care != nil {
		cfg = c.deps.Care.Config().Festivals
	}
	info, err := calendar.Year(year, cfg)
	if err != nil {
		return badRequest(err.Error())
	}
	d := calendarData{Year: year, Prev: year - 1, Next: year + 1, Info: info, CanSwitch: q.P.Can(identity.PermSettingsWrite)}
	for i := range 7 {
		d.Weekdays = append(d.Weekdays, tr(q.Lang, "cal.wd"+strconv.Itoa(i)))
	}
	festivals := map[calendar.Date]string{}
	for _, f := range info.Festivals {
		name := f.Name
		if q.Lang == "en" {
			name = f.NameEN
		}
		if prev, ok := festivals[f.Date]; ok {
			name = prev + " · " + name
		}
		festivals[f.Date] = name
	}
	for m := time.January; m <= time.December; m++ {
		cm := calMonth{Month: int(m), Name: tr(q.Lang, fmt.Sprintf("cal.m%d", m))}
		first := calendar.NewDate(year, m, 1)
		var week [7]calDay
		col := (int(first.Weekday()) + 6) % 7 // Monday first
		for day := first; day.Month == m; day = day.AddDays(1) {
			dd := cfg.DayOf(day)
			cell := calDay{Day: day.Day, Class: dd.Kind, Title: dd.Holiday}
			if dd.Business {
				cm.Business++
			}
			if name, ok := festivals[day]; ok {
				cell.Festival = true
				cell.Class += " festival"
				if cell.Title != "" {
					cell.Title += " · "
				}
				cell.Title += name
			}
			week[col] = cell
			col++
			if col == 7 {
				cm.Weeks = append(cm.Weeks, week)
				week, col = [7]calDay{}, 0
			}
		}
		if col > 0 {
			cm.Weeks = append(cm.Weeks, week)
		}
		d.Business += cm.Business
		d.Months = append(d.Months, cm)
	}
	if c.deps.Care != nil {
		if d.Rules, err = c.deps.Care.Rules(r.Context()); err != nil {
			return err
		}
	}
	c.render(w, r, q, http.StatusOK, "calendar", "cal.title", d)
	return nil
}

// switchRule turns a care rule on or off (administrators; audited by care).
func (c *Console) switchRule(w http.ResponseWriter, r *http.Request, q *req) error {
	if c.deps.Care == nil {
		return notFound()
	}
	on, err := strconv.ParseBool(r.PostFormValue("enabled"))
	if err != nil {
		return badRequest("enabled must be true or false")
	}
	if _, err := c.deps.Care.UpdateRule(r.Context(), q.actor(r), r.PathValue("key"), care.RuleChange{Enabled: &on}); err != nil {
		return err
	}
	year := r.PostFormValue("year")
	if _, err := strconv.Atoi(year); err != nil {
		year = strconv.Itoa(c.now().Year())
	}
	seeOther(w, r, Prefix+"/calendar?year="+year+"#rules", "rule")
	return nil
}
