// Package migrations holds Carillon's SQL migrations, embedded in the binary, and the
// runner that applies them after River's own.
//
// Files are named NNN_name.up.sql and applied in order of NNN, each in its own
// transaction, recorded in carillon_migrations. River's migrations (rivermigrate) run
// first. The whole run holds a Postgres advisory lock, so two processes migrating at
// once apply each migration exactly once.
package migrations

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed *.up.sql
var files embed.FS

// lockKey is the advisory lock held while migrating ("carillon" in ASCII).
const lockKey int64 = 0x636172696c6c6f6e

// ErrPending is returned by Check when the database lacks migrations.
var ErrPending = errors.New("database is not migrated")

// Migration is one of Carillon's migrations.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

var nameRE = regexp.MustCompile(`^(\d{3})_([a-z0-9_]+)\.up\.sql$`)

// All returns Carillon's migrations in order.
func All() ([]Migration, error) {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, err
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		m := nameRE.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration file %q: name must be NNN_name.up.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if prev, ok := seen[v]; ok {
			return nil, fmt.Errorf("migration files %q and %q share version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := files.ReadFile(e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: m[2], SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Fingerprint identifies the full schema (River's migrations and ours). Test
// databases are cloned from a template named after it.
func Fingerprint() string {
	h := sha256.New()
	if rm, err := rivermigrate.New(riverpgxv5.New(nil), nil); err == nil {
		for _, m := range rm.AllVersions() {
			fmt.Fprintf(h, "river %d %s\n", m.Version, m.SQLUp)
		}
	}
	all, _ := All()
	for _, m := range all {
		fmt.Fprintf(h, "%d %s\n%s\n", m.Version, m.Name, m.SQL)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Applied is one applied migration, River's or ours.
type Applied struct {
	Line      string    `json:"line"` // "river" or "carillon"
	Version   int       `json:"version"`
	Name      string    `json:"name"`
	AppliedAt time.Time `json:"applied_at,omitzero"`
}

// Status lists what is applied and what is pending.
type Status struct {
	Applied []Applied `json:"applied"`
	Pending []Applied `json:"pending"`
}

// Up applies every pending migration, River's first. It is safe to call from several
// processes at once.
func Up(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) ([]Applied, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: acquire connection: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		return nil, fmt.Errorf("migrate: take advisory lock: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockKey)
	}()

	var done []Applied
	rm, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("migrate: river migrator: %w", err)
	}
	res, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("migrate: river: %w", err)
	}
	for _, v := range res.Versions {
		done = append(done, Applied{Line: "river", Version: v.Version, Name: v.Name, AppliedAt: time.Now()})
	}

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS carillon_migrations (
		version integer PRIMARY KEY,
		name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return done, fmt.Errorf("migrate: create carillon_migrations: %w", err)
	}
	have, err := appliedVersions(ctx, conn.Conn())
	if err != nil {
		return done, err
	}
	all, err := All()
	if err != nil {
		return done, err
	}
	for _, m := range all {
		if _, ok := have[m.Version]; ok {
			continue
		}
		err := pgx.BeginFunc(ctx, conn.Conn(), func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO carillon_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return done, fmt.Errorf("migrate: apply %03d_%s: %w", m.Version, m.Name, err)
		}
		logger.InfoContext(ctx, "migration applied", slog.Int("version", m.Version), slog.String("name", m.Name))
		done = append(done, Applied{Line: "carillon", Version: m.Version, Name: m.Name, AppliedAt: time.Now()})
	}
	return done, nil
}

func appliedVersions(ctx context.Context, conn *pgx.Conn) (map[int]time.Time, error) {
	out := map[int]time.Time{}
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('carillon_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, fmt.Errorf("migrate: look for carillon_migrations: %w", err)
	}
	if !exists {
		return out, nil
	}
	rows, err := conn.Query(ctx, `SELECT version, applied_at FROM carillon_migrations`)
	if err != nil {
		return nil, fmt.Errorf("migrate: read carillon_migrations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		var at time.Time
		if err := rows.Scan(&v, &at); err != nil {
			return nil, err
		}
		out[v] = at
	}
	return out, rows.Err()
}

// GetStatus reports applied and pending migrations of both lines.
func GetStatus(ctx context.Context, pool *pgxpool.Pool) (Status, error) {
	var st Status
	rm, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return st, err
	}
	existing, err := rm.ExistingVersions(ctx)
	if err != nil {
		// No river_migration table yet: nothing of River's is applied.
		existing = nil
	}
	riverHave := map[int]bool{}
	for _, m := range existing {
		riverHave[m.Version] = true
	}
	for _, m := range rm.AllVersions() {
		a := Applied{Line: "river", Version: m.Version, Name: m.Name}
		if riverHave[m.Version] {
			st.Applied = append(st.Applied, a)
		} else {
			st.Pending = append(st.Pending, a)
		}
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return st, err
	}
	defer conn.Release()
	have, err := appliedVersions(ctx, conn.Conn())
	if err != nil {
		return st, err
	}
	all, err := All()
	if err != nil {
		return st, err
	}
	for _, m := range all {
		a := Applied{Line: "carillon", Version: m.Version, Name: m.Name}
		if at, ok := have[m.Version]; ok {
			a.AppliedAt = at
			st.Applied = append(st.Applied, a)
		} else {
			st.Pending = append(st.Pending, a)
		}
	}
	return st, nil
}

// Check returns an error wrapping ErrPending, naming what is missing, when the
// database is not fully migrated.
func Check(ctx context.Context, pool *pgxpool.Pool) error {
	st, err := GetStatus(ctx, pool)
	if err != nil {
		return fmt.Errorf("check migrations: %w", err)
	}
	if len(st.Pending) == 0 {
		return nil
	}
	var names []string
	for _, p := range st.Pending {
		names = append(names, fmt.Sprintf("%s %03d %s", p.Line, p.Version, p.Name))
	}
	if len(names) > 5 {
		names = append(names[:5], fmt.Sprintf("and %d more", len(names)-5))
	}
	return fmt.Errorf("%w: %d migrations pending (%s); run `carillon migrate up`", ErrPending, len(st.Pending), strings.Join(names, ", "))
}
