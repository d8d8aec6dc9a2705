package main

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
)

func TestUserAndTokenCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	c := cli{t, db.URL}
	store, err := identity.NewStore(db.Pool, identity.Config{})
	require.NoError(t, err)

	_, _, err = c.run(ctx, "import", "managers", writeTemp(t, "m.csv", "工号,姓名,团队,组长\nM1,王芳,east,M1\nM2,李强,east,M1\n"))
	require.NoError(t, err)

	pw := writeTemp(t, "pw", "correct horse battery\n")
	out, _, err := c.run(ctx, "user", "create", "alice", "--name", "Alice Li", "--role", "admin,approver", "--password-file", pw)
	require.NoError(t, err)
	require.Contains(t, out, "created user alice (admin,approver)")
	_, err = store.CheckPassword(ctx, "alice", "correct horse battery")
	require.NoError(t, err, "the password came from the file, without its newline")

	out, stderr, err := c.run(ctx, "token", "create", "--user", "alice", "--name", "ci", "--expires", "30d")
	require.NoError(t, err)
	secret := strings.TrimSuffix(out, "\n")
	require.NotContains(t, secret, "\n", "stdout holds the token alone")
	require.True(t, strings.HasPrefix(secret, identity.TokenPrefix))
	require.Contains(t, stderr, "shown once")
	require.NotContains(t, stderr, secret)
	p, err := store.Authenticate(ctx, secret)
	require.NoError(t, err)
	require.Equal(t, "alice", p.Login())
	require.True(t, p.Has(identity.RoleApprover))

	out, _, err = c.run(ctx, "token", "list", "--user", "alice", "--json")
	require.NoError(t, err)
	var toks []identity.Token
	require.NoError(t, json.Unmarshal([]byte(out), &toks))
	require.Len(t, toks, 1)
	require.Equal(t, "ci", toks[0].Name)
	require.NotNil(t, toks[0].ExpiresAt)
	require.NotContains(t, out, secret)

	out, _, err = c.run(ctx, "token", "create", "--role", "manager", "--manager", "M1")
	require.NoError(t, err)
	svc := strings.TrimSpace(out)
	p, err = store.Authenticate(ctx, svc)
	require.NoError(t, err)
	require.Equal(t, "svc-manager-1", p.Login())
	require.True(t, p.User.Service)
	require.Len(t, p.ManagerIDs, 2, "M1 leads M1 and M2")

	_, _, err = c.run(ctx, "user", "create", "wang", "--name", "Wang", "--role", "manager")
	require.ErrorContains(t, err, "manager_code")
	_, _, err = c.run(ctx, "user", "create", "wang", "--name", "Wang", "--role", "manager", "--manager", "M2")
	require.NoError(t, err)
	out, _, err = c.run(ctx, "user", "grant", "wang", "auditor")
	require.NoError(t, err)
	require.Contains(t, out, "manager,auditor")
	out, _, err = c.run(ctx, "user", "revoke", "wang", "auditor")
	require.NoError(t, err)
	require.Contains(t, out, "roles: manager")

	out, _, err = c.run(ctx, "user", "set-contact", "wang", "--email", "wang.fang@bank.example", "--wecom", "wangfang")
	require.NoError(t, err)
	require.Contains(t, out, "wang is told of decisions by: wecom ****")
	require.NotContains(t, out, "wangfang", "masked")
	out, _, err = c.run(ctx, "user", "set-contact", "wang", "--wecom", "", "--notify", "email")
	require.NoError(t, err)
	require.Contains(t, out, "by: email w***@bank.example", "--wecom \"\" removed the WeCom id")
	_, _, err = c.run(ctx, "user", "set-contact", "wang", "--email", "nope")
	require.ErrorContains(t, err, "work_email")
	_, _, err = c.run(ctx, "user", "set-contact", "wang")
	require.Error(t, err, "nothing to set")
	u, err := store.GetUser(ctx, "wang")
	require.NoError(t, err)
	require.Equal(t, "wang.fang@bank.example", u.WorkEmail)
	require.Empty(t, u.WeComUserID)

	out, _, err = c.run(ctx, "user", "list", "--json")
	require.NoError(t, err)
	var users []identity.User
	require.NoError(t, json.Unmarshal([]byte(out), &users))
	require.Len(t, users, 3)
	require.NotContains(t, out, "argon2")
	out, _, err = c.run(ctx, "user", "list")
	require.NoError(t, err)
	require.Contains(t, out, "svc-manager-1")
	require.Contains(t, out, "active,service")
	require.Contains(t, out, "email w***@bank.example")
	require.NotContains(t, out, "wang.fang@", "the list masks addresses")

	_, _, err = c.run(ctx, "user", "set-password", "wang", "--password-file", writeTemp(t, "short", "too short\n"))
	require.ErrorContains(t, err, "password must have at least 12 characters")
	_, _, err = c.run(ctx, "user", "set-password", "wang", "--password-file", writeTemp(t, "ok", "a long enough pass\n"))
	require.NoError(t, err)
	_, err = store.CheckPassword(ctx, "wang", "a long enough pass")
	require.NoError(t, err)

	_, _, err = c.run(ctx, "user", "disable", "alice")
	require.NoError(t, err)
	_, err = store.Authenticate(ctx, secret)
	require.ErrorIs(t, err, identity.ErrUnauthenticated)
	_, _, err = c.run(ctx, "user", "enable", "alice")
	require.NoError(t, err)
	_, err = store.Authenticate(ctx, secret)
	require.NoError(t, err)

	_, _, err = c.run(ctx, "token", "revoke", "1")
	require.NoError(t, err)
	_, err = store.Authenticate(ctx, secret)
	require.ErrorIs(t, err, identity.ErrUnauthenticated)
	out, _, err = c.run(ctx, "token", "list", "--user", "alice")
	require.NoError(t, err)
	require.Contains(t, out, "revoked")

	_, _, err = c.run(ctx, "user", "disable", "nobody")
	require.ErrorIs(t, err, identity.ErrNotFound)
	_, _, err = c.run(ctx, "token", "revoke", "999")
	require.ErrorIs(t, err, identity.ErrNotFound)

	recs, _, err := audit.List(ctx, db.Pool, audit.Filter{Action: "token."})
	require.NoError(t, err)
	require.Len(t, recs, 3, "two token.create and one token.revoke")
	for _, r := range recs {
		require.True(t, strings.HasPrefix(r.Actor, "cli:"), r.Actor)
		require.NotContains(t, string(r.Changes), secret[len(identity.TokenPrefix):])
	}
}

func TestUserAndTokenUsageErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := cli{t, "postgres://unused.invalid/none"} // usage errors never reach the database
	for _, args := range [][]string{
		{"user"},
		{"user", "frobnicate"},
		{"user", "create"},
		{"user", "create", "alice"},
		{"user", "create", "alice", "--name", "Alice"},
		{"user", "create", "alice", "--name", "Alice", "--role", "root"},
		{"user", "create", "alice", "--name", "Alice", "--role", "admin", "--password", "correct horse battery"},
		{"user", "disable"},
		{"user", "grant", "alice"},
		{"user", "grant", "alice", "wizard"},
		{"user", "revoke", "alice", "admin", "extra"},
		{"user", "set-password", "alice", "correct horse battery"},
		{"token"},
		{"token", "create"},
		{"token", "create", "--user", "alice", "--role", "admin"},
		{"token", "create", "--user", "alice", "--expires", "soon"},
		{"token", "create", "--user", "alice", "--manager", "M1"},
		{"token", "create", "--role", "wizard"},
		{"token", "create", "--role", "admin", "--name", "x"},
		{"token", "list"},
		{"token", "revoke"},
		{"token", "revoke", "abc"},
	} {
		_, stderr, err := c.run(ctx, args...)
		var ee *exitError
		require.True(t, errorsAs(err, &ee), "%v: %v", args, err)
		require.Equal(t, 2, ee.code, "%v", args)
		require.Contains(t, stderr, "usage:", "%v", args)
	}
}

func TestParseExpires(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 9, 30, 0, 0, time.Local)
	for in, want := range map[string]time.Time{
		"30d":                  now.AddDate(0, 0, 30),
		"12h":                  now.Add(12 * time.Hour),
		"2027-01-31":           time.Date(2027, 2, 1, 0, 0, 0, 0, time.Local),
		"2027-01-31T10:00:00Z": time.Date(2027, 1, 31, 10, 0, 0, 0, time.UTC),
	} {
		got, err := parseExpires(in, now)
		require.NoError(t, err, in)
		require.True(t, want.Equal(got), "%s: %v", in, got)
	}
	for _, in := range []string{"", "0d", "-1h", "tomorrow", "2027-02-30"} {
		_, err := parseExpires(in, now)
		require.Error(t, err, in)
	}
}

func TestFirstLine(t *testing.T) {
	t.Parallel()
	got, err := firstLine(strings.NewReader("correct horse battery\r\nsecond line\n"))
	require.NoError(t, err)
	require.Equal(t, "correct horse battery", got)
	got, err = firstLine(strings.NewReader("no newline at end"))
	require.NoError(t, err)
	require.Equal(t, "no newline at end", got)
	_, err = firstLine(strings.NewReader(""))
	require.ErrorContains(t, err, "no password")
}
