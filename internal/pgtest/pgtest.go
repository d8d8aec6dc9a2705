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
	"strconv"
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
	server, onceError = pgdev.FindForTests(ctx, pgdev.Config{Database: "postgres"})
	if onceError != nil {
		return
	}
	// The month is in the name: the migrated schema holds the timeline's partitions
	// around the month it was built in, so a template is not reused past it.
	template = "carillon_tpl_" + migrations.Fingerprint() + "_" + time.Now().UTC().Format("200601")
	onceError = buildTemplate(ctx, server.AdminURL(), template)
	if onceError != nil {
		return
	}
	dropStale(ctx, server.AdminURL())
	for range prefetch {
		go fill()
	}
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
	pruneTemplates(ctx, admin, name)
	return nil
}

// pruneTemplates drops the templates of the same schema built in other months,
// and all but the newest keepTemplates of other schemas (other checkouts, earlier
// migrations); one in use stays (DROP DATABASE refuses it) and goes next time.
func pruneTemplates(ctx context.Context, admin *pgx.Conn, name string) {
	const keepTemplates = 5
	sameSchema := name[:strings.LastIndexByte(name, '_')+1]
	rows, err := admin.Query(ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, 'carillon_tpl_') AND datname <> $1
		AND NOT datname LIKE '%\_building' ORDER BY oid DESC`, name)
	if err != nil {
		return
	}
	others, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for i, db := range others {
		if strings.HasPrefix(db, sameSchema) || i >= keepTemplates-1 {
			_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize())
		}
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

// clone returns a new database copied from the template from (an empty one when
// from is ""), dropped when t ends. Copies of the migrated template are made
// ahead of need by the ready pool, so a test seldom waits for one.
func clone(t testing.TB, from string) *DB {
	t.Helper()
	var name string
	var err error
	if from == template && from != "" {
		r := <-ready
		name, err = r.name, r.err
	} else {
		name, err = create(from)
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
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

// Test databases are named carillon_test_<unix time of the binary's start>_<random>:
// one a binary made ahead and never handed out is dropped by a later binary once
// it is older than the longest test run (staleAfter).
const (
	testPrefix = "carillon_test_"
	staleAfter = 30 * time.Minute
	prefetch   = 2 // copies made ahead, one per core here
)

var (
	started = time.Now()
	ready   = make(chan made) // unbuffered: at most prefetch copies wait unused
)

type made struct {
	name string
	err  error
}

// fill keeps handing out fresh copies of the template.
func fill() {
	for {
		name, err := create(template)
		ready <- made{name, err}
	}
}

func create(from string) (string, error) {
	ctx := context.Background()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := fmt.Sprintf("%s%d_%s", testPrefix, started.Unix(), hex.EncodeToString(b))
	admin, err := pgx.Connect(ctx, server.AdminURL())
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
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
		return "", fmt.Errorf("%s: %w", stmt, err)
	}
	return name, nil
}

// dropStale drops test databases that binaries started long ago left behind.
func dropStale(ctx context.Context, adminURL string) {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return
	}
	defer admin.Close(ctx)
	rows, err := admin.Query(ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, testPrefix)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, n := range names {
		ts, _, ok := strings.Cut(strings.TrimPrefix(n, testPrefix), "_")
		sec, err := strconv.ParseInt(ts, 10, 64)
		if !ok || err != nil || time.Since(time.Unix(sec, 0)) < staleAfter {
			continue
		}
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)")
	}
}
