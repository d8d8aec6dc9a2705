package campaigns

import "context"

// What the fault drills (internal/drill) read of a campaign's runs.

const sqlLatestRun = `SELECT id FROM campaign_runs WHERE campaign_id = $1 ORDER BY id DESC LIMIT 1`

// LatestRun returns the id of the campaign's newest run.
func (s *Service) LatestRun(ctx context.Context, campaignID int64) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, sqlLatestRun, campaignID).Scan(&id)
	return id, err
}

const sqlRunRecipients = `SELECT recipients FROM campaign_runs WHERE id = $1`

// RunRecipients returns how many recipients the run's snapshot holds; 0 until
// the snapshot is taken.
func (s *Service) RunRecipients(ctx context.Context, runID int64) (int, error) {
	var n *int64
	if err := s.pool.QueryRow(ctx, sqlRunRecipients, runID).Scan(&n); err != nil {
		return 0, err
	}
	if n == nil {
		return 0, nil
	}
	return int(*n), nil
}
