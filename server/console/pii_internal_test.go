package console

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
	require.True(t, seesPII(as(identity.RoleAdmin)))
	require.True(t, seesPII(as(identity.RoleManager)), "a manager, within their scope")
	require.False(t, seesPII(as(identity.RoleManager, identity.RoleMarketer)), "a manager who also sees every contact sees them masked")
	require.False(t, seesPII(as(identity.RoleManager, identity.RoleAuditor)))
	require.False(t, seesPII(as(identity.RoleMarketer)))
	require.False(t, seesPII(as(identity.RoleApprover)))
}
