package main

import (
	"context"
	"flag"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/internal/pgtest"
)

// A CLI write acts for a user only with that user's credential: a password typed
// on the terminal, or their token; without a terminal a login alone is refused.
func TestCLICredentialIsTheUsersOwn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	ids, err := identity.NewStore(db.Pool, identity.Config{})
	require.NoError(t, err)
	_, err = ids.CreateUser(ctx, audit.Actor{Name: "test"}, identity.NewUser{Login: "ap", DisplayName: "ap", Roles: []identity.Role{identity.RoleApprover}, Password: "correct horse battery"})
	require.NoError(t, err)

	try := func(password string, args ...string) (identity.Principal, audit.Actor, error) {
		e := newEnv(io.Discard, io.Discard, func(string) string { return "" })
		if password != "" {
			e.readPassword = func(string) (string, error) { return password, nil }
		}
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		var c credentialFlags
		c.register(fs)
		require.NoError(t, fs.Parse(args))
		return c.principal(ctx, e, ids)
	}
	p, actor, err := try("correct horse battery", "--login", "ap")
	require.NoError(t, err)
	require.Equal(t, "ap", p.Login())
	require.Equal(t, audit.AuthPassword, actor.Auth)
	require.Equal(t, p.User.ID, *actor.UserID)

	_, _, err = try("wrong", "--login", "ap")
	require.ErrorContains(t, err, "wrong login or password")
	_, _, err = try("", "--login", "ap")
	require.ErrorContains(t, err, "only be typed on a terminal")
	_, _, err = try("")
	require.ErrorContains(t, err, "credential is required")
}
