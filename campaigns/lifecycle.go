package campaigns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/channels"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/identity"
)

// Submit sends a draft (or a rejected campaign) for approval, with the review
// the approver will see: audience, rendered samples per channel, cost.
func (s *Service) Submit(ctx context.Context, by By, id int64) (Campaign, error) {
	if err := s.needs(); err != nil {
		return Campaign{}, err
	}
	if !by.can(identity.PermCampaignsWrite) {
		return Campaign{}, fmt.Errorf("%w: submitting needs the marketer or admin role", ErrForbidden)
	}
	c, err := s.Get(ctx, id)
	if err != nil {
		return c, err
	}
	if !Allowed(ActionSubmit, c.Status, StatusSubmitted) {
		return c, fmt.Errorf("%w: a %s campaign cannot be submitted (only a draft or a rejected one)", ErrState, c.Status)
	}
	if fe := s.checkTemplate(ctx, c.Template, c.Channels); fe != nil {
		return c, invalid(*fe)
	}
	rev, err := s.review(ctx, c)
	if err != nil {
		return c, err
	}
	js, err := json.Marshal(rev)
	if err != nil {
		return c, err
	}
	return s.transition(ctx, by, id, ActionSubmit, StatusSubmitted, "", func(tx pgx.Tx, cur Campaign) error {
		if cur.Version != c.Version {
			return fmt.Errorf("%w: it was edited while its review was made; submit again", ErrStale)
		}
		_, err := tx.Exec(ctx, `UPDATE campaigns SET review = $2, submitted_at = $3, rejected_reason = NULL WHERE id = $1`, id, js, s.now())
		return err
	}, map[string]any{"audience": rev.Audience, "recipients": rev.Recipients, "cost": rev.Cost.Total, "version": c.Version})
}

// Approve approves a submitted campaign. The approver holds the approver role
// and is not its author: not the user who created, edited or submitted it
// (compared by user id, whatever token or session they use). version, when
// given, is the version the approver reviewed: a campaign edited since is not
// approved.
func (s *Service) Approve(ctx context.Context, by By, id int64, version int) (Campaign, error) {
	return s.ApproveWithComment(ctx, by, id, version, "")
}

// ApproveWithComment approves as Approve does, with the approver's comment
// (at most 1000 characters) kept as the approval event's reason.
func (s *Service) ApproveWithComment(ctx context.Context, by By, id int64, version int, comment string) (Campaign, error) {
	comment = strings.TrimSpace(comment)
	if len([]rune(comment)) > 1000 {
		return Campaign{}, invalid(fieldErr("comment", "at most 1000 characters"))
	}
	if !by.can(identity.PermCampaignsApprove) {
		return Campaign{}, fmt.Errorf("%w: approving needs the approver role", ErrForbidden)
	}
	uid := by.userID()
	if uid == 0 {
		return Campaign{}, fmt.Errorf("%w: an approval is made by a user (the CLI: --as LOGIN)", ErrForbidden)
	}
	return s.transition(ctx, by, id, ActionApprove, StatusApproved, comment, func(tx pgx.Tx, c Campaign) error {
		if version != 0 && version != c.Version {
			return fmt.Errorf("%w: you reviewed version %d, the campaign is at version %d", ErrStale, version, c.Version)
		}
		authored, err := isAuthor(ctx, tx, id, uid)
		if err != nil {
			return err
		}
		if authored {
			return fmt.Errorf("%w: you created, edited or submitted this campaign; a second person must approve it", ErrForbidden)
		}
		if _, err := s.campaignVars(ctx, c); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE campaigns SET approved_by = $2, approved_by_user = $3, approved_at = $4, approved_version = version WHERE id = $1`,
			id, by.Actor.String(), uid, s.now())
		return err
	}, map[string]any{"version": version})
}

// isAuthor reports whether user uid created, edited or submitted campaign id
// (such a user may not approve it): the maker-checker's one test, asked by
// approve, a second approval and the console (Authored).
func isAuthor(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id, uid int64) (bool, error) {
	var authored bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM campaigns WHERE id = $1 AND created_by_user = $2)
		OR EXISTS (SELECT 1 FROM campaign_events WHERE campaign_id = $1 AND user_id = $2 AND action = ANY($3))`,
		id, uid, strs([]Action{ActionCreate, ActionEdit, ActionSubmit})).Scan(&authored)
	if err != nil {
		return false, fmt.Errorf("authors of campaign %d: %w", id, err)
	}
	return authored, nil
}

// Reject returns a submitted campaign to its author with a reason.
func (s *Service) Reject(ctx context.Context, by By, id int64, reason string) (Campaign, error) {
	if !by.can(identity.PermCampaignsApprove) {
		return Campaign{}, fmt.Errorf("%w: rejecting needs the approver role", ErrForbidden)
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || len([]rune(reason)) > 1000 {
		return Campaign{}, invalid(fieldErr("reason", "a rejection needs a reason (at most 1000 characters)"))
	}
	return s.transition(ctx, by, id, ActionReject, StatusRejected, reason, func(tx pgx.Tx, c Campaign) error {
		_, err := tx.Exec(ctx, `UPDATE campaigns SET rejected_reason = $2 WHERE id = $1`, id, reason)
		return err
	}, nil)
}

// transition moves a campaign by action to a status, when Allowed, in one
// transaction with f's changes and the recorded event.
func (s *Service) transition(ctx context.Context, by By, id int64, action Action, to Status, reason string,
	f func(tx pgx.Tx, c Campaign) error, data map[string]any) (Campaign, error) {
	var out Campaign
	err := s.tx(ctx, func(tx pgx.Tx) error {
		c, err := getForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		if !Allowed(action, c.Status, to) {
			return stateErr(action, c.Status)
		}
		if f != nil {
			if err := f(tx, c); err != nil {
				return err
			}
		}
		eventID, err := s.changeStatusEvent(ctx, tx, by, c, statusChange{action: action, to: to, reason: reason, data: data}, s.now())
		if err != nil {
			return err
		}
		// The author is told of a decision by a job in this transaction: it
		// exists exactly when the decision does.
		if action == ActionApprove || action == ActionReject {
			if err := s.enqueueDecisionNotice(ctx, tx, id, eventID); err != nil {
				return err
			}
		}
		out, err = scanCampaign(tx.QueryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = $1`, id))
		return err
	})
	return out, err
}

// statusChange is a campaign's move by an action, recorded as its event: the
// status it moves to, the event's reason and data, and other columns set with
// it (set: ", column = @name", the names in args).
type statusChange struct {
	action Action
	to     Status
	reason string
	data   map[string]any
	set    string
	args   pgx.NamedArgs
}

// changeStatus moves campaign c (read under its row lock) as ch says, when
// Allowed, and records the event. It is the one statement that writes a
// campaign's status.
func (s *Service) changeStatus(ctx context.Context, tx pgx.Tx, by By, c Campaign, ch statusChange, now time.Time) error {
	_, err := s.changeStatusEvent(ctx, tx, by, c, ch, now)
	return err
}

// changeStatusEvent is changeStatus, returning the recorded event's id.
func (s *Service) changeStatusEvent(ctx context.Context, tx pgx.Tx, by By, c Campaign, ch statusChange, now time.Time) (int64, error) {
	if !Allowed(ch.action, c.Status, ch.to) {
		return 0, stateErr(ch.action, c.Status)
	}
	args := pgx.NamedArgs{"id": c.ID, "status": string(ch.to), "now": now}
	for k, v := range ch.args {
		args[k] = v
	}
	if _, err := tx.Exec(ctx, `UPDATE campaigns SET status = @status, updated_at = @now`+ch.set+` WHERE id = @id`, args); err != nil {
		return 0, fmt.Errorf("campaign %d %s: %w", c.ID, ch.action, err)
	}
	return s.recordEvent(ctx, tx, by, c.ID, ch.action, c.Status, ch.to, ch.reason, ch.data)
}

// stateErr is an action not allowed in a campaign's status.
func stateErr(a Action, st Status) error {
	return fmt.Errorf("%w: cannot %s a %s campaign", ErrState, a, st)
}

// TestContactTag marks the bank's own test accounts, the only contacts a test
// send reaches.
const TestContactTag = "test"

// TestSendResult is the message a test send wrote.
type TestSendResult struct {
	MessageID int64    `json:"message_id"`
	Contact   string   `json:"contact"`
	Channels  []string `json:"channels"`
}

// TestSend renders the campaign's message for one test contact (by external
// id; tagged TestContactTag) and sends it, marked as a test: no consent, frequency cap or quiet-hours checks,
// and not counted in the campaign's statistics. channel, when given, is the only
// channel tried.
func (s *Service) TestSend(ctx context.Context, by By, id int64, externalID, channel string) (TestSendResult, error) {
	if err := s.needs(); err != nil {
		return TestSendResult{}, err
	}
	if !by.can(identity.PermCampaignsOperate) {
		return TestSendResult{}, fmt.Errorf("%w: test sends need the marketer, approver or admin role", ErrForbidden)
	}
	c, err := s.Get(ctx, id)
	if err != nil {
		return TestSendResult{}, err
	}
	if !c.Status.Can(ActionTestSend) {
		return TestSendResult{}, fmt.Errorf("%w: the campaign is cancelled", ErrState)
	}
	ct, err := s.deps.Contacts.GetByExternalID(ctx, externalID)
	if errors.Is(err, contacts.ErrNotFound) {
		return TestSendResult{}, invalid(fieldErr("contact", "no contact with external id %q", externalID))
	}
	if err != nil {
		return TestSendResult{}, err
	}
	if !slices.Contains(ct.Tags, TestContactTag) {
		// A test send skips consent and approval: it may reach only the bank's
		// own test accounts, never a customer.
		return TestSendResult{}, invalid(fieldErr("contact", "%q is not a test contact: test sends go only to contacts tagged %q (the bank's own test accounts)", externalID, TestContactTag))
	}
	chans := c.Channels
	if channel != "" {
		if !slices.Contains(c.Channels, channel) {
			return TestSendResult{}, invalid(fieldErr("channel", "%q is not one of the campaign's channels %s", channel, strings.Join(c.Channels, ", ")))
		}
		chans = []string{channel}
	}
	vars, err := s.messageVars(ctx, c)
	if err != nil {
		return TestSendResult{}, err
	}
	var res TestSendResult
	err = s.tx(ctx, func(tx pgx.Tx) error {
		now := s.now()
		p := delivery.Planned{
			DedupeKey: fmt.Sprintf("campaign-test:%d:%d:%d", id, ct.ID, now.UnixNano()),
			ContactID: ct.ID, Source: "campaign_test", SourceID: strconv.FormatInt(id, 10), Purpose: campaignPurpose,
			TemplateKey: c.Template, TemplateVersion: c.templateVersion(), Vars: vars, Channels: toChannels(chans), Test: true,
		}
		er, err := s.deps.Delivery.Enqueue(ctx, tx, []delivery.Planned{p})
		if err != nil {
			return err
		}
		if len(er.IDs) != 1 {
			return fmt.Errorf("test send of campaign %d: nothing enqueued", id)
		}
		res = TestSendResult{MessageID: er.IDs[0], Contact: ct.ExternalID, Channels: chans}
		return s.event(ctx, tx, by, id, ActionTestSend, "", "", "", map[string]any{"contact": ct.ExternalID, "message_id": er.IDs[0], "channels": chans})
	})
	return res, err
}

func toChannels(cs []string) []channels.Channel {
	out := make([]channels.Channel, len(cs))
	for i, c := range cs {
		out[i] = channels.Channel(c)
	}
	return out
}

// Cancel ends a campaign for good. A campaign that is running or paused has its
// run stopped: every message not yet handed to a provider is cancelled.
func (s *Service) Cancel(ctx context.Context, by By, id int64, reason string) (PauseResult, error) {
	if !by.can(identity.PermCampaignsWrite) {
		return PauseResult{}, fmt.Errorf("%w: cancelling needs the marketer or admin role", ErrForbidden)
	}
	if len([]rune(reason)) > 1000 {
		return PauseResult{}, invalid(fieldErr("reason", "at most 1000 characters"))
	}
	return s.stop(ctx, by, id, ActionCancel, StatusCancelled, RunCancelled, ReasonCancelled, strings.TrimSpace(reason))
}
