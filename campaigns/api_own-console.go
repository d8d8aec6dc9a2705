package campaigns

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// RunSummary is one run of a campaign as a list shows it.
type RunSummary struct {
	ID         int64
	CampaignID int64
	Status     RunStatus
	FireAt     time.Time
	FinishedAt *time.Time
	Held       int64
	Audience   int64 // 0 until the audience is counted
	Recipients int64 // 0 until the recipients are snapshotted
	Enqueued   int64 // messages written to the outbox
}

const sqlRunSummaries = `SELECT id, campaign_id, status, fire_at, finished_at, held, coalesce(audience, 0), coalesce(recipients, 0), enqueued
	FROM campaign_runs WHERE campaign_id = ANY($1) ORDER BY id DESC`

// RunSummaries returns the runs of the campaigns ids, newest first.
func (s *Service) RunSummaries(ctx context.Context, ids []int64) ([]RunSummary, error) {
	rows, err := s.pool.Query(ctx, sqlRunSummaries, ids)
	if err != nil {
		return nil, fmt.Errorf("campaign runs: %w", err)
	}
	var out []RunSummary
	var r RunSummary
	if _, err := pgx.ForEachRow(rows, []any{&r.ID, &r.CampaignID, &r.Status, &r.FireAt, &r.FinishedAt, &r.Held, &r.Audience, &r.Recipients, &r.Enqueued}, func() error {
		out = append(out, r)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("campaign runs: %w", err)
	}
	return out, nil
}

// Authored reports whether user uid created, edited or submitted campaign id:
// such a user may not approve it.
func (s *Service) Authored(ctx context.Context, id, uid int64) (bool, error) {
	return isAuthor(ctx, s.pool, id, uid)
}

// Decision is an approval or a rejection of a campaign, told to its author.
type Decision struct {
	EventID    int64
	CampaignID int64
	Campaign   string // the campaign's name
	Action     Action // approve or reject
	Actor      string
	Reason     string // the approver's comment, the rejection's reason
	At         time.Time
}

const sqlDecisionsFor = `SELECT e.id, e.campaign_id, c.name, e.action, e.actor, e.reason, e.at
	FROM campaign_events e JOIN campaigns c ON c.id = e.campaign_id
	WHERE c.created_by_user = $1 AND e.action IN ('approve', 'reject') AND e.id > $2 AND e.at >= $3
	ORDER BY e.id DESC LIMIT $4`

// DecisionsFor returns the approvals and rejections of the campaigns user uid
// created, after event afterID and at or after since, newest first (at most limit).
func (s *Service) DecisionsFor(ctx context.Context, uid, afterID int64, since time.Time, limit int) ([]Decision, error) {
	rows, err := s.pool.Query(ctx, sqlDecisionsFor, uid, afterID, since, limit)
	if err != nil {
		return nil, fmt.Errorf("campaign decisions: %w", err)
	}
	var out []Decision
	var d Decision
	if _, err := pgx.ForEachRow(rows, []any{&d.EventID, &d.CampaignID, &d.Campaign, &d.Action, &d.Actor, &d.Reason, &d.At}, func() error {
		out = append(out, d)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("campaign decisions: %w", err)
	}
	return out, nil
}
