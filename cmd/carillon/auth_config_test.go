package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/identity"
)

func TestAuthSectionOfTheConfig(t *testing.T) {
	t.Parallel()
	secret := filepath.Join(t.TempDir(), "oidc_secret")
	require.NoError(t, os.WriteFile(secret, []byte("from-the-file\n"), 0o600))
	fc, err := parseConfig(`
[server]
public_url = "https://carillon.bank.example"

[auth]
local_passwords = false
break_glass = ["root-admin"]

[auth.oidc]
name = "Bank SSO"
name_zh = "行内统一认证"
issuer = "https://sso.bank.example/realms/staff"
client_id = "carillon"
client_secret_file = "`+secret+`"
manager_code_claim = "manager_code"

[auth.ldap]
url = "ldaps://ad.bank.example:636"
bind_dn = "cn=carillon-svc,ou=services,dc=bank,dc=example"
base_dn = "ou=people,dc=bank,dc=example"
user_filter = "(&(objectClass=user)(sAMAccountName={username}))"
login_attribute = "sAMAccountName"
manager_code_attribute = "employeeNumber"
timeout = "5s"

[[auth.role_map]]
group = "cn=carillon-approvers,ou=groups,dc=bank,dc=example"
role = "approver"

[[auth.role_map]]
group = "cn=carillon-managers,ou=groups,dc=bank,dc=example"
role = "Manager"
`, "test")
	require.NoError(t, err)
	env := map[string]string{"CARILLON_LDAP_BIND_PASSWORD": "svc-pass"}
	cfg, err := fc.signInConfig(func(k string) string { return env[k] }, nil, nil)
	require.NoError(t, err)
	require.NotNil(t, cfg.OIDC)
	require.NotNil(t, cfg.LDAP)
	require.Equal(t, []identity.RoleRule{
		{Group: "cn=carillon-approvers,ou=groups,dc=bank,dc=example", Role: identity.RoleApprover},
		{Group: "cn=carillon-managers,ou=groups,dc=bank,dc=example", Role: identity.RoleManager},
	}, cfg.RoleMap.Rules)
	require.Equal(t, []string{"root-admin"}, cfg.BreakGlass)
	require.False(t, *cfg.LocalPasswords)
	en, zh := cfg.OIDC.Name()
	require.Equal(t, "Bank SSO", en)
	require.Equal(t, "行内统一认证", zh)

	// Each mistake is named.
	for bad, want := range map[string]string{
		"[auth]\nlocal_passwords = false\n":                                                                                            "nobody could sign in",
		"[[auth.role_map]]\ngroup = \"g\"\nrole = \"boss\"\n":                                                                          `unknown role "boss"`,
		"[[auth.role_map]]\ngroup = \"\"\nrole = \"admin\"\n":                                                                          "group is required",
		"[auth.oidc]\nissuer = \"https://sso.example\"\nclient_id = \"c\"\n":                                                           "needs [[auth.role_map]]",
		"[auth.oidc]\nissuer = \"https://sso.example\"\n[[auth.role_map]]\ngroup = \"g\"\nrole = \"admin\"\n":                          "client_id is required",
		"[auth.oidc]\nissuer = \"https://sso.example\"\nclient_id = \"c\"\n[[auth.role_map]]\ngroup = \"g\"\nrole = \"admin\"\n":       "redirect_url",
		"[auth.ldap]\nurl = \"http://ad\"\nbind_dn = \"x\"\nbase_dn = \"y\"\n[[auth.role_map]]\ngroup = \"g\"\nrole = \"admin\"\n":     "is not ldap://",
		"[auth.ldap]\nurl = \"ldap://ad:389\"\nbind_dn = \"x\"\nbase_dn = \"y\"\n[[auth.role_map]]\ngroup = \"g\"\nrole = \"admin\"\n": "bind password",
		"[auth.ldap]\nurl = \"ldap://ad:389\"\nbind_dn = \"x\"\nbind_password_file = \"/nonexistent/pw\"\nbase_dn = \"y\"\n":           "needs [[auth.role_map]]",
	} {
		fc, err := parseConfig(bad, "test")
		require.NoError(t, err, bad)
		_, err = fc.signInConfig(func(string) string { return "" }, nil, nil)
		require.ErrorContains(t, err, want, bad)
	}
	_, err = parseConfig("[auth.ldap]\nbind_password = \"in the file\"\n", "test")
	require.ErrorContains(t, err, "unknown keys auth.ldap.bind_password", "a secret is never written in the file")

	// No [auth]: local passwords, nothing else.
	fc, err = parseConfig("", "test")
	require.NoError(t, err)
	cfg, err = fc.signInConfig(func(string) string { return "" }, nil, nil)
	require.NoError(t, err)
	require.Nil(t, cfg.OIDC)
	require.Nil(t, cfg.LDAP)
	require.Nil(t, cfg.LocalPasswords)
}
