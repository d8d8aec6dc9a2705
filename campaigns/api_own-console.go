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
