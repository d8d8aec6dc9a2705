package console_test

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/delivery"
	"carillon/internal/audit"
	"carillon/server/edge"
)

func TestSignInSessionsAndSignOut(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	b := w.browser(t)

	// Not signed in: every page sends to the sign-in form, keeping the target.
	p := b.get(Prefix + "/contacts?q=K1")
	require.Equal(t, http.StatusSeeOther, p.status)
	require.Equal(t, Prefix+"/login?next="+url.QueryEscape(Prefix+"/contacts?q=K1"), p.location)

	// A wrong password and an unknown login get the same answer.
	for _, try := range [][2]string{{"marketer", "wrong password!"}, {"nobody", password}} {
		p = b.tryLogin(try[0], try[1])
		require.Equal(t, http.StatusUnauthorized, p.status)
		require.Contains(t, p.body, "Wrong login or password")
	}
	// A sign-in form without its token is refused.
	p = b.do("POST", Prefix+"/login", url.Values{"login": {"marketer"}, "password": {password}}, nil)
	require.Equal(t, http.StatusForbidden, p.status)

	lp := b.getOK(Prefix + "/login?next=" + url.QueryEscape(Prefix+"/contacts"))
	p = b.do("POST", Prefix+"/login", url.Values{"csrf": {csrfOf(t, lp)}, "login": {"Marketer"}, "password": {password},
		"next": {Prefix + "/contacts"}}, nil)
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	require.Equal(t, Prefix+"/contacts", p.location)
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == "carillon_session" {
			cookie = c
		}
	}
	require.NotNil(t, cookie)
	require.True(t, cookie.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, cookie.SameSite)
	require.False(t, cookie.Secure, "plain HTTP: not Secure")
	require.Equal(t, "/", cookie.Path, "the session also opens River UI beside the console")

	// Only the token's hash is stored.
	h := sha256.Sum256([]byte(cookie.Value))
	var n int
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT count(*) FROM console_sessions WHERE token_hash = $1 AND ended_at IS NULL`, h[:]).Scan(&n))
	require.Equal(t, 1, n)
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT count(*) FROM audit_log WHERE action = 'console.sign_in' AND object_id = 'marketer'`).Scan(&n))
	require.Equal(t, 1, n)

	// A marketer lands on the dashboard, which is theirs; the nav has no "My customers".
	home := b.getOK(Prefix + "/")
	require.Contains(t, home.body, "<h1>Dashboard</h1>")
	require.NotContains(t, home.body, `href="/console/my"`)
	require.NotContains(t, home.body, `href="/riverui/"`)

	// Sign out needs the CSRF token.
	p = b.do("POST", Prefix+"/logout", url.Values{}, nil)
	require.Equal(t, http.StatusForbidden, p.status)
	p = b.post(Prefix+"/logout", nil)
	require.Equal(t, http.StatusSeeOther, p.status)
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT count(*) FROM console_sessions WHERE token_hash = $1 AND ended_reason = 'signed_out'`, h[:]).Scan(&n))
	require.Equal(t, 1, n)

	// The old cookie no longer opens anything.
	b2 := w.browser(t)
	u, _ := url.Parse(w.url + Prefix + "/")
	b2.c.Jar.SetCookies(u, []*http.Cookie{{Name: "carillon_session", Value: cookie.Value}})
	require.Equal(t, http.StatusSeeOther, b2.get(Prefix+"/").status)
}

func TestSecureCookieOverTLS(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{tls: true})
	b := w.browser(t)
	p := b.tryLogin("admin", password)
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	found := false
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == "carillon_session" {
			found = true
			require.True(t, c.Secure)
			require.True(t, c.HttpOnly)
		}
	}
	require.True(t, found)
	// The administrator's navigation links the River UI.
	require.Contains(t, b.getOK(Prefix+"/").body, `href="/riverui/"`)
}

func TestSessionEndsWhenTheUserIsDisabled(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	b := w.signedIn(t, "approver")
	b.getOK(Prefix + "/")
	require.NoError(t, w.ids.DisableUser(w.ctx, audit.Actor{Name: "test"}, "approver"))
	p := b.get(Prefix + "/")
	require.Equal(t, http.StatusSeeOther, p.status)
	require.True(t, strings.HasPrefix(p.location, Prefix+"/login"))
	var reason string
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT ended_reason FROM console_sessions s JOIN users u ON u.id = s.user_id WHERE u.login = 'approver'`).Scan(&reason))
	require.Equal(t, "user_disabled", reason)
	// Enabling the user again does not revive the session.
	require.NoError(t, w.ids.EnableUser(w.ctx, audit.Actor{Name: "test"}, "approver"))
	require.Equal(t, http.StatusSeeOther, b.get(Prefix+"/").status)
	// A POST of a session that ended is refused, not redirected.
	require.Equal(t, http.StatusUnauthorized, b.do("POST", Prefix+"/logout", url.Values{"csrf": {"x"}}, nil).status)
}

func TestCSRFIsCheckedOnEveryPost(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	b := w.signedIn(t, "admin")
	tok := csrfOf(t, b.getOK(Prefix+"/contacts"))
	path := w.path("/contacts/%d/consents", w.cid["K1"])
	form := func(csrf string) url.Values {
		return url.Values{"csrf": {csrf}, "channel": {"sms"}, "purpose": {"marketing"}, "granted": {"false"}, "reason": {"asked by phone"}}
	}
	require.Equal(t, http.StatusForbidden, b.do("POST", path, form(""), nil).status)
	require.Equal(t, http.StatusForbidden, b.do("POST", path, form(tok+"x"), nil).status)
	// The right token from another site's page is refused too.
	require.Equal(t, http.StatusForbidden, b.do("POST", path, form(tok), map[string]string{"Origin": "https://evil.example"}).status)
	// Another session's token does not work in this one.
	other := csrfOf(t, w.signedIn(t, "admin").getOK(Prefix+"/contacts"))
	require.NotEqual(t, tok, other)
	require.Equal(t, http.StatusForbidden, b.do("POST", path, form(other), nil).status)
	var n int
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT count(*) FROM consents WHERE contact_id = $1 AND channel = 'sms' AND NOT granted`, w.cid["K1"]).Scan(&n))
	require.Zero(t, n, "no refused form changed anything")
	p := b.do("POST", path, form(tok), map[string]string{"Origin": w.url})
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT count(*) FROM consents WHERE contact_id = $1 AND channel = 'sms' AND NOT granted`, w.cid["K1"]).Scan(&n))
	require.Equal(t, 1, n)
}

func TestLanguageFollowsTheBrowserAndTheChoice(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	b := w.browser(t)
	b.lang = "zh-CN,zh;q=0.9,en;q=0.8"
	require.Contains(t, b.getOK(Prefix+"/login").body, "<h1>登录</h1>")
	b.lang = "en-GB,en;q=0.9,zh;q=0.5"
	require.Contains(t, b.getOK(Prefix+"/login").body, "<h1>Sign in</h1>")
	b.lang = "fr-FR"
	require.Contains(t, b.getOK(Prefix+"/login").body, "<h1>登录</h1>", "neither language asked: Chinese")

	b.lang = "en"
	b.signIn("admin")
	require.Contains(t, b.getOK(Prefix+"/").body, "<h1>Dashboard</h1>")
	p := b.get(Prefix + "/lang?to=zh&next=" + url.QueryEscape(Prefix+"/contacts"))
	require.Equal(t, http.StatusSeeOther, p.status)
	require.Equal(t, Prefix+"/contacts", p.location)
	require.Contains(t, b.getOK(Prefix+"/").body, "<h1>概览</h1>", "the choice outweighs Accept-Language")
	// A redirect out of the console is not followed.
	p = b.get(Prefix + "/lang?to=en&next=" + url.QueryEscape("//evil.example/"))
	require.Equal(t, Prefix+"/", p.location)
	require.Equal(t, http.StatusBadRequest, b.get(Prefix+"/lang?to=fr").status)
}

func TestNavigationFollowsRoles(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	for _, tc := range []struct {
		login      string
		home       string
		has, hasnt []string
	}{
		{"admin", Prefix + "/", []string{"/console/contacts", "/console/templates", "/console/calendar", "/riverui/"}, []string{`href="/console/my"`}},
		{"auditor", Prefix + "/", []string{"/console/contacts", "/console/templates"}, []string{"/riverui/", `href="/console/my"`}},
		{"lead", Prefix + "/my", []string{"/console/contacts", `href="/console/my"`}, []string{"/console/templates", "/riverui/", "nav.dashboard"}},
	} {
		b := w.browser(t)
		p := b.tryLogin(tc.login, password)
		require.Equal(t, tc.home, p.location, tc.login)
		body := b.getOK(Prefix + "/calendar").body
		for _, s := range tc.has {
			require.Contains(t, body, s, tc.login)
		}
		for _, s := range tc.hasnt {
			require.NotContains(t, body, s, tc.login)
		}
	}
	// A manager has no dashboard: it sends them to their own page.
	b := w.signedIn(t, "mgr2")
	p := b.get(Prefix + "/")
	require.Equal(t, http.StatusSeeOther, p.status)
	require.Equal(t, Prefix+"/my", p.location)
	// The templates pages are forbidden to a manager, not merely hidden.
	require.Equal(t, http.StatusForbidden, b.get(Prefix+"/templates").status)
}

func TestSignInIsThrottledAfterFailures(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	b := w.browser(t)
	for i := range edge.DefaultFreeFailures + 1 {
		require.Equal(t, http.StatusUnauthorized, b.tryLogin("auditor", fmt.Sprintf("wrong password %d", i)).status)
	}
	// The right password is refused too, from this address, until the lock ends.
	p := b.tryLogin("auditor", password)
	require.Equal(t, http.StatusTooManyRequests, p.status)
	require.Contains(t, p.body, "Too many failed sign-ins")
	require.NotEmpty(t, p.header.Get("Retry-After"))
	var n int
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT count(*) FROM console_sessions`).Scan(&n))
	require.Zero(t, n)
}

// An attacker who guesses a user's password from one address locks out only
// that (login, address) pair: the user signs in from elsewhere, and other users
// behind the attacker's address are not refused. The lockout is audited.
func TestSignInThrottleDoesNotLockVictimsOut(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{proxied: true})
	from := func(addr string) map[string]string { return map[string]string{"X-Forwarded-For": addr} }
	try := func(b *browser, addr, login, pw string) page {
		b.t.Helper()
		lp := b.do("GET", Prefix+"/login", nil, from(addr))
		return b.do("POST", Prefix+"/login", url.Values{"csrf": {csrfOf(b.t, lp)}, "login": {login}, "password": {pw}}, from(addr))
	}
	attacker := w.browser(t)
	codes := map[int]int{}
	for i := range 10 {
		codes[try(attacker, "203.0.113.5", "auditor", fmt.Sprintf("guess %d", i)).status]++
	}
	require.Equal(t, map[int]int{http.StatusUnauthorized: edge.DefaultFreeFailures + 1, http.StatusTooManyRequests: 10 - edge.DefaultFreeFailures - 1}, codes)
	require.Equal(t, http.StatusTooManyRequests, try(attacker, "203.0.113.5", "auditor", password).status, "the pair stays locked")

	// The victim, from their own address, signs in.
	victim := w.browser(t)
	require.Equal(t, http.StatusSeeOther, try(victim, "198.51.100.7", "auditor", password).status)
	// A colleague behind the attacker's address (one office, one proxy) too.
	colleague := w.browser(t)
	require.Equal(t, http.StatusSeeOther, try(colleague, "203.0.113.5", "marketer", password).status)

	// Without trust, X-Forwarded-For does not let the attacker pose as new addresses:
	// the audit row names the address the proxy reported.
	recs, _, err := audit.List(w.ctx, w.db.Pool, audit.Filter{Action: "console.sign_in_locked"})
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	last := recs[len(recs)-1]
	require.Equal(t, "auditor", last.ObjectID)
	require.Equal(t, "203.0.113.5", last.RemoteAddr)
	require.Equal(t, "anonymous", last.Actor)
	require.Contains(t, string(last.Changes), `"locked_seconds": 60`)
	require.NotContains(t, string(last.Changes), "guess", "no password in the audit log")
}

// The loopback is not a trusted proxy by default: a client that names other
// addresses in X-Forwarded-For is still one address.
func TestSignInThrottleIgnoresForwardedForFromUntrustedPeers(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	b := w.browser(t)
	codes := map[int]int{}
	for i := range edge.DefaultFreeFailures + 3 {
		lp := b.getOK(Prefix + "/login")
		p := b.do("POST", Prefix+"/login", url.Values{"csrf": {csrfOf(t, lp)}, "login": {"auditor"}, "password": {"guess"}},
			map[string]string{"X-Forwarded-For": fmt.Sprintf("198.51.100.%d", i)})
		codes[p.status]++
	}
	require.Equal(t, 2, codes[http.StatusTooManyRequests])
}

// Many addresses failing for one login slow its sign-ins down but never refuse
// the right password.
func TestSignInThrottleDelaysALoginUnderAttackFromManyAddresses(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{proxied: true, throttle: edge.ThrottleConfig{LoginFreeFailures: 3, LoginDelay: time.Millisecond, LoginMaxDelay: 5 * time.Millisecond}})
	b := w.browser(t)
	for i := range 6 {
		hdr := map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i+1)}
		lp := b.do("GET", Prefix+"/login", nil, hdr)
		p := b.do("POST", Prefix+"/login", url.Values{"csrf": {csrfOf(t, lp)}, "login": {"auditor"}, "password": {"guess"}}, hdr)
		require.Equal(t, http.StatusUnauthorized, p.status, "attempt %d is delayed, not refused", i)
	}
	recs, _, err := audit.List(w.ctx, w.db.Pool, audit.Filter{Action: "console.sign_in_locked"})
	require.NoError(t, err)
	require.Len(t, recs, 1, "the login's delay is audited once")
	require.Contains(t, string(recs[0].Changes), `"login_delayed": true`)
	hdr := map[string]string{"X-Forwarded-For": "198.51.100.7"}
	lp := b.do("GET", Prefix+"/login", nil, hdr)
	p := b.do("POST", Prefix+"/login", url.Values{"csrf": {csrfOf(t, lp)}, "login": {"auditor"}, "password": {password}}, hdr)
	require.Equal(t, http.StatusSeeOther, p.status)
}

func TestBehindAProxy(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	b := w.browser(t)
	lp := b.getOK(Prefix + "/login")
	hdr := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "care.bank.example", "Origin": "https://care.bank.example"}
	p := b.do("POST", Prefix+"/login", url.Values{"csrf": {csrfOf(t, lp)}, "login": {"admin"}, "password": {password}}, hdr)
	require.Equal(t, http.StatusSeeOther, p.status, p.body)
	var secure bool
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == "carillon_session" {
			secure = c.Secure
		}
	}
	require.True(t, secure, "the proxy ended TLS: the cookie is Secure")
}

// "Origin: null" (a sandboxed frame, a data: URL) names no site: it is not
// this one, for the sign-in form and for a signed-in page's form alike.
func TestOriginNullIsRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	b := w.browser(t)
	lp := b.getOK(Prefix + "/login")
	p := b.do("POST", Prefix+"/login", url.Values{"csrf": {csrfOf(t, lp)}, "login": {"admin"}, "password": {password}}, map[string]string{"Origin": "null"})
	require.Equal(t, http.StatusForbidden, p.status)
	b.signIn("admin")
	csrf := csrfOf(t, b.getOK(Prefix+"/contacts"))
	p = b.do("POST", Prefix+"/logout", url.Values{"csrf": {csrf}}, map[string]string{"Origin": "null"})
	require.Equal(t, http.StatusForbidden, p.status)
	p = b.do("POST", Prefix+"/logout", url.Values{"csrf": {csrf}}, map[string]string{"Origin": w.url})
	require.Equal(t, http.StatusSeeOther, p.status, "this site's origin still passes")
}

// Over TLS every answer carries HSTS; over plain HTTP none does.
func TestHSTSOverTLS(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{true, false} {
		w := newWorld(t, worldOpts{tls: tls})
		b := w.browser(t)
		for _, path := range []string{Prefix + "/login", "/api/me", "/riverui/"} {
			p := b.get(path)
			if tls {
				require.Equal(t, edge.HSTS, p.header.Get("Strict-Transport-Security"), path)
			} else {
				require.Empty(t, p.header.Get("Strict-Transport-Security"), path)
			}
		}
	}
}

// The unsubscribe page (a real link) may not be framed.
func TestUnsubscribePageHasACSP(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	tok := w.dlv.Links().Token(delivery.LinkUnsubscribe, 1)
	p := w.browser(t).get("/u/" + tok)
	require.Contains(t, p.header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	require.Equal(t, "DENY", p.header.Get("X-Frame-Options"))
}
