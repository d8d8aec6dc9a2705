package console_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"carillon/campaigns"
)

// The screens: every console page each role may open, in Chinese, at a desktop
// width and at a phone's, saved as <role>-<page>-<width>.png. At 390 px no page
// scrolls sideways, and nothing inside it does either, except a box marked
// data-scrolls (a code or preview box meant to be scrolled), a <pre> or a
// <textarea>.

// shotWidths are the widths every page is seen at: a laptop and a phone.
var shotWidths = []struct{ w, h int64 }{{1440, 900}, {390, 844}}

// The roles of the test world, by the login that has them (setup_test.go).
const (
	shotAdmin    = "admin"
	shotMarketer = "marketer"
	shotApprover = "approver"
	shotAuditor  = "auditor"
	shotLead     = "lead" // a customer manager who leads team east
	shotManager  = "mgr2" // a customer manager in team east
)

// shotRoleName is the role a login stands for in the screenshots' names.
var shotRoleName = map[string]string{
	shotAdmin: "admin", shotMarketer: "marketer", shotApprover: "approver", shotAuditor: "auditor",
	shotLead: "teamlead", shotManager: "manager",
}

var (
	shotOffice   = []string{shotAdmin, shotMarketer, shotApprover, shotAuditor} // the campaign side reads
	shotAuthors  = []string{shotAdmin, shotMarketer}                            // the campaign side writes
	shotManagers = []string{shotLead, shotManager}
	shotEveryone = append(slices.Clone(shotOffice), shotManagers...)
)

// shotPage is one page of the console. The path may name the world's data in
// braces: {K1} is that customer's id, {camp:draft} the campaign in that state,
// {segment} the saved segment (see shotWorld).
type shotPage struct {
	path, name, heading string
	roles               []string
	// status is the page's HTTP status when not 200 (an error page).
	status int64
	// shows are texts the page must show: selector → text.
	shows map[string]string
}

// shotPages are the console's pages. A page added to the console is added
// here, with the roles that may open it.
var shotPages = []shotPage{
	{path: "/", name: "dashboard", heading: "概览", roles: shotOffice},
	{path: "/my", name: "my", heading: "我的客户", roles: shotManagers},
	{path: "/my/ranking", name: "ranking", heading: "排名", roles: []string{shotLead}},
	{path: "/contacts", name: "contacts", heading: "客户", roles: shotEveryone},
	{path: "/contacts?q=%E7%8E%8B", name: "contacts-search", heading: "客户", roles: shotEveryone},
	{path: "/contacts/{K2}", name: "contact", heading: "客户详情", roles: shotEveryone},
	{path: "/contacts/{K2}?kind=message.", name: "contact-messages", heading: "客户详情", roles: shotEveryone},
	{path: "/contacts/{K2}?kind=revisit.", name: "contact-revisits", heading: "客户详情", roles: shotEveryone},
	{path: "/templates", name: "templates", heading: "消息模板", roles: shotOffice},
	{path: "/templates/campaign.wealth", name: "template", heading: "模板", roles: shotOffice},
	{path: "/templates/birthday?preview=1&contact=K1", name: "template-preview", heading: "模板", roles: shotOffice},
	{path: "/templates/new", name: "template-new", heading: "新建模板", roles: shotAuthors},
	{path: "/campaigns", name: "campaigns", heading: "营销活动", roles: shotOffice},
	{path: "/campaigns/calendar?month=2027-02", name: "campaign-calendar", heading: "活动日历", roles: shotOffice},
	{path: "/campaigns/new", name: "campaign-new", heading: "新建活动", roles: shotAuthors},
	{path: "{camp:draft}/edit", name: "campaign-edit", heading: "编辑", roles: shotAuthors},
	{path: "{camp:submitted}/confirm/approve", name: "confirm-approve", heading: "批准活动", roles: []string{shotApprover}},
	{path: "{camp:approved}/confirm/start", name: "confirm-start", heading: "启动活动", roles: shotAuthors},
	{path: "/segments", name: "segments", heading: "客群", roles: shotOffice},
	{path: "/segments/new", name: "segment-new", heading: "新建客群", roles: shotAuthors},
	{path: "{segment}", name: "segment", heading: "客群", roles: shotOffice},
	{path: "/calendar?year=2027", name: "calendar", heading: "关怀日历", roles: shotEveryone},
	{path: "/no-such-page", name: "error-404", heading: "出错了", roles: []string{shotAdmin}, status: 404},
	{path: "/campaigns", name: "error-403", heading: "出错了", roles: []string{shotManager}, status: 403},
	{path: "/campaigns/new", name: "error-403", heading: "出错了", roles: []string{shotAuditor}, status: 403},
}

// shotStates are the states a campaign is screenshotted in, with the name
// its page shows.
var shotStates = []struct {
	status campaigns.Status
	zh     string
}{
	{campaigns.StatusDraft, "草稿"}, {campaigns.StatusSubmitted, "待审批"}, {campaigns.StatusApproved, "已批准"},
	{campaigns.StatusRejected, "已驳回"}, {campaigns.StatusScheduled, "已排期"}, {campaigns.StatusRunning, "发送中"},
	{campaigns.StatusPaused, "已暂停"}, {campaigns.StatusCompleted, "已完成"}, {campaigns.StatusCancelled, "已取消"},
}

func init() {
	for _, s := range shotStates {
		shotPages = append(shotPages, shotPage{path: fmt.Sprintf("{camp:%s}", s.status), name: "campaign-" + string(s.status),
			heading: "营销活动", roles: shotOffice, shows: map[string]string{"#campaign-status": s.zh}})
	}
}

// shotWorld makes the data the pages show: a campaign in each state, a saved
// segment, a revisit and a consent change on K2's timeline. It returns the
// braces' values for the pages' paths.
func shotWorld(t *testing.T, w *world) *strings.Replacer {
	t.Helper()
	require.NoError(t, w.planner.EnsureFestivalRules(w.ctx))
	mk, ap, admin := w.signedIn(t, shotMarketer), w.signedIn(t, shotApprover), w.signedIn(t, shotAdmin)
	ok := func(r page) {
		t.Helper()
		require.Equal(t, http.StatusSeeOther, r.status, r.body)
	}
	camp := map[campaigns.Status]string{}
	create := func(st campaigns.Status, name string, form url.Values) string {
		path := createCampaign(t, mk, form)
		camp[st] = path
		return path
	}
	submitted := func(st campaigns.Status, name string) string {
		p := create(st, name, campaignForm(name))
		ok(mk.post(p+"/submit", nil))
		return p
	}
	approved := func(st campaigns.Status, name string) string {
		p := submitted(st, name)
		ok(ap.post(p+"/approve", nil))
		return p
	}
	// The completed one runs first: the others are started with the queue paused.
	done := approved(campaigns.StatusCompleted, "秋季理财推荐")
	ok(mk.post(done+"/start", nil))
	require.Eventually(t, func() bool {
		c, err := w.camps.Get(w.ctx, campaignID(t, done))
		require.NoError(t, err)
		return c.Status == campaigns.StatusCompleted
	}, 60*time.Second, 200*time.Millisecond)
	require.Eventually(t, func() bool {
		return strings.Contains(admin.getOK(w.path("/contacts/%d?kind=message.", w.cid["K1"])).body, `data-kind="message.delivered"`)
	}, 30*time.Second, 200*time.Millisecond)
	// Every queue paused: the runs started below stay where they are.
	require.NoError(t, w.river.QueuePause(w.ctx, "*", nil))

	create(campaigns.StatusDraft, "新春存款", campaignForm("新春存款"))
	submitted(campaigns.StatusSubmitted, "基金定投月")
	approved(campaigns.StatusApproved, "信用卡分期")
	rej := submitted(campaigns.StatusRejected, "高端客户沙龙")
	ok(ap.post(rej+"/reject", url.Values{"reason": {"文案需法务审核"}}))
	at := campaignForm("端午节问候")
	at.Set("kind", "at")
	at.Set("at", w.clock.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, 3).Format("2006-01-02T15:04"))
	p := create(campaigns.StatusScheduled, "", at)
	ok(mk.post(p+"/submit", nil))
	ok(ap.post(p+"/approve", nil))
	ok(mk.post(p+"/start", nil))
	run := approved(campaigns.StatusRunning, "理财到期提醒")
	ok(mk.post(run+"/start", nil))
	paused := approved(campaigns.StatusPaused, "养老金开户")
	ok(mk.post(paused+"/start", nil))
	ok(mk.post(paused+"/pause", nil))
	cancelled := approved(campaigns.StatusCancelled, "周末抽奖")
	ok(mk.post(cancelled+"/start", nil))
	ok(mk.post(cancelled+"/pause", nil))
	ok(mk.post(cancelled+"/cancel", url.Values{"reason": {"活动取消"}}))
	for _, s := range shotStates {
		c, err := w.camps.Get(w.ctx, campaignID(t, camp[s.status]))
		require.NoError(t, err)
		require.Equal(t, s.status, c.Status, "the campaign meant to be %s", s.status)
	}

	seg := mk.post(Prefix+"/segments", url.Values{"name": {"零售客户"}, "description": {"带零售标签的客户"}, "mode": {"text"}, "expr": {`"retail" in tags`}})
	ok(seg)
	lead := w.signedIn(t, shotLead)
	ok(lead.post(w.path("/contacts/%d/revisits", w.cid["K2"]), url.Values{"outcome": {"reached"}, "method": {"phone"}}))
	ok(admin.post(w.path("/contacts/%d/consents", w.cid["K2"]),
		url.Values{"channel": {"email"}, "purpose": {"marketing"}, "granted": {"false"}, "reason": {"网点办理"}}))

	pairs := []string{"{segment}", strings.TrimPrefix(strings.TrimSuffix(seg.location, "?ok=ok.saved"), Prefix)}
	for ext, id := range w.cid {
		pairs = append(pairs, "{"+ext+"}", fmt.Sprint(id))
	}
	for st, p := range camp {
		pairs = append(pairs, fmt.Sprintf("{camp:%s}", st), strings.TrimPrefix(p, Prefix))
	}
	return strings.NewReplacer(pairs...)
}

// TestBrowserScreens opens every page as each role that may, in zh-CN, at
// 1440 and 390 px: each is the page it should be (its status, its heading in
// Chinese), none scrolls sideways at 390 px, and each is kept as a PNG.
func TestBrowserScreens(t *testing.T) {
	browserCtx(t)
	w := newWorld(t, worldOpts{live: true})
	paths := shotWorld(t, w)
	dir := artifactDir(t)

	anon := w.tab(t)
	anon.zh()
	for _, size := range shotWidths {
		anon.do(chromedp.EmulateViewport(size.w, size.h))
		anon.open(Prefix + "/login")
		anon.shot(dir, "anonymous", shotPage{name: "login", heading: "登录"}, size.w)
	}

	seen := map[string]bool{}
	for _, login := range shotEveryone {
		b := w.tab(t)
		b.zh()
		b.signInZh(login)
		for _, size := range shotWidths {
			b.do(chromedp.EmulateViewport(size.w, size.h))
			for _, p := range shotPages {
				if !slices.Contains(p.roles, login) {
					continue
				}
				path := Prefix + paths.Replace(p.path)
				require.NotContains(t, path, "{", "%s: unknown name in the path", p.name)
				res, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(w.url+path))
				require.NoError(t, err, path)
				require.Equal(t, cmp.Or(p.status, 200), res.Status, "%s as %s", path, login)
				b.shot(dir, shotRoleName[login], p, size.w)
				seen[p.name] = true
			}
		}
	}
	for _, p := range shotPages {
		require.True(t, seen[p.name], "%s was opened by none of its roles", p.name)
	}
}

// zh makes the tab's console Chinese, as the language switch does.
func (b *tab) zh() {
	b.t.Helper()
	b.open(Prefix + "/lang?to=zh&next=" + url.QueryEscape(Prefix+"/login"))
	require.Equal(b.t, "zh-CN", b.eval(`document.documentElement.lang`))
}

func (b *tab) signInZh(login string) {
	b.t.Helper()
	b.who = login
	b.open(Prefix + "/login")
	b.submit("sign in as "+login,
		chromedp.SendKeys("#login", login),
		chromedp.SendKeys("#password", password),
		chromedp.Click("#signin"))
	require.False(b.t, strings.HasPrefix(b.path(), Prefix+"/login"), "signed in as %s", login)
}

// shot checks the page on screen (its heading, in Chinese; the stylesheet
// applied; the texts it must show; at a phone's width, nothing scrolls
// sideways) and saves a full-page PNG as <role>-<page>-<width>.png.
func (b *tab) shot(dir, role string, p shotPage, width int64) {
	b.t.Helper()
	what := fmt.Sprintf("%s as %s at %d px", p.name, role, width)
	require.Equal(b.t, "zh-CN", b.eval(`document.documentElement.lang`), what)
	require.Equal(b.t, p.heading, b.text("h1"), "heading of %s", what)
	require.Equal(b.t, p.status != 0, b.has(".error-page"), "%s: the error page or not", what)
	require.Equal(b.t, "rgb(21, 36, 61)", b.eval(`getComputedStyle(document.querySelector("header.top")).backgroundColor`), what)
	for sel, want := range p.shows {
		require.Equal(b.t, want, b.text(sel), "%s: %s", what, sel)
	}
	if width < 600 {
		b.fits(what)
		b.noSidewaysBoxes(what)
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err, what)
	require.Greater(b.t, len(png), 10_000, "%s: a rendered page, not a blank one", what)
	file := filepath.Join(dir, fmt.Sprintf("%s-%s-%d.png", role, p.name, width))
	require.NoError(b.t, os.WriteFile(file, png, 0o644))
	if docs := os.Getenv("CARILLON_SCREENS_DOCS"); docs != "" {
		b.docShot(docs, role, p.name, width)
	}
}

// sidewaysJS lists the boxes that scroll sideways, or stick out of the
// viewport, and are not meant to: a box may scroll when it is a <pre>, a
// <textarea> or marked data-scrolls.
const sidewaysJS = `(() => {
	const vw = window.innerWidth, out = [];
	const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\s+/).join(".") : "");
	const allowed = e => e.closest("pre, textarea, [data-scrolls]") !== null;
	const scrolls = e => { const o = getComputedStyle(e).overflowX; return o === "auto" || o === "scroll"; };
	for (const e of document.querySelectorAll("body *")) {
		if (scrolls(e) && e.scrollWidth > e.clientWidth + 1 && !allowed(e)) {
			out.push(name(e) + " scrolls: " + e.scrollWidth + " > " + e.clientWidth);
			continue;
		}
		const r = e.getBoundingClientRect();
		if (r.width === 0 || r.right <= vw + 1 || allowed(e)) continue;
		let inBox = false;
		for (let a = e.parentElement; a; a = a.parentElement) if (scrolls(a)) { inBox = true; break; }
		if (!inBox) out.push(name(e) + " sticks out: right " + Math.round(r.right) + " > " + vw);
	}
	return JSON.stringify(out.slice(0, 12));
})()`

// noSidewaysBoxes requires that nothing inside the page scrolls sideways or
// sticks out of it, except the boxes meant to scroll (sidewaysJS).
func (b *tab) noSidewaysBoxes(what string) {
	b.t.Helper()
	var bad []string
	require.NoError(b.t, json.Unmarshal([]byte(b.eval(sidewaysJS)), &bad))
	require.Empty(b.t, bad, "%s: boxes wider than the phone", what)
}

// docShots are the screens docs/console.md shows (make screenshots writes
// them): the viewport only, so each stays small.
var docShots = map[string]bool{
	"marketer-dashboard": true, "marketer-campaigns": true, "approver-campaign-submitted": true,
	"marketer-campaign-new": true, "manager-my": true, "teamlead-contact": true,
	"marketer-campaign-calendar": true, "marketer-template-new": true, "marketer-contacts": true,
}

func (b *tab) docShot(dir, role, name string, width int64) {
	b.t.Helper()
	if !docShots[role+"-"+name] {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	require.NoError(b.t, err)
	require.NoError(b.t, os.MkdirAll(dir, 0o755))
	require.NoError(b.t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s-%d.png", role, name, width)), png, 0o644))
}
