package contacts_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/testclock"
)

// The drills' reads of the timelines: sends flagged maybe_duplicate, and
// messages with other than one final event.
func TestDrillTimelineReads(t *testing.T) {
	t.Parallel()
	b := setup(t)
	at := testclock.Base()
	_, err := b.store.EnsureEventPartitions(b.ctx, at, 1)
	require.NoError(t, err)
	event := func(contact int64, kind, data string) {
		_, err := b.db.Pool.Exec(b.ctx, `INSERT INTO contact_events (contact_id, at, kind, actor, data) VALUES ($1, $2, $3, 'test', $4)`, contact, at, kind, data)
		require.NoError(t, err)
	}
	event(1, "message.sent", `{"message_id": 10, "maybe_duplicate": true}`)
	event(1, "message.sent", `{"message_id": 10, "maybe_duplicate": true}`)
	event(1, "message.sent", `{"message_id": 11}`)
	event(2, "message.sent", `{"message_id": 12, "maybe_duplicate": true}`)
	event(1, "message.delivered", `{"message_id": 10}`)
	event(1, "message.failed", `{"message_id": 11}`)
	event(1, "message.delivered", `{"message_id": 11}`) // two final events
	event(2, "message.sent", `{"message_id": 13}`)      // none

	n, err := b.store.MaybeDuplicateSends(b.ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n, "every flagged send event")
	n, err = b.store.MaybeDuplicateMessages(b.ctx, []int64{10, 11, 13})
	require.NoError(t, err)
	require.Equal(t, 1, n, "message 10 only, counted once")
	n, err = b.store.MaybeDuplicateMessages(b.ctx, nil)
	require.NoError(t, err)
	require.Zero(t, n)

	n, err = b.store.MessagesWithoutOneFinalEvent(b.ctx, []int64{10, 11, 13}, []int64{1, 1, 2})
	require.NoError(t, err)
	require.Equal(t, 2, n, "11 has two final events, 13 none")
	n, err = b.store.MessagesWithoutOneFinalEvent(b.ctx, []int64{10}, []int64{2})
	require.NoError(t, err)
	require.Equal(t, 1, n, "an event in another contact's timeline does not count")
}
