package campaigns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/campaigns/segment"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/templates"
)

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
	if err := moveRun(ctx, tx, r, RunRunning, `, audience = @audience, recipients = @recipients, snapshot_at = @now, pace_rn = 1, pace_at = @now`,
		pgx.NamedArgs{"audience": audience, "recipients": recipients, "now": now}); err != nil {
		return err
	}
	r.status = RunRunning
	s.cfg.Logger.InfoContext(ctx, "campaign run snapshotted", slog.Int64("campaign_id", c.ID), slog.Int64("run_id", r.id),
		slog.Int64("audience", audience), slog.Int64("recipients", recipients))
	if lim := s.cfg.SecondApprovalAbove; lim > 0 && recipients > lim && (c.Review == nil || recipients > c.Review.Recipients) {
		// Grown past what was approved and past the limit: held for a second approval.
		reviewed := int64(0)
		if c.Review != nil {
			reviewed = c.Review.Recipients
		}
		if err := moveRun(ctx, tx, r, RunPaused, "", nil); err != nil {
			return err
		}
		return s.changeStatus(ctx, tx, system, c, statusChange{action: ActionHold, to: StatusPaused,
			reason: fmt.Sprintf("the audience is %d recipients, more than the %d reviewed and the limit of %d: an approver resumes it", recipients, reviewed, lim),
			data:   map[string]any{"run_id": r.id, "recipients": recipients, "reviewed": reviewed}}, now)
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
