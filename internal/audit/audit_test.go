package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/internal/audit"
	"carillon/internal/pgtest"
)

// The audit log refuses UPDATE, DELETE and TRUNCATE from any role, the superuser
// the tests connect as included, and even with triggers silenced for replication.
func TestAuditLogIsAppendOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	uid := int64(7)
	require.NoError(t, audit.Append(ctx, db.Pool, audit.Actor{Name: "cli:root", UserID: &uid, Addr: "10.0.0.1"}, time.Now(),
		audit.Entry{Action: "contact.update", ObjectType: "contact", ObjectID: "1", Changes: map[string]any{"tier": "A"}}))

	var super bool
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super))
	for _, stmt := range []string{
		`UPDATE audit_log SET actor = 'someone else'`,
		`DELETE FROM audit_log`,
		`TRUNCATE audit_log`,
	} {
		for _, replica := range []bool{false, true} {
			conn, err := db.Pool.Acquire(ctx)
			require.NoError(t, err)
			if replica && super {
				_, err := conn.Exec(ctx, `SET session_replication_role = replica`)
				require.NoError(t, err)
			}
			_, err = conn.Exec(ctx, stmt)
			require.ErrorContains(t, err, "append-only", "%s (replica=%v)", stmt, replica)
			_, _ = conn.Exec(ctx, `RESET session_replication_role`)
			conn.Release()
		}
	}
	recs, next, err := audit.List(ctx, db.Pool, audit.Filter{})
	require.NoError(t, err)
	require.Zero(t, next)
	require.Len(t, recs, 1)
	require.Equal(t, "cli:root", recs[0].Actor)
	require.JSONEq(t, `{"tier":"A"}`, string(recs[0].Changes))

	_, err = db.Pool.Exec(ctx, `UPDATE contact_events SET kind = 'x'`)
	require.NoError(t, err, "no rows: nothing to refuse")
	_, err = db.Pool.Exec(ctx, `INSERT INTO contacts (external_id) VALUES ('E1')`)
	require.NoError(t, err)
	_, err = db.Pool.Exec(ctx, `INSERT INTO contact_events (contact_id, kind, actor) SELECT id, 'contact.created', 'test' FROM contacts`)
	require.NoError(t, err)
	_, err = db.Pool.Exec(ctx, `UPDATE contact_events SET kind = 'x'`)
	require.ErrorContains(t, err, "append-only", "the timeline refuses updates too")
}

func TestListFiltersAndPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	for i := range 5 {
		action := "contact.update"
		if i%2 == 1 {
			action = "user.create"
		}
		require.NoError(t, audit.Append(ctx, db.Pool, audit.Actor{Name: "api:a"}, time.Now(), audit.Entry{Action: action, ObjectType: "x", ObjectID: "1"}))
	}
	recs, next, err := audit.List(ctx, db.Pool, audit.Filter{Action: "contact.", Limit: 2})
	require.NoError(t, err)
	require.Len(t, recs, 2)
	require.NotZero(t, next)
	more, next2, err := audit.List(ctx, db.Pool, audit.Filter{Action: "contact.", Limit: 2, Before: next})
	require.NoError(t, err)
	require.Len(t, more, 1)
	require.Zero(t, next2)
	require.Greater(t, recs[1].ID, more[0].ID, "newest first")
}
