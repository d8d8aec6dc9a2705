package identity_test

import (
	"fmt"

	"carillon/internal/identity"
)

func ExampleParseRoles() {
	roles, err := identity.ParseRoles("auditor, Admin,auditor")
	fmt.Println(roles, err)
	_, err = identity.ParseRoles("admin,root")
	fmt.Println(err != nil)
	// Output:
	// [admin auditor] <nil>
	// true
}

func ExamplePrincipal_Actor() {
	p := identity.Principal{User: identity.User{ID: 7, Login: "alice", Roles: []identity.Role{identity.RoleApprover}}}
	a := p.Actor("10.0.0.8")
	fmt.Println(a.Name, *a.UserID, a.Addr, p.Has(identity.RoleApprover), p.Has(identity.RoleAdmin))
	// Output: api:alice 7 10.0.0.8 true false
}
