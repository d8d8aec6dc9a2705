package campaigns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"carillon/campaigns/segment"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/templates"
)

// Run statuses.
const (
	RunStarting  = "starting"  // created; its audience not yet snapshotted
	RunRunning   = "running"   // writing its messages, then waiting for them to be sent
	RunPaused    = "paused"    // nothing of it reaches a provider until resumed
	RunCompleted = "completed" // every message written and handed on
	RunCancelled = "cancelled"
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
		if c.Status != StatusScheduled || c.Schedule.Kind != "at" || c.NextRunAt == nil || !c.NextRunAt.Equal(job.Args.FireAt) {
			return nil
		}
		_, err = s.startRun(ctx, tx, c, job.Args.FireAt, system, "run")
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
	if !by.has(identity.RoleMarketer, identity.RoleAdmin) {
		return Campaign{}, fmt.Errorf("%w: starting campaigns needs the marketer or admin role", ErrForbidden)
	}
	var out Campaign
	err := s.tx(ctx, func(tx pgx.Tx) error {
		c, err := getForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		if c.Status != StatusApproved {
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
			if _, err := s.startRun(ctx, tx, c, now, by, "start"); err != nil {
				return err
			}
		case "at":
			at := *c.Schedule.At
			if !at.After(now) {
				return invalid(fieldErr("schedule.at", "%s has passed: edit the schedule (and have it approved again)", at.Format(time.RFC3339)))
			}
			if _, err := tx.Exec(ctx, `UPDATE campaigns SET status = 'scheduled', next_run_at = $2, updated_at = $3 WHERE id = $1`, id, at, now); err != nil {
				return err
			}
			if _, err := s.inserter.InsertTx(ctx, tx, StartArgs{CampaignID: id, FireAt: at}, &river.InsertOpts{ScheduledAt: at}); err != nil {
				return fmt.Errorf("schedule campaign %d: %w", id, err)
			}
			if err := s.event(ctx, tx, by, id, "schedule", c.Status, StatusScheduled, "", map[string]any{"at": at}); err != nil {
				return err
			}
		case "cron":
			next, err := parseCron(c.Schedule.Cron, now)
			if err != nil {
				return invalid(fieldErr("schedule.cron", "%s", err.Error()))
			}
			if _, err := tx.Exec(ctx, `UPDATE campaigns SET status = 'scheduled', next_run_at = $2, updated_at = $3 WHERE id = $1`, id, next, now); err != nil {
				return err
			}
			if err := s.event(ctx, tx, by, id, "schedule", c.Status, StatusScheduled, "", map[string]any{"next_run_at": next}); err != nil {
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
func (s *Service) startRun(ctx context.Context, tx pgx.Tx, c Campaign, fireAt time.Time, by By, action string) (int64, error) {
	var runID int64
	err := tx.QueryRow(ctx, `INSERT INTO campaign_runs (campaign_id, fire_at, throttle, started_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (campaign_id, fire_at) DO NOTHING RETURNING id`, c.ID, fireAt, c.Throttle, s.now()).Scan(&runID)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("create run of campaign %d: %w", c.ID, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE campaigns SET status = 'running', last_run_at = $2, next_run_at = NULL, updated_at = $3 WHERE id = $1`, c.ID, fireAt, s.now()); err != nil {
		return 0, err
	}
	if err := s.event(ctx, tx, by, c.ID, action, c.Status, StatusRunning, "", map[string]any{"run_id": runID, "fire_at": fireAt}); err != nil {
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
	status                              string
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
		// The campaign's row is locked before the run's, in the order Pause,
		// Cancel and Resume take them: a step may change the campaign (a
		// second-approval hold, completion), and the opposite order deadlocks.
		var campaignID int64
		err := tx.QueryRow(ctx, `SELECT campaign_id FROM campaign_runs WHERE id = $1`, runID).Scan(&campaignID)
		if errors.Is(err, pgx.ErrNoRows) {
			st.done = true
			return nil
		}
		if err != nil {
			return err
		}
		c, err := getForUpdate(ctx, tx, campaignID)
		if err != nil {
			return err
		}
		r, err := lockRun(ctx, tx, runID)
		if errors.Is(err, ErrNotFound) {
			st.done = true
			return nil
		}
		if err != nil {
			return err
		}
		if err != nil {
			return err
		}
		now := s.now()
		switch r.status {
		case RunStarting:
			return s.snapshot(ctx, tx, c, r, now)
		case RunRunning:
		default: // paused, completed, cancelled: this job has nothing to do
			st.done = true
			return nil
		}
		if c.EndsAt != nil && !c.EndsAt.After(now) {
			st.done = true
			return s.endRun(ctx, tx, c, r, ReasonEnded, now)
		}
		if r.recipients != nil && r.cursor >= *r.recipients {
			// Every message is written: the run is over once none waits any more.
			open, err := s.deps.Delivery.SourceOpen(ctx, tx, SourceRun, strconv.FormatInt(r.id, 10))
			if err != nil {
				return err
			}
			if open {
				st.sleep = s.cfg.DrainPoll
				return nil
			}
			st.done = true
			return s.completeRun(ctx, tx, c, r, now)
		}
		if r.throttle == 0 && s.cfg.Slices > 1 && r.recipients != nil && *r.recipients-r.cursor > int64(s.cfg.Batch) {
			// An unthrottled run is written by Slices jobs at once; the last to
			// finish moves the cursor to the end and waits for the messages here.
			st.done = true
			return s.spawnSlices(ctx, tx, r)
		}
		limit := int64(s.cfg.Batch)
		if r.throttle > 0 && r.paceAt != nil {
			// The recipients whose send time falls within the horizon.
			ahead := now.Add(s.cfg.Horizon).Sub(*r.paceAt)
			last := r.paceRN + (int64(ahead/time.Second)+1)*int64(r.throttle) - 1
			if ahead < 0 || last <= r.cursor {
				next := r.paceAt.Add(time.Duration((r.cursor+1-r.paceRN)/int64(r.throttle)) * time.Second)
				st.sleep = max(next.Sub(now)-s.cfg.Horizon, 100*time.Millisecond)
				return nil
			}
			limit = min(limit, last-r.cursor)
		}
		last, n, err := s.batch(ctx, tx, c, r, r.cursor+1, r.cursor+limit)
		if err != nil {
			return err
		}
		if last == 0 {
			_, err := tx.Exec(ctx, `UPDATE campaign_runs SET recipients = cursor WHERE id = $1`, r.id)
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE campaign_runs SET cursor = $2, enqueued = enqueued + $3 WHERE id = $1`, r.id, last, n); err != nil {
			return err
		}
		if s.cfg.AfterBatch != nil {
			if err := s.cfg.AfterBatch(r.id, last); err != nil {
				return err
			}
		}
		return nil
	})
	return st, err
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
	if _, err := s.pool.Exec(ctx, `UPDATE campaign_runs SET cursor = recipients, enqueued = recipients WHERE id = $1 AND status = 'running' AND cursor < recipients`, a.RunID); err != nil {
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

// snapshot fixes a run's audience: the recipients, one per address, numbered.
func (s *Service) snapshot(ctx context.Context, tx pgx.Tx, c Campaign, r run, now time.Time) error {
	seg, err := segment.Compile(c.Segment)
	if err != nil {
		return fmt.Errorf("run %d: segment: %w", r.id, err)
	}
	where, args := s.segments.Audience(seg, 4)
	var audience, recipients int64
	// Sorting and grouping a million recipients needs more than the default 4 MB.
	if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '256MB'`); err != nil {
		return err
	}
	err = tx.QueryRow(ctx, snapshotSQL(where), append([]any{c.Channels, r.salt, r.id}, args...)...).Scan(&audience, &recipients)
	if err != nil {
		return fmt.Errorf("snapshot run %d: %w", r.id, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE campaign_runs SET status = 'running', audience = $2, recipients = $3, snapshot_at = $4, pace_rn = 1, pace_at = $4
		WHERE id = $1`, r.id, audience, recipients, now); err != nil {
		return err
	}
	s.cfg.Logger.InfoContext(ctx, "campaign run snapshotted", slog.Int64("campaign_id", c.ID), slog.Int64("run_id", r.id),
		slog.Int64("audience", audience), slog.Int64("recipients", recipients))
	if lim := s.cfg.SecondApprovalAbove; lim > 0 && recipients > lim && (c.Review == nil || recipients > c.Review.Recipients) {
		// Grown past what was approved and past the limit: held for a second approval.
		reviewed := int64(0)
		if c.Review != nil {
			reviewed = c.Review.Recipients
		}
		if _, err := tx.Exec(ctx, `UPDATE campaign_runs SET status = 'paused' WHERE id = $1`, r.id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE campaigns SET status = 'paused', updated_at = $2 WHERE id = $1`, c.ID, now); err != nil {
			return err
		}
		return s.event(ctx, tx, system, c.ID, "second_approval_needed", c.Status, StatusPaused,
			fmt.Sprintf("the audience is %d recipients, more than the %d reviewed and the limit of %d: an approver resumes it", recipients, reviewed, lim),
			map[string]any{"run_id": r.id, "recipients": recipients, "reviewed": reviewed})
	}
	return nil
}

// snapshotSQL writes a run's recipients ($3) and counts the contacts matched.
func snapshotSQL(where string) string {
	return recipientsSQL(where) + `, ins AS (
  INSERT INTO campaign_recipients (run_id, rn, contact_id, channel, address_key)
  SELECT $3, row_number() OVER (ORDER BY o.contact_id), o.contact_id, o.channel, o.address_key FROM one o
  RETURNING 1
)
SELECT (SELECT count(*) FROM matched), (SELECT count(*) FROM ins)`
}

// DedupeKey is the outbox key of a recipient's message in a run:
// campaign:<run>:<recipient number>, then #2, #3… for the message written
// again after each pause that held it. The recipients of a run are fixed at
// its snapshot, one per address, so the key is one message per address per
// run; numbered keys keep the outbox's unique index growing at its end, and
// hold no address.
func DedupeKey(runID, rn int64) string {
	return fmt.Sprintf("campaign:%d:%010d", runID, rn)
}

// batch writes the messages of the recipients numbered from..to through
// delivery.Enqueue in the caller's transaction. It returns the last recipient
// written (0 when there was none) and how many messages were new.
func (s *Service) batch(ctx context.Context, tx pgx.Tx, c Campaign, r run, from, to int64) (int64, int64, error) {
	rows, err := tx.Query(ctx, `SELECT rn, contact_id, channel FROM campaign_recipients WHERE run_id = $1 AND rn BETWEEN $2 AND $3 ORDER BY rn`,
		r.id, from, to)
	if err != nil {
		return 0, 0, fmt.Errorf("run %d: read recipients: %w", r.id, err)
	}
	type rec struct {
		rn, contact int64
		ch          string
	}
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (rec, error) {
		var x rec
		err := row.Scan(&x.rn, &x.contact, &x.ch)
		return x, err
	})
	if err != nil || len(recs) == 0 {
		return 0, 0, err
	}
	vars, err := s.messageVars(ctx, c)
	if err != nil {
		return 0, 0, fmt.Errorf("run %d: %w", r.id, err)
	}
	window := c.window()
	sid := strconv.FormatInt(r.id, 10)
	planned := make([]delivery.Planned, len(recs))
	for i, x := range recs {
		idx := max(slices.Index(c.Channels, x.ch), 0)
		planned[i] = delivery.Planned{DedupeKey: DedupeKey(r.id, x.rn), ContactID: x.contact, Source: SourceRun, SourceID: sid,
			Purpose: campaignPurpose, TemplateKey: c.Template, TemplateVersion: c.templateVersion(), Vars: vars,
			Channels: toChannels(c.Channels[idx:]), Window: window, SendAt: r.slot(x.rn), Deadline: c.deadline()}
	}
	res, err := s.deps.Delivery.Enqueue(ctx, tx, planned)
	if err != nil {
		return 0, 0, fmt.Errorf("run %d: enqueue: %w", r.id, err)
	}
	return recs[len(recs)-1].rn, int64(len(res.IDs)), nil
}

// slot is when a recipient's message may be sent under the throttle: the
// throttle's messages share each second from the run's pace.
func (r run) slot(rn int64) time.Time {
	if r.throttle <= 0 || r.paceAt == nil {
		return time.Time{}
	}
	return r.paceAt.Add(time.Duration((rn-r.paceRN)/int64(r.throttle)) * time.Second)
}

// messageVars are the variables a campaign's messages carry: the campaign's own,
// checked against what its template version declares and with the declared
// defaults filled in (campaignVars), and, when configured here, the bank's (else
// the renderer's bank applies).
func (s *Service) messageVars(ctx context.Context, c Campaign) (map[string]any, error) {
	cv, err := s.campaignVars(ctx, c)
	if err != nil {
		return nil, err
	}
	v := map[string]any{"Campaign": cv}
	if s.cfg.Bank != (templates.Bank{}) {
		v["Bank"] = s.cfg.Bank.Vars()
	}
	return v, nil
}

// campaignVars checks the campaign's variables against its template version (the
// reviewed one; the active one before a review): a required variable missing, a
// value of the wrong type, a name the template does not declare are each a field
// error (vars.<name>). It returns the values the messages carry.
func (s *Service) campaignVars(ctx context.Context, c Campaign) (map[string]any, error) {
	tv, err := s.deps.Templates.Version(ctx, c.Template, c.templateVersion())
	if err != nil {
		return nil, fmt.Errorf("campaign %d: template %s: %w", c.ID, c.Template, err)
	}
	return varsOf(tv, c.Vars)
}

// varsOf is tv.CampaignVars with its problems as the campaign's field errors.
func varsOf(tv templates.Version, given map[string]any) (map[string]any, error) {
	out, err := tv.CampaignVars(given)
	var ve *templates.ValidationError
	if errors.As(err, &ve) {
		fields := make([]contacts.FieldError, len(ve.Problems))
		for i, p := range ve.Problems {
			fields[i] = contacts.FieldError{Field: p.Field, Message: p.Message}
		}
		return out, invalid(fields...)
	}
	return out, err
}

// deadline is when the campaign's messages stop being sent: its end time (zero:
// it has none). One not sent by then is cancelled as expired.
func (c Campaign) deadline() time.Time {
	if c.EndsAt == nil {
		return time.Time{}
	}
	return *c.EndsAt
}

// templateVersion is the template version the campaign's messages are pinned
// to: the one its review rendered (what the approver saw); 0, the active one,
// before any review.
func (c Campaign) templateVersion() int {
	if c.Review == nil {
		return 0
	}
	return c.Review.TemplateVersion
}

func (c Campaign) window() *delivery.Window {
	if c.windowStart == nil || c.windowEnd == nil {
		return nil
	}
	return &delivery.Window{Start: int(*c.windowStart), End: int(*c.windowEnd)}
}

// completeRun ends a run whose messages are all handed on; a recurring campaign
// waits for its next firing, any other is completed.
func (s *Service) completeRun(ctx context.Context, tx pgx.Tx, c Campaign, r run, now time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE campaign_runs SET status = 'completed', finished_at = $2 WHERE id = $1`, r.id, now); err != nil {
		return err
	}
	if c.Status != StatusRunning {
		return nil
	}
	to, next := StatusCompleted, (*time.Time)(nil)
	if c.Schedule.Kind == "cron" {
		// The next firing after this run's, even when the run ended before its
		// firing's minute was over.
		after := now
		if r.fireAt.After(after) {
			after = r.fireAt
		}
		if n, err := parseCron(c.Schedule.Cron, after); err == nil && (c.EndsAt == nil || n.Before(*c.EndsAt)) {
			to, next = StatusScheduled, &n
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE campaigns SET status = $2, next_run_at = $3, updated_at = $4 WHERE id = $1`, c.ID, string(to), next, now); err != nil {
		return err
	}
	return s.event(ctx, tx, system, c.ID, "run_completed", c.Status, to, "", map[string]any{"run_id": r.id})
}

// endRun stops a run at its campaign's end date: what is not yet handed to a
// provider is cancelled.
func (s *Service) endRun(ctx context.Context, tx pgx.Tx, c Campaign, r run, reason string, now time.Time) error {
	if _, err := s.hold(ctx, tx, r.id, reason, now); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE campaign_runs SET status = 'completed', finished_at = $2 WHERE id = $1`, r.id, now); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE campaigns SET status = 'completed', next_run_at = NULL, updated_at = $2 WHERE id = $1`, c.ID, now); err != nil {
		return err
	}
	return s.event(ctx, tx, system, c.ID, "ended", c.Status, StatusCompleted, "the campaign's end date passed", map[string]any{"run_id": r.id})
}

// hold cancels a run's messages that wait in the outbox (queued: not claimed by
// a deliver job, so not handed to any provider), with a reason. A deliver job
// that later picks them up finds them cancelled and sends nothing.
func (s *Service) hold(ctx context.Context, tx pgx.Tx, runID int64, reason string, now time.Time) (int64, error) {
	n, err := s.deps.Delivery.HoldSource(ctx, tx, SourceRun, strconv.FormatInt(runID, 10), reason, now)
	if err != nil {
		return 0, fmt.Errorf("run %d: %w", runID, err)
	}
	return n, nil
}

// openRun returns the campaign's run that is not over, locked.
func openRun(ctx context.Context, tx pgx.Tx, campaignID int64) (run, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM campaign_runs WHERE campaign_id = $1 AND status IN ('starting', 'running', 'paused') ORDER BY id DESC LIMIT 1`, campaignID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return run{}, ErrNotFound
	}
	if err != nil {
		return run{}, err
	}
	return lockRun(ctx, tx, id)
}

// PauseResult says what a pause (or a cancel) held.
type PauseResult struct {
	Campaign Campaign `json:"campaign"`
	RunID    int64    `json:"run_id,omitempty"`
	// Held counts the messages taken out of the outbox before a provider got them.
	Held int64 `json:"held"`
	// InFlight counts messages being handed to a provider when the pause was
	// made that had not finished by the time it returned (0 in the normal case:
	// the pause waits for them, up to Config.PauseWait).
	InFlight int64 `json:"in_flight"`
}

// Pause stops a running campaign: no more of its messages are written, and
// every message not yet handed to a provider is held. When it returns (with
// InFlight 0), no further message of the campaign reaches a provider until
// Resume.
func (s *Service) Pause(ctx context.Context, by By, id int64) (PauseResult, error) {
	if !by.has(identity.RoleMarketer, identity.RoleAdmin, identity.RoleApprover) {
		return PauseResult{}, fmt.Errorf("%w: pausing needs the marketer, approver or admin role", ErrForbidden)
	}
	return s.stop(ctx, by, id, "pause", StatusPaused, RunPaused, ReasonPaused, "")
}

// stop pauses or cancels the open run of a campaign, then waits until nothing
// of it is queued or being sent.
func (s *Service) stop(ctx context.Context, by By, id int64, action string, to Status, runTo, reason, why string) (PauseResult, error) {
	var res PauseResult
	from := []Status{StatusRunning}
	if action == "cancel" {
		from = []Status{StatusDraft, StatusSubmitted, StatusApproved, StatusRejected, StatusScheduled, StatusRunning, StatusPaused}
	}
	c, err := s.transition(ctx, by, id, action, from, to, why, func(tx pgx.Tx, c Campaign) error {
		if _, err := tx.Exec(ctx, `UPDATE campaigns SET next_run_at = NULL WHERE id = $1`, id); err != nil {
			return err
		}
		r, err := openRun(ctx, tx, id)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		res.RunID = r.id
		now := s.now()
		if _, err := tx.Exec(ctx, `UPDATE campaign_runs SET status = $2, finished_at = CASE WHEN $2 = 'cancelled' THEN $3::timestamptz END WHERE id = $1`,
			r.id, runTo, now); err != nil {
			return err
		}
		res.Held, err = s.hold(ctx, tx, r.id, reason, now)
		return err
	}, nil)
	if err != nil {
		return res, err
	}
	res.Campaign = c
	if res.RunID == 0 {
		return res, nil
	}
	// Messages claimed by a deliver job before the pause are being handed to a
	// provider; one whose send is deferred goes back to queued. Wait until none
	// is queued or sending, holding the re-queued ones.
	deadline := time.Now().Add(s.cfg.PauseWait)
	for {
		var held int64
		err := s.tx(ctx, func(tx pgx.Tx) error {
			var err error
			held, err = s.hold(ctx, tx, res.RunID, reason, s.now())
			return err
		})
		if err != nil {
			return res, err
		}
		res.Held += held
		sending, queued, err := s.deps.Delivery.SourceOpenCounts(ctx, SourceRun, strconv.FormatInt(res.RunID, 10))
		if err != nil {
			return res, err
		}
		if sending == 0 && queued == 0 {
			return res, nil
		}
		if time.Now().After(deadline) {
			res.InFlight = sending
			s.cfg.Logger.WarnContext(ctx, "campaign "+action+": messages still being sent", slog.Int64("campaign_id", id), slog.Int64("in_flight", sending))
			return res, nil
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Resume continues a paused campaign: the messages its pause held are written
// again (new messages, each once) ahead of the recipients not yet written, and
// the fan-out continues. A run held for a second approval resumes only by an
// approver who is not an author of the campaign.
func (s *Service) Resume(ctx context.Context, by By, id int64) (Campaign, error) {
	if !by.has(identity.RoleMarketer, identity.RoleAdmin, identity.RoleApprover) {
		return Campaign{}, fmt.Errorf("%w: resuming needs the marketer, approver or admin role", ErrForbidden)
	}
	return s.transition(ctx, by, id, "resume", []Status{StatusPaused}, StatusRunning, "", func(tx pgx.Tx, c Campaign) error {
		r, err := openRun(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("campaign %d has no paused run: %w", id, err)
		}
		var needsApproval bool
		if err := tx.QueryRow(ctx, `SELECT action = 'second_approval_needed' FROM campaign_events WHERE campaign_id = $1 AND action IN ('second_approval_needed', 'pause', 'resume')
			ORDER BY id DESC LIMIT 1`, id).Scan(&needsApproval); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if needsApproval {
			var authored bool
			if err := tx.QueryRow(ctx, sqlAuthored, id, by.userID()).Scan(&authored); err != nil {
				return err
			}
			if !by.has(identity.RoleApprover) || by.userID() == 0 || authored {
				return fmt.Errorf("%w: the run's audience grew past the approval limit: an approver who is not its author resumes it", ErrForbidden)
			}
		}
		now := s.now()
		// The held messages, marked as superseded, and written again.
		hs, err := s.deps.Delivery.Supersede(ctx, tx, SourceRun, strconv.FormatInt(r.id, 10), ReasonPaused, ReasonResent, now)
		if err != nil {
			return fmt.Errorf("resume run %d: %w", r.id, err)
		}
		throttle := int64(max(r.throttle, 0))
		planned := make([]delivery.Planned, len(hs))
		for i, h := range hs {
			p := delivery.Planned{DedupeKey: nextKey(h.DedupeKey), ContactID: h.ContactID, Source: SourceRun, SourceID: strconv.FormatInt(r.id, 10),
				Purpose: campaignPurpose, TemplateKey: h.TemplateKey, TemplateVersion: h.TemplateVersion, Vars: h.Vars, Channels: h.Channels,
				Window: h.Window, Deadline: c.deadline()}
			if throttle > 0 {
				p.SendAt = now.Add(time.Duration(int64(i)/throttle) * time.Second)
			}
			planned[i] = p
		}
		if len(planned) > 0 {
			if _, err := s.deps.Delivery.Enqueue(ctx, tx, planned); err != nil {
				return fmt.Errorf("resume run %d: %w", r.id, err)
			}
		}
		// The recipients not yet written follow the re-written ones.
		paceAt := now
		if throttle > 0 {
			paceAt = now.Add(time.Duration((int64(len(hs))+throttle-1)/throttle) * time.Second)
		}
		status := RunRunning
		if r.recipients == nil {
			status = RunStarting
		}
		if _, err := tx.Exec(ctx, `UPDATE campaign_runs SET status = $2, pace_rn = cursor + 1, pace_at = $3, held = $4 WHERE id = $1`,
			r.id, status, paceAt, len(hs)); err != nil {
			return err
		}
		if _, err := s.inserter.InsertTx(ctx, tx, RunArgs{RunID: r.id}, nil); err != nil {
			return fmt.Errorf("resume run %d: %w", r.id, err)
		}
		return nil
	}, nil)
}

// nextKey is the dedupe key of a held message written again: #2, #3, ….
func nextKey(key string) string {
	if i := strings.LastIndexByte(key, '#'); i > 0 {
		if n, err := strconv.Atoi(key[i+1:]); err == nil {
			return key[:i] + "#" + strconv.Itoa(n+1)
		}
	}
	return key + "#2"
}
