package identity_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/identity"
)

func TestWhoSeesPersonalData(t *testing.T) {
	t.Parallel()
	as := func(roles ...identity.Role) identity.Principal {
		return identity.Principal{User: identity.User{Roles: roles}, ManagerIDs: []int64{7}}
	}
	require.True(t, as(identity.RoleAdmin).SeesPersonalData())
	require.True(t, as(identity.RoleManager).SeesPersonalData(), "a manager, within their scope")
	require.False(t, as(identity.RoleManager, identity.RoleMarketer).SeesPersonalData(), "a manager who also sees every contact sees them masked")
	require.False(t, as(identity.RoleManager, identity.RoleAuditor).SeesPersonalData())
	require.False(t, as(identity.RoleMarketer).SeesPersonalData())
	require.False(t, as(identity.RoleApprover).SeesPersonalData())
}
