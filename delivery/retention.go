package delivery

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"carillon/contacts"
)

// Retention defaults.
const (
	// DefaultRetentionMonths is how long outbox rows, their receipts and the
	// timeline's events are kept.
	DefaultRetentionMonths = 24
	// DefaultUnmatchedReceiptsFor is how long a receipt that matched no message is kept.
	DefaultUnmatchedReceiptsFor = 30 * 24 * time.Hour
	// DefaultRetentionBatch is how many rows one delete statement removes.
	DefaultRetentionBatch = 10000
)

// RetentionConfig configures the retention job.
type RetentionConfig struct {
	// Months is how long messages, their receipts and timeline events are kept.
	// Default DefaultRetentionMonths.
	Months int
	// UnmatchedReceiptsFor is how long unmatched receipts are kept. Default
	// DefaultUnmatchedReceiptsFor.
	UnmatchedReceiptsFor time.Duration
	// Batch is the most rows one delete statement removes. Default
	// DefaultRetentionBatch.
	Batch int
}

// WithDefaults returns c with defaults applied.
func (c RetentionConfig) WithDefaults() RetentionConfig {
	c.Months = cmp.Or(c.Months, DefaultRetentionMonths)
	c.UnmatchedReceiptsFor = cmp.Or(c.UnmatchedReceiptsFor, DefaultUnmatchedReceiptsFor)
	c.Batch = cmp.Or(c.Batch, DefaultRetentionBatch)
	return c
}

func (c RetentionConfig) validate() error {
	if c.Months < 1 || c.Months > 1200 {
		return fmt.Errorf("delivery: retention of %d months out of range 1..1200", c.Months)
	}
	if c.Batch < 1 || c.Batch > 1_000_000 {
		return fmt.Errorf("delivery: retention batch %d out of range 1..1000000", c.Batch)
	}
	return nil
}

// RetentionReport says what a retention run removed.
type RetentionReport struct {
	Cutoff            time.Time `json:"cutoff"`
	Messages          int64     `json:"messages"`
	Receipts          int64     `json:"receipts"`
	UnmatchedReceipts int64     `json:"unmatched_receipts"`
	Summaries         int       `json:"summaries"`
	Partitions        []string  `json:"partitions"`
}

// deleteOldMessagesSQL removes a batch of the outbox's rows older than the cutoff,
// with their receipts (links go by cascade). It takes the newest of them first and
// skips a parent whose fallback child is younger than the cutoff, so the parent
// link is never left dangling: a child is always younger than its parent.
const deleteOldMessagesSQL = `WITH gone AS (
  DELETE FROM messages WHERE id IN (
    SELECT m.id FROM messages m
    WHERE m.created_at < @cutoff
      AND NOT EXISTS (SELECT 1 FROM messages c WHERE c.parent_id = m.id AND c.created_at >= @cutoff)
    ORDER BY m.created_at DESC, m.id DESC
    LIMIT @batch)
  RETURNING id
), r AS (
  DELETE FROM receipts WHERE message_id IN (SELECT id FROM gone) RETURNING 1
)
SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM r)`

const deleteUnmatchedReceiptsSQL = `DELETE FROM receipts WHERE id IN (
  SELECT id FROM receipts WHERE NOT applied AND received_at < @before LIMIT @batch)`

// Retain removes what is older than the retention: outbox rows with their
// receipts, in batches; the timeline's months (each summarised per contact first);
// and receipts that matched no message within UnmatchedReceiptsFor.
func (s *Service) Retain(ctx context.Context, store *contacts.Store, cfg RetentionConfig) (RetentionReport, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return RetentionReport{}, err
	}
	now := s.cfg.Now()
	rep := RetentionReport{Cutoff: now.AddDate(0, -cfg.Months, 0), Partitions: []string{}}
	for {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		var msgs, rcpts int64
		if err := s.pool.QueryRow(ctx, deleteOldMessagesSQL, pgx.NamedArgs{"cutoff": rep.Cutoff, "batch": cfg.Batch}).Scan(&msgs, &rcpts); err != nil {
			return rep, fmt.Errorf("delete messages older than %s: %w", rep.Cutoff.Format(time.DateOnly), err)
		}
		rep.Messages += msgs
		rep.Receipts += rcpts
		if msgs < int64(cfg.Batch) {
			break
		}
	}
	before := now.Add(-cfg.UnmatchedReceiptsFor)
	for {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		tag, err := s.pool.Exec(ctx, deleteUnmatchedReceiptsSQL, pgx.NamedArgs{"before": before, "batch": cfg.Batch})
		if err != nil {
			return rep, fmt.Errorf("delete unmatched receipts: %w", err)
		}
		rep.UnmatchedReceipts += tag.RowsAffected()
		if tag.RowsAffected() < int64(cfg.Batch) {
			break
		}
	}
	var err error
	rep.Summaries, rep.Partitions, err = store.DropEventsBefore(ctx, rep.Cutoff)
	if err != nil {
		return rep, err
	}
	if rep.Partitions == nil {
		rep.Partitions = []string{}
	}
	return rep, nil
}

// RetentionArgs is the daily retention job.
type RetentionArgs struct{}

// Kind implements river.JobArgs.
func (RetentionArgs) Kind() string { return "delivery.retention" }

// RetentionWorker runs RetentionArgs.
type RetentionWorker struct {
	river.WorkerDefaults[RetentionArgs]
	svc      *Service
	contacts *contacts.Store
	cfg      RetentionConfig
}

// RetentionWorker returns the retention worker; register it with River and add a
// daily periodic RetentionArgs job.
func (s *Service) RetentionWorker(store *contacts.Store, cfg RetentionConfig) *RetentionWorker {
	return &RetentionWorker{svc: s, contacts: store, cfg: cfg}
}

// Work removes what is older than the retention.
func (w *RetentionWorker) Work(ctx context.Context, job *river.Job[RetentionArgs]) error {
	rep, err := w.svc.Retain(ctx, w.contacts, w.cfg)
	if err != nil {
		return err
	}
	w.svc.cfg.Logger.InfoContext(ctx, "retention", slog.Time("cutoff", rep.Cutoff), slog.Int64("messages", rep.Messages),
		slog.Int64("receipts", rep.Receipts), slog.Int64("unmatched_receipts", rep.UnmatchedReceipts),
		slog.Int("summaries", rep.Summaries), slog.Any("partitions", rep.Partitions))
	return nil
}
