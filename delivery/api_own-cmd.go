package delivery

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// What the fault drills (internal/drill) read of the outbox: the messages of
// one source (a campaign run), counted as a set.

// SourceTally counts the messages of one source.
type SourceTally struct {
	Written   int // messages written
	Final     int // in a final state: delivered, failed, suppressed, cancelled
	Delivered int
	// Attempts: the most any message took, how many took more than one, the mean.
	MaxAttempts  int
	Retried      int
	MeanAttempts float64
}

const sqlSourceTally = `SELECT count(*),
	count(*) FILTER (WHERE status IN ('delivered', 'failed', 'suppressed', 'cancelled')),
	count(*) FILTER (WHERE status = 'delivered'),
	COALESCE(max(attempts), 0), count(*) FILTER (WHERE attempts > 1), COALESCE(avg(attempts), 0)::float8
	FROM messages WHERE source = $1 AND source_id = $2`

// SourceTally counts the messages of source and sourceID.
func (s *Service) SourceTally(ctx context.Context, source, sourceID string) (SourceTally, error) {
	var t SourceTally
	err := s.pool.QueryRow(ctx, sqlSourceTally, source, sourceID).
		Scan(&t.Written, &t.Final, &t.Delivered, &t.MaxAttempts, &t.Retried, &t.MeanAttempts)
	return t, err
}

const sqlSourceMessages = `SELECT id, contact_id FROM messages
	WHERE source = $1 AND source_id = $2 AND ($3 = '' OR status = $3) ORDER BY id`

// SourceMessage is one message of a source: its id and its contact (0: none).
type SourceMessage struct {
	ID, ContactID int64
}

// SourceMessages lists the messages of source and sourceID in id order; a
// status other than "" keeps only the messages in it ("sending": claimed,
// their outcome not yet recorded).
func (s *Service) SourceMessages(ctx context.Context, source, sourceID string, status Status) ([]SourceMessage, error) {
	rows, err := s.pool.Query(ctx, sqlSourceMessages, source, sourceID, status)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (SourceMessage, error) {
		var m SourceMessage
		var contact *int64
		if err := r.Scan(&m.ID, &contact); err != nil {
			return m, err
		}
		if contact != nil {
			m.ContactID = *contact
		}
		return m, nil
	})
}

const sqlSourceByProvider = `SELECT COALESCE(provider, '-'), count(*) FROM messages WHERE source = $1 AND source_id = $2 GROUP BY 1`

// SourceByProvider counts the messages of source and sourceID by the provider
// that carried them ("-": none).
func (s *Service) SourceByProvider(ctx context.Context, source, sourceID string) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, sqlSourceByProvider, source, sourceID)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	var p string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&p, &n}, func() error { out[p] = n; return nil })
	return out, err
}

const sqlCountStatus = `SELECT count(*) FROM messages WHERE status = $1`

// CountStatus counts the messages in status, of every source.
func (s *Service) CountStatus(ctx context.Context, status Status) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, sqlCountStatus, status).Scan(&n)
	return n, err
}

const sqlDedupePrefix = `SELECT count(*), count(DISTINCT contact_id) FROM messages WHERE starts_with(dedupe_key, $1)`

// CountDedupePrefix counts the messages whose dedupe key starts with prefix
// ("birthday:": the birthday greetings) and the contacts they go to.
func (s *Service) CountDedupePrefix(ctx context.Context, prefix string) (messages, contacts int, err error) {
	err = s.pool.QueryRow(ctx, sqlDedupePrefix, prefix).Scan(&messages, &contacts)
	return messages, contacts, err
}

// What the demo reads of the outbox: the messages it just played.

const sqlFirstMessagesSince = `SELECT id FROM messages WHERE parent_id IS NULL AND created_at >= $1 ORDER BY id`

// FirstMessagesSince lists the messages created at or after since, in id
// order, leaving out fallbacks (a next channel tried after a failure).
func (s *Service) FirstMessagesSince(ctx context.Context, since time.Time) ([]int64, error) {
	rows, err := s.pool.Query(ctx, sqlFirstMessagesSince, since)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

const sqlFirstContactSince = `SELECT contact_id FROM messages WHERE contact_id IS NOT NULL AND created_at > $1 ORDER BY id LIMIT 1`

// FirstContactSince returns the contact of the first message to a contact
// created after since; 0 when there is none.
func (s *Service) FirstContactSince(ctx context.Context, since time.Time) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, sqlFirstContactSince, since).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return id, err
}
