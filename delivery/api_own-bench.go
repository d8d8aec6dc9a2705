package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// What the benchmarks (internal/bench) write and read of the outbox: outboxes
// written in bulk by INSERT … SELECT to contacts the contacts package wrote,
// the progress of a run, the outbox's size, and the bare statements the
// benchmarks measure Carillon's paths against.

const sqlSeedBenchHistory = `INSERT INTO messages (dedupe_key, contact_id, source, source_id, purpose, template_key, channels, channel, status, provider,
	  provider_message_id, send_at, created_at, updated_at)
	SELECT 'bench:' || i, ($2::bigint[])[1 + (i::bigint * 7919) % $1::int], 'care_rule', 'birthday', 'service', 'birthday', '{sms}',
	  (ARRAY['sms','sms','sms','email','wechat'])[1 + i % 5],
	  (ARRAY['delivered','delivered','delivered','delivered','delivered','delivered','sent','failed','suppressed','cancelled'])[1 + i % 10],
	  CASE WHEN i % 10 < 8 THEN (ARRAY['ali','ali','tencent','mail','wechat'])[1 + i % 5] END,
	  CASE WHEN i % 10 < 8 THEN 'pm' || i END,
	  now() - (i % 43200) * interval '1 minute', now() - (i % 43200) * interval '1 minute', now() - (i % 43200) * interval '1 minute'
	FROM generate_series(1, $1::int) i
	ORDER BY i % 43200 DESC` // oldest first, as an outbox fills

const sqlSeedBenchUnmatched = `INSERT INTO receipts (provider, provider_message_id, status, received_at, applied)
	SELECT 'ali', 'unknown' || i, 'delivered', now() - i * interval '1 minute', false FROM generate_series(1, 200) i`

// SeedBenchHistory writes the console benchmark's outbox: as many messages as
// contactIDs over the last 30 days (message i to contactIDs[(i*7919) mod n]),
// in the statuses, channels and providers of a working outbox, and 200
// receipts that matched no message.
func (s *Service) SeedBenchHistory(ctx context.Context, contactIDs []int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlSeedBenchHistory, len(contactIDs), contactIDs); err != nil {
			return fmt.Errorf("load the console's messages: %w", err)
		}
		if _, err := tx.Exec(ctx, sqlSeedBenchUnmatched); err != nil {
			return fmt.Errorf("load the console's receipts: %w", err)
		}
		return nil
	})
}

const sqlSeedBenchSent = `INSERT INTO messages (dedupe_key, contact_id, source, purpose, template_key, channels, channel, status,
	  provider, provider_message_id, address_masked, send_at, sent_at, attempts)
	SELECT 'bench:' || i, ($2::bigint[])[1 + i % cardinality($2::bigint[])], 'api', 'service', 'birthday', '{sms}', 'sms', 'sent',
	  $3, 'biz' || i, '138****0000', now(), now(), 1 FROM generate_series(1, $1) i`

// SeedBenchSent writes n SMS messages sent by provider, awaiting their
// receipts: message i (from 1) went to contactIDs[i mod len(contactIDs)] with
// provider message id "biz<i>".
func (s *Service) SeedBenchSent(ctx context.Context, n int, contactIDs []int64, provider string) error {
	if _, err := s.pool.Exec(ctx, sqlSeedBenchSent, n, contactIDs, provider); err != nil {
		return fmt.Errorf("load sent messages: %w", err)
	}
	return nil
}

// Progress is how far the outbox is: the messages not yet final (sent waits
// for its receipt) and, of them, those no provider has accepted yet (queued
// or sending).
type Progress struct {
	Open, Unsent int
}

const sqlProgress = `SELECT count(*) FILTER (WHERE status NOT IN ('delivered', 'failed', 'suppressed', 'cancelled')),
	count(*) FILTER (WHERE status IN ('queued', 'sending')) FROM messages`

// Progress counts the open and the unsent messages, of every source, in one
// read.
func (s *Service) Progress(ctx context.Context) (Progress, error) {
	var p Progress
	if err := s.pool.QueryRow(ctx, sqlProgress).Scan(&p.Open, &p.Unsent); err != nil {
		return p, fmt.Errorf("outbox progress: %w", err)
	}
	return p, nil
}

const sqlOutboxBytes = `SELECT pg_total_relation_size('messages') + pg_total_relation_size('receipts')`

// OutboxBytes is the size on disk of the messages and the receipts, with
// their indexes and TOAST.
func (s *Service) OutboxBytes(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, sqlOutboxBytes).Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox size: %w", err)
	}
	return n, nil
}

// ClearBenchOutbox empties the outbox and what hangs on its messages
// (TRUNCATE … CASCADE), between the runs of a benchmark.
func (s *Service) ClearBenchOutbox(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `TRUNCATE messages CASCADE`); err != nil {
		return fmt.Errorf("clear the outbox: %w", err)
	}
	return nil
}

// BareOutboxCopy is a baseline: it copies every message with one INSERT …
// SELECT into a table of the same columns with no index, constraint or job,
// drops it, and returns the time the copy took and the rows copied.
func (s *Service) BareOutboxCopy(ctx context.Context) (time.Duration, int64, error) {
	if _, err := s.pool.Exec(ctx, `DROP TABLE IF EXISTS bench_messages; CREATE TABLE bench_messages (LIKE messages)`); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	tag, err := s.pool.Exec(ctx, `INSERT INTO bench_messages SELECT * FROM messages`)
	took := time.Since(start)
	if err != nil {
		return 0, 0, err
	}
	_, err = s.pool.Exec(ctx, `DROP TABLE bench_messages`)
	return took, tag.RowsAffected(), err
}

// ResetBenchSent puts every message back to sent, not final, for a baseline
// to mark them again.
func (s *Service) ResetBenchSent(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `UPDATE messages SET status = 'sent', final_at = NULL`); err != nil {
		return fmt.Errorf("reset to sent: %w", err)
	}
	return nil
}

// BareMarkDelivered is a baseline: the bare status UPDATE of the messages of
// provider with the provider message ids given, to delivered, with no
// receipt, timeline event or check.
func (s *Service) BareMarkDelivered(ctx context.Context, provider string, ids []string) error {
	_, err := s.pool.Exec(ctx, `UPDATE messages SET status = 'delivered', final_at = now(), updated_at = now()
		WHERE provider = $1 AND provider_message_id = ANY($2)`, provider, ids)
	return err
}
