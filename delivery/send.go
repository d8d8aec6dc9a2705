package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"carillon/channels"
	"carillon/internal/pii"
)

// sendAll sends a job's messages, a few at a time, and waits for every send:
// their outcomes, recorded together.
func (w *Worker) sendAll(ctx context.Context, claimed []*message, env *sendEnv, stops map[string]bool, now time.Time) []*outcome {
	s := w.svc
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
	return outs
}

// deliver sends one message as the policy allows: its outcome, for the record.
func (w *Worker) deliver(ctx context.Context, m *message, env *sendEnv, stops map[string]bool, now time.Time) *outcome {
	o := &outcome{m: m, resent: m.prevStatus == StatusSending}
	if p := w.policy(ctx, m, env, stops, now, o); p != nil {
		w.send(ctx, m, o, p, now)
	}
	return o
}

// render renders m for ch as p's kind of provider needs it.
func (s *Service) render(ctx context.Context, m *message, ch channels.Channel, p *channels.Provider, to recipient) (Rendered, error) {
	if s.deps.Renderer == nil {
		return Rendered{}, errors.New("no renderer configured")
	}
	return s.deps.Renderer.Render(ctx, RenderRequest{TemplateKey: m.templateKey, TemplateVersion: m.templateVersion, Channel: ch, ProviderKind: p.Kind, Purpose: m.purpose,
		Locale: to.locale, Contact: to.contact, Manager: to.manager, Vars: m.vars})
}

// send tries the plan's providers in order: a temporary or provider-wide rate-limit
// failure moves on to the next provider; a permanent one ends the message (and the
// next channel is tried as a child); when every provider failed temporarily the
// message waits and is tried again, up to MaxAttempts.
func (w *Worker) send(ctx context.Context, m *message, o *outcome, p *plan, now time.Time) {
	s := w.svc
	r := p.rendered
	o.channel, o.masked, o.version = p.channel, pii.Mask(string(p.channel), p.address), r.Version
	o.body = bodyOf(r)
	var lastErr error
	var retryAfter time.Duration
	renderedKind := p.providers[0].Kind
	for _, prov := range p.providers {
		if prov.Kind != renderedKind {
			rr, err := s.render(ctx, m, p.channel, prov, p.to)
			if err != nil {
				lastErr = err
				continue
			}
			r, renderedKind = rr, prov.Kind
		}
		if p.channel == channels.Email {
			r = s.trackLinks(ctx, m.id, r)
		}
		msg := r // the content as rendered, addressed here
		msg.ID, msg.To, msg.Purpose = strconv.FormatInt(m.id, 10), channels.Address{Channel: p.channel, Value: p.address}, m.purpose
		if c := p.to.contact; c != nil {
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
			slog.String("class", channels.ClassOf(err).String()), slog.String("err", pii.Text(err.Error())))
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

// ambiguous reports whether a send failed in a way that leaves open whether the
// provider accepted it: a timeout once the request was on its way, or an
// adapter's word that the message went out and its answer never came.
func ambiguous(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, channels.ErrMaybeAccepted) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
