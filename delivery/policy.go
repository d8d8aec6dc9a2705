package delivery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	_ "time/tzdata" // quiet hours need the zones even on a host without them

	"carillon/channels"
	"carillon/contacts"
	"carillon/internal/pii"
)

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

// sendEnv is what the policy reads, loaded once per job.
type sendEnv struct {
	contacts   map[int64]contacts.Contact
	managers   map[int64]contacts.Manager
	consents   map[contacts.ConsentKey]bool
	suppressed map[string]bool // channel + "\x00" + address
	mu         sync.Mutex      // guards capCount: a job's messages are sent a few at a time
	capCount   map[int64]int   // marketing messages counted per contact (sent, or being sent)
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

// plan is how a message goes out: its channel, the providers in order, the
// address and the content rendered for the first provider.
type plan struct {
	channel   channels.Channel
	providers []*channels.Provider
	address   string
	rest      []channels.Channel // channels after this one, for fallback
	to        recipient
	rendered  Rendered // for providers[0]'s kind
}

// recipient is whom a message goes to, and in which zone and language.
type recipient struct {
	contact *contacts.Contact // nil for a message to a manager
	manager *contacts.Manager // the contact's manager, or the recipient manager
	tz      string
	locale  string
}

// policy applies the send policy to one message: the plan it goes out by
// now, or nil with o saying why not (cancelled, suppressed or deferred).
func (w *Worker) policy(ctx context.Context, m *message, env *sendEnv, stops map[string]bool, now time.Time, o *outcome) (p *plan) {
	s := w.svc
	to, reason := env.recipient(m)
	if reason != "" {
		o.status, o.reason = StatusCancelled, reason
		return nil
	}
	// The frequency cap is checked once, before the quiet hours and the
	// channels: a message over it is suppressed whatever else would hold it. Its
	// place is taken here (a send is attempted: it counts from here on) and
	// given back when the message does not go after all.
	if s.capped(m, to.contact) {
		if !env.takeCap(to.contact.ID, s.cfg.FrequencyCap) {
			o.status, o.reason = StatusSuppressed, "frequency_cap"
			return nil
		}
		defer func() {
			if p == nil {
				env.giveBackCap(to.contact.ID)
			}
		}()
	}
	if at, ok := s.nextOpening(m, to.tz, now); !ok {
		if at.IsZero() {
			o.status, o.reason = StatusSuppressed, "window_outside_allowed_hours"
			return nil
		}
		o.status, o.reason, o.sendAt = StatusQueued, "quiet_hours", at
		return nil
	}
	return w.choose(ctx, m, to, env, stops, now, o)
}

// recipient is the message's contact (or manager), or why it is not sent
// to them.
func (e *sendEnv) recipient(m *message) (recipient, string) {
	to := recipient{tz: contacts.DefaultTimeZone, locale: contacts.DefaultLocale}
	if m.contactID == 0 {
		mg, ok := e.managers[m.managerID]
		if !ok || !mg.Active {
			return to, "manager_inactive"
		}
		to.manager, to.tz = &mg, mg.TimeZone
		return to, ""
	}
	c, ok := e.contacts[m.contactID]
	switch {
	case !ok:
		return to, "contact_missing"
	case c.ErasedAt != nil:
		return to, "contact_erased"
	case c.Status != contacts.StatusActive:
		return to, "contact_" + string(c.Status)
	}
	to.contact, to.tz, to.locale = &c, c.TimeZone, c.Locale
	if mg, ok := e.managers[c.ManagerID]; ok {
		to.manager = &mg
	}
	return to, ""
}

// capped reports whether the marketing frequency cap applies to m: a
// customer's marketing message, not a test send, and the root of its chain (a
// chain counts once).
func (s *Service) capped(m *message, c *contacts.Contact) bool {
	return m.purpose == channels.PurposeMarketing && !m.test && c != nil && m.parentID == 0 && s.cfg.FrequencyCap > 0
}

// takeCap takes one of the contact's places under the cap: false when none
// is left.
func (e *sendEnv) takeCap(contactID int64, limit int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.capCount[contactID] >= limit {
		return false
	}
	e.capCount[contactID]++
	return true
}

// giveBackCap returns a place taken for a message that was not sent.
func (e *sendEnv) giveBackCap(contactID int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.capCount[contactID]--
}

// choose picks the first channel the message may go out on now and renders it
// there: channels without an address, consent or template variant are
// skipped (o.skipped says why); a stopped channel or provider defers the
// message.
func (w *Worker) choose(ctx context.Context, m *message, to recipient, env *sendEnv, stops map[string]bool, now time.Time, o *outcome) *plan {
	s := w.svc
	o.skipped = map[channels.Channel]string{}
	var limited error // the last channel skipped for a render over the limits
	for i, ch := range m.channels {
		addr, reason := w.address(ch, to.contact, to.manager, env, m)
		if reason != "" {
			o.skipped[ch] = reason
			continue
		}
		if stops["channel:"+string(ch)] {
			o.status, o.reason, o.sendAt = StatusQueued, "stopped:channel:"+string(ch), now.Add(s.cfg.StopRecheck)
			return nil
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
				return nil
			}
			o.skipped[ch] = "channel_purpose"
			continue
		}
		r, err := s.render(ctx, m, ch, provs[0], to)
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
		return &plan{channel: ch, providers: provs, address: addr, rest: m.channels[i+1:], to: to, rendered: r}
	}
	if limited != nil {
		// The template cannot render within its limits on any channel left: the
		// message fails (nothing was sent) and says why.
		o.status, o.reason = StatusFailed, "render_limit: "+limited.Error()
		return nil
	}
	o.status, o.reason = StatusSuppressed, "no_channel"
	return nil
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
