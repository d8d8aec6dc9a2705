package contacts

import "context"

// What the fault drills (internal/drill) read of the timelines: the events
// delivery records for messages.

const sqlMaybeDuplicateSends = `SELECT count(*) FROM contact_events WHERE kind = 'message.sent' AND data ? 'maybe_duplicate'`

// MaybeDuplicateSends counts the send events flagged maybe_duplicate (a send
// that may have gone twice) in every timeline.
func (s *Store) MaybeDuplicateSends(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, sqlMaybeDuplicateSends).Scan(&n)
	return n, err
}

const sqlMaybeDuplicateMessages = `SELECT count(DISTINCT (data ->> 'message_id')::bigint) FROM contact_events
	WHERE kind = 'message.sent' AND data ? 'maybe_duplicate' AND (data ->> 'message_id')::bigint = ANY($1)`

// MaybeDuplicateMessages counts the messages of ids whose timeline has a send
// flagged maybe_duplicate.
func (s *Store) MaybeDuplicateMessages(ctx context.Context, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var n int
	err := s.pool.QueryRow(ctx, sqlMaybeDuplicateMessages, ids).Scan(&n)
	return n, err
}

const sqlNotOneFinalEvent = `SELECT count(*) FROM unnest($1::bigint[], $2::bigint[]) AS m(id, contact_id)
	WHERE (SELECT count(*) FROM contact_events ev WHERE ev.contact_id = m.contact_id
	      AND ev.kind IN ('message.delivered', 'message.failed', 'message.suppressed', 'message.cancelled')
	      AND ev.data ->> 'message_id' = m.id::text) <> 1`

// MessagesWithoutOneFinalEvent counts the messages (ids[i] to contactIDs[i])
// whose contact's timeline holds other than exactly one final event
// (delivered, failed, suppressed, cancelled) for it.
func (s *Store) MessagesWithoutOneFinalEvent(ctx context.Context, ids, contactIDs []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var n int
	err := s.pool.QueryRow(ctx, sqlNotOneFinalEvent, ids, contactIDs).Scan(&n)
	return n, err
}
