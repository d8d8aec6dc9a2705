package contacts_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"carillon/contacts"
)

// The oldest timeline months are summarised per contact and kind, then dropped;
// younger months keep their events; a second run drops nothing more.
func TestDropEventsBeforeSummarisesThenDrops(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var oldest string
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT min(c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'contact_events'::regclass`).Scan(&oldest))
	first, err := time.Parse("200601", oldest[len("contact_events_"):])
	require.NoError(t, err)
	second, third := first.AddDate(0, 1, 0), first.AddDate(0, 2, 0)

	ev := func(contact int64, at time.Time, kind string) contacts.Event {
		return contacts.Event{ContactID: contact, At: at, Kind: kind, Actor: "test"}
	}
	events := []contacts.Event{
		ev(1, first.Add(time.Hour), "message.sent"), ev(1, first.Add(2*time.Hour), "message.sent"), ev(1, first.Add(3*time.Hour), "message.delivered"),
		ev(2, first.AddDate(0, 0, 20), "message.sent"),
		ev(1, second.Add(time.Hour), "message.sent"),
		ev(1, third.Add(time.Hour), "message.sent"), ev(2, third.Add(time.Hour), "message.opened"),
	}
	tx, err := b.db.Pool.Begin(b.ctx)
	require.NoError(t, err)
	require.NoError(t, contacts.AppendEvents(b.ctx, tx, events))
	require.NoError(t, tx.Commit(b.ctx))

	n, dropped, err := b.store.DropEventsBefore(b.ctx, third.AddDate(0, 0, 10))
	require.NoError(t, err)
	require.Equal(t, []string{"contact_events_" + first.Format("200601"), "contact_events_" + second.Format("200601")}, dropped)
	require.Equal(t, 4, n)

	type sum struct {
		ContactID int64
		Month     time.Time
		Kind      string
		Count     int64
	}
	rows, err := b.db.Pool.Query(b.ctx, `SELECT contact_id, month, kind, count FROM contact_event_summaries ORDER BY month, contact_id, kind`)
	require.NoError(t, err)
	sums, err := pgx.CollectRows(rows, pgx.RowToStructByPos[sum])
	require.NoError(t, err)
	require.Equal(t, []sum{
		{1, first, "message.delivered", 1}, {1, first, "message.sent", 2}, {2, first, "message.sent", 1},
		{1, second, "message.sent", 1},
	}, sums)

	var left int
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT count(*) FROM contact_events WHERE contact_id IN (1, 2)`).Scan(&left))
	require.Equal(t, 2, left, "the third month is kept")

	n, dropped, err = b.store.DropEventsBefore(b.ctx, third)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Empty(t, dropped)
}
