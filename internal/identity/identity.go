package identity

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/internal/apperr"
	"carillon/internal/audit"
	"carillon/internal/fielderr"
	"carillon/internal/pii"
)

// Role is what a user may do.
type Role string

// The roles. A user may hold several.
const (
	RoleAdmin    Role = "admin"    // everything, including the River UI
	RoleMarketer Role = "marketer" // segments, templates, campaigns; cannot approve
	RoleApprover Role = "approver" // approves or rejects campaigns
	RoleManager  Role = "manager"  // their own customers (a team lead: the team's)
	RoleAuditor  Role = "auditor"  // read-only everywhere, personal data masked
)

// Roles lists every role in a stable order.
var allRoles = []Role{RoleAdmin, RoleMarketer, RoleApprover, RoleManager, RoleAuditor}

// AllRoles returns every role, in a stable order.
func AllRoles() []Role { return slices.Clone(allRoles) }

// ParseRole reads a role name (case and surrounding space ignored).
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(allRoles, r) {
		return r, nil
	}
	return "", invalid("role", fmt.Sprintf("unknown role %q (want admin, marketer, approver, manager or auditor)", s))
}

// ParseRoles reads a comma-separated list of roles.
func ParseRoles(s string) ([]Role, error) {
	var out []Role
	for part := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		r, err := ParseRole(part)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return normRoles(out), nil
}

// normRoles removes duplicates and sorts roles in the order of allRoles.
func normRoles(rs []Role) []Role {
	out := []Role{}
	for _, r := range allRoles {
		if slices.Contains(rs, r) {
			out = append(out, r)
		}
	}
	return out
}

// User is a named account. The password hash never leaves the package.
type User struct {
	ID          int64      `json:"id"`
	Login       string     `json:"login"`
	DisplayName string     `json:"display_name"`
	Roles       []Role     `json:"roles"`
	ManagerID   *int64     `json:"manager_id,omitempty"`
	ManagerCode string     `json:"manager_code,omitempty"`
	Service     bool       `json:"service"`
	Disabled    bool       `json:"disabled"`
	CreatedAt   time.Time  `json:"created_at"`
	LastSeenAt  *time.Time `json:"last_seen_at,omitempty"`
	// WorkEmail and WeComUserID are where the user is told of decisions on
	// their work, by Notify (see NotifyAddress); staff data, masked in logs.
	WorkEmail   string `json:"work_email,omitempty"`
	WeComUserID string `json:"wecom_userid,omitempty"`
	Notify      Notify `json:"notify"`
}

// LogValue logs a user with their addresses masked.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("id", u.ID), slog.String("login", u.Login),
		slog.String("work_email", pii.Email(u.WorkEmail)), slog.String("wecom_userid", pii.OpenID(u.WeComUserID)))
}

// Has reports whether the user holds role r.
func (u User) Has(r Role) bool { return slices.Contains(u.Roles, r) }

// Principal is an authenticated caller.
type Principal struct {
	User User `json:"user"`
	// TokenID is the token used; 0 for a password sign-in.
	TokenID int64 `json:"token_id,omitempty"`
	// ManagerIDs is the manager data scope of a user with the manager role: their own
	// manager id and, for a team lead, every manager whose lead they are. Empty for a
	// user without the manager role.
	ManagerIDs []int64 `json:"manager_ids,omitempty"`
}

// Has reports whether the principal holds role r. No role implies another: the
// caller decides what admin may do.
func (p Principal) Has(r Role) bool { return p.User.Has(r) }

// HasAny reports whether the principal holds one of roles.
func (p Principal) HasAny(roles ...Role) bool {
	return slices.ContainsFunc(roles, p.User.Has)
}

// Login returns the user's login.
func (p Principal) Login() string { return p.User.Login }

// SeesAllContacts reports whether p reads every contact (administrators;
// marketers, approvers and auditors, masked) rather than a manager's scope.
func (p Principal) SeesAllContacts() bool {
	return p.HasAny(RoleAdmin, RoleMarketer, RoleApprover, RoleAuditor)
}

// OwnManagerID is the principal's own manager id: 0 for a user who is not a
// customer manager.
func (p Principal) OwnManagerID() int64 {
	if p.Has(RoleManager) && p.User.ManagerID != nil {
		return *p.User.ManagerID
	}
	return 0
}

// SeesPersonalData reports whether p reads contacts' phone numbers, emails and
// openids unmasked: administrators, and customer managers while their scope
// limits them to their own customers — a manager who also holds a role that
// sees every contact sees them masked.
func (p Principal) SeesPersonalData() bool {
	return p.Has(RoleAdmin) || (p.Has(RoleManager) && !p.SeesAllContacts())
}

// Actor is the audit actor of an API call by p from addr: "api:<login>".
func (p Principal) Actor(addr string) audit.Actor {
	id := p.User.ID
	auth := audit.AuthToken
	if p.TokenID == 0 {
		auth = audit.AuthPassword
	}
	return audit.Actor{Name: "api:" + p.User.Login, UserID: &id, Addr: addr, Auth: auth}
}

// Authenticator turns a bearer token into a Principal. Store implements it; SSO or
// LDAP sources can implement it later. It returns ErrUnauthenticated for any token
// that is unknown, revoked, expired or whose user is disabled.
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string) (Principal, error)
}

var _ Authenticator = (*Store)(nil)

// Errors; server maps them to HTTP statuses.
var (
	ErrNotFound        = apperr.NotFound("not found", "")
	ErrConflict        = apperr.Conflict("conflict", "")
	ErrUnauthenticated = errors.New("unauthenticated")
)

// ValidationError names the bad fields of an input. It is fielderr.ValidationError
// (as contacts.ValidationError is), so the server maps one type to 400.
type ValidationError = fielderr.ValidationError

// FieldError is one bad value.
type FieldError = fielderr.FieldError

func invalid(field, msg string) error {
	return &ValidationError{Fields: []FieldError{{Field: field, Message: msg}}}
}

// MinPasswordLength is the fewest characters a password may have.
const MinPasswordLength = 12

// MaxPasswordLength bounds the bytes hashed, so a huge password cannot cost much.
const MaxPasswordLength = 1024

// DefaultTouchInterval is how often, at most, a token's last_used_at is written.
const DefaultTouchInterval = time.Minute

// Config configures a Store.
type Config struct {
	// Logger receives operational logs (never a secret). Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// WithDefaults returns c with defaults applied.
func (c Config) WithDefaults() Config {
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c Config) validate() error { return nil }

// Store reads and writes users and tokens.
type Store struct {
	pool *pgxpool.Pool
	cfg  Config
}

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, errors.New("identity: nil pool")
	}
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Store{pool: pool, cfg: cfg}, nil
}
