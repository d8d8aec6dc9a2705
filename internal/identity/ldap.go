package identity

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAP defaults.
const (
	DefaultLDAPUserFilter     = "(&(objectClass=person)(uid={username}))"
	DefaultLDAPGroupFilter    = "(|(member={dn})(uniqueMember={dn}))"
	DefaultLDAPLoginAttribute = "uid"
	DefaultLDAPNameAttribute  = "cn"
	DefaultLDAPGroupAttribute = "memberOf"
	DefaultLDAPTimeout        = 10 * time.Second
	ldapUsernamePlaceholder   = "{username}"
	ldapDNPlaceholder         = "{dn}"
	ldapMaxGroups             = 1000
)

// LDAPConfig configures password sign-in against an LDAP directory or Active
// Directory. A sign-in binds as the service account, searches the user's entry
// by UserFilter under BaseDN (the typed username escaped with ldap.EscapeFilter),
// then binds as that entry's DN with the typed password.
type LDAPConfig struct {
	// URL is ldap://host:389 or ldaps://host:636. Required.
	URL string
	// StartTLS upgrades an ldap:// connection before any bind. Default false
	// (use ldaps:// or StartTLS outside a test).
	StartTLS bool
	// TLS is the client's TLS configuration (CA roots). Default: the system's.
	TLS *tls.Config
	// BindDN and BindPassword are the service account that searches. Required:
	// an anonymous search is not used.
	BindDN, BindPassword string
	// BaseDN is where users are searched. Required.
	BaseDN string
	// UserFilter finds the entry of {username}. Default DefaultLDAPUserFilter
	// (Active Directory: (&(objectClass=user)(sAMAccountName={username}))).
	UserFilter string
	// LoginAttribute is the attribute whose value becomes the Carillon login.
	// Default DefaultLDAPLoginAttribute (AD: sAMAccountName).
	LoginAttribute string
	// NameAttribute is the display name. Default DefaultLDAPNameAttribute.
	NameAttribute string
	// GroupAttribute lists the user's groups on their own entry (AD's and the
	// memberof overlay's memberOf). Default DefaultLDAPGroupAttribute.
	GroupAttribute string
	// GroupBaseDN, when set, is also searched for groups naming the user by
	// GroupFilter; each group found counts by its DN.
	GroupBaseDN string
	// GroupFilter finds the user's groups ({dn}: the user's DN, escaped).
	// Default DefaultLDAPGroupFilter.
	GroupFilter string
	// ManagerCodeAttribute, when set, is the attribute holding the user's
	// manager code (their customer-manager number).
	ManagerCodeAttribute string
	// Timeout bounds dialing and each request. Default DefaultLDAPTimeout.
	Timeout time.Duration
	// Logger. Default: discard.
	Logger *slog.Logger
}

// WithDefaults returns c with defaults applied.
func (c LDAPConfig) WithDefaults() LDAPConfig {
	c.UserFilter = cmp.Or(c.UserFilter, DefaultLDAPUserFilter)
	c.GroupFilter = cmp.Or(c.GroupFilter, DefaultLDAPGroupFilter)
	c.LoginAttribute = cmp.Or(c.LoginAttribute, DefaultLDAPLoginAttribute)
	c.NameAttribute = cmp.Or(c.NameAttribute, DefaultLDAPNameAttribute)
	c.GroupAttribute = cmp.Or(c.GroupAttribute, DefaultLDAPGroupAttribute)
	c.Timeout = cmp.Or(c.Timeout, DefaultLDAPTimeout)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	return c
}

// Validate checks the required fields.
func (c LDAPConfig) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		return fmt.Errorf("auth.ldap.url %q is not ldap://host:port or ldaps://host:port", c.URL)
	}
	if c.BindDN == "" || c.BindPassword == "" {
		return errors.New("auth.ldap: bind_dn and the bind password (bind_password_file or CARILLON_LDAP_BIND_PASSWORD) are required")
	}
	if c.BaseDN == "" {
		return errors.New("auth.ldap.base_dn is required")
	}
	if !strings.Contains(c.UserFilter, ldapUsernamePlaceholder) {
		return fmt.Errorf("auth.ldap.user_filter must contain %s", ldapUsernamePlaceholder)
	}
	if c.GroupBaseDN != "" && !strings.Contains(c.GroupFilter, ldapDNPlaceholder) {
		return fmt.Errorf("auth.ldap.group_filter must contain %s", ldapDNPlaceholder)
	}
	return nil
}

// LDAP checks passwords against a directory.
type LDAP struct {
	cfg LDAPConfig
}

// NewLDAP returns an LDAP password checker; it does not connect until used.
func NewLDAP(cfg LDAPConfig) (*LDAP, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &LDAP{cfg: cfg}, nil
}

// ErrDirectoryUnavailable: the directory could not be reached or refused the
// service account; nobody can sign in with LDAP until it is fixed.
var ErrDirectoryUnavailable = errors.New("the directory is unavailable")

func (l *LDAP) dial(ctx context.Context) (*ldap.Conn, error) {
	d := &net.Dialer{Timeout: l.cfg.Timeout}
	opts := []ldap.DialOpt{ldap.DialWithDialer(d)}
	u, _ := url.Parse(l.cfg.URL)
	tc := l.cfg.TLS
	if tc != nil && tc.ServerName == "" {
		tc = tc.Clone()
		tc.ServerName = u.Hostname()
	}
	if tc != nil {
		opts = append(opts, ldap.DialWithTLSConfig(tc))
	}
	conn, err := ldap.DialURL(l.cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: dial: %w", ErrDirectoryUnavailable, err)
	}
	conn.SetTimeout(l.cfg.Timeout)
	if l.cfg.StartTLS {
		if tc == nil {
			tc = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
		}
		if err := conn.StartTLS(tc); err != nil {
			conn.Close()
			return nil, fmt.Errorf("%w: StartTLS: %w", ErrDirectoryUnavailable, err)
		}
	}
	return conn, nil
}

// Authenticate checks username and password against the directory and returns
// the person it found. ErrUnauthenticated for an empty password (an LDAP
// "unauthenticated bind" would succeed anonymously), an unknown or ambiguous
// username and a wrong password; ErrDirectoryUnavailable when the directory or
// the service account fails.
func (l *LDAP) Authenticate(ctx context.Context, username, password string) (External, error) {
	username = strings.TrimSpace(username)
	if password == "" || username == "" || len(password) > MaxPasswordLength || len(username) > 256 {
		return External{}, ErrUnauthenticated
	}
	conn, err := l.dial(ctx)
	if err != nil {
		return External{}, err
	}
	defer conn.Close()
	// Close the connection if the request is cancelled meanwhile.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := conn.Bind(l.cfg.BindDN, l.cfg.BindPassword); err != nil {
		return External{}, fmt.Errorf("%w: service account bind: %w", ErrDirectoryUnavailable, err)
	}
	attrs := []string{l.cfg.LoginAttribute, l.cfg.NameAttribute, l.cfg.GroupAttribute}
	if l.cfg.ManagerCodeAttribute != "" {
		attrs = append(attrs, l.cfg.ManagerCodeAttribute)
	}
	filter := strings.ReplaceAll(l.cfg.UserFilter, ldapUsernamePlaceholder, ldap.EscapeFilter(username))
	res, err := conn.Search(ldap.NewSearchRequest(l.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, int(l.cfg.Timeout.Seconds()), false, filter, attrs, nil))
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return External{}, fmt.Errorf("%w: search user: %w", ErrDirectoryUnavailable, err)
	}
	if res == nil || len(res.Entries) != 1 {
		n := 0
		if res != nil {
			n = len(res.Entries)
		}
		l.cfg.Logger.InfoContext(ctx, "ldap sign-in refused: user not found exactly once", "entries", n)
		return External{}, ErrUnauthenticated
	}
	entry := res.Entries[0]
	if err := conn.Bind(entry.DN, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			l.cfg.Logger.InfoContext(ctx, "ldap sign-in refused: wrong password")
			return External{}, ErrUnauthenticated
		}
		return External{}, fmt.Errorf("%w: user bind: %w", ErrDirectoryUnavailable, err)
	}
	ext := External{
		Source:      SourceLDAP,
		ID:          strings.ToLower(entry.DN),
		Login:       cmp.Or(entry.GetAttributeValue(l.cfg.LoginAttribute), username),
		DisplayName: entry.GetAttributeValue(l.cfg.NameAttribute),
		Groups:      entry.GetAttributeValues(l.cfg.GroupAttribute),
	}
	if l.cfg.ManagerCodeAttribute != "" {
		ext.ManagerCode = entry.GetAttributeValue(l.cfg.ManagerCodeAttribute)
	}
	if l.cfg.GroupBaseDN != "" {
		// Groups are read as the service account, not the user.
		if err := conn.Bind(l.cfg.BindDN, l.cfg.BindPassword); err != nil {
			return External{}, fmt.Errorf("%w: service account bind: %w", ErrDirectoryUnavailable, err)
		}
		gf := strings.ReplaceAll(l.cfg.GroupFilter, ldapDNPlaceholder, ldap.EscapeFilter(entry.DN))
		gres, err := conn.Search(ldap.NewSearchRequest(l.cfg.GroupBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			ldapMaxGroups, int(l.cfg.Timeout.Seconds()), false, gf, []string{"dn"}, nil))
		if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
			return External{}, fmt.Errorf("%w: search groups: %w", ErrDirectoryUnavailable, err)
		}
		if gres != nil {
			for _, g := range gres.Entries {
				ext.Groups = append(ext.Groups, g.DN)
			}
		}
	}
	return ext, nil
}
