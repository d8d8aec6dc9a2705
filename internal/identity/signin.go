package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// SignInConfig says how staff sign in.
type SignInConfig struct {
	// LocalPasswords lets local users sign in with their Carillon password.
	// When false, only the BreakGlass logins may. Default (nil): true.
	LocalPasswords *bool
	// BreakGlass are local logins that keep password sign-in when
	// LocalPasswords is false: an emergency administrator for when the
	// directory is down. Every sign-in is audited (console.sign_in, method local).
	BreakGlass []string
	// LDAP, when set, checks the passwords of users not known locally (or
	// provisioned from LDAP) against the directory.
	LDAP *LDAP
	// OIDC, when set, offers "Sign in with <provider>".
	OIDC *OIDC
	// RoleMap gives directory users their roles.
	RoleMap RoleMap
}

// SignIn is the identity store behind the configured sign-in methods: it is an
// Authenticator (bearer tokens, through Store) and checks passwords by the
// policy: a local user's against their hash (when local passwords are allowed
// or they are break-glass), anyone else's against LDAP, provisioning them.
type SignIn struct {
	*Store
	cfg SignInConfig
}

var _ Authenticator = (*SignIn)(nil)

// NewSignIn returns the sign-in policy over store.
func NewSignIn(store *Store, cfg SignInConfig) (*SignIn, error) {
	if store == nil {
		return nil, errors.New("identity: nil store")
	}
	if err := cfg.RoleMap.Validate(); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	for i, l := range cfg.BreakGlass {
		cfg.BreakGlass[i] = normLogin(l)
	}
	return &SignIn{Store: store, cfg: cfg}, nil
}

// LocalPasswords reports whether every local user may sign in with a password.
func (s *SignIn) LocalPasswords() bool { return s.cfg.LocalPasswords == nil || *s.cfg.LocalPasswords }

// Methods is what the sign-in page offers.
type Methods struct {
	// Password: the login and password form is shown.
	Password bool
	// LDAP: the form checks directory passwords.
	LDAP bool
	// LocalOnlyBreakGlass: local passwords are off; the form is there for the
	// break-glass administrator (and LDAP users when LDAP is on).
	LocalOnlyBreakGlass bool
	// OIDC names the OIDC provider ("" when OIDC is off), in English and Chinese.
	OIDC, OIDCZh string
}

// SignInMethods returns the configured methods.
func (s *SignIn) SignInMethods() Methods {
	m := Methods{LDAP: s.cfg.LDAP != nil, LocalOnlyBreakGlass: !s.LocalPasswords()}
	m.Password = m.LDAP || s.LocalPasswords() || len(s.cfg.BreakGlass) > 0
	if s.cfg.OIDC != nil {
		m.OIDC, m.OIDCZh = s.cfg.OIDC.Name()
	}
	return m
}

// CheckPassword returns the principal of a password sign-in (console form,
// Basic auth, CLI). A local user is checked against their Carillon password, and
// only when local passwords are on or they are break-glass; an OIDC user never
// signs in with a password; anyone else is checked against LDAP when it is on
// (provisioned or refreshed from the directory). ErrUnauthenticated for every
// refusal; ErrNoRole when LDAP vouched for a person no rule gives a role.
func (s *SignIn) CheckPassword(ctx context.Context, login, password string) (Principal, error) {
	if password == "" || len(password) > MaxPasswordLength {
		return Principal{}, ErrUnauthenticated
	}
	src, err := s.sourceOf(ctx, login)
	switch {
	case err == nil && src == SourceLocal:
		if !s.LocalPasswords() && !slices.Contains(s.cfg.BreakGlass, normLogin(login)) {
			_, _ = verifyPassword(dummyHash, password) // the same time as a wrong password
			s.Store.cfg.Logger.InfoContext(ctx, "password sign-in refused: local passwords are off", "login", normLogin(login))
			return Principal{}, ErrUnauthenticated
		}
		return s.Store.CheckPassword(ctx, login, password)
	case err == nil && src == SourceOIDC:
		_, _ = verifyPassword(dummyHash, password)
		return Principal{}, ErrUnauthenticated
	case err != nil && !errors.Is(err, ErrNotFound):
		return Principal{}, err
	}
	// Unknown here, or an LDAP user.
	if s.cfg.LDAP == nil {
		_, _ = verifyPassword(dummyHash, password)
		return Principal{}, ErrUnauthenticated
	}
	ext, err := s.cfg.LDAP.Authenticate(ctx, login, password)
	if err != nil {
		return Principal{}, err
	}
	p, err := s.SyncExternal(ctx, s.cfg.RoleMap, ext)
	if errors.Is(err, ErrLoginTaken) || errors.Is(err, ErrNoRole) {
		// Callers that know only ErrUnauthenticated refuse; the reason stays in the chain.
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	return p, err
}

// OIDCAuthURL is where the browser is sent to sign in with OIDC.
func (s *SignIn) OIDCAuthURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	if s.cfg.OIDC == nil {
		return "", ErrNotFound
	}
	return s.cfg.OIDC.AuthCodeURL(ctx, state, nonce, verifier)
}

// OIDCSignIn exchanges the code the provider returned (with the PKCE verifier),
// verifies the ID token (signature, issuer, audience, expiry, nonce) and signs its
// subject in, provisioning them or refreshing their roles.
func (s *SignIn) OIDCSignIn(ctx context.Context, code, verifier, nonce string) (Principal, error) {
	if s.cfg.OIDC == nil {
		return Principal{}, ErrNotFound
	}
	ext, err := s.cfg.OIDC.Exchange(ctx, code, verifier, nonce)
	if err != nil {
		return Principal{}, err
	}
	return s.SyncExternal(ctx, s.cfg.RoleMap, ext)
}
