package campaigns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// Tick starts the recurring campaigns whose next firing has come. It is a hook
// of the care scheduler's tick (care.Planner.OnTick): one River periodic job,
// every minute, on the elected leader, reading the schedules from Postgres, so a
// campaign scheduled or edited on any node is started by whichever node leads,
// and no periodic job is ever registered at runtime.
//
// A firing starts one run (unique per campaign and firing, so two ticks or two
// nodes never start it twice; each run messages an address once). Firings
// missed while no node ran are not caught up: the latest due one runs. A firing
// that comes while the campaign's previous run is still running is skipped; the
// next one is computed when that run completes. A campaign past its end date is
// completed instead.
func (s *Service) Tick(ctx context.Context, now time.Time) error {
	rows, err := s.pool.Query(ctx, `SELECT id FROM campaigns WHERE status = $2 AND schedule_kind = 'cron' AND next_run_at <= $1 ORDER BY next_run_at, id`,
		now, string(StatusScheduled))
	if err != nil {
		return fmt.Errorf("campaigns tick: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("campaigns tick: %w", err)
	}
	var firstErr error
	if err := s.watch(ctx); err != nil {
		s.cfg.Logger.ErrorContext(ctx, "campaign runs not watched", slog.String("err", err.Error()))
		firstErr = err
	}
	for _, id := range ids {
		if err := s.fire(ctx, id, now); err != nil {
			s.cfg.Logger.ErrorContext(ctx, "recurring campaign not started", slog.Int64("campaign_id", id), slog.String("err", err.Error()))
			firstErr = cmpErr(firstErr, err)
		}
	}
	return firstErr
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// fire starts one due firing of a recurring campaign.
func (s *Service) fire(ctx context.Context, id int64, now time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		c, err := scanCampaign(tx.QueryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = $1 FOR UPDATE SKIP LOCKED`, id))
		if errors.Is(err, ErrNotFound) {
			return nil // another node has it
		}
		if err != nil {
			return err
		}
		if !c.Status.Can(ActionRun) || c.Schedule.Kind != "cron" || c.NextRunAt == nil || c.NextRunAt.After(now) {
			return nil
		}
		if c.EndsAt != nil && !c.EndsAt.After(now) {
			return s.end(ctx, tx, c, nil, s.now())
		}
		runID, err := s.startRun(ctx, tx, c, *c.NextRunAt, system, ActionRun)
		if err != nil {
			return err
		}
		if runID == 0 {
			// This firing ran already (its run exists): wait for the next one.
			next, err := parseCron(c.Schedule.Cron, maxTime(now, *c.NextRunAt))
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE campaigns SET next_run_at = $2 WHERE id = $1`, id, next)
			return err
		}
		s.cfg.Logger.InfoContext(ctx, "recurring campaign started", slog.Int64("campaign_id", id), slog.Int64("run_id", runID), slog.Time("fire_at", *c.NextRunAt))
		return nil
	})
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// watchPeriod is how often the tick gives each open run a fan-out job of its own.
const watchPeriod = 15 * time.Minute

// watchArgs is RunArgs inserted by the tick, unique per run and watchPeriod.
type watchArgs struct{ RunArgs }

// InsertOpts makes the tick's job unique per run and period.
func (watchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: watchPeriod}}
}

// watch gives every open run a fan-out job at most once per watchPeriod, so a
// run whose job was lost (discarded after repeated failures, or deleted) goes on.
// A second job of a run is harmless: batches take the run's row lock.
func (s *Service) watch(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, `SELECT r.id FROM campaign_runs r JOIN campaigns c ON c.id = r.campaign_id
		WHERE r.status = ANY($1) AND c.status = $2`, strs([]RunStatus{RunStarting, RunRunning}), string(StatusRunning))
	if err != nil {
		return fmt.Errorf("open runs: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("open runs: %w", err)
	}
	for _, id := range ids {
		if _, err := s.inserter.Insert(ctx, watchArgs{RunArgs{RunID: id}}, nil); err != nil {
			return fmt.Errorf("watch run %d: %w", id, err)
		}
	}
	return nil
}
