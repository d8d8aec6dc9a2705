package identity

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"carillon/internal/audit"
)

// NewUser is the input of CreateUser.
type NewUser struct {
	Login       string
	DisplayName string
	Roles       []Role
	// ManagerCode links the user to a manager record; required with RoleManager.
	ManagerCode string
	// Password is optional; when set it must have MinPasswordLength characters.
	Password string
	// Contact is where the user is told of decisions on their work; optional.
	Contact ContactChange
}

// loginRe mirrors the users.login check in the schema.
var loginRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{0,63}$`)

// checkIdentifier refuses control characters and line breaks in a login or a
// manager code, with a field error that says so.
func checkIdentifier(field, v string) *FieldError {
	i := strings.IndexFunc(v, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' })
	if i < 0 {
		return nil
	}
	r, _ := utf8.DecodeRuneInString(v[i:])
	return &FieldError{Field: field, Message: fmt.Sprintf("must not contain control characters or line breaks (%U at byte %d) / 不能包含控制字符或换行符（第 %d 字节：%U）", r, i, i, r)}
}

// normLogin lower-cases and trims a login.
func normLogin(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

const userColumns = `u.id, u.login, u.display_name, u.roles, u.manager_id, coalesce(m.code, ''), u.service,
	u.disabled_at IS NOT NULL, u.created_at, u.last_seen_at, coalesce(u.work_email, ''), coalesce(u.wecom_userid, ''), u.notify`

// userFrom reads a user's manager code from manager_refs, the contacts
// package's view of its managers (identity sits below contacts).
const userFrom = ` FROM users u LEFT JOIN manager_refs m ON m.id = u.manager_id `

const sqlGetUser = `SELECT ` + userColumns + userFrom + `WHERE u.login = $1`

const sqlLockUser = `SELECT ` + userColumns + userFrom + `WHERE u.login = $1 FOR UPDATE OF u`

const sqlListUsers = `SELECT ` + userColumns + userFrom + `ORDER BY u.login`

const sqlInsertUser = `INSERT INTO users (login, display_name, roles, manager_id, service, password_hash, created_at)
	VALUES (@login, @name, @roles, @manager, @service, @hash, @at) RETURNING id`

const sqlManagerID = `SELECT id FROM manager_refs WHERE code = $1`

func scanUser(row pgx.Row) (User, error) {
	var u User
	var roles []string
	err := row.Scan(&u.ID, &u.Login, &u.DisplayName, &roles, &u.ManagerID, &u.ManagerCode, &u.Service,
		&u.Disabled, &u.CreatedAt, &u.LastSeenAt, &u.WorkEmail, &u.WeComUserID, &u.Notify)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, err
	}
	u.Roles = make([]Role, len(roles))
	for i, r := range roles {
		u.Roles[i] = Role(r)
	}
	return u, nil
}

func roleStrings(rs []Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// managerID resolves a manager code; a ValidationError when there is none.
func managerID(ctx context.Context, q querier, code string) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, sqlManagerID, code).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, invalid("manager_code", fmt.Sprintf("no manager with code %q", code))
	}
	if err != nil {
		return 0, fmt.Errorf("look up manager %q: %w", code, err)
	}
	return id, nil
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// CreateUser adds a user. ErrConflict when the login exists; a ValidationError for
// a bad login, no roles, a manager role without a manager code, an unknown manager
// code or a short password.
func (s *Store) CreateUser(ctx context.Context, actor audit.Actor, in NewUser) (User, error) {
	login := normLogin(in.Login)
	name := strings.TrimSpace(in.DisplayName)
	roles := normRoles(in.Roles)
	code := strings.TrimSpace(in.ManagerCode)
	var errs []FieldError
	if err := checkIdentifier("login", login); err != nil {
		errs = append(errs, *err)
	} else if !loginRe.MatchString(login) {
		errs = append(errs, FieldError{Field: "login", Message: "must be 1-64 of a-z, 0-9, '.', '_', '@', '-', starting with a letter or digit"})
	}
	if name == "" {
		errs = append(errs, FieldError{Field: "display_name", Message: "is required"})
	}
	for _, r := range in.Roles {
		if !slices.Contains(allRoles, r) {
			errs = append(errs, FieldError{Field: "roles", Message: fmt.Sprintf("unknown role %q", r)})
		}
	}
	if len(roles) == 0 {
		errs = append(errs, FieldError{Field: "roles", Message: "at least one role is required"})
	}
	if err := checkIdentifier("manager_code", code); err != nil {
		errs = append(errs, *err)
	}
	if slices.Contains(roles, RoleManager) && code == "" {
		errs = append(errs, FieldError{Field: "manager_code", Message: "is required with the manager role"})
	}
	if in.Password != "" {
		if err := checkPassword(in.Password); err != nil {
			errs = append(errs, err.(*ValidationError).Fields...)
		}
	}
	contact, err := normContact(in.Contact)
	if err != nil {
		var ve *ValidationError
		errors.As(err, &ve)
		errs = append(errs, ve.Fields...)
	}
	if len(errs) > 0 {
		return User{}, &ValidationError{Fields: errs}
	}
	var hash *string
	if in.Password != "" {
		h, err := hashPassword(in.Password)
		if err != nil {
			return User{}, err
		}
		hash = &h
	}
	var u User
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if u, err = s.insertUser(ctx, tx, actor, login, name, roles, code, false, hash); err != nil || contact.empty() {
			return err
		}
		if err := s.setContact(ctx, tx, actor, u, contact); err != nil {
			return err
		}
		u, err = scanUser(tx.QueryRow(ctx, sqlGetUser, login))
		return err
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// insertUser adds a user and its audit row in tx.
func (s *Store) insertUser(ctx context.Context, tx pgx.Tx, actor audit.Actor, login, name string, roles []Role, code string, service bool, hash *string) (User, error) {
	var mid *int64
	if code != "" {
		id, err := managerID(ctx, tx, code)
		if err != nil {
			return User{}, err
		}
		mid = &id
	}
	now := s.cfg.Now()
	var id int64
	err := tx.QueryRow(ctx, sqlInsertUser, pgx.NamedArgs{"login": login, "name": name,
		"roles": roleStrings(roles), "manager": mid, "service": service, "hash": hash, "at": now}).Scan(&id)
	if isUniqueViolation(err) {
		return User{}, fmt.Errorf("create user %q: %w", login, ErrConflict)
	}
	if err != nil {
		return User{}, fmt.Errorf("create user %q: %w", login, err)
	}
	changes := map[string]any{"login": login, "display_name": name, "roles": roles, "password_set": hash != nil}
	if code != "" {
		changes["manager_code"] = code
	}
	if service {
		changes["service"] = true
	}
	if err := audit.Append(ctx, tx, actor, now, audit.Entry{Action: "user.create", ObjectType: "user", ObjectID: login, Changes: changes}); err != nil {
		return User{}, err
	}
	return scanUser(tx.QueryRow(ctx, sqlGetUser, login))
}

// GetUser returns the user with login; ErrNotFound when there is none.
func (s *Store) GetUser(ctx context.Context, login string) (User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, sqlGetUser, normLogin(login)))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, fmt.Errorf("get user %q: %w", login, err)
	}
	return u, err
}

// ListUsers returns every user, by login.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.pool.Query(ctx, sqlListUsers)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// update locks the user with login, lets change modify it in tx, and returns the
// user as it is afterwards. ErrNotFound when there is no such user.
func (s *Store) update(ctx context.Context, login string, change func(tx pgx.Tx, u User) error) (User, error) {
	login = normLogin(login)
	var out User
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		u, err := scanUser(tx.QueryRow(ctx, sqlLockUser, login))
		if err != nil {
			return err
		}
		if err := change(tx, u); err != nil {
			return err
		}
		out, err = scanUser(tx.QueryRow(ctx, sqlGetUser, login))
		return err
	})
	return out, err
}

// DisableUser disables a user: their tokens and sessions stop working at once.
// Disabling a disabled user changes nothing.
func (s *Store) DisableUser(ctx context.Context, actor audit.Actor, login string) error {
	return s.setDisabled(ctx, actor, login, true)
}

// EnableUser enables a disabled user; their unrevoked, unexpired tokens work again.
func (s *Store) EnableUser(ctx context.Context, actor audit.Actor, login string) error {
	return s.setDisabled(ctx, actor, login, false)
}

func (s *Store) setDisabled(ctx context.Context, actor audit.Actor, login string, disabled bool) error {
	action := map[bool]string{true: "user.disable", false: "user.enable"}[disabled]
	_, err := s.update(ctx, login, func(tx pgx.Tx, u User) error {
		if u.Disabled == disabled {
			return nil
		}
		now := s.cfg.Now()
		var at any
		if disabled {
			at = now
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET disabled_at = $2 WHERE id = $1`, u.ID, at); err != nil {
			return err
		}
		return audit.Append(ctx, tx, actor, now, audit.Entry{Action: action, ObjectType: "user", ObjectID: u.Login,
			Changes: map[string]any{"disabled": disabled}})
	})
	if err != nil {
		return fmt.Errorf("%s %q: %w", action, login, err)
	}
	return nil
}

// SetPassword sets a user's console password (at least MinPasswordLength
// characters), replacing any earlier one.
func (s *Store) SetPassword(ctx context.Context, actor audit.Actor, login, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	_, err = s.update(ctx, login, func(tx pgx.Tx, u User) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, u.ID, hash); err != nil {
			return err
		}
		return audit.Append(ctx, tx, actor, s.cfg.Now(), audit.Entry{Action: "user.set_password", ObjectType: "user", ObjectID: u.Login,
			Changes: map[string]any{"password": "changed"}})
	})
	if err != nil {
		return fmt.Errorf("set password of %q: %w", login, err)
	}
	return nil
}

// Grant gives a user a role. Granting manager needs managerCode, unless the user
// is already linked to a manager; a managerCode given with any role (re)links the
// user to that manager. Granting a role held changes nothing unless the link does.
func (s *Store) Grant(ctx context.Context, actor audit.Actor, login string, role Role, managerCode string) (User, error) {
	if !slices.Contains(allRoles, role) {
		return User{}, invalid("role", fmt.Sprintf("unknown role %q", role))
	}
	code := strings.TrimSpace(managerCode)
	u, err := s.update(ctx, login, func(tx pgx.Tx, u User) error {
		if role == RoleManager && code == "" && u.ManagerID == nil {
			return invalid("manager_code", "is required with the manager role")
		}
		mid := u.ManagerID
		if code != "" {
			id, err := managerID(ctx, tx, code)
			if err != nil {
				return err
			}
			mid = &id
		}
		sameLink := (mid == nil) == (u.ManagerID == nil) && (mid == nil || *mid == *u.ManagerID)
		if u.Has(role) && sameLink {
			return nil
		}
		roles := normRoles(append(slices.Clone(u.Roles), role))
		if _, err := tx.Exec(ctx, `UPDATE users SET roles = $2, manager_id = $3 WHERE id = $1`, u.ID, roleStrings(roles), mid); err != nil {
			return err
		}
		changes := map[string]any{"role": role, "roles": roles}
		if code != "" {
			changes["manager_code"] = code
		}
		return audit.Append(ctx, tx, actor, s.cfg.Now(), audit.Entry{Action: "user.grant", ObjectType: "user", ObjectID: u.Login, Changes: changes})
	})
	if err != nil {
		return User{}, fmt.Errorf("grant %s to %q: %w", role, login, err)
	}
	return u, nil
}

// Revoke takes a role from a user. Revoking a role not held changes nothing. The
// link to a manager record stays.
func (s *Store) Revoke(ctx context.Context, actor audit.Actor, login string, role Role) (User, error) {
	if !slices.Contains(allRoles, role) {
		return User{}, invalid("role", fmt.Sprintf("unknown role %q", role))
	}
	u, err := s.update(ctx, login, func(tx pgx.Tx, u User) error {
		if !u.Has(role) {
			return nil
		}
		roles := slices.DeleteFunc(slices.Clone(u.Roles), func(r Role) bool { return r == role })
		if _, err := tx.Exec(ctx, `UPDATE users SET roles = $2 WHERE id = $1`, u.ID, roleStrings(roles)); err != nil {
			return err
		}
		return audit.Append(ctx, tx, actor, s.cfg.Now(), audit.Entry{Action: "user.revoke", ObjectType: "user", ObjectID: u.Login,
			Changes: map[string]any{"role": role, "roles": roles}})
	})
	if err != nil {
		return User{}, fmt.Errorf("revoke %s from %q: %w", role, login, err)
	}
	return u, nil
}
