package identity_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/identity"
)

// TestUserByIDAndManagerScope: the console reads a session's user by id, and
// a manager's scope (their own customers' managers and their team's) from
// the identity store.
func TestUserByIDAndManagerScope(t *testing.T) {
	t.Parallel()
	b := setup(t)
	lead, err := b.store.CreateUser(b.ctx, b.actor, identity.NewUser{Login: "lead", DisplayName: "Lead", Roles: []identity.Role{identity.RoleManager}, ManagerCode: "M1"})
	require.NoError(t, err)
	solo, err := b.store.CreateUser(b.ctx, b.actor, identity.NewUser{Login: "solo", DisplayName: "Solo", Roles: []identity.Role{identity.RoleManager}, ManagerCode: "M4"})
	require.NoError(t, err)
	auditor := b.user(t, "aud", identity.RoleAuditor)

	got, err := b.store.UserByID(b.ctx, lead.ID)
	require.NoError(t, err)
	require.Equal(t, "lead", got.Login)
	require.Equal(t, "M1", got.ManagerCode)
	_, err = b.store.UserByID(b.ctx, lead.ID+1000)
	require.ErrorIs(t, err, identity.ErrNotFound)

	scope, err := b.store.ManagerScope(b.ctx, got)
	require.NoError(t, err)
	require.Equal(t, []int64{b.managerID(t, "M1"), b.managerID(t, "M2"), b.managerID(t, "M3")}, scope, "a lead sees their team")
	scope, err = b.store.ManagerScope(b.ctx, solo)
	require.NoError(t, err)
	require.Equal(t, []int64{b.managerID(t, "M4")}, scope)
	scope, err = b.store.ManagerScope(b.ctx, auditor)
	require.NoError(t, err)
	require.Empty(t, scope, "not a manager")
}
