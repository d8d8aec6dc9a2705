package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"carillon/internal/identity"
)

// authSection is the file's [auth]: how staff sign in (docs/security.md,
// "Staff sign-in (OIDC, LDAP)").
type authSection struct {
	// LocalPasswords: false refuses password sign-in to every local user but
	// the BreakGlass ones. Default true.
	LocalPasswords *bool `toml:"local_passwords"`
	// BreakGlass are local logins that keep password sign-in when
	// local_passwords is false.
	BreakGlass []string     `toml:"break_glass"`
	OIDC       *oidcSection `toml:"oidc"`
	LDAP       *ldapSection `toml:"ldap"`
	RoleMap    []struct {
		Group string `toml:"group"`
		Role  string `toml:"role"`
	} `toml:"role_map"`
}

type oidcSection struct {
	Name             string   `toml:"name"`
	NameZh           string   `toml:"name_zh"`
	Issuer           string   `toml:"issuer"`
	ClientID         string   `toml:"client_id"`
	ClientSecretFile string   `toml:"client_secret_file"` // or CARILLON_OIDC_CLIENT_SECRET
	RedirectURL      string   `toml:"redirect_url"`       // default: server.public_url + /console/oidc/callback
	Scopes           []string `toml:"scopes"`
	LoginClaim       string   `toml:"login_claim"`
	NameClaim        string   `toml:"name_claim"`
	GroupsClaim      string   `toml:"groups_claim"`
	ManagerCodeClaim string   `toml:"manager_code_claim"`
}

type ldapSection struct {
	URL                  string `toml:"url"`
	StartTLS             bool   `toml:"start_tls"`
	CAFile               string `toml:"ca_file"`
	BindDN               string `toml:"bind_dn"`
	BindPasswordFile     string `toml:"bind_password_file"` // or CARILLON_LDAP_BIND_PASSWORD
	BaseDN               string `toml:"base_dn"`
	UserFilter           string `toml:"user_filter"`
	LoginAttribute       string `toml:"login_attribute"`
	NameAttribute        string `toml:"name_attribute"`
	GroupAttribute       string `toml:"group_attribute"`
	GroupBaseDN          string `toml:"group_base_dn"`
	GroupFilter          string `toml:"group_filter"`
	ManagerCodeAttribute string `toml:"manager_code_attribute"`
	Timeout              string `toml:"timeout"`
}

// secretFrom reads a secret from the environment variable env, else from file.
func secretFrom(key, env, file string, getenv func(string) string) (string, error) {
	if v := strings.TrimSpace(getenv(env)); v != "" {
		return v, nil
	}
	if file == "" {
		return "", nil
	}
	s, err := readSecretFile(file)
	if err != nil {
		return "", fmt.Errorf("config %s %s: %w", key, file, err)
	}
	return s, nil
}

// signInConfig turns the file's [auth] section into the sign-in policy's
// configuration; secrets come from the environment or files, never the file
// itself.
func (fc fileConfig) signInConfig(getenv func(string) string, now func() time.Time, logger *slog.Logger) (identity.SignInConfig, error) {
	a := fc.Auth
	cfg := identity.SignInConfig{LocalPasswords: a.LocalPasswords, BreakGlass: a.BreakGlass}
	for i, r := range a.RoleMap {
		role, err := identity.ParseRole(r.Role)
		if err != nil {
			return cfg, fmt.Errorf("config auth.role_map[%d]: unknown role %q (want admin, marketer, approver, manager or auditor)", i, r.Role)
		}
		cfg.RoleMap.Rules = append(cfg.RoleMap.Rules, identity.RoleRule{Group: r.Group, Role: role})
	}
	if err := cfg.RoleMap.Validate(); err != nil {
		return cfg, fmt.Errorf("config auth.%w", err)
	}
	if a.LocalPasswords != nil && !*a.LocalPasswords && a.OIDC == nil && a.LDAP == nil && len(a.BreakGlass) == 0 {
		return cfg, errors.New("config auth.local_passwords = false with neither auth.oidc, auth.ldap nor auth.break_glass: nobody could sign in")
	}
	if (a.OIDC != nil || a.LDAP != nil) && len(cfg.RoleMap.Rules) == 0 {
		return cfg, errors.New("config auth: OIDC or LDAP needs [[auth.role_map]] rules, or nobody they sign in gets a role")
	}
	if o := a.OIDC; o != nil {
		secret, err := secretFrom("auth.oidc.client_secret_file", "CARILLON_OIDC_CLIENT_SECRET", o.ClientSecretFile, getenv)
		if err != nil {
			return cfg, err
		}
		redirect := o.RedirectURL
		if redirect == "" && fc.Server.PublicURL != "" {
			redirect = strings.TrimRight(fc.Server.PublicURL, "/") + "/console/oidc/callback"
		}
		cfg.OIDC, err = identity.NewOIDC(identity.OIDCConfig{Name: o.Name, NameZh: o.NameZh, Issuer: o.Issuer, ClientID: o.ClientID,
			ClientSecret: secret, RedirectURL: redirect, Scopes: o.Scopes, LoginClaim: o.LoginClaim, NameClaim: o.NameClaim,
			GroupsClaim: o.GroupsClaim, ManagerCodeClaim: o.ManagerCodeClaim, Now: now, Logger: logger})
		if err != nil {
			return cfg, fmt.Errorf("config %w", err)
		}
	}
	if l := a.LDAP; l != nil {
		pw, err := secretFrom("auth.ldap.bind_password_file", "CARILLON_LDAP_BIND_PASSWORD", l.BindPasswordFile, getenv)
		if err != nil {
			return cfg, err
		}
		timeout, err := parseDuration("auth.ldap.timeout", l.Timeout)
		if err != nil {
			return cfg, err
		}
		lc := identity.LDAPConfig{URL: l.URL, StartTLS: l.StartTLS, BindDN: l.BindDN, BindPassword: pw, BaseDN: l.BaseDN,
			UserFilter: l.UserFilter, LoginAttribute: l.LoginAttribute, NameAttribute: l.NameAttribute, GroupAttribute: l.GroupAttribute,
			GroupBaseDN: l.GroupBaseDN, GroupFilter: l.GroupFilter, ManagerCodeAttribute: l.ManagerCodeAttribute, Timeout: timeout, Logger: logger}
		if l.CAFile != "" {
			pem, err := os.ReadFile(l.CAFile)
			if err != nil {
				return cfg, fmt.Errorf("config auth.ldap.ca_file: %w", err)
			}
			roots := x509.NewCertPool()
			if !roots.AppendCertsFromPEM(pem) {
				return cfg, fmt.Errorf("config auth.ldap.ca_file %s: no PEM certificate", l.CAFile)
			}
			lc.TLS = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		}
		cfg.LDAP, err = identity.NewLDAP(lc)
		if err != nil {
			return cfg, fmt.Errorf("config %w", err)
		}
	}
	return cfg, nil
}
