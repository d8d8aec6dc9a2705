package campaigns

import "context"

// WorkRunForTest runs the fan-out of the campaign's open run once, as its River
// job would, without River.
func (s *Service) WorkRunForTest(ctx context.Context, campaignID int64) error {
	var runID int64
	if err := s.pool.QueryRow(ctx, `SELECT id FROM campaign_runs WHERE campaign_id = $1 ORDER BY id DESC LIMIT 1`, campaignID).Scan(&runID); err != nil {
		return err
	}
	_, err := s.step(ctx, runID)
	return err
}
