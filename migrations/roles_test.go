package migrations_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"carillon/internal/pgtest"
	"carillon/migrations"
)

type noopArgs struct{}

func (noopArgs) Kind() string { return "roles_test_noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
	done chan struct{}
}

func (w *noopWorker) Work(ctx context.Context, _ *river.Job[noopArgs]) error {
	close(w.done)
	return nil
}

// The production layout: the migration role owns the tables; the runtime role
// granted by GrantRuntime works rows and River jobs but cannot change the audit
// log, disable its triggers, or alter and drop tables.
func TestRuntimeRoleCannotTouchTheAuditLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	role := fmt.Sprintf("carillon_rt_%d", rand.Uint64()%1e12)
	_, err := db.Pool.Exec(ctx, `CREATE ROLE `+pgx.Identifier{role}.Sanitize()+` LOGIN`)
	require.NoError(t, err)
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = db.Pool.Exec(c, `DROP OWNED BY `+pgx.Identifier{role}.Sanitize())
		_, _ = db.Pool.Exec(c, `DROP ROLE `+pgx.Identifier{role}.Sanitize())
	})
	owner, err := migrations.OwnsAuditLog(ctx, db.Pool)
	require.NoError(t, err)
	require.True(t, owner, "the test's own role owns the tables")

	require.ErrorContains(t, migrations.GrantRuntime(ctx, db.Pool, "Robert'); DROP TABLE contacts;--"), "a role name is")
	require.ErrorContains(t, migrations.GrantRuntime(ctx, db.Pool, "carillon_no_such_role"), "does not exist")
	require.NoError(t, migrations.GrantRuntime(ctx, db.Pool, role))
	require.NoError(t, migrations.GrantRuntime(ctx, db.Pool, role), "granting again changes nothing")

	cfg, err := pgxpool.ParseConfig(db.URL)
	require.NoError(t, err)
	cfg.ConnConfig.User = role
	rt, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(rt.Close)
	owner, err = migrations.OwnsAuditLog(ctx, rt)
	require.NoError(t, err)
	require.False(t, owner)

	// Rows: yes.
	_, err = rt.Exec(ctx, `INSERT INTO contacts (external_id, name) VALUES ('RT1', 'x')`)
	require.NoError(t, err)
	_, err = rt.Exec(ctx, `UPDATE contacts SET name = 'y' WHERE external_id = 'RT1'`)
	require.NoError(t, err)
	_, err = rt.Exec(ctx, `INSERT INTO audit_log (at, actor, action, object_type, object_id, changes, remote_addr) VALUES ($1, 'rt', 'test', 'test', '1', '{}', '')`, time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	// The audit log, the schema: no.
	for _, q := range []string{
		`UPDATE audit_log SET actor = 'forged'`,
		`DELETE FROM audit_log`,
		`TRUNCATE audit_log`,
		`ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update`,
		`ALTER TABLE contacts ADD COLUMN x int`,
		`DROP TABLE contacts`,
		`CREATE TABLE rt_owned (id int)`,
		`TRUNCATE contacts`,
	} {
		_, err := rt.Exec(ctx, q)
		require.Error(t, err, q)
		require.Regexp(t, `permission denied|must be owner`, err.Error(), q)
	}

	// Timeline upkeep runs as the owner through its functions: next months'
	// partitions, and dropping an old one (after which the runtime role reads
	// and writes the new ones).
	var made int
	require.NoError(t, rt.QueryRow(ctx, `SELECT carillon_ensure_event_partitions('2031-01-01', 2)`).Scan(&made))
	require.Equal(t, 2, made)
	var dropped bool
	require.NoError(t, rt.QueryRow(ctx, `SELECT carillon_drop_event_partition('contact_events_203101')`).Scan(&dropped))
	require.True(t, dropped)
	_, err = rt.Exec(ctx, `SELECT carillon_drop_event_partition('contacts')`)
	require.ErrorContains(t, err, "not a timeline partition")
	var n int
	require.NoError(t, rt.QueryRow(ctx, `SELECT count(*) FROM contact_events_203102`).Scan(&n))

	// River works as the runtime role: a job is inserted, fetched and completed.
	w := &noopWorker{done: make(chan struct{})}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	rc, err := river.NewClient(riverpgxv5.New(rt), &river.Config{Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}}, Workers: workers,
		FetchCooldown: 20 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, rc.Start(ctx))
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = rc.Stop(c)
	})
	_, err = rc.Insert(ctx, noopArgs{}, nil)
	require.NoError(t, err)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the runtime role's River client never worked its job")
	}
}
