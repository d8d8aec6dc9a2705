package contacts

import (
	"context"
	"fmt"
)

// sqlMissingMessageEvents lists, of the messages given (ids[i] to contactIDs[i]
// in statuses[i]), those whose contact's timeline has no event of that status
// for them.
const sqlMissingMessageEvents = `SELECT m.id, m.st FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS m(id, cid, st)
WHERE NOT EXISTS (SELECT 1 FROM contact_events ev WHERE ev.contact_id = m.cid AND ev.kind = 'message.' || m.st
  AND ev.data ->> 'message_id' = m.id::text) ORDER BY m.id`

// MissingMessageEvents counts the messages whose outcome is not in their
// contact's timeline and names the first ("message 12 (delivered)").
func (s *Store) MissingMessageEvents(ctx context.Context, ids, contactIDs []int64, statuses []string) (int, string, error) {
	rows, err := s.pool.Query(ctx, sqlMissingMessageEvents, ids, contactIDs, statuses)
	if err != nil {
		return 0, "", fmt.Errorf("check timelines: %w", err)
	}
	defer rows.Close()
	n, first := 0, ""
	for rows.Next() {
		var id int64
		var st string
		if err := rows.Scan(&id, &st); err != nil {
			return 0, "", fmt.Errorf("check timelines: %w", err)
		}
		if n == 0 {
			first = fmt.Sprintf("message %d (%s)", id, st)
		}
		n++
	}
	return n, first, rows.Err()
}

// TimelineCounts counts the consent changes made by an email's unsubscribe
// link and the message events in every timeline.
func (s *Store) TimelineCounts(ctx context.Context) (unsubscribesByLink, messageEvents int, err error) {
	err = s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM contact_events WHERE kind = $1 AND data ->> 'source' = 'unsubscribe_link'),
		(SELECT count(*) FROM contact_events WHERE kind LIKE 'message.%')`, EventConsentChanged).Scan(&unsubscribesByLink, &messageEvents)
	if err != nil {
		return 0, 0, fmt.Errorf("count timeline events: %w", err)
	}
	return unsubscribesByLink, messageEvents, nil
}
