package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"carillon/campaigns"
	"carillon/internal/app"
	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/internal/pgdev"
	"carillon/server"
	"carillon/templates"
)

// benchConsolePassword is the benchmark users' password.
const benchConsolePassword = "bench console password"

// benchConsole measures each web console page's server time on a database
// of size contacts (2,000 customer managers in teams of 10, a tenth of the
// contacts with a deposit maturing in the next 60 days) and size messages
// spread over the last 30 days: every page is fetched over loopback by a
// signed-in user of the role that uses it, 5 times per run after one warm-up,
// and the median is kept. The figure is the slowest page's median, cold first
// views apart (they are printed: the dashboard's 30 days counted, a team's
// ranking computed, which later views reuse while they are recounted behind
// them); the
// baseline is GET /healthz through the same server (the floor of a request).
// Goal: every page under 300 ms at 1,000,000 contacts.
func benchConsole(ctx context.Context, e *env, srv pgdev.Server, size, runs int) (*Figure, error) {
	f := &Figure{Unit: "ms", BaselineName: "GET /healthz ms", Size: size, Goal: "every page < 300 ms at 1,000,000 contacts"}
	pool, cleanup, err := benchDB(ctx, srv)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	world, err := app.NewServices(pool, app.ServicesConfig{Logger: e.logger})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(e.stderr, "bench console: loading %d contacts and %d messages\n", size, size)
	start := time.Now()
	if err := loadConsoleData(ctx, world, size); err != nil {
		return nil, err
	}
	fmt.Fprintf(e.stderr, "bench console: loaded in %.1f s\n", time.Since(start).Seconds())
	ts, campaignID, err := consoleServer(ctx, e, world)
	if err != nil {
		return nil, err
	}
	defer ts.Close()

	var some struct {
		id    int64
		phone string
	}
	ext := fmt.Sprintf("K%08d", size/2)
	c, err := world.Contacts.GetByExternalID(ctx, ext)
	if err != nil {
		return nil, fmt.Errorf("find contact %s: %w", ext, err)
	}
	some.id, some.phone = c.ID, c.Phone[max(len(c.Phone)-4, 0):]
	// A cold page is a first view that counts what later views reuse (the
	// dashboard's 30 days, a team's ranking); it is reported, not the figure.
	type pageSpec struct {
		user, name, path string
		cold             bool
	}
	pages := []pageSpec{
		{"bench-admin", "dashboard (cold: 30 days counted)", "/console/?fresh=1", true},
		{"bench-admin", "dashboard (after the first view)", "/console/?fresh=page", false},
		{"bench-admin", "dashboard (cached 30 s)", "/console/", false},
		{"bench-admin", "contacts: name 王…", "/console/contacts?q=" + url.QueryEscape("王"), false},
		{"bench-admin", "contacts: name 王小…", "/console/contacts?q=" + url.QueryEscape("王小"), false},
		{"bench-admin", "contacts: phone tail", "/console/contacts?q=" + some.phone, false},
		{"bench-admin", "contacts: customer number", "/console/contacts?q=" + ext, false},
		{"bench-admin", "contacts: tag vip", "/console/contacts?tag=vip", false},
		{"bench-admin", "contacts: tag vip, tier A, page 3", "/console/contacts?tag=vip&tier=A&after=2000", false},
		{"bench-admin", "contact page", fmt.Sprintf("/console/contacts/%d", some.id), false},
		{"bench-admin", "templates", "/console/templates", false},
		{"bench-admin", "template with preview", "/console/templates/birthday?preview=1&contact=" + ext, false},
		{"bench-admin", "care calendar", "/console/calendar?year=2027", false},
		{"bench-marketer", "campaigns", "/console/campaigns", false},
		{"bench-marketer", "campaign page", fmt.Sprintf("/console/campaigns/%d", campaignID), false},
		{"bench-manager", "my customers (manager)", "/console/my", false},
		{"bench-lead", "my customers (team lead)", "/console/my", false},
		{"bench-lead", "ranking (cold: first view)", "/console/my/ranking?fresh=1", true},
		{"bench-lead", "ranking (after the first view)", "/console/my/ranking", false},
	}
	clients := map[string]*http.Client{}
	for _, p := range pages {
		if clients[p.user] != nil {
			continue
		}
		c, err := consoleSignIn(ts.URL, p.user)
		if err != nil {
			return nil, fmt.Errorf("sign in as %s: %w", p.user, err)
		}
		clients[p.user] = c
	}
	fetch := func(c *http.Client, path string) (time.Duration, error) {
		t0 := time.Now()
		res, err := c.Get(ts.URL + path)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		took := time.Since(t0)
		if err != nil {
			return 0, err
		}
		if res.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET %s: status %d", path, res.StatusCode)
		}
		return took, nil
	}
	med := func(c *http.Client, path string, n int) (float64, error) {
		if _, err := fetch(c, path); err != nil { // warm-up
			return 0, err
		}
		var ms []float64
		for range n {
			d, err := fetch(c, path)
			if err != nil {
				return 0, err
			}
			ms = append(ms, float64(d.Microseconds())/1000)
		}
		return median(ms), nil
	}
	resetPeakRSS()
	per := map[string][]float64{}
	for i := range runs {
		slowest, slowName := 0.0, ""
		for _, p := range pages {
			ms, err := med(clients[p.user], p.path, 5)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.name, err)
			}
			per[p.name] = append(per[p.name], ms)
			if !p.cold && ms > slowest {
				slowest, slowName = ms, p.name
			}
		}
		base, err := med(http.DefaultClient, "/healthz", 5)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(e.stderr, "bench console: run %d/%d: slowest %s %.1f ms\n", i+1, runs, slowName, slowest)
		f.Runs = append(f.Runs, slowest)
		f.BaselineRuns = append(f.BaselineRuns, base)
	}
	fmt.Fprintf(e.stderr, "bench console: each page's server time on %d contacts (median of 5 fetches per run; over %d runs the median and the worst):\n", size, runs)
	for _, p := range pages {
		mark := ""
		switch {
		case p.cold:
			mark = "  (cold, not the figure)"
		case median(per[p.name]) >= 300:
			mark = "  over the goal"
		}
		fmt.Fprintf(e.stderr, "  %-36s %8.1f ms %8.1f ms%s\n", p.name, median(per[p.name]), slices.Max(per[p.name]), mark)
	}
	f.PeakRSSMB = peakRSSMB()
	f.Value, f.Baseline = median(f.Runs), median(f.BaselineRuns)
	if f.Value > 0 {
		f.Ratio = f.Baseline / f.Value
	}
	if len(f.Runs) > 0 && f.Value > 0 {
		f.Spread = (slices.Max(f.Runs) - slices.Min(f.Runs)) / f.Value
	}
	return f, nil
}

// loadConsoleData writes size contacts (names with the common surnames,
// phones, tags, tiers, birthdays on both calendars, deposit maturities) under
// 2,000 managers in teams of 10, their marketing consents, and size messages
// over the last 30 days in the statuses, channels and providers of a working
// outbox, with a receipt for most and some unmatched ones.
func loadConsoleData(ctx context.Context, world *app.Services, size int) error {
	ids, err := world.Contacts.SeedBenchBook(ctx, size)
	if err != nil {
		return err
	}
	if err := world.Delivery.SeedBenchHistory(ctx, ids); err != nil {
		return err
	}
	// Fresh statistics of every table the pages read (the database is the run's own).
	_, err = world.Pool.Exec(ctx, `VACUUM ANALYZE`)
	return err
}

// consoleServer builds the server as serve does (without River workers: the
// pages read, they do not send), its users, and one submitted campaign.
func consoleServer(ctx context.Context, e *env, world *app.Services) (*httptest.Server, int64, error) {
	actor := audit.Actor{Name: "bench"}
	if _, _, err := world.Templates.Save(ctx, actor, benchTemplate(false), templates.SaveOptions{Activate: true}); err != nil {
		return nil, 0, err
	}
	if err := world.Planner.EnsureFestivalRules(ctx); err != nil {
		return nil, 0, err
	}
	camps, ids := world.Campaigns, world.Identity
	by := map[string]campaigns.By{}
	for _, u := range []struct {
		login, code string
		role        identity.Role
	}{
		{"bench-admin", "", identity.RoleAdmin}, {"bench-marketer", "", identity.RoleMarketer}, {"bench-approver", "", identity.RoleApprover},
		{"bench-manager", "M00002", identity.RoleManager}, {"bench-lead", "M00001", identity.RoleManager},
	} {
		user, err := ids.CreateUser(ctx, actor, identity.NewUser{Login: u.login, DisplayName: u.login, Roles: []identity.Role{u.role},
			ManagerCode: u.code, Password: benchConsolePassword})
		if err != nil {
			return nil, 0, err
		}
		id := user.ID
		by[u.login] = campaigns.By{Actor: audit.Actor{Name: "bench:" + u.login, UserID: &id}, Roles: []identity.Role{u.role}}
	}
	name, expr, tmpl := "bench vip", `"vip" in tags && tier == "A"`, benchCampaignTemplate
	c, err := camps.Create(ctx, by["bench-marketer"], campaigns.Input{Name: &name, Expression: &expr, Template: &tmpl,
		Channels: &[]string{"sms"}, Vars: map[string]any{"product": "稳健理财"}})
	if err != nil {
		return nil, 0, err
	}
	if _, err := camps.Submit(ctx, by["bench-marketer"], c.ID); err != nil {
		return nil, 0, err
	}
	s, err := server.New(server.Config{Logger: e.logger, RateLimit: -1}, server.Deps{Pool: world.Pool, Contacts: world.Contacts, Auth: ids,
		Delivery: world.Delivery, Templates: world.Templates, Care: world.Planner, Revisits: world.Revisits, Campaigns: camps})
	if err != nil {
		return nil, 0, err
	}
	return httptest.NewServer(s.Handler()), c.ID, nil
}

var benchCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// consoleSignIn signs in through the form and returns a client with the
// session cookie.
func consoleSignIn(base, login string) (*http.Client, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Jar: jar, Timeout: time.Minute}
	res, err := c.Get(base + "/console/login")
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	m := benchCSRF.FindSubmatch(body)
	if m == nil {
		return nil, fmt.Errorf("no form token on the sign-in page")
	}
	res, err = c.PostForm(base+"/console/login", url.Values{"csrf": {string(m[1])}, "login": {login}, "password": {benchConsolePassword}})
	if err != nil {
		return nil, err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || strings.HasSuffix(res.Request.URL.Path, "/login") {
		return nil, fmt.Errorf("sign-in refused (status %d)", res.StatusCode)
	}
	return c, nil
}
