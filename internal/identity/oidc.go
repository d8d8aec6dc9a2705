package identity

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDC defaults.
const (
	DefaultOIDCName        = "SSO"
	DefaultOIDCLoginClaim  = "preferred_username"
	DefaultOIDCNameClaim   = "name"
	DefaultOIDCGroupsClaim = "groups"
	DefaultOIDCTimeout     = 10 * time.Second
)

// OIDCConfig configures sign-in with an OpenID Connect provider (authorization
// code flow with PKCE S256).
type OIDCConfig struct {
	// Name is the provider's name on the button ("Sign in with <Name>"), NameZh
	// its Chinese name. Default DefaultOIDCName; NameZh defaults to Name.
	Name, NameZh string
	// Issuer is the provider's issuer URL; discovery is read from
	// <Issuer>/.well-known/openid-configuration. Required.
	Issuer string
	// ClientID and ClientSecret are Carillon's registration. ClientID is
	// required; the secret may be empty for a public client (PKCE only).
	ClientID, ClientSecret string
	// RedirectURL is <public URL>/console/oidc/callback. Required.
	RedirectURL string
	// Scopes requested besides openid. Default: profile, email.
	Scopes []string
	// LoginClaim becomes the Carillon login (the email claim when it is
	// missing). Default DefaultOIDCLoginClaim.
	LoginClaim string
	// NameClaim is the display name. Default DefaultOIDCNameClaim.
	NameClaim string
	// GroupsClaim holds the groups the role map reads (a list of strings, or
	// one string). Default DefaultOIDCGroupsClaim.
	GroupsClaim string
	// ManagerCodeClaim, when set, holds the user's manager code.
	ManagerCodeClaim string
	// HTTPClient reaches the provider. Default: one with DefaultOIDCTimeout.
	HTTPClient *http.Client
	// Now is the clock the ID token's expiry is checked with. Default time.Now.
	Now func() time.Time
	// Logger. Default: discard.
	Logger *slog.Logger
}

// WithDefaults returns c with defaults applied.
func (c OIDCConfig) WithDefaults() OIDCConfig {
	c.Name = cmp.Or(strings.TrimSpace(c.Name), DefaultOIDCName)
	c.NameZh = cmp.Or(strings.TrimSpace(c.NameZh), c.Name)
	c.LoginClaim = cmp.Or(c.LoginClaim, DefaultOIDCLoginClaim)
	c.NameClaim = cmp.Or(c.NameClaim, DefaultOIDCNameClaim)
	c.GroupsClaim = cmp.Or(c.GroupsClaim, DefaultOIDCGroupsClaim)
	if c.Scopes == nil {
		c.Scopes = []string{"profile", "email"}
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: DefaultOIDCTimeout}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	return c
}

// Validate checks the required fields.
func (c OIDCConfig) Validate() error {
	if u, err := url.Parse(c.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("auth.oidc.issuer %q is not a URL", c.Issuer)
	}
	if c.ClientID == "" {
		return errors.New("auth.oidc.client_id is required")
	}
	if u, err := url.Parse(c.RedirectURL); err != nil || u.Host == "" || !strings.HasSuffix(u.Path, "/console/oidc/callback") {
		return fmt.Errorf("auth.oidc.redirect_url %q must be <public URL>/console/oidc/callback", c.RedirectURL)
	}
	return nil
}

// OIDC signs staff in with an OpenID Connect provider.
type OIDC struct {
	cfg OIDCConfig

	mu       sync.Mutex
	provider *oidc.Provider // read by discovery at first use
}

// NewOIDC returns the OIDC sign-in; the provider's discovery document is read at
// the first sign-in (and again after a failure), so serve starts while the
// provider is down.
func NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &OIDC{cfg: cfg}, nil
}

// Name returns the provider's English and Chinese names.
func (o *OIDC) Name() (string, string) { return o.cfg.Name, o.cfg.NameZh }

func (o *OIDC) clientContext(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, o.cfg.HTTPClient)
}

func (o *OIDC) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	p, err := oidc.NewProvider(o.clientContext(ctx), o.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: oidc discovery: %w", ErrDirectoryUnavailable, err)
	}
	o.provider = p
	return p, nil
}

func (o *OIDC) oauth2(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, o.cfg.Scopes...),
	}
}

// AuthCodeURL is the provider's authorization URL for state, nonce and the
// PKCE S256 challenge of verifier.
func (o *OIDC) AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return "", err
	}
	return o.oauth2(p).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// ErrBadIDToken: the provider's answer did not prove who signed in (bad
// signature, other issuer or audience, expired, nonce not ours).
var ErrBadIDToken = errors.New("the ID token was not valid")

// Exchange trades the code for tokens (sending the PKCE verifier), verifies the
// ID token (signature against the provider's JWKS, issuer, audience, expiry by
// the configured clock, nonce) and returns the person it names.
func (o *OIDC) Exchange(ctx context.Context, code, verifier, nonce string) (External, error) {
	p, err := o.discover(ctx)
	if err != nil {
		return External{}, err
	}
	cctx := o.clientContext(ctx)
	tok, err := o.oauth2(p).Exchange(cctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		o.cfg.Logger.InfoContext(ctx, "oidc code exchange refused", slog.String("err", err.Error()))
		return External{}, fmt.Errorf("%w: code exchange: %w", ErrUnauthenticated, err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return External{}, fmt.Errorf("%w: the token response has no id_token", ErrBadIDToken)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID, Now: o.cfg.Now,
		SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256, oidc.PS256}}).Verify(cctx, raw)
	if err != nil {
		o.cfg.Logger.InfoContext(ctx, "oidc id token refused", slog.String("err", err.Error()))
		return External{}, fmt.Errorf("%w: %w", ErrBadIDToken, err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 || nonce == "" {
		o.cfg.Logger.InfoContext(ctx, "oidc id token refused", slog.String("err", "nonce mismatch"))
		return External{}, fmt.Errorf("%w: nonce mismatch", ErrBadIDToken)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return External{}, fmt.Errorf("%w: claims: %w", ErrBadIDToken, err)
	}
	// A token for several audiences must have been issued to us (OIDC core 3.1.3.7).
	if len(idt.Audience) > 1 {
		if azp, _ := claims["azp"].(string); azp != o.cfg.ClientID {
			return External{}, fmt.Errorf("%w: azp %q is not this client", ErrBadIDToken, azp)
		}
	}
	ext := External{
		Source:      SourceOIDC,
		ID:          idt.Issuer + "|" + idt.Subject,
		Login:       cmp.Or(claimString(claims, o.cfg.LoginClaim), claimString(claims, "email")),
		DisplayName: claimString(claims, o.cfg.NameClaim),
		Groups:      claimStrings(claims, o.cfg.GroupsClaim),
	}
	if o.cfg.ManagerCodeClaim != "" {
		ext.ManagerCode = claimString(claims, o.cfg.ManagerCodeClaim)
	}
	return ext, nil
}

func claimString(claims map[string]any, name string) string {
	switch v := claims[name].(type) {
	case string:
		return v
	case float64:
		return fmt.Sprint(v)
	}
	return ""
}

func claimStrings(claims map[string]any, name string) []string {
	switch v := claims[name].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
