package delivery

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// OutboxSummary is the outbox at a glance: what `carillon demo --check` prints
// and waits on.
type OutboxSummary struct {
	Open, Total int      // messages not yet final, and all
	OpenStates  []string // the most common open "status reason × n", at most five
	BySource    string   // "care 40, campaign 12" (parents only)
	ByChannel   []ChannelStatusCount
	Fallbacks   int // child messages on a later channel
	Digests     int // messages to managers
	NotSent     []ReasonCount
}

// ChannelStatusCount counts messages by channel ("-" when none) and status.
type ChannelStatusCount struct {
	Channel, Status string
	N               int
}

// ReasonCount counts failed, suppressed or cancelled messages by reason.
type ReasonCount struct {
	Reason string
	N      int
}

// Summary reads the outbox summary; detail false reads only Open and Total.
func (s *Service) Summary(ctx context.Context, detail bool) (OutboxSummary, error) {
	var o OutboxSummary
	// Sent waits for its receipt: not final here.
	final := []string{string(StatusDelivered), string(StatusFailed), string(StatusSuppressed), string(StatusCancelled)}
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status <> ALL($1)), count(*) FROM messages`, final).Scan(&o.Open, &o.Total); err != nil {
		return o, fmt.Errorf("outbox summary: %w", err)
	}
	if !detail {
		return o, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT status || COALESCE(' ' || NULLIF(reason, ''), '') || ' × ' || count(*) FROM messages
		WHERE status <> ALL($1) GROUP BY status, reason ORDER BY count(*) DESC LIMIT 5`, final)
	if err != nil {
		return o, fmt.Errorf("outbox summary: %w", err)
	}
	if o.OpenStates, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return o, fmt.Errorf("outbox summary: %w", err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE(string_agg(source || ' ' || n, ', ' ORDER BY source), '') FROM
		(SELECT source, count(*) AS n FROM messages WHERE parent_id IS NULL GROUP BY source) x`).Scan(&o.BySource); err != nil {
		return o, fmt.Errorf("outbox summary: %w", err)
	}
	rows, err = s.pool.Query(ctx, `SELECT COALESCE(channel, '-'), status, count(*) FROM messages GROUP BY 1, 2 ORDER BY 1, 2`)
	if err != nil {
		return o, fmt.Errorf("outbox summary: %w", err)
	}
	if o.ByChannel, err = pgx.CollectRows(rows, pgx.RowToStructByPos[ChannelStatusCount]); err != nil {
		return o, fmt.Errorf("outbox summary: %w", err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM messages WHERE parent_id IS NOT NULL),
		(SELECT count(*) FROM messages WHERE manager_id IS NOT NULL)`).Scan(&o.Fallbacks, &o.Digests); err != nil {
		return o, fmt.Errorf("outbox summary: %w", err)
	}
	rows, err = s.pool.Query(ctx, `SELECT reason, count(*) FROM messages WHERE status IN ('failed', 'suppressed', 'cancelled') AND reason <> ''
		GROUP BY 1 ORDER BY 2 DESC LIMIT 5`)
	if err != nil {
		return o, fmt.Errorf("outbox summary: %w", err)
	}
	if o.NotSent, err = pgx.CollectRows(rows, pgx.RowToStructByPos[ReasonCount]); err != nil {
		return o, fmt.Errorf("outbox summary: %w", err)
	}
	return o, nil
}

// ContactMessage is a message to a customer and its status.
type ContactMessage struct {
	ID, ContactID int64
	Status        string
	Channel       string
}

// ContactMessages lists the messages to customers, by id.
func (s *Service) ContactMessages(ctx context.Context) ([]ContactMessage, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, contact_id, status, COALESCE(channel, '') FROM messages WHERE contact_id IS NOT NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list contact messages: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ContactMessage])
	if err != nil {
		return nil, fmt.Errorf("list contact messages: %w", err)
	}
	return out, nil
}
