package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"carillon/contacts"
	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/internal/identity/identitytest"
	"carillon/internal/pgtest"
	"carillon/internal/testclock"
	"carillon/internal/testlog"
	"carillon/server"
	"carillon/server/console"
)

const approversDN = "cn=carillon-approvers,ou=groups,dc=bank,dc=example"

type ssoWorld struct {
	*world
	idp *identitytest.Provider
}

type ssoOpts struct {
	oidc           bool
	ldap           *identitytest.Directory
	localPasswords *bool
	breakGlass     []string
	ldapBindPass   string // overrides the directory's service password
}

// newSSOWorld is a server whose identity is the sign-in policy: OIDC against a
// provider started for the test, LDAP against a slapd when given.
func newSSOWorld(t *testing.T, opts ssoOpts) *ssoWorld {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	log := testlog.New(t)
	clk := testclock.Running(testclock.Base())
	store, err := contacts.NewStore(db.Pool, contacts.Config{Logger: log, Now: clk.Now})
	require.NoError(t, err)
	_, err = store.ImportManagers(ctx, strings.NewReader("code,name,team,lead\nM1,王芳,east,M1\n"),
		contacts.ImportOptions{Actor: audit.Actor{Name: "test"}, SourceName: "managers.csv"})
	require.NoError(t, err)
	ids, err := identity.NewStore(db.Pool, identity.Config{Logger: log, Now: clk.Now})
	require.NoError(t, err)
	_, err = ids.CreateUser(ctx, audit.Actor{Name: "test"}, identity.NewUser{Login: "admin", DisplayName: "admin",
		Roles: []identity.Role{identity.RoleAdmin}, Password: password})
	require.NoError(t, err)

	var h http.Handler = http.NotFoundHandler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	cfg := identity.SignInConfig{LocalPasswords: opts.localPasswords, BreakGlass: opts.breakGlass,
		RoleMap: identity.RoleMap{Rules: []identity.RoleRule{
			{Group: approversDN, Role: identity.RoleApprover},
			{Group: "carillon-managers", Role: identity.RoleManager},
		}}}
	sw := &ssoWorld{}
	if opts.oidc {
		sw.idp = identitytest.NewProvider(t, "carillon", "client-secret", clk.Now)
		o, err := identity.NewOIDC(identity.OIDCConfig{Name: "Bank SSO", NameZh: "行内统一认证", Issuer: sw.idp.URL, ClientID: "carillon",
			ClientSecret: "client-secret", RedirectURL: ts.URL + "/console/oidc/callback", ManagerCodeClaim: "manager_code",
			HTTPClient: sw.idp.Client(), Now: clk.Now, Logger: log})
		require.NoError(t, err)
		cfg.OIDC = o
	}
	if opts.ldap != nil {
		pass := opts.ldap.BindPassword
		if opts.ldapBindPass != "" {
			pass = opts.ldapBindPass
		}
		l, err := identity.NewLDAP(identity.LDAPConfig{URL: opts.ldap.URL, BindDN: opts.ldap.BindDN, BindPassword: pass,
			BaseDN: opts.ldap.UsersDN, GroupBaseDN: opts.ldap.GroupsDN, Logger: log})
		require.NoError(t, err)
		cfg.LDAP = l
	}
	si, err := identity.NewSignIn(ids, cfg)
	require.NoError(t, err)
	s, err := server.New(server.Config{Logger: log, RateLimit: -1, Now: clk.Now}, server.Deps{Pool: db.Pool, Contacts: store, Auth: si})
	require.NoError(t, err)
	h = s.Handler()
	sw.world = &world{ctx: ctx, db: db, url: ts.URL, srv: ts, contacts: store, ids: ids, clock: clk, cid: map[string]int64{}}
	return sw
}

// oidcTo starts an OIDC sign-in in b and lets the provider answer: it returns
// the callback path (with code and state) the provider sent the browser to.
func (w *ssoWorld) oidcTo(t *testing.T, b *browser, next string) string {
	t.Helper()
	start := Prefix + "/oidc/start"
	if next != "" {
		start += "?next=" + url.QueryEscape(next)
	}
	p := b.get(start)
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	require.True(t, strings.HasPrefix(p.location, w.idp.URL+"/authorize?"), p.location)
	res, err := b.c.Get(p.location)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusFound, res.StatusCode)
	back, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, w.url+Prefix+"/oidc/callback", back.Scheme+"://"+back.Host+back.Path)
	return back.RequestURI()
}

func TestOIDCSignInThroughTheConsole(t *testing.T) {
	t.Parallel()
	w := newSSOWorld(t, ssoOpts{oidc: true})
	b := w.browser(t)

	// The sign-in page offers the provider, in both languages.
	lp := b.getOK(Prefix + "/login")
	require.Contains(t, lp.body, `id="signin-oidc"`)
	require.Contains(t, lp.body, "Sign in with Bank SSO")
	require.Contains(t, lp.body, `id="login-form"`, "local passwords are on by default")
	b.lang = "zh"
	require.Contains(t, b.getOK(Prefix+"/login").body, "使用行内统一认证登录")
	b.lang = "en"

	w.idp.SignInAs(map[string]any{"sub": "s-1", "preferred_username": "wang.fang", "name": "王芳", "groups": []any{approversDN}})
	cb := w.oidcTo(t, b, Prefix+"/contacts")
	p := b.get(cb)
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	require.Equal(t, Prefix+"/contacts", p.location)
	home := b.getOK(Prefix + "/contacts")
	require.Contains(t, home.body, "王芳 (approver)")
	var method string
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT changes->>'method' FROM audit_log WHERE action = 'console.sign_in' AND object_id = 'wang.fang'`).Scan(&method))
	require.Equal(t, "oidc", method)

	// The state is single use: the same callback again is refused.
	again := w.browser(t)
	p = again.get(cb)
	require.Equal(t, http.StatusBadRequest, p.status)
	require.Contains(t, p.body, "expired or was already used")
	p = b.get(cb)
	require.Equal(t, http.StatusBadRequest, p.status)

	// A state started in one browser does not sign in another (login CSRF), and
	// is spent by the try.
	victim, attacker := w.browser(t), w.browser(t)
	cb = w.oidcTo(t, attacker, "")
	p = victim.get(cb)
	require.Equal(t, http.StatusBadRequest, p.status)
	p = attacker.get(cb)
	require.Equal(t, http.StatusBadRequest, p.status, "the state was used up by the refused try")

	// A sign-in left for longer than OIDCLoginTTL (by the world's clock) is refused.
	slow := w.browser(t)
	cb = w.oidcTo(t, slow, "")
	w.clock.Advance(11 * time.Minute)
	p = slow.get(cb)
	require.Equal(t, http.StatusBadRequest, p.status)

	// A callback with no state, or a state never issued.
	require.Equal(t, http.StatusBadRequest, w.browser(t).get(Prefix+"/oidc/callback?code=x").status)
	require.Equal(t, http.StatusBadRequest, w.browser(t).get(Prefix+"/oidc/callback?code=x&state=forged").status)

	// The provider's refusal comes back as an error parameter.
	quit := w.browser(t)
	cb = w.oidcTo(t, quit, "")
	u, _ := url.Parse(cb)
	qv := u.Query()
	qv.Del("code")
	qv.Set("error", "access_denied")
	p = quit.get(u.Path + "?" + qv.Encode())
	require.Equal(t, http.StatusUnauthorized, p.status)
	require.Contains(t, p.body, "did not succeed")

	// A person whose groups map to no role is told so, and has no session.
	w.idp.SignInAs(map[string]any{"sub": "s-2", "preferred_username": "li.qiang", "groups": []any{"elsewhere"}})
	none := w.browser(t)
	p = none.get(w.oidcTo(t, none, ""))
	require.Equal(t, http.StatusForbidden, p.status)
	require.Contains(t, p.body, "none of your groups gives a role")
	require.Equal(t, http.StatusSeeOther, none.get(Prefix+"/contacts").status, "not signed in")

	// One address may keep only so many sign-ins under way.
	w.clock.Advance(11 * time.Minute) // the earlier ones expire
	flood := w.browser(t)
	for range console.MaxOIDCLoginsPerAddr {
		require.Equal(t, http.StatusSeeOther, flood.get(Prefix+"/oidc/start").status)
	}
	p = flood.get(Prefix + "/oidc/start")
	require.Equal(t, http.StatusTooManyRequests, p.status)
	require.Contains(t, p.body, "Too many sign-ins")
	w.clock.Advance(11 * time.Minute)

	// A bad ID token (wrong audience) never becomes a session.
	w.idp.SignInAs(map[string]any{"sub": "s-3", "preferred_username": "zhao.min", "groups": []any{approversDN}})
	w.idp.Tamper(func(c map[string]any) { c["aud"] = "someone-else" })
	bad := w.browser(t)
	p = bad.get(w.oidcTo(t, bad, ""))
	require.Equal(t, http.StatusUnauthorized, p.status)
	_, err := w.ids.GetUser(w.ctx, "zhao.min")
	require.ErrorIs(t, err, identity.ErrNotFound)
}

func TestOIDCRoutesAreAbsentWithoutOIDC(t *testing.T) {
	t.Parallel()
	w := newSSOWorld(t, ssoOpts{})
	b := w.browser(t)
	require.Equal(t, http.StatusNotFound, b.get(Prefix+"/oidc/start").status)
	require.Equal(t, http.StatusNotFound, b.get(Prefix+"/oidc/callback?state=x&code=y").status)
	require.NotContains(t, b.getOK(Prefix+"/login").body, "signin-oidc")
}

func TestLocalPasswordsOffInTheConsole(t *testing.T) {
	t.Parallel()
	off := false
	w := newSSOWorld(t, ssoOpts{oidc: true, localPasswords: &off})
	b := w.browser(t)
	lp := b.getOK(Prefix + "/login")
	require.Contains(t, lp.body, "signin-oidc")
	require.NotContains(t, lp.body, `id="login-form"`, "no password form without LDAP or a break-glass login")
	p := b.tryLoginAnyway("admin", password)
	require.Equal(t, http.StatusUnauthorized, p.status)

	// With a break-glass login the form is there, labelled for the emergency.
	w = newSSOWorld(t, ssoOpts{oidc: true, localPasswords: &off, breakGlass: []string{"admin"}})
	b = w.browser(t)
	lp = b.getOK(Prefix + "/login")
	require.Contains(t, lp.body, "emergency administrator")
	b.signIn("admin")
}

// tryLoginAnyway posts the password form even when the page does not show it
// (the sign-in form's token comes from the cookie the page set).
func (b *browser) tryLoginAnyway(login, pw string) page {
	b.t.Helper()
	b.getOK(Prefix + "/login")
	u, _ := url.Parse(b.w.url + Prefix + "/")
	var tok string
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "carillon_login" {
			tok = c.Value
		}
	}
	require.NotEmpty(b.t, tok)
	return b.do("POST", Prefix+"/login", url.Values{"csrf": {tok}, "login": {login}, "password": {pw}}, nil)
}

func TestLDAPSignInThroughTheConsoleForm(t *testing.T) {
	t.Parallel()
	dir := identitytest.StartSlapd(t, identitytest.Person("zhao.min", "赵敏", "zhao-min-directory-pass", "")+
		identitytest.Group("carillon-approvers", "zhao.min"))
	w := newSSOWorld(t, ssoOpts{ldap: dir})
	b := w.browser(t)
	lp := b.getOK(Prefix + "/login")
	require.Contains(t, lp.body, "Directory username")
	require.Contains(t, lp.body, "directory (LDAP) account")
	require.Equal(t, http.StatusUnauthorized, b.tryLogin("zhao.min", "wrong-password").status)
	p := b.tryLogin("zhao.min", "zhao-min-directory-pass")
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	require.Contains(t, b.getOK(Prefix+"/contacts").body, "赵敏 (approver)")
	// The local administrator still signs in with the form (local passwords on).
	w.browser(t).signIn("admin")

	// A directory that refuses the service account: the form says so (503), and
	// no one is signed in.
	w = newSSOWorld(t, ssoOpts{ldap: dir, ldapBindPass: "not-the-service-password"})
	b = w.browser(t)
	p = b.tryLogin("zhao.min", "zhao-min-directory-pass")
	require.Equal(t, http.StatusServiceUnavailable, p.status)
	require.Contains(t, p.body, "directory cannot be reached")
	require.NotContains(t, p.body, "not-the-service-password")
}

// TestBrowserSignsInWithOIDC: Chromium clicks "Sign in with Bank SSO", goes
// through the provider and lands signed in.
func TestBrowserSignsInWithOIDC(t *testing.T) {
	t.Parallel()
	w := newSSOWorld(t, ssoOpts{oidc: true})
	w.idp.SignInAs(map[string]any{"sub": "s-9", "preferred_username": "wang.fang", "name": "王芳", "groups": []any{approversDN}})
	tb := w.tab(t)
	tb.open(Prefix + "/login")
	tb.screenshot("login-sso", "Sign in")
	require.Equal(t, "Sign in with Bank SSO", tb.text("#signin-oidc"))
	require.True(t, tb.has("#login-form"))
	tb.submit("sign in with SSO", chromedp.Click("#signin-oidc"))
	tb.who = "wang.fang"
	require.False(t, strings.HasPrefix(tb.path(), Prefix+"/login"), tb.path())
	require.Contains(t, tb.text("header .who"), "王芳 (approver)")
	tb.screenshot("signed-in", tb.text("h1"))
}
