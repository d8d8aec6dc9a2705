package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"carillon/channels"
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

// message is an outbox row claimed for sending.
type message struct {
	id          int64
	dedupeKey   string
	contactID   int64
	managerID   int64
	source      string
	sourceID    string
	purpose     channels.Purpose
	templateKey string
	// templateVersion is the version the message is pinned to (a campaign's
	// approved one, or the one an earlier attempt rendered); 0: the active one.
	templateVersion int
	vars            map[string]any
	channels        []channels.Channel
	parentID        int64
	prevStatus      Status
	prevReason      string
	attempts        int
	sendAt          time.Time
	deadline        *time.Time // not sent at or after it
	window          *Window
	test            bool
}

const claimSQL = `WITH c AS (
  SELECT id, status AS prev, reason AS prev_reason FROM messages
  WHERE id = ANY($1) AND status IN ('queued', 'sending') AND send_at <= $2
  ORDER BY id FOR UPDATE SKIP LOCKED
)
UPDATE messages m SET status = 'sending', updated_at = $2
FROM c WHERE m.id = c.id
RETURNING m.id, m.dedupe_key, COALESCE(m.contact_id, 0), COALESCE(m.manager_id, 0), m.source, m.source_id, m.purpose,
  m.template_key, m.vars, m.channels, COALESCE(m.parent_id, 0), c.prev, c.prev_reason, m.attempts, m.send_at, m.window_start, m.window_end, m.test,
  COALESCE(m.template_version, 0), m.deadline`

// claim marks messages as sending and commits: from here a crash leaves them in
// sending, which the next attempt reads as "maybe sent".
func (s *Service) claim(ctx context.Context, ids []int64, now time.Time) ([]*message, error) {
	rows, err := s.pool.Query(ctx, claimSQL, ids, now)
	if err != nil {
		return nil, fmt.Errorf("claim messages: %w", err)
	}
	defer rows.Close()
	var out []*message
	for rows.Next() {
		m := &message{}
		var vars []byte
		var chans []string
		var ws, we *int16
		if err := rows.Scan(&m.id, &m.dedupeKey, &m.contactID, &m.managerID, &m.source, &m.sourceID, &m.purpose,
			&m.templateKey, &vars, &chans, &m.parentID, &m.prevStatus, &m.prevReason, &m.attempts, &m.sendAt, &ws, &we, &m.test, &m.templateVersion, &m.deadline); err != nil {
			return nil, err
		}
		if err := m.decode(vars, chans, ws, we); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// decode fills in the message's columns read as stored: its variables, its
// channels and its own window.
func (m *message) decode(vars []byte, chans []string, ws, we *int16) error {
	for _, c := range chans {
		m.channels = append(m.channels, channels.Channel(c))
	}
	if ws != nil && we != nil {
		m.window = &Window{int(*ws), int(*we)}
	}
	if err := json.Unmarshal(vars, &m.vars); err != nil {
		return fmt.Errorf("message %d: vars: %w", m.id, err)
	}
	return nil
}

// Work sends one job's messages.
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
	// The messages of a job are sent a few at a time; the job waits for every send
	// and records them all in one transaction.
	outs := make([]*outcome, len(claimed))
	sem := make(chan struct{}, s.cfg.SendConcurrency)
	var wg sync.WaitGroup
	for i, m := range claimed {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer func() {
				// A panic here would kill the process with every message in flight.
				if r := recover(); r != nil {
					s.cfg.Logger.ErrorContext(ctx, "deliver panicked", slog.Int64("message_id", m.id), slog.Any("panic", r))
					outs[i] = &outcome{m: m, status: StatusQueued, reason: "retry: internal error", sendAt: now.Add(s.cfg.Backoff)}
				}
			}()
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < min(jobTimeMargin, s.cfg.JobTimeout/4) {
				// The job's time is nearly up: hand the rest to a new job rather than
				// risk a send whose outcome could not be recorded.
				outs[i] = &outcome{m: m, status: StatusQueued, reason: "deferred: job time", sendAt: now}
				return
			}
			outs[i] = expire(m, now, func() *outcome { return w.deliver(ctx, m, env, stops, now) })
		}()
	}
	wg.Wait()
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

// deliver sends one message as the policy allows: its outcome, for the record.
func (w *Worker) deliver(ctx context.Context, m *message, env *sendEnv, stops map[string]bool, now time.Time) *outcome {
	o := &outcome{m: m, resent: m.prevStatus == StatusSending}
	if p := w.policy(ctx, m, env, stops, now, o); p != nil {
		w.send(ctx, m, o, p, now)
	}
	return o
}

// Timeout bounds one deliver job (River's default is a minute: a job of 50 messages
// waiting on a provider's rate limit can need longer).
func (w *Worker) Timeout(*river.Job[DeliverArgs]) time.Duration { return w.svc.cfg.JobTimeout }

type leftover struct {
	ids      []int64
	due      []time.Time
	earliest time.Time
}

func (s *Service) leftovers(ctx context.Context, ids []int64, claimed []*message) (leftover, error) {
	var l leftover
	got := make([]int64, len(claimed))
	for i, m := range claimed {
		got[i] = m.id
	}
	rows, err := s.pool.Query(ctx, `SELECT id, send_at FROM messages WHERE id = ANY($1) AND status = 'queued' AND NOT (id = ANY($2)) ORDER BY send_at, id`, ids, got)
	if err != nil {
		return l, fmt.Errorf("messages left in the job: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return l, err
		}
		if len(l.ids) == 0 {
			l.earliest = at
		}
		l.ids, l.due = append(l.ids, id), append(l.due, at)
	}
	return l, rows.Err()
}
