package delivery

// What other packages (campaigns) read and change of the outbox, scoped to a
// source: whether its messages are still open, holding and re-reading held
// ones, its funnel. The SQL stays here, beside the table.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/channels"
)

const sourceOpenSQL = `SELECT EXISTS (SELECT 1 FROM messages WHERE source = $1 AND source_id = $2 AND status IN ('queued', 'sending'))`

// SourceOpen reports whether any message of the source is still queued or
// being sent, in tx's snapshot.
func (s *Service) SourceOpen(ctx context.Context, tx pgx.Tx, source, sourceID string) (bool, error) {
	var open bool
	if err := tx.QueryRow(ctx, sourceOpenSQL, source, sourceID).Scan(&open); err != nil {
		return false, fmt.Errorf("open messages of %s %s: %w", source, sourceID, err)
	}
	return open, nil
}

const sourceOpenCountsSQL = `SELECT count(*) FILTER (WHERE status = 'sending'), count(*) FILTER (WHERE status = 'queued') FROM messages
WHERE source = $1 AND source_id = $2 AND status IN ('queued', 'sending')`

// SourceOpenCounts counts the source's messages being sent and queued.
func (s *Service) SourceOpenCounts(ctx context.Context, source, sourceID string) (sending, queued int64, err error) {
	if err := s.pool.QueryRow(ctx, sourceOpenCountsSQL, source, sourceID).Scan(&sending, &queued); err != nil {
		return 0, 0, fmt.Errorf("open messages of %s %s: %w", source, sourceID, err)
	}
	return sending, queued, nil
}

const writtenSQL = `SELECT EXISTS (SELECT 1 FROM messages WHERE dedupe_key = $1)`

// Written reports whether a message with the dedupe key is in the outbox.
func (s *Service) Written(ctx context.Context, dedupeKey string) (bool, error) {
	var ok bool
	if err := s.pool.QueryRow(ctx, writtenSQL, dedupeKey).Scan(&ok); err != nil {
		return false, fmt.Errorf("find message by dedupe key: %w", err)
	}
	return ok, nil
}

const holdSourceSQL = `UPDATE messages SET status = 'cancelled', reason = $3, final_at = $4, updated_at = $4
WHERE source = $1 AND source_id = $2 AND status = 'queued'`

// HoldSource cancels the source's messages that wait in the outbox (queued:
// not claimed by a deliver job, so not handed to any provider) with reason, in
// tx, and returns how many. A deliver job that later picks one up finds it
// cancelled and sends nothing.
func (s *Service) HoldSource(ctx context.Context, tx pgx.Tx, source, sourceID, reason string, now time.Time) (int64, error) {
	tag, err := tx.Exec(ctx, holdSourceSQL, source, sourceID, reason, now)
	if err != nil {
		return 0, fmt.Errorf("hold messages of %s %s: %w", source, sourceID, err)
	}
	return tag.RowsAffected(), nil
}

// Held is a message HoldSource cancelled, as Supersede returns it to be written
// again.
type Held struct {
	ID              int64
	DedupeKey       string
	ContactID       int64
	TemplateKey     string
	TemplateVersion int // 0: none pinned
	Vars            map[string]any
	Channels        []channels.Channel
	Window          *Window
}

const supersedeSQL = `UPDATE messages SET reason = $3, updated_at = $4
WHERE source = $1 AND source_id = $2 AND status = 'cancelled' AND reason = $5
RETURNING id, dedupe_key, contact_id, template_key, COALESCE(template_version, 0), vars, channels, window_start, window_end`

// Supersede marks the source's messages cancelled with heldReason as
// superseded (their reason becomes reason), in tx, and returns them in id
// order, for the caller to write them again.
func (s *Service) Supersede(ctx context.Context, tx pgx.Tx, source, sourceID, heldReason, reason string, now time.Time) ([]Held, error) {
	rows, err := tx.Query(ctx, supersedeSQL, source, sourceID, reason, now, heldReason)
	if err != nil {
		return nil, fmt.Errorf("supersede messages of %s %s: %w", source, sourceID, err)
	}
	hs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Held, error) {
		var h Held
		var vars []byte
		var chans []string
		var ws, we *int16
		if err := row.Scan(&h.ID, &h.DedupeKey, &h.ContactID, &h.TemplateKey, &h.TemplateVersion, &vars, &chans, &ws, &we); err != nil {
			return h, err
		}
		if err := json.Unmarshal(vars, &h.Vars); err != nil {
			return h, fmt.Errorf("message %d: vars: %w", h.ID, err)
		}
		for _, c := range chans {
			h.Channels = append(h.Channels, channels.Channel(c))
		}
		if ws != nil && we != nil {
			h.Window = &Window{Start: int(*ws), End: int(*we)}
		}
		return h, nil
	})
	if err != nil {
		return nil, fmt.Errorf("supersede messages of %s %s: %w", source, sourceID, err)
	}
	slices.SortFunc(hs, func(a, b Held) int { return cmp.Compare(a.ID, b.ID) })
	return hs, nil
}

// FunnelGroup counts the messages of one source id that share a channel (the
// one a message went out on, else the first planned), being a fallback or not,
// a status and a class: for a suppressed message why (frequency_cap,
// outside_hours, no_consent, opted_out, no_address, no_channel), for a
// cancelled one its reason, else "".
type FunnelGroup struct {
	SourceID string
	Channel  string
	Fallback bool
	Status   Status
	Class    string
	Messages int64
	Handed   int64 // a provider got them: sent, delivered, or failed after an attempt
	Opened   int64 // email: opened at least once
	Clicked  int64 // email: a tracked link followed
	// Unsubscribed counts those after whose send the contact revoked marketing
	// consent on the channel within 7 days.
	Unsubscribed int64
}

// funnelSQL groups the outcomes of the source's messages (the view
// message_outcomes classifies each message once).
const funnelSQL = `SELECT o.source_id, o.channel, o.fallback, o.status, o.class, count(*), count(*) FILTER (WHERE o.handed),
  count(*) FILTER (WHERE o.opened), count(*) FILTER (WHERE o.clicked), count(*) FILTER (WHERE o.unsubscribed)
FROM message_outcomes o
WHERE o.source = $1 AND o.source_id = ANY($2::text[])
GROUP BY 1, 2, 3, 4, 5`

// Funnel counts what became of the messages of a source's ids, in one query:
// the outbox, the timeline's opens and clicks and why a message was
// suppressed, and consents revoked after a send.
func (s *Service) Funnel(ctx context.Context, source string, sourceIDs []string) ([]FunnelGroup, error) {
	rows, err := s.pool.Query(ctx, funnelSQL, source, sourceIDs)
	if err != nil {
		return nil, fmt.Errorf("funnel of %s: %w", source, err)
	}
	gs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (FunnelGroup, error) {
		var g FunnelGroup
		err := row.Scan(&g.SourceID, &g.Channel, &g.Fallback, &g.Status, &g.Class, &g.Messages, &g.Handed, &g.Opened, &g.Clicked, &g.Unsubscribed)
		return g, err
	})
	if err != nil {
		return nil, fmt.Errorf("funnel of %s: %w", source, err)
	}
	return gs, nil
}

// Status is a message's state in the outbox.
type Status string

// Message statuses. A status only moves forward, in the order of statusRank;
// delivered, failed, suppressed and cancelled are final.
const (
	StatusQueued     Status = "queued"     // waiting for its send time or a deliver job
	StatusSending    Status = "sending"    // claimed by a deliver job: maybe with a provider
	StatusSent       Status = "sent"       // a provider accepted it
	StatusDelivered  Status = "delivered"  // a receipt says it arrived
	StatusFailed     Status = "failed"     // not sent, or a receipt says it did not arrive
	StatusSuppressed Status = "suppressed" // the send policy stopped it
	StatusCancelled  Status = "cancelled"  // stopped before any provider got it
)

// Statuses lists every message status, in rank order.
var Statuses = []Status{StatusQueued, StatusSending, StatusSent, StatusDelivered, StatusFailed, StatusSuppressed, StatusCancelled}

// statusRank is the one table of the order: queued < sending < sent <
// delivered | failed | suppressed | cancelled. The SQL function status_rank
// (migration 005), which the outbox's statements compare with, gives the same
// ranks; TestStatusRankIsTheSQLStatusRank holds the two together.
var statusRank = map[Status]int{
	StatusQueued: 0, StatusSending: 1, StatusSent: 2,
	StatusDelivered: 3, StatusFailed: 3, StatusSuppressed: 3, StatusCancelled: 3,
}

// Rank is the status's place in the order (an unknown status ranks as final,
// as in SQL).
func (s Status) Rank() int {
	if r, ok := statusRank[s]; ok {
		return r
	}
	return 3
}

// Final reports whether the status never changes again.
func (s Status) Final() bool { return s.Rank() == 3 }

// Tally counts messages by where they stand: the one reading of a status as a
// step of a funnel, for the campaign stats and the console's campaign pages.
type Tally struct {
	Queued     int64 // waiting: queued, or claimed and maybe with a provider
	Sent       int64 // accepted by a provider, no receipt yet
	Delivered  int64
	Failed     int64
	Suppressed int64
	Cancelled  int64
}

// Add counts n messages in status s.
func (t *Tally) Add(s Status, n int64) {
	switch s {
	case StatusQueued, StatusSending:
		t.Queued += n
	case StatusSent:
		t.Sent += n
	case StatusDelivered:
		t.Delivered += n
	case StatusFailed:
		t.Failed += n
	case StatusSuppressed:
		t.Suppressed += n
	case StatusCancelled:
		t.Cancelled += n
	}
}

// Plus adds u's counts to t.
func (t *Tally) Plus(u Tally) {
	t.Queued += u.Queued
	t.Sent += u.Sent
	t.Delivered += u.Delivered
	t.Failed += u.Failed
	t.Suppressed += u.Suppressed
	t.Cancelled += u.Cancelled
}

// Next is the status a message in s has once an outcome reports to: a claimed
// message (sending) takes whatever its send came to, even queued again (a
// deferral); otherwise only a status of a higher rank replaces s, so a final one
// is never replaced, not even by another final one. The worker's record and
// ApplyReceipts apply the same rule in SQL with status_rank.
func (s Status) Next(to Status) Status {
	if s != StatusSending && s.Rank() >= to.Rank() {
		return s
	}
	return to
}
