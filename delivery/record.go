package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"carillon/channels"
	"carillon/contacts"
)

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

// leftover is the job's messages not claimed but still queued, with their
// send times.
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

// outcome is what became of one claimed message.
type outcome struct {
	m        *message
	status   Status // sent, delivered, failed, suppressed, cancelled, queued (deferred)
	reason   string
	channel  channels.Channel
	provider string
	pmid     string
	masked   string
	body     string
	version  int
	sendAt   time.Time // for deferred messages
	skipped  map[channels.Channel]string
	receipt  *channels.Receipt // a final answer given with the send (WeCom)
	fallback []channels.Channel
	suppress *suppression
	resent   bool // sent again after a crash mid-send: maybe a duplicate
	tried    bool // a provider was called: the attempt counts
	latency  time.Duration
}

type suppression struct {
	channel channels.Channel
	address string
	reason  string
}

// recordOutcomesSQL writes the outcomes of a job's sends. A status a receipt
// already moved on (it came before this record) stays: a final one is never
// replaced, not even by another final one.
const recordOutcomesSQL = `UPDATE messages m SET
  status = CASE WHEN m.status <> 'sending' AND status_rank(m.status) >= status_rank(u.st) THEN m.status ELSE u.st END,
  reason = CASE WHEN m.status <> 'sending' AND status_rank(m.status) >= status_rank(u.st) THEN m.reason ELSE u.reason END,
  channel = NULLIF(u.ch, ''), provider = NULLIF(u.prov, ''),
  provider_message_id = COALESCE(NULLIF(u.pmid, ''), m.provider_message_id), address_masked = NULLIF(u.masked, ''),
  body = CASE WHEN contact_erased(m.contact_id) THEN NULL ELSE NULLIF(u.body, '') END,
  template_version = COALESCE(NULLIF(u.ver, 0), m.template_version), send_at = u.sa, updated_at = @now, attempts = m.attempts + u.tried::int,
  sent_at = CASE WHEN u.st = 'sent' THEN @now ELSE m.sent_at END,
  final_at = CASE WHEN u.st IN ('failed', 'suppressed', 'cancelled') THEN @now ELSE m.final_at END
FROM unnest(@ids::bigint[], @statuses::text[], @reasons::text[], @channels::text[], @providers::text[], @pmids::text[], @masked::text[],
  @bodies::text[], @versions::int[], @send_at::timestamptz[], @tried::bool[])
  AS u(id, st, reason, ch, prov, pmid, masked, body, ver, sa, tried)
WHERE m.id = u.id
RETURNING m.id, m.status`

// record writes every outcome of a job, the job's completion with them.
func (s *Service) record(ctx context.Context, job *river.Job[DeliverArgs], outs []*outcome, left leftover, now time.Time) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		n := len(outs)
		ids := make([]int64, n)
		st, reason, ch, prov, pmid, masked, body := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		ver := make([]int32, n)
		tried := make([]bool, n)
		sendAt := make([]time.Time, n)
		var events []contacts.Event
		var next fallbacks
		var deferredIDs []int64
		var deferredAt []time.Time
		var finals []channels.Receipt
		for i, o := range outs {
			ids[i], st[i], reason[i], ch[i], prov[i], pmid[i], masked[i], body[i], ver[i] = o.m.id, string(o.status), o.reason, string(o.channel), o.provider, o.pmid, o.masked, o.body, int32(o.version)
			tried[i] = o.tried
			sendAt[i] = o.m.sendAt
			if o.status == StatusQueued {
				sendAt[i] = o.sendAt
				deferredIDs = append(deferredIDs, o.m.id)
				deferredAt = append(deferredAt, o.sendAt)
			}
			s.metrics.outcomes.WithLabelValues(string(o.channel), o.provider, string(o.status), reasonLabel(o.reason)).Inc()
			// A message still held by a stop says so once, not at every recheck.
			stillHeld := o.status == StatusQueued && strings.HasPrefix(o.reason, "stopped") && strings.HasPrefix(o.m.prevReason, "stopped")
			if o.m.contactID != 0 && !stillHeld {
				events = append(events, o.event(now))
			}
			if o.receipt != nil {
				rc := *o.receipt
				rc.MessageID = strconv.FormatInt(o.m.id, 10)
				finals = append(finals, rc)
			}
		}
		// Receipt locks first, the same order ApplyReceipts takes them in.
		if err := lockProviders(ctx, tx, prov); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, recordOutcomesSQL, pgx.NamedArgs{"ids": ids, "statuses": st, "reasons": reason, "channels": ch, "providers": prov,
			"pmids": pmid, "masked": masked, "bodies": body, "versions": ver, "send_at": sendAt, "tried": tried, "now": now})
		if err != nil {
			return fmt.Errorf("record outcomes: %w", err)
		}
		final := map[int64]Status{}
		for rows.Next() {
			var id int64
			var status Status
			if err := rows.Scan(&id, &status); err != nil {
				rows.Close()
				return err
			}
			final[id] = status
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("record outcomes: %w", err)
		}
		for _, o := range outs {
			// The next channel is tried only for a message that really ended failed.
			if o.status == StatusFailed && final[o.m.id] == StatusFailed && len(o.fallback) > 0 {
				next.add(o.m, o.fallback)
			}
		}
		if err := contacts.AppendEvents(ctx, tx, events); err != nil {
			return err
		}
		for _, o := range outs {
			if o.suppress != nil {
				if err := contacts.SuppressAddress(ctx, tx, string(o.suppress.channel), o.suppress.address, o.suppress.reason, "provider:"+o.provider); err != nil {
					return err
				}
			}
		}
		if err := next.write(ctx, tx, s); err != nil {
			return err
		}
		if err := s.insertJobs(ctx, tx, append(deferredIDs, left.ids...), append(deferredAt, left.due...)); err != nil {
			return err
		}
		if len(finals) > 0 {
			if _, err := s.applyReceipts(ctx, tx, finals, now); err != nil {
				return err
			}
		}
		// Receipts that came before the sends were recorded.
		if err := s.applyParked(ctx, tx, prov, pmid, now); err != nil {
			return err
		}
		if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
			return fmt.Errorf("complete job: %w", err)
		}
		return nil
	})
}

func reasonLabel(r string) string {
	for i := 0; i < len(r); i++ {
		if r[i] == ':' {
			return r[:i]
		}
	}
	return r
}

// event is the timeline entry of an outcome. It holds the masked address only.
func (o *outcome) event(now time.Time) contacts.Event {
	data := map[string]any{"message_id": o.m.id, "template": o.m.templateKey, "purpose": o.m.purpose, "source": o.m.source}
	if o.m.sourceID != "" {
		data["source_id"] = o.m.sourceID
	}
	if o.channel != "" {
		data["channel"], data["provider"], data["to"] = o.channel, o.provider, o.masked
	}
	if o.reason != "" {
		data["reason"] = o.reason
	}
	if len(o.skipped) > 0 {
		data["skipped"] = o.skipped
	}
	if o.m.parentID != 0 {
		data["fallback_of"] = o.m.parentID
	}
	if note, ok := o.m.vars[NoteVar].(string); ok && note != "" {
		data["note"] = note
	}
	if o.resent {
		data["maybe_duplicate"] = true
	}
	kind, summary := "message."+string(o.status), ""
	switch o.status {
	case StatusSent:
		summary = fmt.Sprintf("%s sent by %s to %s", o.m.templateKey, o.channel, o.masked)
		if o.resent {
			summary += " (sent again after an interrupted attempt: the customer may get it twice)"
		}
	case StatusQueued:
		kind, summary = "message.deferred", fmt.Sprintf("%s waits until %s: %s", o.m.templateKey, o.sendAt.UTC().Format(time.RFC3339), o.reason)
		data["until"] = o.sendAt
	default:
		summary = fmt.Sprintf("%s %s: %s", o.m.templateKey, o.status, o.reason)
	}
	js, _ := json.Marshal(data)
	return contacts.Event{ContactID: o.m.contactID, At: now, Kind: kind, Actor: "delivery", Summary: summary, Data: js}
}

// fallbacks are the children of failed messages, each trying the channels
// after the one that failed.
type fallbacks struct {
	children []Planned
	parents  []int64
}

// add builds m's fallback on the next channels: the same message, its key
// derived from its parent's.
func (f *fallbacks) add(m *message, next []channels.Channel) {
	key := m.dedupeKey + "/fallback:" + string(next[0])
	if len(key) > 300 { // keep within the dedupe key's limit, still unique per parent
		key = "fallback:" + strconv.FormatInt(m.id, 10) + ":" + string(next[0])
	}
	p := Planned{DedupeKey: key, ContactID: m.contactID, ManagerID: m.managerID,
		Source: m.source, SourceID: m.sourceID, Purpose: m.purpose, TemplateKey: m.templateKey, TemplateVersion: m.templateVersion,
		Vars: m.vars, Channels: next, Window: m.window, Test: m.test}
	if m.deadline != nil {
		p.Deadline = *m.deadline // a fallback is worth no more than its parent
	}
	f.children, f.parents = append(f.children, p), append(f.parents, m.id)
}

// write enqueues the fallbacks in tx.
func (f *fallbacks) write(ctx context.Context, tx pgx.Tx, s *Service) error {
	if len(f.children) == 0 {
		return nil
	}
	_, err := s.enqueue(ctx, tx, f.children, f.parents)
	return err
}
