package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/contacts"
	"carillon/internal/audit"
)

// RetryFilter chooses the messages a bulk retry re-queues: those that ended failed
// with a temporary-class reason (retries exhausted) in [Since, Until].
type RetryFilter struct {
	Since time.Time // required
	Until time.Time // zero: now
	// Channel and Provider narrow the retry to one channel or provider ("" for any).
	Channel, Provider string
	// DryRun counts what would be re-queued and changes nothing.
	DryRun bool
}

// RetryResult says what a bulk retry did (or, dry, would do).
type RetryResult struct {
	Requeued int     `json:"requeued"`
	IDs      []int64 `json:"ids"`
	// Skipped counts failed messages in the window left alone, by why: a fallback
	// child already took over, or the contact (or manager) is erased or inactive.
	SkippedFallback int  `json:"skipped_fallback"`
	SkippedContact  int  `json:"skipped_contact"`
	DryRun          bool `json:"dry_run"`
}

// retryReasonPrefix is how the worker names a message that failed on temporary
// errors only (see send).
const retryReasonPrefix = "retries_exhausted"

// retryBatch is the most messages one retry transaction re-queues.
const retryBatch = 5000

// retryCandidatesSQL finds the failed messages of the window and whether a
// child took over (fallback); whether the contact (or manager) may still get
// it is contacts.Sendable's to say, for the whole batch at once.
const retryCandidatesSQL = `SELECT m.id, COALESCE(m.contact_id, 0), COALESCE(m.manager_id, 0), m.template_key,
  EXISTS (SELECT 1 FROM messages ch WHERE ch.parent_id = m.id)
FROM messages m
WHERE m.status = 'failed' AND m.reason LIKE @prefix || '%'
  AND m.final_at >= @since AND m.final_at <= @until
  AND (@channel = '' OR m.channel = @channel) AND (@provider = '' OR m.provider = @provider)
  AND m.id > @after
ORDER BY m.id
LIMIT @limit`

const retryRequeueSQL = `UPDATE messages SET status = 'queued', reason = '', attempts = 0, send_at = @now, final_at = NULL, updated_at = @now
WHERE id = ANY(@ids) AND status = 'failed'
RETURNING id`

// Retry re-queues messages that failed on temporary errors in a window, such as
// during a provider's outage: each goes back to queued with its attempts reset and
// a new deliver job, is audited, and gets a message.requeued event. A message whose
// fallback already took over, or whose contact is erased or no longer active, is
// left alone and counted.
func (s *Service) Retry(ctx context.Context, actor audit.Actor, f RetryFilter) (RetryResult, error) {
	res := RetryResult{DryRun: f.DryRun, IDs: []int64{}}
	now := s.cfg.Now()
	if f.Since.IsZero() {
		return res, fmt.Errorf("%w: retry needs a start time", ErrInvalid)
	}
	if f.Until.IsZero() {
		f.Until = now
	}
	if f.Since.After(f.Until) {
		return res, fmt.Errorf("%w: retry window %s..%s is empty", ErrInvalid, f.Since.Format(time.RFC3339), f.Until.Format(time.RFC3339))
	}
	var after int64
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		var last int64
		var n int
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var err error
			last, n, err = s.retryBatch(ctx, tx, actor, f, after, now, &res)
			return err
		})
		if err != nil {
			return res, err
		}
		if n < retryBatch {
			return res, nil
		}
		after = last
	}
}

type retryCandidate struct {
	id, contactID, managerID int64
	template                 string
	fallback                 bool // a child took over
}

// retryBatch re-queues the next batch of candidates after id after in tx; it returns
// the last id looked at and how many candidates the batch held.
func (s *Service) retryBatch(ctx context.Context, tx pgx.Tx, actor audit.Actor, f RetryFilter, after int64, now time.Time, res *RetryResult) (int64, int, error) {
	rows, err := tx.Query(ctx, retryCandidatesSQL, pgx.NamedArgs{"prefix": retryReasonPrefix, "since": f.Since, "until": f.Until,
		"channel": f.Channel, "provider": f.Provider, "after": after, "limit": retryBatch})
	if err != nil {
		return 0, 0, fmt.Errorf("find failed messages: %w", err)
	}
	found, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (retryCandidate, error) {
		var c retryCandidate
		err := row.Scan(&c.id, &c.contactID, &c.managerID, &c.template, &c.fallback)
		return c, err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("find failed messages: %w", err)
	}
	var last int64
	n := len(found)
	if n > 0 {
		last = found[n-1].id
	}
	var cids, mids []int64
	for _, c := range found {
		if c.contactID != 0 {
			cids = append(cids, c.contactID)
		} else if c.managerID != 0 {
			mids = append(mids, c.managerID)
		}
	}
	okContacts, okManagers, err := contacts.Sendable(ctx, tx, cids, mids)
	if err != nil {
		return 0, 0, err
	}
	var todo []retryCandidate
	for _, c := range found {
		switch {
		case c.fallback:
			res.SkippedFallback++
		case c.contactID != 0 && !okContacts[c.contactID], c.contactID == 0 && !okManagers[c.managerID]:
			res.SkippedContact++ // erased, inactive or gone
		default:
			todo = append(todo, c)
		}
	}
	if f.DryRun || len(todo) == 0 {
		for _, c := range todo {
			res.IDs = append(res.IDs, c.id)
		}
		res.Requeued += len(todo)
		return last, n, nil
	}
	ids := make([]int64, len(todo))
	byID := make(map[int64]retryCandidate, len(todo))
	for i, c := range todo {
		ids[i] = c.id
		byID[c.id] = c
	}
	rows, err = tx.Query(ctx, retryRequeueSQL, pgx.NamedArgs{"ids": ids, "now": now})
	if err != nil {
		return 0, 0, fmt.Errorf("requeue messages: %w", err)
	}
	requeued, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, 0, fmt.Errorf("requeue messages: %w", err)
	}
	if len(requeued) == 0 {
		return last, n, nil
	}
	due := make([]time.Time, len(requeued))
	var events []contacts.Event
	for i, id := range requeued {
		due[i] = now
		c := byID[id]
		if c.contactID == 0 {
			continue
		}
		js, _ := json.Marshal(map[string]any{"message_id": id, "template": c.template, "reason": "bulk_retry"})
		events = append(events, contacts.Event{ContactID: c.contactID, At: now, Kind: "message.requeued", Actor: actor.String(),
			Summary: fmt.Sprintf("%s queued again after failing on temporary errors", c.template), Data: js})
	}
	if err := contacts.AppendEvents(ctx, tx, events); err != nil {
		return 0, 0, err
	}
	if err := s.insertJobs(ctx, tx, requeued, due); err != nil {
		return 0, 0, err
	}
	changes := map[string]any{"since": f.Since, "until": f.Until, "count": len(requeued), "first_id": requeued[0], "last_id": requeued[len(requeued)-1]}
	if f.Channel != "" {
		changes["channel"] = f.Channel
	}
	if f.Provider != "" {
		changes["provider"] = f.Provider
	}
	if err := audit.Append(ctx, tx, actor, now, audit.Entry{Action: "messages.retry", ObjectType: "messages",
		ObjectID: fmt.Sprintf("%d..%d", requeued[0], requeued[len(requeued)-1]), Changes: changes}); err != nil {
		return 0, 0, err
	}
	res.IDs = append(res.IDs, requeued...)
	res.Requeued += len(requeued)
	return last, n, nil
}
