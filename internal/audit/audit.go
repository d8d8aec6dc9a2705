// Package audit writes and reads the audit log: every write through the API or the
// CLI, with who did it, what, to which object, the changed fields (personal data
// masked) and from where. The table is append-only: triggers refuse UPDATE, DELETE
// and TRUNCATE for every role, and fire even under session_replication_role=replica.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Actor is who performs a write.
type Actor struct {
	// Name is how the actor appears in the audit log and the timeline:
	// "api:<login>", "cli:<os user>", "cli:<os user> as <login>", "system".
	Name string
	// UserID is the signed-in user, when there is one.
	UserID *int64
	// Addr is the remote address of an API call.
	Addr string
	// Auth is how the actor proved who they were: AuthToken, AuthPassword,
	// AuthConsole, AuthOSUser; empty for system work.
	Auth string
}

// How an actor authenticated (audit_log.auth).
const (
	AuthToken    = "token"    // a bearer token (API, or CLI with CARILLON_TOKEN)
	AuthPassword = "password" // a password typed on the CLI's terminal
	AuthConsole  = "console"  // a console session opened with a password
	AuthOSUser   = "os_user"  // an administrator's CLI command, trusted by host access
)

// System is the actor of Carillon's own scheduled work.
var System = Actor{Name: "system"}

// String returns the actor's name.
func (a Actor) String() string {
	if a.Name == "" {
		return "system"
	}
	return a.Name
}

// Entry is one audit row to append.
type Entry struct {
	Action     string         // e.g. contact.update, contacts.import, user.disable
	ObjectType string         // contact, manager, user, token, import, ...
	ObjectID   string         // the object's id or code
	Changes    map[string]any // changed fields; personal data already masked
}

// Execer is a pool, a connection or a transaction.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Append writes entries in the caller's transaction, so an audit row exists exactly
// when the write it records does.
func Append(ctx context.Context, q Execer, actor Actor, at time.Time, entries ...Entry) error {
	for _, e := range entries {
		changes := e.Changes
		if changes == nil {
			changes = map[string]any{}
		}
		js, err := json.Marshal(changes)
		if err != nil {
			return fmt.Errorf("audit %s: %w", e.Action, err)
		}
		if _, err := q.Exec(ctx, `INSERT INTO audit_log (at, actor, user_id, action, object_type, object_id, changes, remote_addr, auth)
			VALUES (@at, @actor, @user, @action, @type, @object, @changes, @addr, @auth)`, pgx.NamedArgs{"at": at,
			"actor": actor.String(), "user": actor.UserID, "action": e.Action, "type": e.ObjectType, "object": e.ObjectID,
			"changes": js, "addr": actor.Addr, "auth": actor.Auth}); err != nil {
			return fmt.Errorf("audit %s: %w", e.Action, err)
		}
	}
	return nil
}

// Record is one row of the audit log.
type Record struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	Actor      string          `json:"actor"`
	UserID     *int64          `json:"user_id,omitempty"`
	Action     string          `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	Changes    json.RawMessage `json:"changes"`
	RemoteAddr string          `json:"remote_addr,omitempty"`
	Auth       string          `json:"auth,omitempty"`
}

// Filter selects audit rows; empty fields do not filter.
type Filter struct {
	Actor      string
	Action     string // exact, or a prefix ending in "." (contact.)
	ObjectType string
	ObjectID   string
	Since      time.Time
	Until      time.Time
	Before     int64 // cursor: rows with id < Before
	Limit      int   // default 100, at most 1000
}

// Querier is a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// List returns audit rows, newest first, and the cursor of the next page (0 at the end).
func List(ctx context.Context, q Querier, f Filter) ([]Record, int64, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	before := f.Before
	if before <= 0 {
		before = 1 << 62
	}
	action, prefix := f.Action, ""
	if len(action) > 0 && action[len(action)-1] == '.' {
		action, prefix = "", action+"%"
	}
	since, until := f.Since, f.Until
	if until.IsZero() {
		until = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	rows, err := q.Query(ctx, `SELECT id, at, actor, user_id, action, object_type, object_id, changes, remote_addr, auth FROM audit_log
		WHERE id < @before AND (@actor = '' OR actor = @actor) AND (@action = '' OR action = @action) AND (@prefix = '' OR action LIKE @prefix)
		  AND (@type = '' OR object_type = @type) AND (@object = '' OR object_id = @object) AND at >= @since AND at < @until
		ORDER BY id DESC LIMIT @limit`, pgx.NamedArgs{"before": before, "actor": f.Actor, "action": action, "prefix": prefix,
		"type": f.ObjectType, "object": f.ObjectID, "since": since, "until": until, "limit": limit + 1})
	if err != nil {
		return nil, 0, fmt.Errorf("list audit log: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Record, error) {
		var rec Record
		err := r.Scan(&rec.ID, &rec.At, &rec.Actor, &rec.UserID, &rec.Action, &rec.ObjectType, &rec.ObjectID, &rec.Changes, &rec.RemoteAddr, &rec.Auth)
		return rec, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list audit log: %w", err)
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}
