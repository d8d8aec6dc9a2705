package identity_test

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"

	"carillon/internal/identity"
	"carillon/internal/identity/identitytest"
)

const (
	approversGroup = "cn=carillon-approvers,ou=groups,dc=bank,dc=example"
	managersGroup  = "cn=carillon-managers,ou=groups,dc=bank,dc=example"
)

var roleMap = identity.RoleMap{Rules: []identity.RoleRule{
	{Group: approversGroup, Role: identity.RoleApprover},
	{Group: managersGroup, Role: identity.RoleManager},
	{Group: "carillon-auditors", Role: identity.RoleAuditor},
}}

func random(t *testing.T) string {
	t.Helper()
	var b [32]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

type oidcWorld struct {
	*bundle
	provider *identity.OIDC
	idp      *identitytest.Provider
	signIn   *identity.SignIn
}

func setupOIDC(t *testing.T) *oidcWorld {
	t.Helper()
	b := setup(t)
	idp := identitytest.NewProvider(t, "carillon", "client-secret", b.clock.Now)
	o, err := identity.NewOIDC(identity.OIDCConfig{Name: "Bank SSO", NameZh: "行内统一认证", Issuer: idp.URL, ClientID: "carillon",
		ClientSecret: "client-secret", RedirectURL: "https://carillon.bank.example/console/oidc/callback",
		ManagerCodeClaim: "manager_code", HTTPClient: idp.Client(), Now: b.clock.Now})
	require.NoError(t, err)
	si, err := identity.NewSignIn(b.store, identity.SignInConfig{OIDC: o, RoleMap: roleMap})
	require.NoError(t, err)
	return &oidcWorld{bundle: b, provider: o, idp: idp, signIn: si}
}

// authorize runs the browser's part: it opens the authorization URL and
// returns the code the provider redirects back with, checking the state.
func (w *oidcWorld) authorize(t *testing.T, state, nonce, verifier string) string {
	t.Helper()
	u, err := w.signIn.OIDCAuthURL(w.ctx, state, nonce, verifier)
	require.NoError(t, err)
	hc := w.idp.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(u)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	back, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, state, back.Query().Get("state"))
	return back.Query().Get("code")
}

func TestOIDCSignInProvisionsTheUserAndRefreshesRolesEachTime(t *testing.T) {
	t.Parallel()
	w := setupOIDC(t)
	w.idp.SignInAs(map[string]any{"sub": "u-1001", "preferred_username": "Wang.Fang", "name": "王芳",
		"groups": []any{approversGroup, managersGroup}, "manager_code": "M1"})
	state, nonce, verifier := random(t), random(t), random(t)
	code := w.authorize(t, state, nonce, verifier)

	// The authorization request carries PKCE S256, the nonce and the state.
	az := w.idp.Authorizations()
	require.Len(t, az, 1)
	require.Equal(t, "S256", az[0].Get("code_challenge_method"))
	require.NotEmpty(t, az[0].Get("code_challenge"))
	require.NotEqual(t, verifier, az[0].Get("code_challenge"))
	require.Equal(t, nonce, az[0].Get("nonce"))
	require.Contains(t, az[0].Get("scope"), "openid")

	p, err := w.signIn.OIDCSignIn(w.ctx, code, verifier, nonce)
	require.NoError(t, err)
	require.Equal(t, "wang.fang", p.User.Login)
	require.Equal(t, "王芳", p.User.DisplayName)
	require.Equal(t, []identity.Role{identity.RoleApprover, identity.RoleManager}, p.User.Roles)
	require.Equal(t, "M1", p.User.ManagerCode)
	require.Equal(t, []int64{w.managerID(t, "M1"), w.managerID(t, "M2"), w.managerID(t, "M3")}, p.ManagerIDs)

	var source, extID string
	var hash *string
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT source, external_id, password_hash FROM users WHERE login = 'wang.fang'`).Scan(&source, &extID, &hash))
	require.Equal(t, "oidc", source)
	require.Equal(t, w.idp.URL+"|u-1001", extID)
	require.Nil(t, hash)
	// A provisioned user cannot sign in with a password.
	_, err = w.signIn.CheckPassword(w.ctx, "wang.fang", "any long password at all")
	require.ErrorIs(t, err, identity.ErrUnauthenticated)

	// The code is single use at the provider.
	_, err = w.signIn.OIDCSignIn(w.ctx, code, verifier, nonce)
	require.ErrorIs(t, err, identity.ErrUnauthenticated)

	// Next sign-in: the directory moved them out of the approvers; the role goes.
	w.idp.SignInAs(map[string]any{"sub": "u-1001", "preferred_username": "wang.fang", "name": "王芳",
		"groups": []any{"carillon-auditors"}})
	state, nonce, verifier = random(t), random(t), random(t)
	p, err = w.signIn.OIDCSignIn(w.ctx, w.authorize(t, state, nonce, verifier), verifier, nonce)
	require.NoError(t, err)
	require.Equal(t, []identity.Role{identity.RoleAuditor}, p.User.Roles)
	var n int
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT count(*) FROM audit_log WHERE action = 'user.sync' AND object_id = 'wang.fang'
		AND actor = 'oidc:wang.fang' AND auth = 'oidc'`).Scan(&n))
	require.Equal(t, 1, n)

	// No group maps to a role: refused, and the roles held are taken away.
	w.idp.SignInAs(map[string]any{"sub": "u-1001", "preferred_username": "wang.fang", "groups": []any{"somewhere-else"}})
	state, nonce, verifier = random(t), random(t), random(t)
	_, err = w.signIn.OIDCSignIn(w.ctx, w.authorize(t, state, nonce, verifier), verifier, nonce)
	require.ErrorIs(t, err, identity.ErrNoRole)
	u, err := w.store.GetUser(w.ctx, "wang.fang")
	require.NoError(t, err)
	require.Empty(t, u.Roles)

	// A user disabled in Carillon stays out, whatever the directory says.
	require.NoError(t, w.store.DisableUser(w.ctx, w.actor, "wang.fang"))
	w.idp.SignInAs(map[string]any{"sub": "u-1001", "preferred_username": "wang.fang", "groups": []any{approversGroup}})
	state, nonce, verifier = random(t), random(t), random(t)
	_, err = w.signIn.OIDCSignIn(w.ctx, w.authorize(t, state, nonce, verifier), verifier, nonce)
	require.ErrorIs(t, err, identity.ErrUnauthenticated)
}

func TestOIDCRefusesTokensThatDoNotProveWhoSignedIn(t *testing.T) {
	t.Parallel()
	w := setupOIDC(t)
	person := map[string]any{"sub": "u-7", "preferred_username": "li.qiang", "groups": []any{approversGroup}}
	for _, tc := range []struct {
		name   string
		before func()
		// verifier and nonce sent to the exchange, when not the flow's
		verifier, nonce string
		want            error
	}{
		{name: "wrong audience", before: func() { w.idp.Tamper(func(c map[string]any) { c["aud"] = "another-client" }) }, want: identity.ErrBadIDToken},
		{name: "wrong issuer", before: func() { w.idp.Tamper(func(c map[string]any) { c["iss"] = "https://evil.example" }) }, want: identity.ErrBadIDToken},
		{name: "expired by the injected clock", before: func() {
			w.idp.Tamper(func(c map[string]any) { c["exp"] = w.clock.Now().Add(-time.Second).Unix() })
		}, want: identity.ErrBadIDToken},
		{name: "nonce of another sign-in", nonce: "another-nonce-another-nonce-another-nonce", want: identity.ErrBadIDToken},
		{name: "nonce missing from the token", before: func() { w.idp.Tamper(func(c map[string]any) { delete(c, "nonce") }) }, want: identity.ErrBadIDToken},
		{name: "signed by a key not in the JWKS", before: func() { w.idp.SignWithUnpublishedKey(true) }, want: identity.ErrBadIDToken},
		{name: "several audiences, not issued to us", before: func() {
			w.idp.Tamper(func(c map[string]any) { c["aud"] = []string{"carillon", "other"}; c["azp"] = "other" })
		}, want: identity.ErrBadIDToken},
		{name: "wrong PKCE verifier", verifier: random(t), want: identity.ErrUnauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.idp.Tamper(nil)
			w.idp.SignWithUnpublishedKey(false)
			w.idp.SignInAs(person)
			if tc.before != nil {
				tc.before()
			}
			state, nonce, verifier := random(t), random(t), random(t)
			code := w.authorize(t, state, nonce, verifier)
			if tc.verifier != "" {
				verifier = tc.verifier
			}
			if tc.nonce != "" {
				nonce = tc.nonce
			}
			_, err := w.signIn.OIDCSignIn(w.ctx, code, verifier, nonce)
			require.ErrorIs(t, err, tc.want)
			_, err = w.store.GetUser(w.ctx, "li.qiang")
			require.ErrorIs(t, err, identity.ErrNotFound, "nobody is provisioned from a refused token")
		})
	}
	// The clock that judges expiry is the injected one, not the machine's (whose
	// date is far from the test world's: every token here would be expired or
	// not yet valid by it): a token valid for one more minute of the test clock
	// is refused once that clock moves two minutes on.
	w.idp.SignWithUnpublishedKey(false)
	exp := w.clock.Now().Add(time.Minute).Unix()
	w.idp.Tamper(func(c map[string]any) { c["exp"] = exp })
	state, nonce, verifier := random(t), random(t), random(t)
	code := w.authorize(t, state, nonce, verifier)
	w.clock.Advance(2 * time.Minute)
	_, err := w.signIn.OIDCSignIn(w.ctx, code, verifier, nonce)
	require.ErrorIs(t, err, identity.ErrBadIDToken)
	// And the same flow on time signs in.
	w.idp.Tamper(nil)
	state, nonce, verifier = random(t), random(t), random(t)
	p, err := w.signIn.OIDCSignIn(w.ctx, w.authorize(t, state, nonce, verifier), verifier, nonce)
	require.NoError(t, err)
	require.Equal(t, "li.qiang", p.User.Login)
}

func TestADirectoryCannotTakeOverALocalUser(t *testing.T) {
	t.Parallel()
	w := setupOIDC(t)
	_, err := w.store.CreateUser(w.ctx, w.actor, identity.NewUser{Login: "root-admin", DisplayName: "Root", Roles: []identity.Role{identity.RoleAdmin},
		Password: "a very long local password"})
	require.NoError(t, err)
	w.idp.SignInAs(map[string]any{"sub": "attacker", "preferred_username": "root-admin", "groups": []any{approversGroup}})
	state, nonce, verifier := random(t), random(t), random(t)
	_, err = w.signIn.OIDCSignIn(w.ctx, w.authorize(t, state, nonce, verifier), verifier, nonce)
	require.ErrorIs(t, err, identity.ErrLoginTaken)
	u, err := w.store.GetUser(w.ctx, "root-admin")
	require.NoError(t, err)
	require.Equal(t, []identity.Role{identity.RoleAdmin}, u.Roles)
}

func TestLocalPasswordsOffLeavesOnlyTheBreakGlassAdmin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, l := range []string{"root-admin", "alice"} {
		_, err := b.store.CreateUser(b.ctx, b.actor, identity.NewUser{Login: l, DisplayName: l, Roles: []identity.Role{identity.RoleAdmin},
			Password: "a very long local password"})
		require.NoError(t, err)
	}
	off := false
	si, err := identity.NewSignIn(b.store, identity.SignInConfig{LocalPasswords: &off, BreakGlass: []string{"Root-Admin"}})
	require.NoError(t, err)
	_, err = si.CheckPassword(b.ctx, "alice", "a very long local password")
	require.ErrorIs(t, err, identity.ErrUnauthenticated)
	p, err := si.CheckPassword(b.ctx, "root-admin", "a very long local password")
	require.NoError(t, err)
	require.Equal(t, "root-admin", p.Login())
	_, err = si.CheckPassword(b.ctx, "root-admin", "wrong password, long enough")
	require.ErrorIs(t, err, identity.ErrUnauthenticated)
	m := si.SignInMethods()
	require.True(t, m.Password)
	require.True(t, m.LocalOnlyBreakGlass)

	// With local passwords on (the default), alice signs in.
	on, err := identity.NewSignIn(b.store, identity.SignInConfig{})
	require.NoError(t, err)
	_, err = on.CheckPassword(b.ctx, "alice", "a very long local password")
	require.NoError(t, err)
	// Tokens still authenticate through the policy.
	secret, _ := b.token(t, "alice")
	_, err = si.Authenticate(b.ctx, secret)
	require.NoError(t, err)
}

func setupLDAP(t *testing.T) (*bundle, *identitytest.Directory, *identity.SignIn) {
	t.Helper()
	dir := identitytest.StartSlapd(t,
		identitytest.Person("zhao.min", "赵敏", "zhao-min-directory-pass", "M3")+
			identitytest.Person("chen.jie", "陈杰", "chen-jie-directory-pass", "")+
			identitytest.Person("wang.fang", "王芳", "wang-fang-directory-pass", "")+
			identitytest.Group("carillon-approvers", "zhao.min")+
			identitytest.Group("carillon-managers", "zhao.min"))
	b := setup(t)
	l, err := identity.NewLDAP(identity.LDAPConfig{URL: dir.URL, BindDN: dir.BindDN, BindPassword: dir.BindPassword, BaseDN: dir.UsersDN,
		GroupBaseDN: dir.GroupsDN, ManagerCodeAttribute: "employeeNumber", Timeout: 5 * time.Second})
	require.NoError(t, err)
	si, err := identity.NewSignIn(b.store, identity.SignInConfig{LDAP: l, RoleMap: roleMap})
	require.NoError(t, err)
	return b, dir, si
}

func TestLDAPSignInBindsAsTheUserFoundByTheServiceAccount(t *testing.T) {
	t.Parallel()
	b, _, si := setupLDAP(t)
	p, err := si.CheckPassword(b.ctx, "zhao.min", "zhao-min-directory-pass")
	require.NoError(t, err)
	require.Equal(t, "zhao.min", p.User.Login)
	require.Equal(t, "赵敏", p.User.DisplayName)
	require.Equal(t, []identity.Role{identity.RoleApprover, identity.RoleManager}, p.User.Roles)
	require.Equal(t, "M3", p.User.ManagerCode)
	var source, extID string
	var hash *string
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT source, external_id, password_hash FROM users WHERE login = 'zhao.min'`).Scan(&source, &extID, &hash))
	require.Equal(t, "ldap", source)
	require.Equal(t, "uid=zhao.min,ou=people,dc=bank,dc=example", extID)
	require.Nil(t, hash, "the directory password is never stored")

	// Signing in again refreshes, it does not create a second user.
	_, err = si.CheckPassword(b.ctx, "zhao.min", "zhao-min-directory-pass")
	require.NoError(t, err)
	users, err := b.store.ListUsers(b.ctx)
	require.NoError(t, err)
	require.Len(t, users, 1)

	for _, tc := range []struct{ name, login, password string }{
		{"wrong password", "zhao.min", "not-her-password"},
		{"empty password (an LDAP unauthenticated bind)", "zhao.min", ""},
		{"unknown user", "nobody", "whatever-password"},
		{"a filter wildcard as the username", "*", "zhao-min-directory-pass"},
		{"a filter injection", "zhao.min)(uid=*", "zhao-min-directory-pass"},
		{"a wildcard matching her", "zhao*", "zhao-min-directory-pass"},
	} {
		_, err := si.CheckPassword(b.ctx, tc.login, tc.password)
		require.ErrorIs(t, err, identity.ErrUnauthenticated, tc.name)
	}
	// In the directory, but no group maps to a role.
	_, err = si.CheckPassword(b.ctx, "chen.jie", "chen-jie-directory-pass")
	require.ErrorIs(t, err, identity.ErrNoRole)
	_, err = b.store.GetUser(b.ctx, "chen.jie")
	require.ErrorIs(t, err, identity.ErrNotFound)
}

func TestLDAPAnonymousBindNeverSignsAnyoneIn(t *testing.T) {
	t.Parallel()
	b, dir, si := setupLDAP(t)
	// The directory itself accepts an anonymous bind...
	conn, err := ldap.DialURL(dir.URL)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.UnauthenticatedBind(""))
	// ...so an empty password must never reach it as a user's bind.
	l, err := identity.NewLDAP(identity.LDAPConfig{URL: dir.URL, BindDN: dir.BindDN, BindPassword: dir.BindPassword, BaseDN: dir.UsersDN})
	require.NoError(t, err)
	for _, login := range []string{"zhao.min", "", "uid=zhao.min,ou=people,dc=bank,dc=example"} {
		_, err = l.Authenticate(b.ctx, login, "")
		require.ErrorIs(t, err, identity.ErrUnauthenticated, login)
		_, err = si.CheckPassword(b.ctx, login, "")
		require.ErrorIs(t, err, identity.ErrUnauthenticated, login)
	}
	users, err := b.store.ListUsers(b.ctx)
	require.NoError(t, err)
	require.Empty(t, users)
}

func TestLDAPWithAWrongServiceAccountSaysTheDirectoryIsUnavailable(t *testing.T) {
	t.Parallel()
	b, dir, _ := setupLDAP(t)
	l, err := identity.NewLDAP(identity.LDAPConfig{URL: dir.URL, BindDN: dir.BindDN, BindPassword: "not-the-secret", BaseDN: dir.UsersDN})
	require.NoError(t, err)
	_, err = l.Authenticate(b.ctx, "zhao.min", "zhao-min-directory-pass")
	require.ErrorIs(t, err, identity.ErrDirectoryUnavailable)
	require.NotContains(t, err.Error(), "not-the-secret")
}

func TestLDAPUserWhoseLoginIsLocalIsRefused(t *testing.T) {
	t.Parallel()
	b, _, si := setupLDAP(t)
	_, err := b.store.CreateUser(b.ctx, b.actor, identity.NewUser{Login: "wang.fang", DisplayName: "Local", Roles: []identity.Role{identity.RoleAuditor},
		Password: "the local password, long"})
	require.NoError(t, err)
	// The local account answers for its own login; the directory's password does not open it.
	_, err = si.CheckPassword(b.ctx, "wang.fang", "wang-fang-directory-pass")
	require.ErrorIs(t, err, identity.ErrUnauthenticated)
	_, err = si.CheckPassword(b.ctx, "wang.fang", "the local password, long")
	require.NoError(t, err)
}

func TestLDAPUserMovedInTheDirectoryIsFollowed(t *testing.T) {
	t.Parallel()
	b, _, si := setupLDAP(t)
	_, err := si.CheckPassword(b.ctx, "zhao.min", "zhao-min-directory-pass")
	require.NoError(t, err)
	// As if the entry had been under another OU at the first sign-in.
	_, err = b.db.Pool.Exec(b.ctx, `UPDATE users SET external_id = 'uid=zhao.min,ou=old,dc=bank,dc=example' WHERE login = 'zhao.min'`)
	require.NoError(t, err)
	_, err = si.CheckPassword(b.ctx, "zhao.min", "zhao-min-directory-pass")
	require.NoError(t, err)
	var extID string
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT external_id FROM users WHERE login = 'zhao.min'`).Scan(&extID))
	require.Equal(t, "uid=zhao.min,ou=people,dc=bank,dc=example", extID)
	var n int
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT count(*) FROM audit_log WHERE action = 'user.sync' AND changes ? 'external_id'`).Scan(&n))
	require.Equal(t, 1, n)
}

func TestOIDCSubjectIsTheIdentityNotTheLogin(t *testing.T) {
	t.Parallel()
	w := setupOIDC(t)
	w.idp.SignInAs(map[string]any{"sub": "first", "preferred_username": "li.qiang", "groups": []any{approversGroup}})
	state, nonce, verifier := random(t), random(t), random(t)
	_, err := w.signIn.OIDCSignIn(w.ctx, w.authorize(t, state, nonce, verifier), verifier, nonce)
	require.NoError(t, err)
	// Another subject claiming the same username is someone else.
	w.idp.SignInAs(map[string]any{"sub": "second", "preferred_username": "li.qiang", "groups": []any{approversGroup}})
	state, nonce, verifier = random(t), random(t), random(t)
	_, err = w.signIn.OIDCSignIn(w.ctx, w.authorize(t, state, nonce, verifier), verifier, nonce)
	require.ErrorIs(t, err, identity.ErrLoginTaken)
	// Without preferred_username the email claim is the login.
	w.idp.SignInAs(map[string]any{"sub": "third", "email": "Zhao.Min@bank.example", "groups": []any{approversGroup}})
	state, nonce, verifier = random(t), random(t), random(t)
	p, err := w.signIn.OIDCSignIn(w.ctx, w.authorize(t, state, nonce, verifier), verifier, nonce)
	require.NoError(t, err)
	require.Equal(t, "zhao.min@bank.example", p.User.Login)
}
