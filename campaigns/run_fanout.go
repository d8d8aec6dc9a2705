package campaigns

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// step is what a unit of work leaves for the job: stop, or continue (later).
type step struct {
	done  bool          // nothing more to do for this job
	sleep time.Duration // continue after this long
}

// work runs a run's fan-out until it is done, paused, out of its time budget,
// or waiting for its throttle's horizon.
func (s *Service) work(ctx context.Context, runID int64) error {
	started := time.Now()
	for {
		st, err := s.step(ctx, runID)
		if err != nil {
			return err
		}
		if st.done {
			return nil
		}
		if st.sleep > 0 || time.Since(started) > s.cfg.RunBudget {
			return river.JobSnooze(max(st.sleep, time.Millisecond))
		}
	}
}

// step does one unit of a run's work in one transaction: the snapshot, one
// batch of messages, or a check that the written messages are handed on.
func (s *Service) step(ctx context.Context, runID int64) (step, error) {
	var st step
	err := s.tx(ctx, func(tx pgx.Tx) error {
		c, r, found, err := lockCampaignRun(ctx, tx, runID)
		if err != nil || !found {
			st.done = !found
			return err
		}
		st, err = s.stepLocked(ctx, tx, c, r, s.now())
		return err
	})
	return st, err
}

// lockCampaignRun locks a run and its campaign (found false: the run is
// gone). The campaign's row is locked before the run's, in the order Pause,
// Cancel and Resume take them: a step may change the campaign (a
// second-approval hold, completion), and the opposite order deadlocks.
func lockCampaignRun(ctx context.Context, tx pgx.Tx, runID int64) (Campaign, run, bool, error) {
	var campaignID int64
	err := tx.QueryRow(ctx, `SELECT campaign_id FROM campaign_runs WHERE id = $1`, runID).Scan(&campaignID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Campaign{}, run{}, false, nil
	}
	if err != nil {
		return Campaign{}, run{}, true, err
	}
	c, err := getForUpdate(ctx, tx, campaignID)
	if err != nil {
		return c, run{}, true, err
	}
	r, err := lockRun(ctx, tx, runID)
	if errors.Is(err, ErrNotFound) {
		return c, r, false, nil
	}
	return c, r, true, err
}

// stepLocked is step's work on the locked run r of campaign c.
func (s *Service) stepLocked(ctx context.Context, tx pgx.Tx, c Campaign, r run, now time.Time) (step, error) {
	switch r.status {
	case RunStarting:
		return step{}, s.snapshot(ctx, tx, c, r, now)
	case RunRunning:
	default: // paused, completed, cancelled: this job has nothing to do
		return step{done: true}, nil
	}
	if c.EndsAt != nil && !c.EndsAt.After(now) {
		return step{done: true}, s.endRun(ctx, tx, c, r, ReasonEnded, now)
	}
	if r.recipients != nil && r.cursor >= *r.recipients {
		// Every message is written: the run is over once none waits any more.
		open, err := s.deps.Delivery.SourceOpen(ctx, tx, SourceRun, strconv.FormatInt(r.id, 10))
		if err != nil || open {
			return step{sleep: s.cfg.DrainPoll}, err
		}
		return step{done: true}, s.completeRun(ctx, tx, c, r, now)
	}
	if r.throttle == 0 && s.cfg.Slices > 1 && r.recipients != nil && *r.recipients-r.cursor > int64(s.cfg.Batch) {
		// An unthrottled run is written by Slices jobs at once; the last to
		// finish moves the cursor to the end and waits for the messages here.
		return step{done: true}, s.spawnSlices(ctx, tx, r)
	}
	limit, sleep := s.paced(r, now)
	if sleep > 0 {
		return step{sleep: sleep}, nil
	}
	last, n, err := s.batch(ctx, tx, c, r, r.cursor+1, r.cursor+limit)
	if err != nil {
		return step{}, err
	}
	if last == 0 {
		_, err := tx.Exec(ctx, `UPDATE campaign_runs SET recipients = cursor WHERE id = $1`, r.id)
		return step{}, err
	}
	if _, err := tx.Exec(ctx, `UPDATE campaign_runs SET cursor = $2, enqueued = enqueued + $3 WHERE id = $1`, r.id, last, n); err != nil {
		return step{}, err
	}
	if s.cfg.AfterBatch != nil {
		return step{}, s.cfg.AfterBatch(r.id, last)
	}
	return step{}, nil
}

// paced is how many recipients of a run the next batch writes: a batch, or
// under a throttle those whose send time falls within the horizon; when none
// does yet, how long to wait instead.
func (s *Service) paced(r run, now time.Time) (int64, time.Duration) {
	limit := int64(s.cfg.Batch)
	if r.throttle <= 0 || r.paceAt == nil {
		return limit, 0
	}
	ahead := now.Add(s.cfg.Horizon).Sub(*r.paceAt)
	last := r.paceRN + (int64(ahead/time.Second)+1)*int64(r.throttle) - 1
	if ahead < 0 || last <= r.cursor {
		next := r.paceAt.Add(time.Duration((r.cursor+1-r.paceRN)/int64(r.throttle)) * time.Second)
		return 0, max(next.Sub(now)-s.cfg.Horizon, 100*time.Millisecond)
	}
	return min(limit, last-r.cursor), 0
}

// sliceOpts keeps one live job per slice and pace; a finished one does not
// block the next pace's.
var sliceOpts = &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}}}

// spawnSlices enqueues the slice jobs of an unthrottled run.
func (s *Service) spawnSlices(ctx context.Context, tx pgx.Tx, r run) error {
	var gen int64
	if r.paceAt != nil {
		gen = r.paceAt.UnixNano()
	}
	for i := 1; i <= s.cfg.Slices; i++ {
		if _, err := s.inserter.InsertTx(ctx, tx, RunArgs{RunID: r.id, Slice: i, Slices: s.cfg.Slices, Gen: gen}, sliceOpts); err != nil {
			return fmt.Errorf("run %d: slice %d: %w", r.id, i, err)
		}
	}
	return nil
}

// sliceRange is the recipients [lo, hi] of slice i of k among n recipients.
func sliceRange(n int64, i, k int) (int64, int64) {
	return n*int64(i-1)/int64(k) + 1, n * int64(i) / int64(k)
}

// workSlice writes one slice of an unthrottled run: from the first recipient
// of its range whose message is not in the outbox (the written ones are a
// prefix: batches commit in order), a batch per transaction under the run's
// shared row lock, so a pause (which takes it exclusively) waits for the batch
// being written and then stops every slice. The slice that finds every slice
// written moves the run's cursor to the end and goes on as the main job.
func (s *Service) workSlice(ctx context.Context, a RunArgs) error {
	started := time.Now()
	var total int64
	var campaignID int64
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE(recipients, 0), campaign_id FROM campaign_runs WHERE id = $1`, a.RunID).Scan(&total, &campaignID); errors.Is(err, pgx.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	c, err := s.Get(ctx, campaignID)
	if err != nil {
		return err
	}
	lo, hi := sliceRange(total, a.Slice, a.Slices)
	next, err := s.firstUnwritten(ctx, a.RunID, lo, hi)
	if err != nil {
		return err
	}
	for next <= hi {
		if time.Since(started) > s.cfg.RunBudget {
			return river.JobSnooze(time.Millisecond)
		}
		stop := false
		err := s.tx(ctx, func(tx pgx.Tx) error {
			var r run
			err := tx.QueryRow(ctx, `SELECT id, status, pace_at, throttle FROM campaign_runs WHERE id = $1 FOR SHARE`, a.RunID).Scan(&r.id, &r.status, &r.paceAt, &r.throttle)
			if err != nil {
				return err
			}
			if r.status != RunRunning || r.paceAt == nil || r.paceAt.UnixNano() != a.Gen {
				stop = true
				return nil
			}
			last, _, err := s.batch(ctx, tx, c, r, next, min(next+int64(s.cfg.Batch)-1, hi))
			if err != nil {
				return err
			}
			if s.cfg.AfterBatch != nil {
				if err := s.cfg.AfterBatch(r.id, last); err != nil {
					return err
				}
			}
			if last == 0 {
				last = hi
			}
			next = last + 1
			return nil
		})
		if err != nil {
			return err
		}
		if stop {
			return nil
		}
	}
	// Every slice written? Each one's last recipient tells.
	for i := 1; i <= a.Slices; i++ {
		l, h := sliceRange(total, i, a.Slices)
		if h < l {
			continue
		}
		done, err := s.deps.Delivery.Written(ctx, DedupeKey(a.RunID, h))
		if err != nil {
			return err
		}
		if !done {
			return nil
		}
	}
	if _, err := s.pool.Exec(ctx, `UPDATE campaign_runs SET cursor = recipients, enqueued = recipients WHERE id = $1 AND status = $2 AND cursor < recipients`,
		a.RunID, string(RunRunning)); err != nil {
		return err
	}
	return s.work(ctx, a.RunID)
}

// firstUnwritten is the first recipient in [lo, hi] whose message is not in
// the outbox (hi+1 when all are), by binary search over the written prefix.
func (s *Service) firstUnwritten(ctx context.Context, runID, lo, hi int64) (int64, error) {
	a, b := lo, hi+1 // the answer is in [a, b]
	for a < b {
		mid := a + (b-a)/2
		written, err := s.deps.Delivery.Written(ctx, DedupeKey(runID, mid))
		if err != nil {
			return 0, err
		}
		if written {
			a = mid + 1
		} else {
			b = mid
		}
	}
	return a, nil
}
