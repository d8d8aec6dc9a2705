package console_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"carillon/campaigns"
	"carillon/care"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/apptest"
	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/internal/pgtest"
	"carillon/internal/testclock"
	"carillon/internal/testlog"
	"carillon/revisits"
	"carillon/server"
	"carillon/server/edge"
	"carillon/templates"
)

// password is every test user's password.
const password = "correct horse battery"

// world is a server with every service, users of each role, two teams of
// managers and a few customers: M1 leads M1 and M2 (team east), M3 is alone
// (team south). K1 is M1's, K2 M2's, K3 M3's.
type world struct {
	ctx      context.Context
	db       *pgtest.DB
	url      string
	srv      *httptest.Server
	contacts *contacts.Store
	ids      *identity.Store
	tmpl     *templates.Store
	camps    *campaigns.Service
	river    *river.Client[pgx.Tx]
	dlv      *delivery.Service
	planner  *care.Planner
	revisits *revisits.Service
	cid      map[string]int64 // contact id by external id
	// clock is the world's one clock, every service's and River's: it starts on a
	// working Monday at 10:00 in Shanghai (testclock.Base) and runs from there.
	clock *testclock.Clock
}

type worldOpts struct {
	tls bool
	// live runs River with the deliver worker and the campaigns' workers,
	// sending SMS through the Aliyun sandbox, whose receipts come back.
	live bool
	// secondApproval is campaigns.Config.SecondApprovalAbove.
	secondApproval int64
	// proxied trusts the loopback as a proxy: tests name the client in
	// X-Forwarded-For.
	proxied bool
	// throttle configures the sign-in throttle.
	throttle edge.ThrottleConfig
}

func newWorld(t testing.TB, opts worldOpts) *world {
	t.Helper()
	clk := testclock.Running(testclock.Base())
	o := apptest.Options{Clock: clk, Run: opts.live,
		Campaigns: campaigns.Config{DrainPoll: 200 * time.Millisecond, SecondApprovalAbove: opts.secondApproval}}
	if opts.live {
		o.Providers = fmt.Sprintf(sandboxSMS, apptest.ReceiptURL("ali"))
		o.Delivery = delivery.Config{MarketingWindow: delivery.Always, ServiceWindow: delivery.Always, Backoff: time.Second}
	}
	aw := apptest.New(t, o)
	aw.SaveCampaignTemplate(t)
	ctx, store, actor := aw.Ctx, aw.Contacts, audit.Actor{Name: "test"}
	scfg := server.Config{Logger: testlog.New(t), RateLimit: -1, Now: clk.Now}
	scfg.Console.Throttle = opts.throttle
	var err error
	if opts.proxied {
		scfg.TrustedProxies, err = edge.ParseProxies([]string{"127.0.0.0/8", "::1"})
		require.NoError(t, err)
	}
	s, err := server.New(scfg, server.Deps{Pool: aw.DB.Pool, Contacts: store, River: aw.River, Auth: aw.Identity, Delivery: aw.Delivery,
		Templates: aw.Templates, Care: aw.Planner, Revisits: aw.Revisits, Campaigns: aw.Campaigns, Registry: aw.Registry})
	require.NoError(t, err)
	var ts *httptest.Server
	if opts.tls {
		ts = httptest.NewTLSServer(s.Handler())
	} else {
		ts = httptest.NewServer(s.Handler())
	}
	t.Cleanup(ts.Close)
	w := &world{ctx: ctx, db: aw.DB, url: ts.URL, srv: ts, contacts: store, ids: aw.Identity, tmpl: aw.Templates, dlv: aw.Delivery,
		planner: aw.Planner, revisits: aw.Revisits, camps: aw.Campaigns, river: aw.River, cid: map[string]int64{}, clock: clk}
	_, err = store.ImportManagers(ctx, strings.NewReader("code,name,team,lead\nM1,王芳,east,M1\nM2,李强,east,M1\nM3,赵敏,south,M3\n"),
		contacts.ImportOptions{Actor: actor, SourceName: "managers.csv"})
	require.NoError(t, err)
	rep, err := store.ImportContacts(ctx, strings.NewReader(
		"external_id,name,gender,phone,email,tier,manager,tags,birthday,consent_sms\n"+
			"K1,张伟,male,13812345671,zhang@example.com,A,M1,vip;retail,1980-05-01,yes\n"+
			"K2,王丽,female,13812345672,,B,M2,retail,1975-12-24,yes\n"+
			"K3,李娜,female,13812349999,,C,M3,,,yes\n"), contacts.ImportOptions{Actor: actor, SourceName: "contacts.csv"})
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
	for _, ext := range []string{"K1", "K2", "K3"} {
		c, err := store.GetByExternalID(ctx, ext)
		require.NoError(t, err)
		w.cid[ext] = c.ID
	}
	for _, u := range []struct {
		login, code string
		roles       []identity.Role
	}{
		{"admin", "", []identity.Role{identity.RoleAdmin}},
		{"marketer", "", []identity.Role{identity.RoleMarketer}},
		{"marketer2", "", []identity.Role{identity.RoleMarketer}},
		{"both", "", []identity.Role{identity.RoleMarketer, identity.RoleApprover}},
		{"approver", "", []identity.Role{identity.RoleApprover}},
		{"auditor", "", []identity.Role{identity.RoleAuditor}},
		{"lead", "M1", []identity.Role{identity.RoleManager}},
		{"mgr2", "M2", []identity.Role{identity.RoleManager}},
		{"mgr3", "M3", []identity.Role{identity.RoleManager}},
	} {
		_, err := aw.Identity.CreateUser(ctx, actor, identity.NewUser{Login: u.login, DisplayName: u.login, Roles: u.roles, ManagerCode: u.code, Password: password})
		require.NoError(t, err)
	}
	return w
}

// browser is an HTTP client with a cookie jar that does not follow redirects.
type browser struct {
	t    testing.TB
	w    *world
	c    *http.Client
	lang string
}

func (w *world) browser(t testing.TB) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if tr, ok := w.srv.Client().Transport.(*http.Transport); ok {
		c.Transport = tr.Clone()
		c.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // test server
	}
	return &browser{t: t, w: w, c: c, lang: "en"}
}

type page struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (b *browser) do(method, path string, form url.Values, hdr map[string]string) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.w.url+path, body)
	require.NoError(b.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	require.NoError(b.t, err)
	return page{status: res.StatusCode, body: string(data), location: res.Header.Get("Location"), header: res.Header}
}

func (b *browser) get(path string) page { b.t.Helper(); return b.do("GET", path, nil, nil) }

// getOK gets a page and requires 200.
func (b *browser) getOK(path string) page {
	b.t.Helper()
	p := b.get(path)
	require.Equal(b.t, http.StatusOK, p.status, "GET %s: %s", path, p.body)
	return p
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf reads the CSRF token from a page's forms.
func csrfOf(t testing.TB, p page) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.body)
	require.NotNil(t, m, "no csrf token in page")
	return m[1]
}

// post submits a form with the session's CSRF token (read from path's page).
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	form = cloneValues(form)
	if form.Get("csrf") == "" {
		form.Set("csrf", csrfOf(b.t, b.getOK(Prefix+"/contacts")))
	}
	return b.do("POST", path, form, nil)
}

// Prefix is the console's mount point.
const Prefix = "/console"

// signIn signs in as login and requires success.
func (b *browser) signIn(login string) {
	b.t.Helper()
	p := b.tryLogin(login, password)
	require.Equal(b.t, http.StatusSeeOther, p.status, p.body)
}

func (b *browser) tryLogin(login, pw string) page {
	b.t.Helper()
	lp := b.getOK(Prefix + "/login")
	return b.do("POST", Prefix+"/login", url.Values{"csrf": {csrfOf(b.t, lp)}, "login": {login}, "password": {pw}}, nil)
}

func (w *world) signedIn(t testing.TB, login string) *browser {
	t.Helper()
	b := w.browser(t)
	b.signIn(login)
	return b
}

func (w *world) path(format string, args ...any) string { return Prefix + fmt.Sprintf(format, args...) }

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// sandboxSMS is the Aliyun SMS sandbox behind the real adapter; its receipts
// come back to the world's hooks.
const sandboxSMS = `
[[provider]]
name = "ali"
provider = "aliyun"
endpoint = "sandbox"
key_id = "console-key"
webhook_secret_env = "HOOK"
sign_name = "示例银行"
  [provider.sandbox]
  %s
`
