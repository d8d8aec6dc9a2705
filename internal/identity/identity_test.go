package identity_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/internal/pgtest"
	"carillon/internal/testclock"
)

type bundle struct {
	ctx   context.Context
	db    *pgtest.DB
	store *identity.Store
	clock *testclock.Clock
	actor audit.Actor
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db := pgtest.New(t)
	ck := testclock.New(testclock.Date(2026, 3, 2, 9, 0, 0, time.UTC))
	store, err := identity.NewStore(db.Pool, identity.Config{Now: ck.Now})
	require.NoError(t, err)
	ctx := context.Background()
	// M1 leads east (M1, M2, M3); M4 leads west alone.
	_, err = db.Pool.Exec(ctx, `INSERT INTO managers (code, name, team, lead_code) VALUES
		('M1', '王芳', 'east', 'M1'), ('M2', '李强', 'east', 'M1'), ('M3', '赵敏', 'east', 'M1'), ('M4', '陈杰', 'west', 'M4')`)
	require.NoError(t, err)
	return &bundle{ctx: ctx, db: db, store: store, clock: ck, actor: audit.Actor{Name: "cli:test"}}
}

func (b *bundle) managerID(t *testing.T, code string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT id FROM managers WHERE code = $1`, code).Scan(&id))
	return id
}

func (b *bundle) user(t *testing.T, login string, roles ...identity.Role) identity.User {
	t.Helper()
	u, err := b.store.CreateUser(b.ctx, b.actor, identity.NewUser{Login: login, DisplayName: strings.ToUpper(login), Roles: roles})
	require.NoError(t, err)
	return u
}

func (b *bundle) token(t *testing.T, login string) (string, identity.Token) {
	t.Helper()
	secret, tok, err := b.store.CreateToken(b.ctx, b.actor, login, "test", nil)
	require.NoError(t, err)
	return secret, tok
}

func fields(t *testing.T, err error) []string {
	t.Helper()
	var ve *identity.ValidationError
	require.ErrorAs(t, err, &ve)
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestRoles(t *testing.T) {
	t.Parallel()
	r, err := identity.ParseRole(" Manager ")
	require.NoError(t, err)
	require.Equal(t, identity.RoleManager, r)
	_, err = identity.ParseRole("root")
	require.Equal(t, []string{"role"}, fields(t, err))
	rs, err := identity.ParseRoles("auditor,admin,auditor")
	require.NoError(t, err)
	require.Equal(t, []identity.Role{identity.RoleAdmin, identity.RoleAuditor}, rs)
}

func TestCreateListGrantRevoke(t *testing.T) {
	t.Parallel()
	b := setup(t)

	u, err := b.store.CreateUser(b.ctx, b.actor, identity.NewUser{Login: "Alice", DisplayName: "Alice Li",
		Roles: []identity.Role{identity.RoleMarketer, identity.RoleAdmin, identity.RoleMarketer}})
	require.NoError(t, err)
	require.Equal(t, "alice", u.Login, "logins are lower-cased")
	require.Equal(t, []identity.Role{identity.RoleAdmin, identity.RoleMarketer}, u.Roles)
	require.Equal(t, b.clock.Now(), u.CreatedAt.UTC())
	require.False(t, u.Disabled)
	require.Nil(t, u.LastSeenAt)

	_, err = b.store.CreateUser(b.ctx, b.actor, identity.NewUser{Login: "alice", DisplayName: "again", Roles: []identity.Role{identity.RoleAdmin}})
	require.ErrorIs(t, err, identity.ErrConflict)

	_, err = b.store.CreateUser(b.ctx, b.actor, identity.NewUser{Login: "-bad login", Roles: nil, Password: "short"})
	require.ElementsMatch(t, []string{"login", "display_name", "roles", "password"}, fields(t, err))

	b.user(t, "bob", identity.RoleAuditor)
	users, err := b.store.ListUsers(b.ctx)
	require.NoError(t, err)
	require.Len(t, users, 2)
	require.Equal(t, "alice", users[0].Login)
	require.Equal(t, "bob", users[1].Login)

	u, err = b.store.Grant(b.ctx, b.actor, "bob", identity.RoleApprover, "")
	require.NoError(t, err)
	require.Equal(t, []identity.Role{identity.RoleApprover, identity.RoleAuditor}, u.Roles)
	u, err = b.store.Revoke(b.ctx, b.actor, "bob", identity.RoleAuditor)
	require.NoError(t, err)
	require.Equal(t, []identity.Role{identity.RoleApprover}, u.Roles)
	u, err = b.store.Revoke(b.ctx, b.actor, "bob", identity.RoleAuditor)
	require.NoError(t, err, "revoking a role not held changes nothing")
	require.Equal(t, []identity.Role{identity.RoleApprover}, u.Roles)

	got, err := b.store.GetUser(b.ctx, "BOB")
	require.NoError(t, err)
	require.Equal(t, u, got)

	_, err = b.store.GetUser(b.ctx, "nobody")
	require.ErrorIs(t, err, identity.ErrNotFound)
	_, err = b.store.Grant(b.ctx, b.actor, "nobody", identity.RoleAdmin, "")
	require.ErrorIs(t, err, identity.ErrNotFound)
	require.ErrorIs(t, b.store.DisableUser(b.ctx, b.actor, "nobody"), identity.ErrNotFound)

	js, err := json.Marshal(got)
	require.NoError(t, err)
	require.NotContains(t, string(js), "password")
}

func TestManagerRoleNeedsAManager(t *testing.T) {
	t.Parallel()
	b := setup(t)

	_, err := b.store.CreateUser(b.ctx, b.actor, identity.NewUser{Login: "wang", DisplayName: "Wang", Roles: []identity.Role{identity.RoleManager}})
	require.Equal(t, []string{"manager_code"}, fields(t, err))
	_, err = b.store.CreateUser(b.ctx, b.actor, identity.NewUser{Login: "wang", DisplayName: "Wang", Roles: []identity.Role{identity.RoleManager}, ManagerCode: "M99"})
	require.Equal(t, []string{"manager_code"}, fields(t, err))

	u, err := b.store.CreateUser(b.ctx, b.actor, identity.NewUser{Login: "wang", DisplayName: "Wang", Roles: []identity.Role{identity.RoleManager}, ManagerCode: "M2"})
	require.NoError(t, err)
	require.Equal(t, "M2", u.ManagerCode)
	require.Equal(t, b.managerID(t, "M2"), *u.ManagerID)

	b.user(t, "li", identity.RoleMarketer)
	_, err = b.store.Grant(b.ctx, b.actor, "li", identity.RoleManager, "")
	require.Equal(t, []string{"manager_code"}, fields(t, err))
	u, err = b.store.Grant(b.ctx, b.actor, "li", identity.RoleManager, "M4")
	require.NoError(t, err)
	require.Equal(t, []identity.Role{identity.RoleMarketer, identity.RoleManager}, u.Roles)
	require.Equal(t, "M4", u.ManagerCode)

	// Revoking manager keeps the link, so granting it again needs no code.
	_, err = b.store.Revoke(b.ctx, b.actor, "li", identity.RoleManager)
	require.NoError(t, err)
	u, err = b.store.Grant(b.ctx, b.actor, "li", identity.RoleManager, "")
	require.NoError(t, err)
	require.True(t, u.Has(identity.RoleManager))
}

func TestTokenRoundTrip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.user(t, "alice", identity.RoleAdmin)

	secret, tok, err := b.store.CreateToken(b.ctx, b.actor, "alice", "laptop", nil)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(secret, identity.TokenPrefix))
	require.Len(t, secret, len(identity.TokenPrefix)+43)
	require.Equal(t, "laptop", tok.Name)
	require.Equal(t, u.ID, tok.UserID)

	p, err := b.store.Authenticate(b.ctx, secret)
	require.NoError(t, err)
	require.Equal(t, "alice", p.Login())
	require.Equal(t, tok.ID, p.TokenID)
	require.True(t, p.Has(identity.RoleAdmin))
	require.False(t, p.Has(identity.RoleAuditor))
	require.Empty(t, p.ManagerIDs)

	p, err = b.store.Authenticate(b.ctx, "Bearer "+secret)
	require.NoError(t, err, "the header's scheme may be left on")
	require.Equal(t, "alice", p.Login())

	var stored []byte
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT secret_hash FROM api_tokens WHERE id = $1`, tok.ID).Scan(&stored))
	require.Len(t, stored, 32)
	require.NotContains(t, string(stored), secret[len(identity.TokenPrefix):])

	toks, err := b.store.ListTokens(b.ctx, "alice")
	require.NoError(t, err)
	require.Len(t, toks, 1)
	require.Equal(t, tok.ID, toks[0].ID)
	require.NotNil(t, toks[0].LastUsedAt)
	_, err = b.store.ListTokens(b.ctx, "nobody")
	require.ErrorIs(t, err, identity.ErrNotFound)
}

func TestWrongTokensAreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.user(t, "alice", identity.RoleAdmin)
	secret, _ := b.token(t, "alice")

	// Same length and shape, other bytes.
	other := secret[:len(secret)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(secret, "AA")]
	for _, bearer := range []string{"", "crl_", "nonsense", secret + "x", strings.TrimPrefix(secret, identity.TokenPrefix), other, "Basic " + secret} {
		_, err := b.store.Authenticate(b.ctx, bearer)
		require.ErrorIs(t, err, identity.ErrUnauthenticated, "bearer %q", bearer)
	}
}

func TestRevokedExpiredAndDisabledTokensAreRefusedAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.user(t, "alice", identity.RoleAdmin)
	b.user(t, "bob", identity.RoleAuditor)

	revoked, rtok := b.token(t, "alice")
	_, err := b.store.Authenticate(b.ctx, revoked)
	require.NoError(t, err)
	require.NoError(t, b.store.RevokeToken(b.ctx, b.actor, rtok.ID))
	require.NoError(t, b.store.RevokeToken(b.ctx, b.actor, rtok.ID), "revoking twice changes nothing")
	_, err = b.store.Authenticate(b.ctx, revoked)
	require.ErrorIs(t, err, identity.ErrUnauthenticated)
	require.ErrorIs(t, b.store.RevokeToken(b.ctx, b.actor, 999999), identity.ErrNotFound)

	exp := b.clock.Now().Add(time.Hour)
	expiring, _, err := b.store.CreateToken(b.ctx, b.actor, "alice", "short", &exp)
	require.NoError(t, err)
	_, err = b.store.Authenticate(b.ctx, expiring)
	require.NoError(t, err)
	b.clock.Advance(time.Hour)
	_, err = b.store.Authenticate(b.ctx, expiring)
	require.ErrorIs(t, err, identity.ErrUnauthenticated)

	past := b.clock.Now().Add(-time.Minute)
	_, _, err = b.store.CreateToken(b.ctx, b.actor, "alice", "", &past)
	require.Equal(t, []string{"expires_at"}, fields(t, err))

	bobs, _ := b.token(t, "bob")
	_, err = b.store.Authenticate(b.ctx, bobs)
	require.NoError(t, err)
	require.NoError(t, b.store.DisableUser(b.ctx, b.actor, "bob"))
	_, err = b.store.Authenticate(b.ctx, bobs)
	require.ErrorIs(t, err, identity.ErrUnauthenticated, "a disabled user's token stops at once")
	u, err := b.store.GetUser(b.ctx, "bob")
	require.NoError(t, err)
	require.True(t, u.Disabled)
	_, _, err = b.store.CreateToken(b.ctx, b.actor, "bob", "", nil)
	require.Equal(t, []string{"login"}, fields(t, err))

	require.NoError(t, b.store.EnableUser(b.ctx, b.actor, "bob"))
	_, err = b.store.Authenticate(b.ctx, bobs)
	require.NoError(t, err, "enabling restores the unrevoked tokens")
}

func TestLastUsedIsWrittenAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.user(t, "alice", identity.RoleAdmin)
	secret, tok := b.token(t, "alice")
	t0 := b.clock.Now()

	lastUsed := func() (time.Time, time.Time) {
		var used, seen time.Time
		require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT t.last_used_at, u.last_seen_at FROM api_tokens t JOIN users u ON u.id = t.user_id
			WHERE t.id = $1`, tok.ID).Scan(&used, &seen))
		return used.UTC(), seen.UTC()
	}

	_, err := b.store.Authenticate(b.ctx, secret)
	require.NoError(t, err)
	used, seen := lastUsed()
	require.Equal(t, t0, used)
	require.Equal(t, t0, seen)

	b.clock.Advance(59 * time.Second)
	_, err = b.store.Authenticate(b.ctx, secret)
	require.NoError(t, err)
	used, seen = lastUsed()
	require.Equal(t, t0, used, "not written again within the minute")
	require.Equal(t, t0, seen)

	b.clock.Advance(2 * time.Second)
	_, err = b.store.Authenticate(b.ctx, secret)
	require.NoError(t, err)
	used, seen = lastUsed()
	require.Equal(t, t0.Add(61*time.Second), used)
	require.Equal(t, t0.Add(61*time.Second), seen)

	u, err := b.store.GetUser(b.ctx, "alice")
	require.NoError(t, err)
	require.Equal(t, t0.Add(61*time.Second), u.LastSeenAt.UTC())
}

func TestPasswords(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.store.CreateUser(b.ctx, b.actor, identity.NewUser{Login: "alice", DisplayName: "Alice",
		Roles: []identity.Role{identity.RoleApprover}, Password: "correct horse battery"})
	require.NoError(t, err)
	b.user(t, "bob", identity.RoleAuditor)

	p, err := b.store.CheckPassword(b.ctx, "alice", "correct horse battery")
	require.NoError(t, err)
	require.Equal(t, "alice", p.Login())
	require.Zero(t, p.TokenID)
	require.True(t, p.Has(identity.RoleApprover))

	var hash string
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT password_hash FROM users WHERE login = 'alice'`).Scan(&hash))
	require.True(t, strings.HasPrefix(hash, "$argon2id$v=19$"), hash)
	require.NotContains(t, hash, "horse")

	for _, c := range []struct{ login, password string }{
		{"alice", "correct horse battery!"},
		{"alice", ""},
		{"nobody", "correct horse battery"},
		{"bob", "correct horse battery"}, // no password set
	} {
		_, err := b.store.CheckPassword(b.ctx, c.login, c.password)
		require.ErrorIs(t, err, identity.ErrUnauthenticated, "%s/%s", c.login, c.password)
		require.Equal(t, identity.ErrUnauthenticated.Error(), err.Error(), "one error for every failure")
	}

	require.Equal(t, []string{"password"}, fields(t, b.store.SetPassword(b.ctx, b.actor, "bob", "elevenchars")))
	require.Equal(t, []string{"password"}, fields(t, b.store.SetPassword(b.ctx, b.actor, "bob", strings.Repeat("x", identity.MaxPasswordLength+1))))
	require.NoError(t, b.store.SetPassword(b.ctx, b.actor, "bob", "密码密码密码密码密码密码"), "twelve characters, not bytes")
	_, err = b.store.CheckPassword(b.ctx, "BOB", "密码密码密码密码密码密码")
	require.NoError(t, err)
	require.ErrorIs(t, b.store.SetPassword(b.ctx, b.actor, "nobody", "long enough password"), identity.ErrNotFound)

	require.NoError(t, b.store.DisableUser(b.ctx, b.actor, "alice"))
	_, err = b.store.CheckPassword(b.ctx, "alice", "correct horse battery")
	require.ErrorIs(t, err, identity.ErrUnauthenticated)
}

func TestManagerScope(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m1, m2, m3, m4 := b.managerID(t, "M1"), b.managerID(t, "M2"), b.managerID(t, "M3"), b.managerID(t, "M4")

	scope := func(login, code string) []int64 {
		_, err := b.store.CreateUser(b.ctx, b.actor, identity.NewUser{Login: login, DisplayName: login, Roles: []identity.Role{identity.RoleManager}, ManagerCode: code})
		require.NoError(t, err)
		secret, _ := b.token(t, login)
		p, err := b.store.Authenticate(b.ctx, secret)
		require.NoError(t, err)
		return p.ManagerIDs
	}
	require.ElementsMatch(t, []int64{m1, m2, m3}, scope("lead", "M1"), "a team lead sees the team")
	require.Equal(t, []int64{m2}, scope("member", "M2"))
	require.Equal(t, []int64{m4}, scope("alone", "M4"))

	// The manager link without the manager role gives no scope.
	_, err := b.store.CreateUser(b.ctx, b.actor, identity.NewUser{Login: "mk", DisplayName: "mk", Roles: []identity.Role{identity.RoleMarketer}, ManagerCode: "M1"})
	require.NoError(t, err)
	secret, _ := b.token(t, "mk")
	p, err := b.store.Authenticate(b.ctx, secret)
	require.NoError(t, err)
	require.Empty(t, p.ManagerIDs)
}

func TestServiceTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)

	_, _, _, err := b.store.CreateServiceToken(b.ctx, b.actor, identity.RoleManager, "")
	require.Equal(t, []string{"manager_code"}, fields(t, err))
	_, _, _, err = b.store.CreateServiceToken(b.ctx, b.actor, "root", "")
	require.Equal(t, []string{"role"}, fields(t, err))

	secret, tok, u, err := b.store.CreateServiceToken(b.ctx, b.actor, identity.RoleManager, "M1")
	require.NoError(t, err)
	require.Equal(t, "svc-manager-1", u.Login)
	require.True(t, u.Service)
	require.Equal(t, u.ID, tok.UserID)
	p, err := b.store.Authenticate(b.ctx, secret)
	require.NoError(t, err)
	require.Equal(t, []identity.Role{identity.RoleManager}, p.User.Roles)
	require.Len(t, p.ManagerIDs, 3)

	_, _, u, err = b.store.CreateServiceToken(b.ctx, b.actor, identity.RoleManager, "M4")
	require.NoError(t, err)
	require.Equal(t, "svc-manager-2", u.Login)
	_, _, u, err = b.store.CreateServiceToken(b.ctx, b.actor, identity.RoleAuditor, "")
	require.NoError(t, err)
	require.Equal(t, "svc-auditor-1", u.Login)
}

func TestEveryWriteIsAudited(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const password = "correct horse battery"
	_, err := b.store.CreateUser(b.ctx, b.actor, identity.NewUser{Login: "alice", DisplayName: "Alice", Roles: []identity.Role{identity.RoleAdmin}, Password: password})
	require.NoError(t, err)
	_, err = b.store.Grant(b.ctx, b.actor, "alice", identity.RoleManager, "M1")
	require.NoError(t, err)
	_, err = b.store.Revoke(b.ctx, b.actor, "alice", identity.RoleAdmin)
	require.NoError(t, err)
	require.NoError(t, b.store.SetPassword(b.ctx, b.actor, "alice", password+"!"))
	secret, tok, err := b.store.CreateToken(b.ctx, b.actor, "alice", "ci", nil)
	require.NoError(t, err)
	require.NoError(t, b.store.RevokeToken(b.ctx, b.actor, tok.ID))
	require.NoError(t, b.store.DisableUser(b.ctx, b.actor, "alice"))
	require.NoError(t, b.store.EnableUser(b.ctx, b.actor, "alice"))
	svcSecret, _, _, err := b.store.CreateServiceToken(b.ctx, b.actor, identity.RoleAuditor, "")
	require.NoError(t, err)

	recs, _, err := audit.List(b.ctx, b.db.Pool, audit.Filter{})
	require.NoError(t, err)
	var actions []string
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		actions = append(actions, r.Action)
		require.Equal(t, "cli:test", r.Actor)
		require.Equal(t, b.clock.Now(), r.At.UTC())
		body, err := json.Marshal(r)
		require.NoError(t, err)
		for _, s := range []string{"horse", secret[len(identity.TokenPrefix):], svcSecret[len(identity.TokenPrefix):], "argon2", "hash"} {
			require.NotContains(t, string(body), s)
		}
	}
	require.Equal(t, []string{"user.create", "user.grant", "user.revoke", "user.set_password", "token.create", "token.revoke",
		"user.disable", "user.enable", "user.create", "token.create"}, actions)
	require.Equal(t, "alice", recs[len(recs)-1].ObjectID)
}

func TestPrincipalActor(t *testing.T) {
	t.Parallel()
	p := identity.Principal{User: identity.User{ID: 7, Login: "alice"}}
	a := p.Actor("10.0.0.1")
	require.Equal(t, "api:alice", a.Name)
	require.Equal(t, int64(7), *a.UserID)
	require.Equal(t, "10.0.0.1", a.Addr)
}

// A login or a manager code with a control character or a line break is refused
// with a field error naming the field.
func TestCreateUserRefusesControlCharacters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, c := range []struct {
		in    identity.NewUser
		field string
	}{
		{identity.NewUser{Login: "lead\nadmin", DisplayName: "x", Roles: []identity.Role{identity.RoleAuditor}}, "login"},
		{identity.NewUser{Login: "m1user", DisplayName: "x", Roles: []identity.Role{identity.RoleManager}, ManagerCode: "M1\nM4"}, "manager_code"},
	} {
		_, err := b.store.CreateUser(b.ctx, b.actor, c.in)
		var ve *identity.ValidationError
		require.ErrorAs(t, err, &ve, c.field)
		require.Equal(t, c.field, ve.Fields[0].Field)
		require.Contains(t, ve.Fields[0].Message, "line breaks")
		require.Contains(t, ve.Fields[0].Message, "换行符")
	}
	_, err := b.store.GetUser(b.ctx, "m1user")
	require.ErrorIs(t, err, identity.ErrNotFound, "nothing was created")
}
