package console

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"carillon/campaigns"
	"carillon/care"
	"carillon/delivery"
	"carillon/internal/identity"
	"carillon/revisits"
)

// dashboardTTL is how long the dashboard's figures are reused: they are
// aggregates over the outbox, and a minute-old count is as good as a fresh one.
const dashboardTTL = 30 * time.Second

// statuses in the order charts stack them.
var messageStatuses = []string{string(delivery.StatusDelivered), string(delivery.StatusSent), string(delivery.StatusSending),
	string(delivery.StatusQueued), string(delivery.StatusFailed), string(delivery.StatusSuppressed), string(delivery.StatusCancelled)}

// planCount is the care plan of one kind for a period.
type planCount struct {
	Kind  string // birthday, festival, notice, digest
	Today int
	Week  int
}

// channelRow is one channel's messages by status over 30 days.
type channelRow struct {
	Channel  string
	ByStatus map[string]int
	Total    int
}

// providerRow is one provider's delivery rate over 30 days.
type providerRow struct {
	Provider  string
	Sent      int // handed over, no receipt yet
	Delivered int
	Failed    int
}

// Total is the messages the provider took.
func (p providerRow) Total() int { return p.Sent + p.Delivered + p.Failed }

// receiptRow is a provider's unmatched receipts.
type receiptRow struct {
	Provider string
	Count    int
	Oldest   time.Time
}

// queueRow is one River queue's jobs by state.
type queueRow struct {
	Queue     string
	Available int
	Running   int
	Scheduled int
	Retryable int
	Discarded int // in the last 24 hours
	OldestAge string
}

// AtCap reports whether a count of scheduled, retryable or discarded jobs
// reached delivery.QueueCountCap: it means "this many or more" (River counts
// only available and running jobs by queue; River UI shows the others).
func (q queueRow) AtCap(n int) bool { return n >= delivery.QueueCountCap }

// dashboardView is the shared figures and what is the user's own.
type dashboardView struct {
	*dashboardData
	Pending []campaigns.Campaign // awaiting this approver's approval
	Home    []homeGroup          // the author's own campaigns by state (home.go)
}

type dashboardData struct {
	At        time.Time
	Today     string
	WeekFrom  string
	WeekTo    string
	Plan      []planCount
	PlanTotal planCount
	Chart     chart
	Channels  []channelRow
	Statuses  []string
	Providers []providerRow
	Receipts  []receiptRow
	Queues    []queueRow
	Stops     int
}

// settledTTL is how long the outbox's counts of the days before yesterday
// are used before they are counted again. Those days change little (a late
// receipt, retention), and counting them is most of the dashboard's work on a
// large outbox: past the TTL the page still shows them while one recount runs
// behind it.
const settledTTL = 15 * time.Minute

// settledRecountTimeout bounds a recount of the settled days.
const settledRecountTimeout = 2 * time.Minute

// dashCache keeps the dashboard's figures per language for dashboardTTL, and
// the counts of the settled days by day.
type dashCache struct {
	mu   sync.Mutex
	at   map[string]time.Time
	data map[string]*dashboardData

	settledMu  sync.Mutex
	days       map[string][]msgAgg // by day, YYYY-MM-DD in the console's zone
	settledAt  time.Time           // when days were last all counted
	recounting bool
}

// msgAgg counts the messages of one day, channel, provider and status.
type msgAgg = delivery.DailyCount

// messageAgg counts the outbox's messages created in [from, to) (to zero:
// no end) by day in the console's zone, channel, provider and status. Without
// an outbox there are none.
func (c *Console) messageAgg(ctx context.Context, from, to time.Time) ([]msgAgg, error) {
	if c.deps.Delivery == nil {
		return nil, nil
	}
	out, err := c.deps.Delivery.DailyCounts(ctx, from, to, c.cfg.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("dashboard messages: %w", err)
	}
	return out, nil
}

// settledDays returns the counts of the days in [from, to). Days not yet
// counted (the first view after a start, the day that settled overnight) are
// counted now; the others come from the cache, recounted behind the page once
// they are older than settledTTL. fresh recounts them all now.
func (c *Console) settledDays(ctx context.Context, from, to time.Time, fresh bool) ([]msgAgg, error) {
	dc := &c.dash
	dc.settledMu.Lock()
	defer dc.settledMu.Unlock()
	var want []string
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		want = append(want, d.Format(time.DateOnly))
	}
	if fresh || dc.days == nil {
		aggs, err := c.messageAgg(ctx, from, to)
		if err != nil {
			return nil, err
		}
		dc.days, dc.settledAt = byDay(aggs, want), c.cfg.Now()
	} else {
		// Count the days missing from the cache, as one range.
		var lo, hi time.Time
		for i, d := range want {
			if _, ok := dc.days[d]; ok {
				continue
			}
			day := from.AddDate(0, 0, i)
			if lo.IsZero() {
				lo = day
			}
			hi = day.AddDate(0, 0, 1)
		}
		if !lo.IsZero() {
			aggs, err := c.messageAgg(ctx, lo, hi)
			if err != nil {
				return nil, err
			}
			var span []string
			for d := lo; d.Before(hi); d = d.AddDate(0, 0, 1) {
				span = append(span, d.Format(time.DateOnly))
			}
			for d, rows := range byDay(aggs, span) {
				dc.days[d] = rows
			}
		}
		if c.cfg.Now().Sub(dc.settledAt) >= settledTTL && !dc.recounting {
			dc.recounting = true
			go c.recountSettled(context.WithoutCancel(ctx), from, to, want)
		}
	}
	var out []msgAgg
	for d := range dc.days {
		if !slices.Contains(want, d) {
			delete(dc.days, d) // out of the 30 days now
		}
	}
	for _, d := range want {
		out = append(out, dc.days[d]...)
	}
	return out, nil
}

// recountSettled counts the settled days again behind the pages that show
// the cached counts meanwhile.
func (c *Console) recountSettled(ctx context.Context, from, to time.Time, want []string) {
	ctx, cancel := context.WithTimeout(ctx, settledRecountTimeout)
	defer cancel()
	aggs, err := c.messageAgg(ctx, from, to)
	dc := &c.dash
	dc.settledMu.Lock()
	defer dc.settledMu.Unlock()
	dc.recounting = false
	if err != nil {
		c.cfg.Logger.WarnContext(ctx, "dashboard recount failed", slog.String("err", err.Error()))
		return
	}
	for d, rows := range byDay(aggs, want) {
		dc.days[d] = rows
	}
	dc.settledAt = c.cfg.Now()
}

// byDay files counts under their day; every day of days is present, empty
// when it had no message.
func byDay(aggs []msgAgg, days []string) map[string][]msgAgg {
	m := make(map[string][]msgAgg, len(days))
	for _, d := range days {
		m[d] = nil
	}
	for _, a := range aggs {
		if _, ok := m[a.Day]; ok {
			m[a.Day] = append(m[a.Day], a)
		}
	}
	return m
}

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, q *req) error {
	if !q.P.Can(identity.PermDashboard) {
		http.Redirect(w, r, c.home(q.P), http.StatusSeeOther)
		return nil
	}
	dc := &c.dash
	dc.mu.Lock()
	defer dc.mu.Unlock()
	now := c.cfg.Now()
	if dc.data == nil {
		dc.data, dc.at = map[string]*dashboardData{}, map[string]time.Time{}
	}
	d := dc.data[q.Lang]
	// ?fresh=1 recounts everything; ?fresh=page recounts all but the settled days.
	fresh := r.URL.Query().Get("fresh")
	if d == nil || now.Sub(dc.at[q.Lang]) >= dashboardTTL || fresh == "1" || fresh == "page" {
		var err error
		if d, err = c.dashboardData(r.Context(), q.Lang, fresh == "1"); err != nil {
			return err
		}
		dc.data[q.Lang], dc.at[q.Lang] = d, now
	}
	view := dashboardView{dashboardData: d}
	home, err := c.homeGroups(r.Context(), q.P)
	if err != nil {
		return err
	}
	view.Home = home
	if c.deps.Campaigns != nil && q.P.Can(identity.PermCampaignsApprove) {
		// An approver's work: the campaigns awaiting approval they may approve.
		list, _, err := c.deps.Campaigns.List(r.Context(), campaigns.ListFilter{Status: campaigns.StatusSubmitted, Limit: 20})
		if err != nil {
			return err
		}
		for _, cp := range list {
			authored, err := c.authored(r.Context(), cp.ID, q.P.User.ID)
			if err != nil {
				return err
			}
			if !authored {
				view.Pending = append(view.Pending, cp)
			}
		}
	}
	c.render(w, r, q, http.StatusOK, "dashboard", "dash.title", view)
	return nil
}

// week returns the Monday and Sunday of t's week.
func week(t time.Time) (time.Time, time.Time) {
	wd := (int(t.Weekday()) + 6) % 7
	mon := time.Date(t.Year(), t.Month(), t.Day()-wd, 0, 0, 0, 0, t.Location())
	return mon, mon.AddDate(0, 0, 6)
}

// dashboardData reads every figure of the dashboard.
func (c *Console) dashboardData(ctx context.Context, lang string, fresh bool) (*dashboardData, error) {
	now := c.now()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, c.loc)
	mon, sun := week(today)
	d := &dashboardData{At: now, Today: today.Format(time.DateOnly), WeekFrom: mon.Format(time.DateOnly), WeekTo: sun.Format(time.DateOnly),
		Statuses: messageStatuses}
	if err := c.planCounts(ctx, d, today, mon, sun); err != nil {
		return nil, err
	}
	if err := c.messageFigures(ctx, d, today, lang, fresh); err != nil {
		return nil, err
	}
	if err := c.receiptFigures(ctx, d); err != nil {
		return nil, err
	}
	if err := c.queueFigures(ctx, d, now); err != nil {
		return nil, err
	}
	return d, nil
}

// planCounts counts the care messages planned for today and this week: care
// rules' messages by their planned day (the index the care statistics use) and
// the managers' digests by their send time.
func (c *Console) planCounts(ctx context.Context, d *dashboardData, today, mon, sun time.Time) error {
	kinds := map[string]*planCount{}
	order := []string{"birthday", "festival", "notice", "digest"}
	for _, k := range order {
		kinds[k] = &planCount{Kind: k}
	}
	classify := func(ruleKind, key string) string {
		switch {
		case ruleKind == care.KindBirthday:
			return "birthday"
		case ruleKind == care.KindFestival:
			return "festival"
		}
		return "notice"
	}
	ruleKinds := map[string]string{}
	var keys []string
	if c.deps.Care != nil {
		rules, err := c.deps.Care.Rules(ctx)
		if err != nil {
			return err
		}
		for _, r := range rules {
			ruleKinds[r.Key] = r.Kind
			keys = append(keys, r.Key)
		}
	}
	if len(keys) > 0 && c.deps.Delivery != nil {
		planned, err := c.deps.Delivery.CarePlanned(ctx, care.Source, keys, today.Format(time.DateOnly), mon.Format(time.DateOnly), sun.Format(time.DateOnly))
		if err != nil {
			return fmt.Errorf("dashboard care plan: %w", err)
		}
		for _, p := range planned {
			k := kinds[classify(ruleKinds[p.SourceID], p.SourceID)]
			k.Week += p.N
			if p.Today {
				k.Today += p.N
			}
		}
	}
	if c.deps.Revisits != nil && c.deps.Delivery != nil {
		var err error
		kinds["digest"].Today, kinds["digest"].Week, err = c.deps.Delivery.SendsBetween(ctx, revisits.Source, revisits.RuleDigest,
			today, today.AddDate(0, 0, 1), mon, sun.AddDate(0, 0, 1))
		if err != nil {
			return fmt.Errorf("dashboard digests: %w", err)
		}
	}
	for _, k := range order {
		d.Plan = append(d.Plan, *kinds[k])
		d.PlanTotal.Today += kinds[k].Today
		d.PlanTotal.Week += kinds[k].Week
	}
	return nil
}

// messageFigures reads the last 30 days of the outbox: by day and status (the
// chart), by channel and status, and by provider.
func (c *Console) messageFigures(ctx context.Context, d *dashboardData, today time.Time, lang string, fresh bool) error {
	from := today.AddDate(0, 0, -29)
	yesterday := today.AddDate(0, 0, -1)
	settled, err := c.settledDays(ctx, from, yesterday, fresh)
	if err != nil {
		return err
	}
	recent, err := c.messageAgg(ctx, yesterday, time.Time{})
	if err != nil {
		return err
	}
	byDay := map[string]map[string]int{}
	chans := map[string]*channelRow{}
	provs := map[string]*providerRow{}
	for _, a := range slices.Concat(settled, recent) {
		day, ch, prov, status, n := a.Day, a.Channel, a.Provider, a.Status, a.N
		if byDay[day] == nil {
			byDay[day] = map[string]int{}
		}
		byDay[day][status] += n
		key := ch
		if key == "" {
			key = "-"
		}
		if chans[key] == nil {
			chans[key] = &channelRow{Channel: key, ByStatus: map[string]int{}}
		}
		chans[key].ByStatus[status] += n
		chans[key].Total += n
		if prov != "" {
			if provs[prov] == nil {
				provs[prov] = &providerRow{Provider: prov}
			}
			switch delivery.Status(status) {
			case delivery.StatusSent:
				provs[prov].Sent += n
			case delivery.StatusDelivered:
				provs[prov].Delivered += n
			case delivery.StatusFailed:
				provs[prov].Failed += n
			}
		}
	}
	var days []string
	for i := range 30 {
		days = append(days, from.AddDate(0, 0, i).Format(time.DateOnly))
	}
	series := make([]series, len(messageStatuses))
	for i, s := range messageStatuses {
		series[i].Name = tr(lang, "status."+s)
		series[i].Class = "s-" + s
		for _, dd := range days {
			series[i].Values = append(series[i].Values, byDay[dd][s])
		}
	}
	labels := make([]string, len(days))
	for i, dd := range days {
		labels[i] = dd[5:]
	}
	d.Chart = chart{Title: tr(lang, "dash.chart_title"), Labels: labels, Series: series}
	for _, row := range chans {
		d.Channels = append(d.Channels, *row)
	}
	sort.Slice(d.Channels, func(i, j int) bool { return d.Channels[i].Channel < d.Channels[j].Channel })
	for _, row := range provs {
		d.Providers = append(d.Providers, *row)
	}
	sort.Slice(d.Providers, func(i, j int) bool { return d.Providers[i].Provider < d.Providers[j].Provider })
	return nil
}

func (c *Console) receiptFigures(ctx context.Context, d *dashboardData) error {
	if c.deps.Delivery == nil {
		return nil
	}
	unmatched, err := c.deps.Delivery.Unmatched(ctx)
	if err != nil {
		return fmt.Errorf("dashboard receipts: %w", err)
	}
	for _, u := range unmatched {
		d.Receipts = append(d.Receipts, receiptRow{Provider: u.Provider, Count: u.Count, Oldest: u.Oldest})
	}
	if d.Stops, err = c.deps.Delivery.StopCount(ctx); err != nil {
		return fmt.Errorf("dashboard stops: %w", err)
	}
	return nil
}

// queueFigures reads River's jobs by queue and state: what waits, runs, will
// retry, and what was discarded in the last day (through the outbox's River
// client: delivery.(*Service).Queues).
func (c *Console) queueFigures(ctx context.Context, d *dashboardData, now time.Time) error {
	if c.deps.Delivery == nil {
		return nil
	}
	qs, err := c.deps.Delivery.Queues(ctx, now)
	if err != nil {
		return fmt.Errorf("dashboard queues: %w", err)
	}
	for _, q := range qs {
		r := queueRow{Queue: q.Queue, Available: q.Available, Running: q.Running, Scheduled: q.Scheduled, Retryable: q.Retryable,
			Discarded: q.Discarded}
		if q.OldestAvailable > 0 {
			r.OldestAge = q.OldestAvailable.String()
		}
		d.Queues = append(d.Queues, r)
	}
	return nil
}
