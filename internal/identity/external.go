package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"carillon/internal/audit"
)

// Source is where a user's identity comes from.
type Source string

// The sources. A local user is created by `carillon user create` and may have a
// password; an oidc or ldap user is provisioned at their first sign-in from that
// directory and never has a local password.
const (
	SourceLocal Source = "local"
	SourceOIDC  Source = "oidc"
	SourceLDAP  Source = "ldap"
)

// Errors of a directory sign-in.
var (
	// ErrNoRole: the directory vouched for the person but no role rule matched
	// their groups, so Carillon lets them do nothing.
	ErrNoRole = errors.New("no role mapped from the directory's groups")
	// ErrLoginTaken: the login the directory gives is a user of another source
	// (a local user, say); the directory may not take that account over.
	ErrLoginTaken = errors.New("login belongs to a user of another source")
)

// RoleRule gives Role to whoever is in Group (an LDAP group DN, an AD memberOf
// value, or a value of the OIDC groups claim; compared case-insensitively).
type RoleRule struct {
	Group string
	Role  Role
}

// RoleMap turns a directory's groups and manager code into roles.
type RoleMap struct {
	Rules []RoleRule
}

// Validate checks every rule names a group and a known role.
func (m RoleMap) Validate() error {
	for i, r := range m.Rules {
		if strings.TrimSpace(r.Group) == "" {
			return fmt.Errorf("role_map[%d]: group is required", i)
		}
		if !slices.Contains(allRoles, r.Role) {
			return fmt.Errorf("role_map[%d]: unknown role %q (want admin, marketer, approver, manager or auditor)", i, r.Role)
		}
	}
	return nil
}

// Roles returns the roles groups earn, in the stable order.
func (m RoleMap) Roles(groups []string) []Role {
	var out []Role
	for _, r := range m.Rules {
		for _, g := range groups {
			if strings.EqualFold(strings.TrimSpace(g), strings.TrimSpace(r.Group)) {
				out = append(out, r.Role)
				break
			}
		}
	}
	return normRoles(out)
}

// External is a person a directory vouched for.
type External struct {
	Source Source
	// ID is the directory's stable identifier: "issuer|subject" for OIDC, the
	// entry's DN for LDAP.
	ID          string
	Login       string
	DisplayName string
	Groups      []string
	// ManagerCode is the value of the configured claim or attribute; it links a
	// user with the manager role to their manager record.
	ManagerCode string
}

// SyncExternal signs a directory user in: it creates the user at their first
// sign-in (no local password, marked with its source) and, at every sign-in,
// sets their roles, manager link and display name from the directory through m.
// A user disabled in Carillon stays disabled (ErrUnauthenticated); a login held by
// a user of another source is refused (ErrLoginTaken); a person no rule gives a
// role is refused (ErrNoRole), their earlier roles taken away. The manager role
// needs a manager code naming a manager record: without one it is left out.
func (s *Store) SyncExternal(ctx context.Context, m RoleMap, ext External) (Principal, error) {
	if ext.Source != SourceOIDC && ext.Source != SourceLDAP {
		return Principal{}, fmt.Errorf("sync user: unknown source %q", ext.Source)
	}
	if strings.TrimSpace(ext.ID) == "" {
		return Principal{}, errors.New("sync user: the directory gave no identifier")
	}
	login := normLogin(ext.Login)
	if !loginRe.MatchString(login) {
		return Principal{}, invalid("login", fmt.Sprintf("the directory's login is not one Carillon accepts (1-64 of a-z, 0-9, '.', '_', '@', '-'): %d characters", len(ext.Login)))
	}
	name := strings.TrimSpace(ext.DisplayName)
	if name == "" {
		name = login
	}
	roles := m.Roles(ext.Groups)
	code := strings.TrimSpace(ext.ManagerCode)
	actor := audit.Actor{Name: string(ext.Source) + ":" + login, Auth: string(ext.Source)}
	var out User
	var refused error
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var mid *int64
		if slices.Contains(roles, RoleManager) {
			if code != "" {
				id, err := managerID(ctx, tx, code)
				if err == nil {
					mid = &id
				} else if !errors.As(err, new(*ValidationError)) {
					return err
				}
			}
			if mid == nil {
				s.cfg.Logger.WarnContext(ctx, "directory user has the manager role but no known manager code; role left out",
					"login", login, "source", string(ext.Source))
				roles = slices.DeleteFunc(roles, func(r Role) bool { return r == RoleManager })
			}
		}
		var id int64
		var src string
		moved := false
		err := tx.QueryRow(ctx, `SELECT id FROM users WHERE source = $1 AND external_id = $2 FOR UPDATE`, string(ext.Source), ext.ID).Scan(&id)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if errors.Is(err, pgx.ErrNoRows) {
			var other int64
			err = tx.QueryRow(ctx, `SELECT id, source FROM users WHERE login = $1 FOR UPDATE`, login).Scan(&other, &src)
			switch {
			case err == nil && src == string(SourceLDAP) && ext.Source == SourceLDAP:
				// The same directory login under a new DN: the entry was moved or
				// renamed (the login attribute is unique in the directory, and the
				// search found exactly one entry). Follow it.
				if _, err := tx.Exec(ctx, `UPDATE users SET external_id = $2 WHERE id = $1`, other, ext.ID); err != nil {
					return err
				}
				id, moved = other, true
			case err == nil:
				refused = ErrLoginTaken
				return nil
			case !errors.Is(err, pgx.ErrNoRows):
				return err
			}
		}
		if id == 0 {
			if len(roles) == 0 {
				refused = ErrNoRole
				return nil
			}
			now := s.cfg.Now()
			if err := tx.QueryRow(ctx, `INSERT INTO users (login, display_name, roles, manager_id, source, external_id, created_at)
				VALUES (@login, @name, @roles, @manager, @source, @external, @at) RETURNING id`,
				pgx.NamedArgs{"login": login, "name": name, "roles": roleStrings(roles), "manager": mid,
					"source": string(ext.Source), "external": ext.ID, "at": now}).Scan(&id); err != nil {
				if isUniqueViolation(err) {
					refused = ErrLoginTaken
					return nil
				}
				return err
			}
			uid := id
			actor.UserID = &uid
			changes := map[string]any{"login": login, "display_name": name, "roles": roles, "source": ext.Source, "password_set": false}
			if mid != nil {
				changes["manager_code"] = code
			}
			if err := audit.Append(ctx, tx, actor, now, audit.Entry{Action: "user.create", ObjectType: "user", ObjectID: login, Changes: changes}); err != nil {
				return err
			}
			out, err = scanUser(tx.QueryRow(ctx, sqlGetUser, login))
			return err
		}
		u, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+userFrom+`WHERE u.id = $1`, id))
		if err != nil {
			return err
		}
		uid := u.ID
		actor.UserID = &uid
		actor.Name = string(ext.Source) + ":" + u.Login
		if u.Disabled {
			refused = ErrUnauthenticated
			return nil
		}
		if mid == nil {
			mid = u.ManagerID // the link stays, as Revoke leaves it
		}
		sameLink := (mid == nil) == (u.ManagerID == nil) && (mid == nil || *mid == *u.ManagerID)
		if !slices.Equal(u.Roles, roles) || !sameLink || u.DisplayName != name || moved {
			if _, err := tx.Exec(ctx, `UPDATE users SET roles = $2, manager_id = $3, display_name = $4 WHERE id = $1`,
				u.ID, roleStrings(roles), mid, name); err != nil {
				return err
			}
			changes := map[string]any{"roles": roles, "previous_roles": u.Roles, "source": ext.Source}
			if !sameLink && code != "" {
				changes["manager_code"] = code
			}
			if u.DisplayName != name {
				changes["display_name"] = name
			}
			if moved {
				changes["external_id"] = ext.ID
			}
			if err := audit.Append(ctx, tx, actor, s.cfg.Now(), audit.Entry{Action: "user.sync", ObjectType: "user", ObjectID: u.Login, Changes: changes}); err != nil {
				return err
			}
		}
		if len(roles) == 0 {
			refused = ErrNoRole
			return nil
		}
		out, err = scanUser(tx.QueryRow(ctx, sqlGetUser, u.Login))
		return err
	})
	if err != nil {
		return Principal{}, fmt.Errorf("sign in %s user: %w", ext.Source, err)
	}
	if refused != nil {
		s.cfg.Logger.InfoContext(ctx, "directory sign-in refused", "source", string(ext.Source), "login", login, "reason", refused.Error())
		return Principal{}, refused
	}
	if _, err := s.pool.Exec(ctx, `UPDATE users SET last_seen_at = $2 WHERE id = $1`, out.ID, s.cfg.Now()); err != nil {
		return Principal{}, fmt.Errorf("sign in %s user: %w", ext.Source, err)
	}
	return s.principal(ctx, out, 0)
}

// sourceOf returns the source of the user with login; ErrNotFound when none.
func (s *Store) sourceOf(ctx context.Context, login string) (Source, error) {
	var src string
	err := s.pool.QueryRow(ctx, `SELECT source FROM users WHERE login = $1`, normLogin(login)).Scan(&src)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("source of user: %w", err)
	}
	return Source(src), nil
}
