package console_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// The browser tests drive Debian's Chromium, headless, through chromedp. One
// browser serves every test of the package; each signed-in user gets a tab in
// a browser context of their own (separate cookies). Without Chromium the
// tests skip, unless CI is set: there a missing browser fails them.

var shared struct {
	once sync.Once
	ctx  context.Context // the browser's first tab; new tabs derive from it
	stop func()
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.stop != nil {
		shared.stop()
	}
	os.Exit(code)
}

func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browserCtx returns the shared browser, started on first use.
func browserCtx(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are left out of the fast tier (go test -short)")
	}
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") == "" {
			t.Skip("Chromium is not installed (apt-get install chromium): browser tests skipped; under CI=true they fail instead")
		}
		t.Fatal("Chromium is not installed, and CI is set: .ci/run installs it (apt-get install chromium)")
	}
	shared.once.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox, // the tests may run as root
			chromedp.DisableGPU,
			chromedp.Flag("headless", "new"),
			chromedp.Flag("lang", "en-US"),
			chromedp.WindowSize(1280, 900),
		)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(alloc)
		shared.ctx, shared.stop = ctx, func() { cancelCtx(); cancelAlloc() }
		shared.err = chromedp.Do(ctx) // starts the browser
	})
	require.NoError(t, shared.err, "start Chromium")
	return shared.ctx
}

// tab is one signed-in (or not yet) user's tab in their own browser context.
type tab struct {
	t   *testing.T
	w   *world
	ctx context.Context
	dir string
	who string
}

// shots numbers a test's screenshots across its tabs.
var shots sync.Map // test name -> *atomic.Int64

func (w *world) tab(t *testing.T) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx(t), chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancelT)
	return &tab{t: t, w: w, ctx: ctx, dir: artifactDir(t)}
}

// artifactDir is where a test's screenshots go: under CARILLON_TEST_ARTIFACTS
// when set (make test keeps them), else the test's artifact directory.
func artifactDir(t *testing.T) string {
	t.Helper()
	if root := os.Getenv("CARILLON_TEST_ARTIFACTS"); root != "" {
		dir := filepath.Join(root, "console", t.Name())
		require.NoError(t, os.MkdirAll(dir, 0o755))
		return dir
	}
	return t.ArtifactDir()
}

// open navigates to path and requires status 200.
func (b *tab) open(path string) {
	b.t.Helper()
	res, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.w.url+path))
	require.NoError(b.t, err, path)
	require.Equal(b.t, int64(200), res.Status, path)
}

// submit runs actions that send a form and requires the page it leads to to
// load with status 200 (after the redirect).
func (b *tab) submit(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.submitStatus(what, 200, steps...)
}

func (b *tab) submitStatus(what string, status int64, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	res, err := chromedp.RunResponse(b.ctx, steps...)
	require.NoError(b.t, err, what)
	if res.Status != status {
		// The page says why: keep it in the failure.
		text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		require.Equal(b.t, status, res.Status, "%s: %s", what, text)
	}
}

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	require.NoError(b.t, chromedp.Do(b.ctx, steps...))
}

func (b *tab) eval(js string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	require.NoError(b.t, err, js)
	return v
}

func (b *tab) has(sel string) bool {
	b.t.Helper()
	return b.eval(fmt.Sprintf(`String(document.querySelector(%q) !== null)`, sel)) == "true"
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.TextContent(sel))
	require.NoError(b.t, err, sel)
	return strings.TrimSpace(s)
}

// textNow is the element's text as the page has it now, "" while it is not
// there: for a condition polled while a script replaces the element.
func (b *tab) textNow(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(b.eval(fmt.Sprintf(`(function(){ var e = document.querySelector(%q); return e ? e.textContent : ""; })()`, sel)))
}

func (b *tab) path() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	require.NoError(b.t, err)
	return strings.TrimPrefix(loc, b.w.url)
}

// screenshot checks that the page is a rendered console page with the given
// heading, not an error page, and saves a full-page PNG of it.
func (b *tab) screenshot(name, heading string) {
	b.t.Helper()
	require.Equal(b.t, heading, b.text("h1"), "heading of %s", name)
	require.False(b.t, b.has(".error-page"), "%s is an error page", name)
	require.True(b.t, b.has(`link[rel=stylesheet][href="/console/static/console.css"]`))
	// The stylesheet applied: the header bar has its colour.
	require.Equal(b.t, "rgb(21, 36, 61)", b.eval(`getComputedStyle(document.querySelector("header.top")).backgroundColor`))
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err)
	require.True(b.t, bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")), "a PNG")
	require.Greater(b.t, len(png), 10_000, "a rendered page, not a blank one")
	v, _ := shots.LoadOrStore(b.t.Name(), new(atomic.Int64))
	n := v.(*atomic.Int64).Add(1)
	file := filepath.Join(b.dir, fmt.Sprintf("%02d-%s-%s.png", n, cmp.Or(b.who, "anonymous"), name))
	require.NoError(b.t, os.WriteFile(file, png, 0o644))
	b.t.Logf("screenshot %s", file)
}

func (b *tab) signIn(login string) {
	b.t.Helper()
	b.who = login
	b.open(Prefix + "/login")
	b.screenshot("login", "Sign in")
	b.submit("sign in as "+login,
		chromedp.SendKeys("#login", login),
		chromedp.SendKeys("#password", password),
		chromedp.Click("#signin"))
	require.False(b.t, strings.HasPrefix(b.path(), Prefix+"/login"), "signed in as %s", login)
}

// postStatus posts a form from the page with its CSRF token, as a user could
// with the browser's tools, and returns the status.
func (b *tab) postStatus(path string, fields map[string]string) string {
	b.t.Helper()
	var extra strings.Builder
	for k, v := range fields {
		fmt.Fprintf(&extra, "body.set(%q, %q);", k, v)
	}
	return b.eval(fmt.Sprintf(`(async () => {
		const body = new URLSearchParams();
		body.set("csrf", document.querySelector('input[name="csrf"]').value);
		%s
		const r = await fetch(%q, {method: "POST", body, redirect: "manual"});
		return String(r.status);
	})()`, extra.String(), path))
}

func TestBrowserCampaignApproval(t *testing.T) {
	browserCtx(t) // skips (or fails under CI) before any setup when there is no Chromium
	w := newWorld(t, worldOpts{live: true})
	mk := w.tab(t)
	mk.signIn("marketer")
	require.Equal(t, Prefix+"/", mk.path())
	mk.screenshot("dashboard", "Dashboard")

	// Create a campaign: the live count appears as the filter is typed.
	mk.open(Prefix + "/campaigns/new")
	mk.do(
		chromedp.SendKeys("#campaign-name", "Autumn wealth"),
		chromedp.SetValue("#campaign-template", "campaign.wealth"),
		chromedp.SetValue(`textarea[name="vars"]`, `{"product": "稳健理财"}`),
		chromedp.SendKeys("#segment-expr", `"retail" in tags`),
		chromedp.WaitVisible("#live-count"),
	)
	require.Eventually(t, func() bool { return strings.HasPrefix(mk.text("#live-count"), "2 ") }, 10*time.Second, 100*time.Millisecond)
	mk.screenshot("campaign-new", "New campaign")
	mk.submit("save the campaign", chromedp.Click("#save-campaign"))
	m := regexp.MustCompile(`^/console/campaigns/(\d+)`).FindStringSubmatch(mk.path())
	require.NotNil(t, m, mk.path())
	path := m[0]
	require.Equal(t, "draft", mk.text("#campaign-status"))
	mk.screenshot("campaign-draft", "Campaign")

	mk.submit("submit", chromedp.Click("#submit-campaign"))
	require.Equal(t, "awaiting approval", mk.text("#campaign-status"))
	require.Equal(t, "2", mk.text("#review-audience"))
	// The marketer sees no approve button, and a direct POST is refused.
	require.False(t, mk.has("#approve-campaign"))
	require.Equal(t, "403", mk.postStatus(path+"/approve", map[string]string{"version": "1"}))
	mk.open(path)
	require.Equal(t, "awaiting approval", mk.text("#campaign-status"))

	// A second user, the approver, approves it.
	ap := w.tab(t)
	ap.signIn("approver")
	ap.open(path)
	require.True(t, ap.has("#approve-campaign"))
	ap.screenshot("campaign-review", "Campaign")
	ap.submit("approve", chromedp.Click("#approve-campaign"))
	ap.submit("confirm the approval", chromedp.Click("#confirm-approve"))
	require.Equal(t, "approved", ap.text("#campaign-status"))

	// The marketer starts it and watches the funnel move to delivered.
	mk.open(path)
	require.Equal(t, "approved", mk.text("#campaign-status"))
	mk.submit("start", chromedp.Click("#start-campaign"))
	mk.submit("confirm the start", chromedp.Click("#confirm-start"))
	delivered := func() string {
		return mk.eval(`(document.querySelector("#runs tbody tr td:nth-child(7)") || {textContent: ""}).textContent`)
	}
	require.Eventually(t, func() bool {
		mk.open(path)
		return delivered() == "2"
	}, 60*time.Second, 500*time.Millisecond, "both recipients delivered")
	require.Contains(t, mk.eval(`document.querySelector("#funnel svg").textContent`), "Delivered")
	mk.screenshot("campaign-funnel", "Campaign")
	mk.open(Prefix + "/campaigns")
	require.True(t, mk.has(fmt.Sprintf("#campaign-%s", m[1])))
	mk.screenshot("campaigns", "Campaigns")

	// Sign out: the session ends, the console asks to sign in again.
	mk.submit("sign out", chromedp.Click("#signout"))
	require.True(t, strings.HasPrefix(mk.path(), Prefix+"/login"))
	res, err := chromedp.Run(mk.ctx, chromedp.NavigateResponse(w.url+path))
	require.NoError(t, err)
	require.Equal(t, int64(200), res.Status)
	require.True(t, strings.HasPrefix(mk.path(), Prefix+"/login"), "redirected to sign in")
}

func TestBrowserManagerLogsARevisit(t *testing.T) {
	browserCtx(t)
	w := newWorld(t, worldOpts{})
	w.clock.Advance(60 * 24 * time.Hour) // every customer overdue
	mg := w.tab(t)
	mg.signIn("mgr2")
	require.Equal(t, Prefix+"/my", mg.path())
	require.True(t, mg.has("#due-K2"))
	mg.screenshot("my-customers", "My customers")

	// Two clicks: the outcome, then how the customer was reached.
	mg.do(chromedp.SetValue(`#due-K2 select[name="outcome"]`, "interested"))
	mg.submit("log a revisit", chromedp.Click(`#due-K2 button[value="phone"]`))
	require.Equal(t, "Revisit logged.", mg.text(".notice"))
	require.False(t, mg.has("#due-K2"))

	// The revisit is on the customer's timeline.
	mg.open(w.path("/contacts/%d", w.cid["K2"]))
	mg.do(chromedp.SetValue("#kind", "revisit."))
	mg.submit("filter the timeline", chromedp.Click(`#timeline button[type="submit"]`))
	require.Contains(t, mg.path(), "kind=revisit.")
	require.True(t, mg.has(`tr.event[data-kind="revisit.logged"]`))
	require.Contains(t, mg.text(`tr.event[data-kind="revisit.logged"]`), "revisit by phone")
	mg.screenshot("contact-timeline", "Customer")

	// The team lead sees the team and the ranking.
	lead := w.tab(t)
	lead.signIn("lead")
	require.True(t, lead.has("#team"))
	lead.screenshot("team", "My customers")
	lead.submit("open the ranking", chromedp.Click("#ranking-link"))
	require.True(t, lead.has("#ranking"))
	lead.screenshot("ranking", "Ranking")
}

func TestBrowserPages(t *testing.T) {
	browserCtx(t)
	w := newWorld(t, worldOpts{})
	require.NoError(t, w.planner.EnsureFestivalRules(w.ctx))
	ad := w.tab(t)
	ad.signIn("admin")
	for _, p := range []struct{ path, name, heading string }{
		{Prefix + "/", "dashboard", "Dashboard"},
		{Prefix + "/contacts?q=%E5%BC%A0", "contacts", "Contacts"},
		{w.path("/contacts/%d", w.cid["K1"]), "contact", "Customer"},
		{Prefix + "/templates", "templates", "Templates"},
		{Prefix + "/templates/birthday?preview=1&contact=K1", "template", "Template"},
		{Prefix + "/calendar?year=2027", "calendar", "Care calendar"},
		{Prefix + "/campaigns", "campaigns", "Campaigns"},
	} {
		ad.open(p.path)
		ad.screenshot(p.name, p.heading)
	}
	// In Chinese, switched from the page.
	ad.submit("switch to Chinese", chromedp.Click("a.lang"))
	require.Equal(t, Prefix+"/campaigns", ad.path(), "back on the page it was switched from")
	ad.screenshot("campaigns-zh", "营销活动")
	// A template with an error shows it at its position.
	ad.open(Prefix + "/templates/birthday")
	ad.do(chromedp.SetValue(`textarea[name="sms.zh-CN.text"]`, "生日快乐，{{.Contact.Nmae}}！"))
	ad.submitStatus("save a broken template", 400, chromedp.Click("#save-template"))
	require.True(t, ad.has(`.problem[data-field="sms.zh-CN.text"][data-line="1"]`))
	ad.screenshot("template-error", "模板")
}

// River UI renders under its content security policy: its scripts and styles
// are its own, and nothing it needs is refused.
func TestBrowserRiverUIRendersUnderItsCSP(t *testing.T) {
	w := newWorld(t, worldOpts{})
	b := w.tab(t)
	b.signIn("admin")
	res, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(b.w.url+"/riverui/"))
	require.NoError(t, err)
	require.Equal(t, int64(200), res.Status)
	rendered := b.eval(`new Promise(resolve => {
		const start = Date.now();
		const poll = () => {
			const root = document.querySelector("#root");
			if (root && root.children.length > 0 && root.textContent.trim() !== "") { resolve("rendered"); return; }
			if (Date.now() - start > 20000) { resolve("blank: the app's script did not run"); return; }
			setTimeout(poll, 100);
		};
		poll();
	})`)
	require.Equal(t, "rendered", rendered)
}
