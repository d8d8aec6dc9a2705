// Package pgtest gives each test its own real Postgres database, cloned from a
// template that holds the fully migrated schema (River's and Carillon's). Cloning is
// fast; the template is built once per schema fingerprint and reused across runs.
//
// The server comes from pgdev: DATABASE_URL, else 127.0.0.1:5432, else a private
// cluster under .carillon/pg. The user must be allowed to create databases.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/internal/pgdev"
	"carillon/internal/testclock"
	"carillon/migrations"
)

var (
	once      sync.Once
	server    pgdev.Server
	template  string
	onceError error
)

// prepare finds the server and builds the template once per test binary.
func prepare() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	server, onceError = pgdev.Find(ctx, pgdev.Config{Database: "postgres"})
	if onceError != nil {
		return
	}
	// The month is in the name: the migrated schema holds the timeline's partitions
	// around the month it was built in, so a template is not reused past it.
	template = "carillon_tpl_" + migrations.Fingerprint() + "_" + time.Now().UTC().Format("200601")
	onceError = buildTemplate(ctx, server.AdminURL(), template)
}

// buildTemplate creates the migrated template database unless it exists. Test
// binaries of several packages may race here: an advisory lock on the maintenance
// database serialises them.
func buildTemplate(ctx context.Context, adminURL, name string) error {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("pgtest: connect to %s: %w", adminURL, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock(726163617269)`); err != nil {
		return fmt.Errorf("pgtest: lock: %w", err)
	}
	defer admin.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(726163617269)`)

	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	building := name + "_building"
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{building}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgtest: drop stale %s: %w", building, err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{building}.Sanitize()); err != nil {
		return fmt.Errorf("pgtest: create %s: %w", building, err)
	}
	pool, err := pgxpool.New(ctx, pgdev.WithDatabase(adminURL, building))
	if err != nil {
		return err
	}
	_, err = migrations.Up(ctx, pool, nil)
	if err == nil {
		// The timeline's partitions for the tests' own dates, moved by a year either
		// way (testclock's shift), beside those the migration made around today.
		from := testclock.Base().AddDate(0, 0, -7*testclock.ShiftWeeks()).AddDate(-1, -2, 0)
		_, err = pool.Exec(ctx, `SELECT carillon_ensure_event_partitions($1::date, 30)`, from.Format("2006-01-02"))
	}
	pool.Close()
	if err != nil {
		return fmt.Errorf("pgtest: migrate template: %w", err)
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{building}.Sanitize()+" RENAME TO "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("pgtest: rename template: %w", err)
	}
	dropOlderMonths(ctx, admin, name)
	return nil
}

// dropOlderMonths drops the templates of the same schema built in other months;
// one still in use stays (DROP DATABASE refuses it) and goes next time.
func dropOlderMonths(ctx context.Context, admin *pgx.Conn, name string) {
	prefix := name[:strings.LastIndexByte(name, '_')+1]
	rows, err := admin.Query(ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, $1) AND datname <> $2`, prefix, name)
	if err != nil {
		return
	}
	old, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, db := range old {
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize())
	}
}

// DB is one test's database.
type DB struct {
	Name string
	URL  string
	Pool *pgxpool.Pool
}

// New returns a fresh, migrated database for t, dropped when the test ends.
func New(t testing.TB) *DB {
	t.Helper()
	db := NewURL(t)
	cfg, err := pgxpool.ParseConfig(db.URL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	cfg.MaxConns = 20
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	db.Pool = pool
	return db
}

// NewURL is New without a pool, for tests that start a process of their own.
func NewURL(t testing.TB) *DB {
	t.Helper()
	once.Do(prepare)
	if onceError != nil {
		t.Fatalf("pgtest: %v", onceError)
	}
	return clone(t, template)
}

// NewEmpty returns an empty database (not migrated), for migration tests.
func NewEmpty(t testing.TB) *DB {
	t.Helper()
	once.Do(prepare)
	if onceError != nil {
		t.Fatalf("pgtest: %v", onceError)
	}
	return clone(t, "")
}

func clone(t testing.TB, from string) *DB {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "carillon_test_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, server.AdminURL())
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer admin.Close(ctx)
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if from != "" {
		stmt += " TEMPLATE " + pgx.Identifier{from}.Sanitize()
	}
	// A clone fails while another session is connected to the template (a concurrent
	// build finishing); retry briefly.
	for attempt := 0; ; attempt++ {
		_, err = admin.Exec(ctx, stmt)
		if err == nil || attempt == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("pgtest: %s: %v", stmt, err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), server.AdminURL())
		if err != nil {
			t.Logf("pgtest: drop %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: drop %s: %v", name, err)
		}
	})
	return &DB{Name: name, URL: pgdev.WithDatabase(server.URL, name)}
}
