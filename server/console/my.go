package console

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"carillon/calendar"
	"carillon/contacts"
	"carillon/internal/identity"
	"carillon/revisits"
)

func (c *Console) myRoutes() {
	if c.deps.Revisits == nil {
		return
	}
	c.page("GET "+Prefix+"/my", identity.PermMyCustomers, c.myPage)
	c.page("GET "+Prefix+"/my/ranking", identity.PermMyCustomers, c.rankingPage)
	c.page("POST "+Prefix+"/contacts/{id}/revisits", identity.PermMyCustomers, c.logRevisit)
}

// Revisit methods and the outcomes offered with one click.
var (
	revisitMethods  = []string{"phone", "visit", "wechat", "branch"}
	revisitOutcomes = []string{"reached", "no_answer", "callback", "interested", "not_interested"}
)

// myScope is a manager's scope widened by the colleagues they cover today.
func (c *Console) myScope(ctx context.Context, p identity.Principal) ([]int64, error) {
	ids := slices.Clone(p.ManagerIDs)
	if len(ids) == 0 {
		return ids, nil
	}
	covered, err := c.deps.Revisits.CoveredBy(ctx, ids, c.deps.Revisits.Today())
	if err != nil {
		return nil, err
	}
	for _, id := range covered {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// upcomingItem is a birthday or a deposit maturity of the coming days.
type upcomingItem struct {
	Date       calendar.Date
	Kind       string // birthday | deposit_maturity
	ContactID  int64
	ExternalID string
	Name       string
	Manager    string
	Note       string
}

// teamLine is one manager of a lead's team.
type teamLine struct {
	Code, Name              string
	DueToday, Overdue, Soon int
}

type myData struct {
	Today     calendar.Date
	Due       []revisits.DueItem
	Overdue   []revisits.DueItem
	Soon      []revisits.DueItem
	Upcoming  []upcomingItem
	Lead      bool
	Team      []teamLine
	Methods   []string
	Outcomes  []string
	Own       string
	ManagerOf map[string]string // code -> name
	// The lists' pages (myPageSize rows each) and, for a lead, the upcoming
	// dates grouped by manager (collapsed).
	OverduePg, DuePg, SoonPg, UpcomingPg pager
	UpcomingBy                           []upcomingGroup
}

// upcomingGroup is one manager's upcoming dates, for a team lead.
type upcomingGroup struct {
	Code, Name string
	Items      []upcomingItem
}

func (c *Console) myPage(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	ids, err := c.myScope(ctx, q.P)
	if err != nil {
		return err
	}
	today := c.deps.Revisits.Today()
	d := myData{Today: today, Methods: revisitMethods, Outcomes: revisitOutcomes, Lead: len(q.P.ManagerIDs) > 1,
		Own: q.P.User.ManagerCode, ManagerOf: map[string]string{}}
	items, err := c.deps.Revisits.Due(ctx, revisits.DueOptions{ManagerIDs: ids, Day: today, Ahead: 7})
	if err != nil {
		return err
	}
	team := map[string]*teamLine{}
	for _, it := range items {
		if team[it.Manager] == nil {
			team[it.Manager] = &teamLine{Code: it.Manager}
		}
		tl := team[it.Manager]
		switch {
		case it.Overdue:
			tl.Overdue++
		case it.DueOn.Compare(today) <= 0:
			tl.DueToday++
		default:
			tl.Soon++
		}
		// The lists are the user's own customers (and those they cover); a
		// lead sees the team's in the team table.
		if d.Lead && it.Manager != d.Own && it.Covered == "" {
			continue
		}
		switch {
		case it.Overdue:
			d.Overdue = append(d.Overdue, it)
		case it.DueOn.Compare(today) <= 0:
			d.Due = append(d.Due, it)
		default:
			d.Soon = append(d.Soon, it)
		}
	}
	ms, err := c.deps.Contacts.ManagersByID(ctx, ids)
	if err != nil {
		return err
	}
	for _, m := range ms {
		d.ManagerOf[m.Code] = m.Name
	}
	if d.Lead {
		for _, id := range q.P.ManagerIDs {
			m, ok := ms[id]
			if !ok {
				continue
			}
			tl := team[m.Code]
			if tl == nil {
				tl = &teamLine{Code: m.Code}
			}
			tl.Name = m.Name
			d.Team = append(d.Team, *tl)
		}
	}
	if d.Upcoming, err = c.upcoming(ctx, ids, today); err != nil {
		return err
	}
	d.paginate(r.URL.Query())
	c.render(w, r, q, http.StatusOK, "my", "my.title", d)
	return nil
}

// paginate cuts the lists to their pages; a lead's upcoming dates are
// grouped by manager instead, their own first.
func (d *myData) paginate(v url.Values) {
	d.Overdue, d.OverduePg = paginate(d.Overdue, v, "overdue", "overdue", myPageSize)
	d.Due, d.DuePg = paginate(d.Due, v, "due", "due-today", myPageSize)
	d.Soon, d.SoonPg = paginate(d.Soon, v, "soon", "soon", myPageSize)
	if !d.Lead {
		d.Upcoming, d.UpcomingPg = paginate(d.Upcoming, v, "upcoming", "upcoming", myPageSize)
		return
	}
	at := map[string]int{}
	for _, it := range d.Upcoming {
		i, ok := at[it.Manager]
		if !ok {
			i = len(d.UpcomingBy)
			at[it.Manager] = i
			d.UpcomingBy = append(d.UpcomingBy, upcomingGroup{Code: it.Manager, Name: d.ManagerOf[it.Manager]})
		}
		d.UpcomingBy[i].Items = append(d.UpcomingBy[i].Items, it)
	}
	slices.SortStableFunc(d.UpcomingBy, func(a, b upcomingGroup) int {
		if (a.Code == d.Own) != (b.Code == d.Own) {
			if a.Code == d.Own {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Code, b.Code)
	})
}

// upcoming lists the birthdays (on the calendar each customer keeps, with the
// care planner's edge rules) and deposit maturities of the managers'
// customers over the revisits digest's look-ahead, soonest first.
func (c *Console) upcoming(ctx context.Context, ids []int64, today calendar.Date) ([]upcomingItem, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	days := c.deps.Revisits.Config().UpcomingDays
	win, err := calendar.BirthdaysBetween(today, today.AddDays(days))
	if err != nil {
		return nil, err
	}
	var out []upcomingItem
	birthdays := func(ds []contacts.ManagedDate, lunar bool) {
		for _, d := range ds {
			it := upcomingItem{ContactID: d.ContactID, ExternalID: d.ExternalID, Name: d.Name, Manager: d.ManagerCode, Kind: "birthday", Note: "solar"}
			it.Date = win.SolarOn(d.Month, d.Day)
			if lunar {
				it.Note = calendar.LunarMonthDayChinese(d.Month, d.Day, d.Leap)
				it.Date = win.LunarOn(d.Month, d.Day, d.Leap)
			}
			out = append(out, it)
		}
	}
	solar, err := c.deps.Contacts.SolarBirthdaysOf(ctx, ids, win.SolarMonths, win.SolarDays)
	if err != nil {
		return nil, fmt.Errorf("upcoming birthdays: %w", err)
	}
	birthdays(solar, false)
	lunar, err := c.deps.Contacts.LunarBirthdaysOf(ctx, ids, win.LunarMonths, win.LunarDays, win.LunarLeaps)
	if err != nil {
		return nil, fmt.Errorf("upcoming lunar birthdays: %w", err)
	}
	birthdays(lunar, true)
	maturities, err := c.deps.Contacts.AttrDatesOf(ctx, ids, c.deps.Revisits.Config().MaturityAttr, today.String(), today.AddDays(days).String())
	if err != nil {
		return nil, fmt.Errorf("upcoming maturities: %w", err)
	}
	for _, d := range maturities {
		day, err := calendar.ParseDate(d.Value)
		if err != nil {
			continue // not an ISO date: the care rule skips it too
		}
		out = append(out, upcomingItem{ContactID: d.ContactID, ExternalID: d.ExternalID, Name: d.Name, Manager: d.ManagerCode,
			Date: day, Kind: "deposit_maturity"})
	}
	slices.SortStableFunc(out, func(a, b upcomingItem) int {
		if c := a.Date.Compare(b.Date); c != 0 {
			return c
		}
		return strings.Compare(a.ExternalID, b.ExternalID)
	})
	return out, nil
}

// logRevisit logs a revisit from the one-click row of the due list or the
// contact page's form, then goes back where it came from.
func (c *Console) logRevisit(w http.ResponseWriter, r *http.Request, q *req) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return notFound()
	}
	ids, err := c.myScope(r.Context(), q.P)
	if err != nil {
		return err
	}
	if err := c.deps.Contacts.CheckScope(r.Context(), contacts.Scope{Restricted: true, ManagerIDs: ids}, id); err != nil {
		return err
	}
	outcome := strings.TrimSpace(r.PostFormValue("outcome"))
	if slices.Contains(revisitOutcomes, outcome) {
		outcome = tr(q.Lang, "outcome."+outcome)
	}
	in := revisits.RevisitInput{Method: r.PostFormValue("method"), Outcome: outcome,
		Needs: strings.TrimSpace(r.PostFormValue("needs")), Notes: strings.TrimSpace(r.PostFormValue("notes")),
		Tier: r.PostFormValue("tier"), TierReason: strings.TrimSpace(r.PostFormValue("tier_reason"))}
	if s := r.PostFormValue("next_date"); s != "" {
		nd, err := calendar.ParseDate(s)
		if err != nil {
			return badRequest("next_date must be a YYYY-MM-DD date")
		}
		in.NextDate = &nd
	}
	if _, err := c.deps.Revisits.LogRevisit(r.Context(), q.actor(r), id, in, revisits.LogOptions{ByManagerID: q.P.OwnManagerID()}); err != nil {
		return err
	}
	back := Prefix + "/my"
	if r.PostFormValue("back") == "contact" {
		back = fmt.Sprintf("%s/contacts/%d", Prefix, id)
	}
	seeOther(w, r, back, "revisit")
	return nil
}

// rankingTTL is how long a ranking is shown before it is recomputed (behind
// the page, which shows the previous one meanwhile): it ranks every manager of
// the bank, a pass over every customer, and a five-minute-old ranking is as
// good.
const rankingTTL = 5 * time.Minute

type rankEntry struct {
	at         time.Time
	rep        revisits.Report
	recounting bool
}

func (c *Console) storeRanking(key string, e rankEntry) {
	c.ranks.mu.Lock()
	defer c.ranks.mu.Unlock()
	if c.ranks.m == nil || len(c.ranks.m) > 10_000 { // forget rather than grow without bound
		c.ranks.m = map[string]rankEntry{}
	}
	c.ranks.m[key] = e
}

// rankCache keeps the rankings by team.
type rankCache struct {
	mu sync.Mutex
	m  map[string]rankEntry
}

type rankingData struct {
	Report *revisits.Report
	At     time.Time
	Team   string
}

// rankingPage is the revisit ranking of a team lead's team (ranks among every
// manager and every team), month to date.
func (c *Console) rankingPage(w http.ResponseWriter, r *http.Request, q *req) error {
	if len(q.P.ManagerIDs) < 2 {
		return &httpError{status: http.StatusForbidden, key: "err.forbidden", detail: "the ranking is a team lead's"}
	}
	ctx := r.Context()
	ms, err := c.deps.Contacts.ManagersByID(ctx, []int64{q.P.OwnManagerID()})
	if err != nil {
		return err
	}
	opts := revisits.ReportOptions{Scope: revisits.FeedbackScope{Restricted: true, ManagerIDs: q.P.ManagerIDs}}
	if own, ok := ms[q.P.OwnManagerID()]; ok {
		opts.Team = own.Team
	}
	key := opts.Team + "|" + fmt.Sprint(q.P.ManagerIDs) + "|" + c.deps.Revisits.Today().String()
	now := c.cfg.Now()
	c.ranks.mu.Lock()
	e, ok := c.ranks.m[key]
	stale := ok && now.Sub(e.at) >= rankingTTL && !e.recounting
	if stale {
		e.recounting = true
		c.ranks.m[key] = e
	}
	c.ranks.mu.Unlock()
	switch {
	case !ok || r.URL.Query().Get("fresh") == "1":
		rep, err := c.deps.Revisits.RevisitReport(ctx, opts)
		if err != nil {
			return err
		}
		e = rankEntry{at: now, rep: rep}
		c.storeRanking(key, e)
	case stale:
		// Shown as it is while it is recomputed behind the page.
		go func(ctx context.Context) {
			ctx, cancel := context.WithTimeout(ctx, settledRecountTimeout)
			defer cancel()
			rep, err := c.deps.Revisits.RevisitReport(ctx, opts)
			if err != nil {
				c.cfg.Logger.WarnContext(ctx, "ranking recount failed", slog.String("err", err.Error()))
				c.ranks.mu.Lock()
				old := c.ranks.m[key]
				old.recounting = false
				c.ranks.m[key] = old
				c.ranks.mu.Unlock()
				return
			}
			c.storeRanking(key, rankEntry{at: c.cfg.Now(), rep: rep})
		}(context.WithoutCancel(ctx))
	}
	c.render(w, r, q, http.StatusOK, "ranking", "my.ranking", rankingData{Report: &e.rep, At: e.at, Team: opts.Team})
	return nil
}
