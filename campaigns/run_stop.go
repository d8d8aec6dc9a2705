package campaigns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/delivery"
	"carillon/internal/identity"
)

// completeRun ends a run whose messages are all handed on; a recurring campaign
// waits for its next firing, any other is completed.
func (s *Service) completeRun(ctx context.Context, tx pgx.Tx, c Campaign, r run, now time.Time) error {
	if err := moveRun(ctx, tx, r, RunCompleted, `, finished_at = @now`, pgx.NamedArgs{"now": now}); err != nil {
		return err
	}
	if !c.Status.Can(ActionRunCompleted) {
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
	return s.changeStatus(ctx, tx, system, c, statusChange{action: ActionRunCompleted, to: to, data: map[string]any{"run_id": r.id},
		set: `, next_run_at = @next`, args: pgx.NamedArgs{"next": next}}, now)
}

// endRun stops a run at its campaign's end date: what is not yet handed to a
// provider is cancelled.
func (s *Service) endRun(ctx context.Context, tx pgx.Tx, c Campaign, r run, reason string, now time.Time) error {
	if _, err := s.hold(ctx, tx, r.id, reason, now); err != nil {
		return err
	}
	if err := moveRun(ctx, tx, r, RunCompleted, `, finished_at = @now`, pgx.NamedArgs{"now": now}); err != nil {
		return err
	}
	return s.end(ctx, tx, c, map[string]any{"run_id": r.id}, now)
}

// end completes a campaign whose end date passed.
func (s *Service) end(ctx context.Context, tx pgx.Tx, c Campaign, data map[string]any, now time.Time) error {
	return s.changeStatus(ctx, tx, system, c, statusChange{action: ActionEnded, to: StatusCompleted, reason: "the campaign's end date passed", data: data,
		set: `, next_run_at = NULL`}, now)
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
	if !by.can(identity.PermCampaignsOperate) {
		return PauseResult{}, fmt.Errorf("%w: pausing needs the marketer, approver or admin role", ErrForbidden)
	}
	return s.stop(ctx, by, id, ActionPause, StatusPaused, RunPaused, ReasonPaused, "")
}

// stop pauses or cancels the open run of a campaign, then waits until nothing
// of it is queued or being sent.
func (s *Service) stop(ctx context.Context, by By, id int64, action Action, to Status, runTo RunStatus, reason, why string) (PauseResult, error) {
	var res PauseResult
	c, err := s.transition(ctx, by, id, action, to, why, func(tx pgx.Tx, c Campaign) error {
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
		var finished *time.Time
		if runTo == RunCancelled {
			finished = &now
		}
		if err := moveRun(ctx, tx, r, runTo, `, finished_at = @finished`, pgx.NamedArgs{"finished": finished}); err != nil {
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
			s.cfg.Logger.WarnContext(ctx, "campaign "+string(action)+": messages still being sent", slog.Int64("campaign_id", id), slog.Int64("in_flight", sending))
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
	if !by.can(identity.PermCampaignsOperate) {
		return Campaign{}, fmt.Errorf("%w: resuming needs the marketer, approver or admin role", ErrForbidden)
	}
	return s.transition(ctx, by, id, ActionResume, StatusRunning, "", func(tx pgx.Tx, c Campaign) error {
		r, err := openRun(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("campaign %d has no paused run: %w", id, err)
		}
		if err := s.checkResumer(ctx, tx, by, id); err != nil {
			return err
		}
		now := s.now()
		held, err := s.rewriteHeld(ctx, tx, c, r, now)
		if err != nil {
			return err
		}
		// The recipients not yet written follow the re-written ones.
		throttle := int64(max(r.throttle, 0))
		paceAt := now
		if throttle > 0 {
			paceAt = now.Add(time.Duration((held+throttle-1)/throttle) * time.Second)
		}
		status := RunRunning
		if r.recipients == nil {
			status = RunStarting
		}
		if err := moveRun(ctx, tx, r, status, `, pace_rn = cursor + 1, pace_at = @pace_at, held = @held`,
			pgx.NamedArgs{"pace_at": paceAt, "held": held}); err != nil {
			return err
		}
		if _, err := s.inserter.InsertTx(ctx, tx, RunArgs{RunID: r.id}, nil); err != nil {
			return fmt.Errorf("resume run %d: %w", r.id, err)
		}
		return nil
	}, nil)
}

// checkResumer refuses the resume of a run held for a second approval by
// anyone but an approver who is not an author of the campaign.
func (s *Service) checkResumer(ctx context.Context, tx pgx.Tx, by By, id int64) error {
	var needsApproval bool
	if err := tx.QueryRow(ctx, `SELECT action = $2 FROM campaign_events WHERE campaign_id = $1 AND action = ANY($3)
		ORDER BY id DESC LIMIT 1`, id, string(ActionHold), strs([]Action{ActionHold, ActionPause, ActionResume})).Scan(&needsApproval); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if !needsApproval {
		return nil
	}
	authored, err := isAuthor(ctx, tx, id, by.userID())
	if err != nil {
		return err
	}
	if !by.can(identity.PermCampaignsApprove) || by.userID() == 0 || authored {
		return fmt.Errorf("%w: the run's audience grew past the approval limit: an approver who is not its author resumes it", ErrForbidden)
	}
	return nil
}

// rewriteHeld marks the messages a pause held as superseded and writes them
// again, paced by the run's throttle from now; it returns how many.
func (s *Service) rewriteHeld(ctx context.Context, tx pgx.Tx, c Campaign, r run, now time.Time) (int64, error) {
	hs, err := s.deps.Delivery.Supersede(ctx, tx, SourceRun, strconv.FormatInt(r.id, 10), ReasonPaused, ReasonResent, now)
	if err != nil {
		return 0, fmt.Errorf("resume run %d: %w", r.id, err)
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
			return 0, fmt.Errorf("resume run %d: %w", r.id, err)
		}
	}
	return int64(len(hs)), nil
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
