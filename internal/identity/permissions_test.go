package identity_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/identity"
)

// TestPermissionTable prints who may do what and holds the table's rules.
func TestPermissionTable(t *testing.T) {
	seen := map[identity.Perm]bool{}
	var b strings.Builder
	for _, p := range identity.Permissions() {
		require.False(t, seen[p.Perm], "%s listed twice", p.Perm)
		seen[p.Perm] = true
		require.NotEmpty(t, p.Roles, "%s: no role holds it", p.Perm)
		fmt.Fprintf(&b, "%-20s %v\n", p.Perm, p.Roles)
		for _, r := range p.Roles {
			u := identity.User{Roles: []identity.Role{r}}
			require.True(t, u.Can(p.Perm), "%s should grant %s", r, p.Perm)
			require.True(t, identity.Principal{User: u}.Can(p.Perm))
		}
		// Maker-checker: whoever authors a campaign does not approve one.
		if p.Perm == identity.PermCampaignsApprove {
			require.NotContains(t, p.Roles, identity.RoleMarketer)
		}
		// The auditor only reads.
		if slices.Contains(p.Roles, identity.RoleAuditor) {
			require.True(t, p.ReadOnly, "the auditor holds %s, which writes", p.Perm)
		}
		require.Equal(t, p.Roles, identity.RolesFor(p.Perm))
	}
	t.Log("\n" + b.String())

	require.False(t, identity.User{Roles: []identity.Role{identity.RoleMarketer}}.Can(identity.PermCampaignsApprove))
	require.False(t, identity.User{}.Can(identity.PermSignedIn), "no role, no permission")
	require.False(t, identity.User{Roles: identity.AllRoles()}.Can("no.such.permission"))
	require.Nil(t, identity.RolesFor("no.such.permission"))
	// Bulk tags and list exports: not for the approver and the auditor, who
	// change no customer and take no list away; a manager tags (within their
	// scope) but exports no list.
	for _, r := range []identity.Role{identity.RoleApprover, identity.RoleAuditor} {
		u := identity.User{Roles: []identity.Role{r}}
		require.False(t, u.Can(identity.PermContactsBulkTag), r)
		require.False(t, u.Can(identity.PermContactsExportList), r)
	}
	manager := identity.User{Roles: []identity.Role{identity.RoleManager}}
	require.True(t, manager.Can(identity.PermContactsBulkTag))
	require.False(t, manager.Can(identity.PermContactsExportList))
	require.True(t, identity.User{Roles: []identity.Role{identity.RoleMarketer}}.Can(identity.PermContactsExportList))
	for _, r := range identity.AllRoles() {
		require.True(t, identity.User{Roles: []identity.Role{r}}.Can(identity.PermSignedIn), r)
	}
}
