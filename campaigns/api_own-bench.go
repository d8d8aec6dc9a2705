package campaigns

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// What the benchmarks (internal/bench) read of a campaign's run: how far its
// fan-out is, polled while it runs.

const sqlRunProgress = `SELECT COALESCE(recipients, -1), enqueued FROM campaign_runs WHERE campaign_id = $1 ORDER BY id DESC LIMIT 1`

// RunProgress reads the newest run of the campaign: its recipients (-1 until
// the snapshot is taken, or when the campaign has no run yet) and the
// messages written to the outbox so far.
func (s *Service) RunProgress(ctx context.Context, campaignID int64) (recipients, enqueued int64, err error) {
	err = s.pool.QueryRow(ctx, sqlRunProgress, campaignID).Scan(&recipients, &enqueued)
	if errors.Is(err, pgx.ErrNoRows) {
		return -1, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("campaign %d run progress: %w", campaignID, err)
	}
	return recipients, enqueued, nil
}
