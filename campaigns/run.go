package campaigns

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"carillon/internal/audit"
	"carillon/internal/identity"
)

// Reasons a campaign message is cancelled before it was handed to a provider.
const (
	ReasonPaused    = "campaign_paused"    // held by a pause; written again (a new message) at resume
	ReasonResent    = "campaign_resumed"   // a held message whose successor was written at resume
	ReasonCancelled = "campaign_cancelled" // the campaign was cancelled
	ReasonEnded     = "campaign_ended"     // the campaign's end date passed
)

// SourceRun is the outbox source of campaign messages; the source id is the run's.
const SourceRun = "campaign_run"

// RunArgs is the fan-out job of a run: it snapshots the audience (once), then
// writes the recipients' messages in batches, each with the run's cursor in one
// transaction, and continues itself (snoozing while a throttle's horizon is
// full) until every message is written and handed on. Two jobs of one run are
// harmless: each batch takes the run's row lock and reads the cursor under it.
type RunArgs struct {
	RunID int64 `json:"run_id"`
	// Slice (1..Slices) is the share of an unthrottled run's recipients this
	// job writes, when the run's main job has split its fan-out; 0 for the main
	// job. Gen is the run's pace when the slices were made (it changes at each
	// resume): a slice job of an earlier pace stops.
	Slice  int   `json:"slice,omitempty"`
	Slices int   `json:"slices,omitempty"`
	Gen    int64 `json:"gen,omitempty"`
}

// Kind implements river.JobArgs.
func (RunArgs) Kind() string { return "campaigns.run" }

// StartArgs starts a campaign scheduled at a time, when the time comes.
type StartArgs struct {
	CampaignID int64     `json:"campaign_id"`
	FireAt     time.Time `json:"fire_at"`
}

// Kind implements river.JobArgs.
func (StartArgs) Kind() string { return "campaigns.start" }

// InsertOpts makes a start unique by campaign and time.
func (StartArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// AddWorkers registers the campaigns' River workers.
func (s *Service) AddWorkers(w *river.Workers) {
	river.AddWorker(w, &runWorker{svc: s})
	river.AddWorker(w, &startWorker{svc: s})
	river.AddWorker(w, &noticeWorker{svc: s})
}

type runWorker struct {
	river.WorkerDefaults[RunArgs]
	svc *Service
}

func (w *runWorker) Timeout(*river.Job[RunArgs]) time.Duration { return DefaultRunTimeout }

func (w *runWorker) Work(ctx context.Context, job *river.Job[RunArgs]) error {
	if job.Args.Slices > 0 {
		return w.svc.workSlice(ctx, job.Args)
	}
	return w.svc.work(ctx, job.Args.RunID)
}

type startWorker struct {
	river.WorkerDefaults[StartArgs]
	svc *Service
}

func (w *startWorker) Work(ctx context.Context, job *river.Job[StartArgs]) error {
	s := w.svc
	return s.tx(ctx, func(tx pgx.Tx) error {
		c, err := getForUpdate(ctx, tx, job.Args.CampaignID)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		// Edited, cancelled or rescheduled since: this start is void.
		if !c.Status.Can(ActionRun) || c.Schedule.Kind != "at" || c.NextRunAt == nil || !c.NextRunAt.Equal(job.Args.FireAt) {
			return nil
		}
		_, err = s.startRun(ctx, tx, c, job.Args.FireAt, system, ActionRun)
		return err
	})
}

var system = By{Actor: audit.System}

// Start starts an approved campaign: at once when its schedule is now (a run
// is created and its fan-out job enqueued), else it becomes scheduled: at its
// time, or at each firing of its cron spec (the scheduler tick starts those).
func (s *Service) Start(ctx context.Context, by By, id int64) (Campaign, error) {
	if err := s.needs(); err != nil {
		return Campaign{}, err
	}
	if !by.can(identity.PermCampaignsWrite) {
		return Campaign{}, fmt.Errorf("%w: starting campaigns needs the marketer or admin role", ErrForbidden)
	}
	var out Campaign
	err := s.tx(ctx, func(tx pgx.Tx) error {
		c, err := getForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		if !c.Status.Can(ActionStart) {
			return fmt.Errorf("%w: only an approved campaign starts; this one is %s", ErrState, c.Status)
		}
		if c.ApprovedVersion == nil || *c.ApprovedVersion != c.Version {
			return fmt.Errorf("%w: the approved version is not the current one", ErrStale)
		}
		if _, err := s.campaignVars(ctx, c); err != nil {
			return err
		}
		now := s.now()
		if c.EndsAt != nil && !c.EndsAt.After(now) {
			return invalid(fieldErr("ends_at", "the campaign ended at %s", c.EndsAt.Format(time.RFC3339)))
		}
		switch c.Schedule.Kind {
		case "now":
			if _, err := s.startRun(ctx, tx, c, now, by, ActionStart); err != nil {
				return err
			}
		case "at":
			at := *c.Schedule.At
			if !at.After(now) {
				return invalid(fieldErr("schedule.at", "%s has passed: edit the schedule (and have it approved again)", at.Format(time.RFC3339)))
			}
			if err := s.changeStatus(ctx, tx, by, c, statusChange{action: ActionSchedule, to: StatusScheduled, data: map[string]any{"at": at},
				set: `, next_run_at = @next`, args: pgx.NamedArgs{"next": at}}, now); err != nil {
				return err
			}
			if _, err := s.inserter.InsertTx(ctx, tx, StartArgs{CampaignID: id, FireAt: at}, &river.InsertOpts{ScheduledAt: at}); err != nil {
				return fmt.Errorf("schedule campaign %d: %w", id, err)
			}
		case "cron":
			next, err := parseCron(c.Schedule.Cron, now)
			if err != nil {
				return invalid(fieldErr("schedule.cron", "%s", err.Error()))
			}
			if err := s.changeStatus(ctx, tx, by, c, statusChange{action: ActionSchedule, to: StatusScheduled, data: map[string]any{"next_run_at": next},
				set: `, next_run_at = @next`, args: pgx.NamedArgs{"next": next}}, now); err != nil {
				return err
			}
		}
		out, err = scanCampaign(tx.QueryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = $1`, id))
		return err
	})
	return out, err
}

// startRun creates the run of a firing (unique per campaign and firing: a
// second start of the same firing creates nothing) and enqueues its fan-out;
// the campaign is running, the event recorded as action by by.
func (s *Service) startRun(ctx context.Context, tx pgx.Tx, c Campaign, fireAt time.Time, by By, action Action) (int64, error) {
	var runID int64
	if !Allowed(action, c.Status, StatusRunning) {
		return 0, stateErr(action, c.Status)
	}
	err := tx.QueryRow(ctx, `INSERT INTO campaign_runs (campaign_id, status, fire_at, throttle, started_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (campaign_id, fire_at) DO NOTHING RETURNING id`, c.ID, string(RunStarting), fireAt, c.Throttle, s.now()).Scan(&runID)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("create run of campaign %d: %w", c.ID, err)
	}
	if err := s.changeStatus(ctx, tx, by, c, statusChange{action: action, to: StatusRunning, data: map[string]any{"run_id": runID, "fire_at": fireAt},
		set: `, last_run_at = @fire_at, next_run_at = NULL`, args: pgx.NamedArgs{"fire_at": fireAt}}, s.now()); err != nil {
		return 0, err
	}
	if _, err := s.inserter.InsertTx(ctx, tx, RunArgs{RunID: runID}, nil); err != nil {
		return 0, fmt.Errorf("enqueue run %d: %w", runID, err)
	}
	return runID, nil
}

// run is a campaign_runs row.
type run struct {
	id, campaignID                      int64
	status                              RunStatus
	recipients                          *int64
	cursor, enqueued, paceRN            int64
	throttle                            int
	paceAt                              *time.Time
	salt                                []byte
	fireAt                              time.Time
	campaignStatus                      Status
	campaignVersion, approvedRecipients int64
}

func lockRun(ctx context.Context, tx pgx.Tx, id int64) (run, error) {
	var r run
	err := tx.QueryRow(ctx, `SELECT id, campaign_id, status, recipients, cursor, enqueued, pace_rn, throttle, pace_at, salt, fire_at
		FROM campaign_runs WHERE id = $1 FOR UPDATE`, id).
		Scan(&r.id, &r.campaignID, &r.status, &r.recipients, &r.cursor, &r.enqueued, &r.paceRN, &r.throttle, &r.paceAt, &r.salt, &r.fireAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// openRun returns the campaign's run that is not over, locked.
func openRun(ctx context.Context, tx pgx.Tx, campaignID int64) (run, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM campaign_runs WHERE campaign_id = $1 AND status = ANY($2) ORDER BY id DESC LIMIT 1`,
		campaignID, strs(openRunStatuses)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return run{}, ErrNotFound
	}
	if err != nil {
		return run{}, err
	}
	return lockRun(ctx, tx, id)
}

// moveRun moves run r to status to, when its moves allow it, with other
// columns set (set: ", column = @name", the names in args).
func moveRun(ctx context.Context, tx pgx.Tx, r run, to RunStatus, set string, args pgx.NamedArgs) error {
	if !r.status.CanBecome(to) {
		return fmt.Errorf("%w: run %d is %s; it cannot become %s", ErrState, r.id, r.status, to)
	}
	a := pgx.NamedArgs{"id": r.id, "status": string(to)}
	for k, v := range args {
		a[k] = v
	}
	if _, err := tx.Exec(ctx, `UPDATE campaign_runs SET status = @status`+set+` WHERE id = @id`, a); err != nil {
		return fmt.Errorf("run %d: %s: %w", r.id, to, err)
	}
	return nil
}
