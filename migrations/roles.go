package migrations

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The production layout (docs/security.md): a migration role owns every table
// and runs `carillon migrate`; `carillon serve` runs as a runtime role that
// may read and write rows but owns nothing, so it cannot alter a table, drop
// it, or disable the audit log's triggers. GrantRuntime gives the runtime role
// exactly that, and is run again after every migration (migrate up --grant).

// roleName is what a runtime role's name may be: Postgres's own identifier
// syntax, lower case, so it is never quoted differently in two places.
var roleName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// appendOnly are the tables the runtime role may only read and insert into.
var appendOnly = []string{"audit_log"}

// GrantRuntime grants role what `carillon serve` and the CLI's day-to-day
// commands need in the current database: USAGE on the schema; SELECT, INSERT,
// UPDATE, DELETE on every table but the append-only ones (SELECT, INSERT only);
// USAGE and SELECT on every sequence. It never grants TRUNCATE, REFERENCES,
// TRIGGER or CREATE, and revokes them if they were. The role must exist (a DBA
// creates it with its password); the caller must own the tables.
func GrantRuntime(ctx context.Context, pool *pgxpool.Pool, role string) error {
	if !roleName.MatchString(role) {
		return fmt.Errorf("runtime role %q: a role name is lower-case letters, digits and _, at most 63 / 角色名只能包含小写字母、数字和下划线", role)
	}
	var exists, super bool
	if err := pool.QueryRow(ctx, `SELECT true, rolsuper FROM pg_roles WHERE rolname = $1`, role).Scan(&exists, &super); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("runtime role %q does not exist: create it first (CREATE ROLE %s LOGIN PASSWORD '…') / 角色不存在", role, role)
		}
		return err
	}
	if super {
		return fmt.Errorf("runtime role %q is a superuser: it could disable the audit log's triggers / 运行角色不能是超级用户", role)
	}
	schema := "public"
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return err
	}
	r := pgx.Identifier{role}.Sanitize()
	s := pgx.Identifier{schema}.Sanitize()
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		stmts := []string{
			`REVOKE ALL ON ALL TABLES IN SCHEMA ` + s + ` FROM ` + r,
			`REVOKE CREATE ON SCHEMA ` + s + ` FROM ` + r,
			`GRANT USAGE ON SCHEMA ` + s + ` TO ` + r,
			`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ` + s + ` TO ` + r,
			`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ` + s + ` TO ` + r,
			// Tables the owner creates later (timeline partitions, next
			// migrations) are the runtime role's to work too.
			`ALTER DEFAULT PRIVILEGES IN SCHEMA ` + s + ` GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ` + r,
			`ALTER DEFAULT PRIVILEGES IN SCHEMA ` + s + ` GRANT USAGE, SELECT ON SEQUENCES TO ` + r,
		}
		for _, t := range appendOnly {
			stmts = append(stmts, `REVOKE UPDATE, DELETE ON `+pgx.Identifier{schema, t}.Sanitize()+` FROM `+r)
		}
		for _, q := range stmts {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("grant runtime role %s: %s: %w", role, q, err)
			}
		}
		return nil
	})
}

// OwnsAuditLog reports whether the connected role owns the audit log (and so
// could disable its triggers) or is a superuser: `serve` warns when it does.
func OwnsAuditLog(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}) (bool, error) {
	var owns bool
	err := q.QueryRow(ctx, `SELECT COALESCE((SELECT pg_has_role(current_user, c.relowner, 'USAGE') FROM pg_class c WHERE c.oid = to_regclass('audit_log')), false)
		OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)`).Scan(&owns)
	return owns, err
}
