package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // quiet hours need the zones even on a host without them

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"carillon/channels"
	"carillon/contacts"
	"carillon/internal/pii"
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
		if err := json.Unmarshal(vars, &m.vars); err != nil {
			return nil, fmt.Errorf("message %d: vars: %w", m.id, err)
		}
		for _, c := range chans {
			m.channels = append(m.channels, channels.Channel(c))
		}
		if ws != nil && we != nil {
			m.window = &Window{int(*ws), int(*we)}
		}
		out = append(out, m)
	}
	return out, rows.Err()
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
	var mu sync.Mutex // env.capCount is shared
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
			outs[i] = expire(m, now, func() *outcome { return w.deliver(ctx, m, env, stops, now, &mu) })
		}()
	}
	wg.Wait()
	// The outcome is recorded even when the job's context has ended: the sends
	// happened, and a lost record would mean sending them again.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	return s.record(rctx, job, outs, left, now)
}

// ReasonExpired is the reason of a message cancelled at its deadline.
const ReasonExpired = "expired"

// expire keeps a message from being sent at or after its deadline: one looked
// at past it is cancelled without sending, and one that would be deferred (quiet
// hours, a stop, a retry's backoff) to a time past it is cancelled instead.
func expire(m *message, now time.Time, deliver func() *outcome) *outcome {
	if m.deadline != nil && !now.Before(*m.deadline) {
		return &outcome{m: m, status: StatusCancelled, reason: ReasonExpired}
	}
	o := deliver()
	if m.deadline != nil && o.status == StatusQueued && !o.sendAt.Before(*m.deadline) {
		o.status, o.reason, o.sendAt = StatusCancelled, ReasonExpired, time.Time{}
	}
	return o
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

// sendEnv is what the policy reads, loaded once per job.
type sendEnv struct {
	contacts   map[int64]contacts.Contact
	managers   map[int64]contacts.Manager
	consents   map[contacts.ConsentKey]bool
	suppressed map[string]bool // channel + "\x00" + address
	capCount   map[int64]int   // marketing messages already counted per contact
}

func (w *Worker) load(ctx context.Context, ms []*message, now time.Time) (*sendEnv, error) {
	s := w.svc
	var cids, mids []int64
	for _, m := range ms {
		if m.contactID != 0 {
			cids = append(cids, m.contactID)
		}
		if m.managerID != 0 {
			mids = append(mids, m.managerID)
		}
	}
	env := &sendEnv{suppressed: map[string]bool{}, capCount: map[int64]int{}}
	var err error
	if env.contacts, err = w.contacts.GetMany(ctx, cids); err != nil {
		return nil, err
	}
	for _, c := range env.contacts {
		if c.ManagerID != 0 {
			mids = append(mids, c.ManagerID)
		}
	}
	if env.managers, err = w.contacts.ManagersByID(ctx, mids); err != nil {
		return nil, err
	}
	if env.consents, err = w.contacts.ConsentsOf(ctx, cids); err != nil {
		return nil, err
	}
	// Found also when kept as an erased contact's SuppressionKey (contacts).
	var addrs []string
	for _, c := range env.contacts {
		for _, a := range []string{c.Phone, c.Email, c.WeChatOpenID} {
			if a != "" {
				addrs = append(addrs, a)
			}
		}
	}
	sup, err := w.contacts.SuppressedAmong(ctx, addrs)
	if err != nil {
		return nil, err
	}
	for _, x := range sup {
		env.suppressed[x.Channel+"\x00"+x.Address] = true
	}
	if s.cfg.FrequencyCap > 0 {
		var ids []int64
		for _, m := range ms {
			ids = append(ids, m.id)
		}
		// A marketing message counts when it went out (or is going out) within
		// the window, by its send time: one queued for days counts from the day
		// it is sent. A chain counts once: a fallback is written only after its
		// parent failed, so at most one message of a chain is ever sending, sent
		// or delivered — the one that reached the customer, root or fallback.
		rows, err := s.pool.Query(ctx, `SELECT contact_id, count(*) FROM messages
			WHERE contact_id = ANY($1) AND purpose = 'marketing' AND NOT test
			  AND status IN ('sending', 'sent', 'delivered') AND COALESCE(sent_at, updated_at) > $2 AND NOT (id = ANY($3))
			GROUP BY contact_id`, cids, now.Add(-s.cfg.FrequencyCapIn), ids)
		if err != nil {
			return nil, fmt.Errorf("count marketing messages: %w", err)
		}
		for rows.Next() {
			var c int64
			var n int
			if err := rows.Scan(&c, &n); err != nil {
				rows.Close()
				return nil, err
			}
			env.capCount[c] = n
		}
		rows.Close()
	}
	return env, nil
}

// plan is the channel and providers a message goes out on.
type plan struct {
	channel   channels.Channel
	providers []*channels.Provider
	address   string
	rest      []channels.Channel // channels after this one, for fallback
}

// deliver applies the policy, renders and sends one message.
func (w *Worker) deliver(ctx context.Context, m *message, env *sendEnv, stops map[string]bool, now time.Time, mu *sync.Mutex) *outcome {
	s := w.svc
	o := &outcome{m: m, resent: m.prevStatus == StatusSending}
	var contact *contacts.Contact
	var manager *contacts.Manager
	tz := contacts.DefaultTimeZone
	locale := contacts.DefaultLocale
	if m.contactID != 0 {
		c, ok := env.contacts[m.contactID]
		if !ok {
			o.status, o.reason = StatusCancelled, "contact_missing"
			return o
		}
		if c.ErasedAt != nil {
			o.status, o.reason = StatusCancelled, "contact_erased"
			return o
		}
		if c.Status != contacts.StatusActive {
			o.status, o.reason = StatusCancelled, "contact_"+string(c.Status)
			return o
		}
		contact, tz, locale = &c, c.TimeZone, c.Locale
		if mg, ok := env.managers[c.ManagerID]; ok {
			manager = &mg
		}
	} else {
		mg, ok := env.managers[m.managerID]
		if !ok || !mg.Active {
			o.status, o.reason = StatusCancelled, "manager_inactive"
			return o
		}
		manager, tz = &mg, mg.TimeZone
	}

	if m.purpose == channels.PurposeMarketing && !m.test && contact != nil && m.parentID == 0 && s.cfg.FrequencyCap > 0 {
		mu.Lock()
		over := env.capCount[contact.ID] >= s.cfg.FrequencyCap
		mu.Unlock()
		if over {
			o.status, o.reason = StatusSuppressed, "frequency_cap"
			return o
		}
	}
	if at, ok := s.nextOpening(m, tz, now); !ok {
		if at.IsZero() {
			o.status, o.reason = StatusSuppressed, "window_outside_allowed_hours"
			return o
		}
		o.status, o.reason, o.sendAt = StatusQueued, "quiet_hours", at
		return o
	}

	o.skipped = map[channels.Channel]string{}
	var p *plan
	var rendered Rendered
	var limited error // the last channel skipped for a render over the limits
	for i, ch := range m.channels {
		addr, reason := w.address(ch, contact, manager, env, m)
		if reason != "" {
			o.skipped[ch] = reason
			continue
		}
		if stops["channel:"+string(ch)] {
			o.status, o.reason, o.sendAt = StatusQueued, "stopped:channel:"+string(ch), now.Add(s.cfg.StopRecheck)
			return o
		}
		var provs []*channels.Provider
		held := false
		if s.deps.Registry != nil {
			for _, pr := range s.deps.Registry.For(ch, m.purpose) {
				if stops["provider:"+pr.Name] {
					held = true
					continue
				}
				provs = append(provs, pr)
			}
		}
		if len(provs) == 0 {
			if held {
				o.status, o.reason, o.sendAt = StatusQueued, "stopped:providers", now.Add(s.cfg.StopRecheck)
				return o
			}
			o.skipped[ch] = "channel_purpose"
			continue
		}
		r, err := s.render(ctx, m, ch, provs[0], contact, manager, locale)
		if errors.Is(err, ErrNoVariant) {
			o.skipped[ch] = "no_template_variant"
			continue
		}
		if errors.Is(err, ErrRenderLimit) {
			o.skipped[ch] = "render_limit: " + err.Error()
			limited = err
			continue
		}
		if err != nil {
			o.skipped[ch] = "render_error: " + pii.Text(err.Error())
			continue
		}
		p = &plan{channel: ch, providers: provs, address: addr, rest: m.channels[i+1:]}
		rendered = r
		break
	}
	if p == nil && limited != nil {
		// The template cannot render within its limits on any channel left: the
		// message fails (nothing was sent) and says why.
		o.status, o.reason = StatusFailed, "render_limit: "+limited.Error()
		return o
	}
	if p == nil {
		o.status, o.reason = StatusSuppressed, "no_channel"
		return o
	}
	if m.purpose == channels.PurposeMarketing && !m.test && contact != nil && m.parentID == 0 && s.cfg.FrequencyCap > 0 {
		mu.Lock()
		over := env.capCount[contact.ID] >= s.cfg.FrequencyCap
		if !over {
			env.capCount[contact.ID]++ // a send is attempted: it counts from here on
		}
		mu.Unlock()
		if over {
			o.status, o.reason = StatusSuppressed, "frequency_cap"
			return o
		}
	}
	w.send(ctx, m, o, p, rendered, contact, manager, locale, now)
	return o
}

// address returns where a message goes on ch, or why it cannot go there.
func (w *Worker) address(ch channels.Channel, c *contacts.Contact, mg *contacts.Manager, env *sendEnv, m *message) (string, string) {
	if c == nil { // to a manager
		switch ch {
		case channels.WeCom:
			if mg.WeComUserID != "" {
				return mg.WeComUserID, ""
			}
		case channels.Email:
			if mg.Email != "" {
				return mg.Email, ""
			}
		}
		return "", "no_address"
	}
	var addr string
	switch ch {
	case channels.SMS:
		addr = c.Phone
	case channels.Email:
		addr = c.Email
	case channels.WeChat:
		addr = c.WeChatOpenID
	default:
		return "", "channel_not_for_customers"
	}
	if addr == "" {
		return "", "no_address"
	}
	if env.suppressed[string(ch)+"\x00"+addr] {
		return "", "address_suppressed"
	}
	if !m.test {
		switch m.purpose {
		case channels.PurposeMarketing:
			if !env.consents[contacts.ConsentKey{ContactID: c.ID, Channel: string(ch), Purpose: "marketing"}] {
				return "", "no_marketing_consent"
			}
		case channels.PurposeService:
			if granted, stated := env.consents[contacts.ConsentKey{ContactID: c.ID, Channel: string(ch), Purpose: "service"}]; stated && !granted {
				return "", "service_consent_revoked"
			}
		case channels.PurposeCare:
			// Greetings go unless the customer refused them on this channel.
			if granted, stated := env.consents[contacts.ConsentKey{ContactID: c.ID, Channel: string(ch), Purpose: "care"}]; stated && !granted {
				return "", "care_consent_revoked"
			}
		}
	}
	return addr, ""
}

// nextOpening returns (now, true) when the message may go now, else the time its
// window next opens in the recipient's zone.
func (s *Service) nextOpening(m *message, tz string, now time.Time) (time.Time, bool) {
	if m.test {
		return now, true
	}
	w := s.cfg.ServiceWindow
	if m.purpose == channels.PurposeMarketing {
		w = s.cfg.MarketingWindow
	}
	if m.window != nil { // intersect with the source's own window
		w = Window{max(w.Start, m.window.Start), min(w.End, m.window.End)}
		if w.Start >= w.End {
			return time.Time{}, false // never: the caller suppresses the message
		}
	}
	if w == Always {
		return now, true
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		if loc, err = time.LoadLocation(contacts.DefaultTimeZone); err != nil {
			loc = time.UTC
		}
	}
	local := now.In(loc)
	if w.Contains(local) {
		return now, true
	}
	// Wall-clock construction, not midnight plus minutes: right on DST change days.
	open := time.Date(local.Year(), local.Month(), local.Day(), w.Start/60, w.Start%60, 0, 0, loc)
	if !local.Before(open) {
		open = time.Date(local.Year(), local.Month(), local.Day()+1, w.Start/60, w.Start%60, 0, 0, loc)
	}
	return open, false
}

func (s *Service) render(ctx context.Context, m *message, ch channels.Channel, p *channels.Provider, c *contacts.Contact, mg *contacts.Manager, locale string) (Rendered, error) {
	if s.deps.Renderer == nil {
		return Rendered{}, errors.New("no renderer configured")
	}
	return s.deps.Renderer.Render(ctx, RenderRequest{TemplateKey: m.templateKey, TemplateVersion: m.templateVersion, Channel: ch, ProviderKind: p.Kind, Purpose: m.purpose,
		Locale: locale, Contact: c, Manager: mg, Vars: m.vars})
}

// send tries the plan's providers in order: a temporary or provider-wide rate-limit
// failure moves on to the next provider; a permanent one ends the message (and the
// next channel is tried as a child); when every provider failed temporarily the
// message waits and is tried again, up to MaxAttempts.
func (w *Worker) send(ctx context.Context, m *message, o *outcome, p *plan, r Rendered, c *contacts.Contact, mg *contacts.Manager, locale string, now time.Time) {
	s := w.svc
	o.channel, o.masked, o.version = p.channel, pii.Mask(string(p.channel), p.address), r.Version
	o.body = bodyOf(r)
	var lastErr error
	var retryAfter time.Duration
	renderedKind := p.providers[0].Kind
	for _, prov := range p.providers {
		if prov.Kind != renderedKind {
			rr, err := s.render(ctx, m, p.channel, prov, c, mg, locale)
			if err != nil {
				lastErr = err
				continue
			}
			r, renderedKind = rr, prov.Kind
		}
		if p.channel == channels.Email {
			r = s.trackLinks(ctx, m.id, r)
		}
		msg := channels.Message{ID: strconv.FormatInt(m.id, 10), To: channels.Address{Channel: p.channel, Value: p.address},
			Purpose: m.purpose, Subject: r.Subject, Text: r.Text, HTML: r.HTML, Template: r.Template, WeChat: r.WeChat}
		if c != nil {
			msg.To.Name = c.Name
			if m.purpose == channels.PurposeMarketing && p.channel == channels.Email {
				msg.UnsubscribeURL = s.links.URL(LinkUnsubscribe, m.id)
			}
		}
		start := time.Now()
		o.tried = true
		res, err := prov.Send(ctx, msg)
		o.latency = time.Since(start)
		o.provider = prov.Name
		if err == nil {
			o.status, o.pmid, o.receipt = StatusSent, res.ProviderMessageID, res.Receipt
			s.metrics.sendLatency.WithLabelValues(string(p.channel), prov.Name).Observe(o.latency.Seconds())
			if s.cfg.AfterSend != nil {
				s.cfg.AfterSend(m.id)
			}
			return
		}
		lastErr = err
		s.cfg.Logger.WarnContext(ctx, "send failed", slog.Int64("message_id", m.id), slog.String("provider", prov.Name),
			slog.String("class", channels.ClassOf(err).String()), slog.String("error", pii.Text(err.Error())))
		switch {
		case channels.IsPermanent(err):
			o.status, o.reason, o.fallback = StatusFailed, "permanent: "+errCode(err), p.rest
			if channels.IsBadAddress(err) {
				o.suppress = &suppression{channel: p.channel, address: p.address, reason: "invalid"}
			}
			return
		case ambiguous(err):
			// The provider may have accepted it (a timeout after the request went
			// out): do not hand it to another provider now; wait for a receipt, and
			// only then try again.
			o.status, o.reason, o.sendAt = StatusQueued, "ambiguous: awaiting receipt", now.Add(s.cfg.AmbiguousWait)
			return
		case channels.IsRateLimited(err) && channels.RecipientScoped(err):
			// Only this recipient is limited: delay this message alone.
			o.status, o.reason, o.sendAt = StatusQueued, "recipient_rate_limited", now.Add(max(channels.RetryAfter(err), time.Minute))
			return
		default:
			retryAfter = max(retryAfter, channels.RetryAfter(err))
		}
	}
	if m.attempts+1 >= s.cfg.MaxAttempts {
		o.status, o.reason, o.fallback = StatusFailed, "retries_exhausted: "+errCode(lastErr), p.rest
		return
	}
	backoff := s.cfg.Backoff << m.attempts
	o.status, o.reason, o.sendAt = StatusQueued, "retry: "+errCode(lastErr), now.Add(max(backoff, retryAfter))
}

func errCode(err error) string {
	var e *channels.Error
	if errors.As(err, &e) {
		if e.Code != "" {
			return e.Provider + " " + e.Code
		}
		return e.Provider + " " + e.Class.String()
	}
	if err == nil {
		return ""
	}
	return pii.Text(err.Error()) // stored as the message's reason
}

func bodyOf(r Rendered) string {
	switch {
	case r.Text != "":
		return r.Text
	case r.Template != nil:
		b, _ := json.Marshal(r.Template)
		return string(b)
	case r.WeChat != nil:
		b, _ := json.Marshal(r.WeChat)
		return string(b)
	}
	return r.Subject
}

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
		var children []Planned
		var parents []int64
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
		// A status a receipt already moved on (it came before this record) stays:
		// a final one is never replaced, not even by another final one.
		rows, err := tx.Query(ctx, `UPDATE messages m SET
			status = CASE WHEN m.status <> 'sending' AND status_rank(m.status) >= status_rank(u.st) THEN m.status ELSE u.st END,
			reason = CASE WHEN m.status <> 'sending' AND status_rank(m.status) >= status_rank(u.st) THEN m.reason ELSE u.reason END,
			channel = NULLIF(u.ch, ''), provider = NULLIF(u.prov, ''),
			provider_message_id = COALESCE(NULLIF(u.pmid, ''), m.provider_message_id), address_masked = NULLIF(u.masked, ''),
			body = CASE WHEN contact_erased(m.contact_id) THEN NULL ELSE NULLIF(u.body, '') END,
			template_version = COALESCE(NULLIF(u.ver, 0), m.template_version), send_at = u.sa, updated_at = $10, attempts = m.attempts + u.tried::int,
			sent_at = CASE WHEN u.st = 'sent' THEN $10 ELSE m.sent_at END,
			final_at = CASE WHEN u.st IN ('failed', 'suppressed', 'cancelled') THEN $10 ELSE m.final_at END
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $11::timestamptz[], $12::bool[])
			  AS u(id, st, reason, ch, prov, pmid, masked, body, ver, sa, tried)
			WHERE m.id = u.id
			RETURNING m.id, m.status`, ids, st, reason, ch, prov, pmid, masked, body, ver, now, sendAt, tried)
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
				children = append(children, o.child())
				parents = append(parents, o.m.id)
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
		if len(children) > 0 {
			if _, err := s.enqueue(ctx, tx, children, parents); err != nil {
				return err
			}
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

// child is the fallback message on the next channels.
func (o *outcome) child() Planned {
	key := o.m.dedupeKey + "/fallback:" + string(o.fallback[0])
	if len(key) > 300 { // keep within the dedupe key's limit, still unique per parent
		key = "fallback:" + strconv.FormatInt(o.m.id, 10) + ":" + string(o.fallback[0])
	}
	p := Planned{DedupeKey: key, ContactID: o.m.contactID, ManagerID: o.m.managerID,
		Source: o.m.source, SourceID: o.m.sourceID, Purpose: o.m.purpose, TemplateKey: o.m.templateKey, TemplateVersion: o.m.templateVersion,
		Vars: o.m.vars, Channels: o.fallback, Window: o.m.window, Test: o.m.test}
	if o.m.deadline != nil {
		p.Deadline = *o.m.deadline // a fallback is worth no more than its parent
	}
	return p
}

// ambiguous reports whether a send failed in a way that leaves open whether the
// provider accepted it: a timeout once the request was on its way.
func ambiguous(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
