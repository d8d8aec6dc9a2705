package delivery

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"carillon/contacts"
)

// Worker runs deliver jobs.
type Worker struct {
	river.WorkerDefaults[DeliverArgs]
	svc      *Service
	contacts *contacts.Store
}

// Worker returns the deliver worker; register it with River.
func (s *Service) Worker(store *contacts.Store) *Worker { return &Worker{svc: s, contacts: store} }

// Work sends one job's messages: it claims them (record.go), loads what the
// policy reads once for all of them (policy.go), sends each as the policy
// allows (send.go) and records every outcome with the job's completion in one
// transaction (record.go).
func (w *Worker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	s := w.svc
	now := s.cfg.Now()
	stops, err := s.activeStops(ctx)
	if err != nil {
		return err
	}
	if stops["all"] {
		return river.JobSnooze(s.cfg.StopRecheck)
	}
	claimed, err := s.claim(ctx, job.Args.MessageIDs, now)
	if err != nil {
		return err
	}
	// Messages of the job not claimed but still queued (not yet due by this clock,
	// or locked by someone else a moment) must not be left without a job.
	left, err := s.leftovers(ctx, job.Args.MessageIDs, claimed)
	if err != nil {
		return err
	}
	if len(claimed) == 0 {
		if len(left.ids) == 0 {
			return nil
		}
		return river.JobSnooze(max(time.Second, left.earliest.Sub(now)))
	}
	env, err := w.load(ctx, claimed, now)
	if err != nil {
		return err
	}
	outs := w.sendAll(ctx, claimed, env, stops, now)
	// The outcome is recorded even when the job's context has ended: the sends
	// happened, and a lost record would mean sending them again.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	return s.record(rctx, job, outs, left, now)
}

const (
	// jobTimeMargin is the time kept at the end of a job for recording its
	// sends; a message is not begun within it (the lesser of this and a quarter
	// of the job's timeout).
	jobTimeMargin = 10 * time.Second
	recordTimeout = 30 * time.Second
)

// Timeout bounds one deliver job (River's default is a minute: a job of 50 messages
// waiting on a provider's rate limit can need longer).
func (w *Worker) Timeout(*river.Job[DeliverArgs]) time.Duration { return w.svc.cfg.JobTimeout }
