package campaigns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"carillon/channels"
	"carillon/internal/identity"
	"carillon/internal/pii"
)

// Telling a campaign's author of its approval or rejection. The decision's
// transaction inserts a DecisionNoticeArgs job when the author has somewhere
// to be told (identity.User.NotifyAddress); the job sends a bilingual text by
// the configured email or WeCom provider. The console's notice
// (DecisionsFor) shows the decision whatever becomes of the job.

// DefaultNoticeAttempts is how many times a decision notice is tried before
// River discards it.
const DefaultNoticeAttempts = 8

// wecomTextBytes is what a WeCom text message may hold (2048 bytes), less a
// margin.
const wecomTextBytes = 2000

// DecisionNoticeArgs tells a campaign's author of the decision recorded as
// campaign event EventID. Ids only: the worker reads the campaign, the
// decision and the author's address when it runs, so no address sits in
// river_job.
type DecisionNoticeArgs struct {
	EventID int64 `json:"event_id"`
}

// Kind implements river.JobArgs.
func (DecisionNoticeArgs) Kind() string { return "campaigns.decision_notice" }

// InsertOpts makes a notice unique by event and bounds its attempts.
func (DecisionNoticeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: DefaultNoticeAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// enqueueDecisionNotice inserts, in tx, the notice of decision eventID on
// campaign id to its author, when the author has an address; nothing when
// they have none (the console's notice remains).
func (s *Service) enqueueDecisionNotice(ctx context.Context, tx pgx.Tx, id, eventID int64) error {
	var authorID int64
	if err := tx.QueryRow(ctx, `SELECT created_by_user FROM campaigns WHERE id = $1`, id).Scan(&authorID); err != nil {
		return fmt.Errorf("author of campaign %d: %w", id, err)
	}
	author, err := identity.ReadUser(ctx, tx, authorID)
	if errors.Is(err, identity.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, ok := author.NotifyAddress(); !ok {
		return nil
	}
	if _, err := s.inserter.InsertTx(ctx, tx, DecisionNoticeArgs{EventID: eventID}, nil); err != nil {
		return fmt.Errorf("campaign %d: enqueue decision notice: %w", id, err)
	}
	return nil
}

// notice is a decision as its notice tells it.
type notice struct {
	EventID    int64
	CampaignID int64
	Campaign   string
	Action     Action
	Actor      string
	ApproverID *int64
	Comment    string
	At         time.Time
	AuthorID   int64
}

const sqlNotice = `SELECT e.id, e.campaign_id, c.name, e.action, e.actor, e.user_id, e.reason, e.at, c.created_by_user
	FROM campaign_events e JOIN campaigns c ON c.id = e.campaign_id
	WHERE e.id = $1 AND e.action IN ('approve', 'reject')`

type noticeWorker struct {
	river.WorkerDefaults[DecisionNoticeArgs]
	svc *Service
}

func (w *noticeWorker) Timeout(*river.Job[DecisionNoticeArgs]) time.Duration { return time.Minute }

func (w *noticeWorker) Work(ctx context.Context, job *river.Job[DecisionNoticeArgs]) error {
	return w.svc.sendDecisionNotice(ctx, job.Args.EventID)
}

// sendDecisionNotice sends the notice of decision eventID to the campaign's
// author, by the first configured provider of their address's channel that
// takes it. A permanent failure cancels the job; a rate limit snoozes it;
// any other failure is returned for River to retry. Errors carry the address
// masked, as River keeps them in river_job.errors.
func (s *Service) sendDecisionNotice(ctx context.Context, eventID int64) error {
	log := s.cfg.Logger.With(slog.Int64("event_id", eventID))
	var n notice
	err := s.pool.QueryRow(ctx, sqlNotice, eventID).Scan(&n.EventID, &n.CampaignID, &n.Campaign, &n.Action, &n.Actor, &n.ApproverID, &n.Comment, &n.At, &n.AuthorID)
	if errors.Is(err, pgx.ErrNoRows) {
		return river.JobCancel(fmt.Errorf("decision notice: no decision event %d", eventID))
	}
	if err != nil {
		return fmt.Errorf("decision notice %d: %w", eventID, err)
	}
	log = log.With(slog.Int64("campaign_id", n.CampaignID))
	author, err := identity.ReadUser(ctx, s.pool, n.AuthorID)
	if err != nil {
		return fmt.Errorf("decision notice %d: %w", eventID, err)
	}
	to, ok := author.NotifyAddress()
	if !ok {
		log.InfoContext(ctx, "campaign decision notice not sent: the author has no address now")
		return nil
	}
	log = log.With(slog.String("channel", string(to.Channel)), slog.String("to", to.String()))
	approver := n.Actor
	if n.ApproverID != nil {
		if u, err := identity.ReadUser(ctx, s.pool, *n.ApproverID); err == nil {
			approver = u.DisplayName
		}
	}
	var providers []*channels.Provider
	if s.deps.Registry != nil {
		providers = s.deps.Registry.For(to.Channel, channels.PurposeService)
	}
	if len(providers) == 0 {
		log.WarnContext(ctx, "campaign decision notice not sent: no provider configured for the channel")
		return river.JobCancel(fmt.Errorf("decision notice %d: no %s provider for service messages", eventID, to.Channel))
	}
	m := s.noticeMessage(n, approver, to)
	var last error
	for _, p := range providers {
		_, err := p.Send(ctx, m)
		if err == nil {
			log.InfoContext(ctx, "campaign decision notice sent", slog.String("provider", p.Name))
			return nil
		}
		last = err
		if channels.IsPermanent(err) && channels.IsBadAddress(err) {
			break // the address is wrong: another provider of the channel will not help
		}
	}
	masked := errors.New(pii.Text(strings.ReplaceAll(last.Error(), to.Value, to.String())))
	log.WarnContext(ctx, "campaign decision notice failed", slog.String("err", masked.Error()))
	switch {
	case channels.IsPermanent(last):
		return river.JobCancel(fmt.Errorf("decision notice %d: %w", eventID, masked))
	case channels.IsRateLimited(last) && channels.RetryAfter(last) > 0:
		return river.JobSnooze(channels.RetryAfter(last))
	}
	return fmt.Errorf("decision notice %d: %w", eventID, masked)
}

// consoleURL is the console's base URL for the notices' links.
func (s *Service) consoleURL() string {
	if s.cfg.ConsoleURL != "" {
		return s.cfg.ConsoleURL
	}
	base := DefaultPublicURL
	if s.deps.Delivery != nil && s.deps.Delivery.Config().PublicURL != "" {
		base = s.deps.Delivery.Config().PublicURL
	}
	u, err := url.JoinPath(base, "console")
	if err != nil {
		return base
	}
	return u
}

// DefaultPublicURL is where staff reach Carillon when neither
// Config.ConsoleURL nor the delivery service's PublicURL is set.
const DefaultPublicURL = "http://127.0.0.1:8080"

// noticeMessage is the notice's text: Chinese first, then English, the
// comment once, the campaign page's link. Plain text (an email without HTML),
// so nothing the approver typed is read as markup; a WeCom text is kept
// within WeCom's limit by shortening the comment.
func (s *Service) noticeMessage(n notice, approver string, to channels.Address) channels.Message {
	link, err := url.JoinPath(s.consoleURL(), "campaigns", strconv.FormatInt(n.CampaignID, 10))
	if err != nil {
		link = s.consoleURL()
	}
	zhVerb, enVerb, zhHead, enHead, zhComment, enComment := "批准", "approved", "活动已批准", "Campaign approved", "审批意见", "Comment"
	if n.Action == ActionReject {
		zhVerb, enVerb, zhHead, enHead, zhComment, enComment = "退回", "rejected", "活动被退回", "Campaign rejected", "退回原因", "Reason"
	}
	name := n.Campaign
	build := func(comment string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "您的活动「%s」已由 %s %s。\n", name, approver, zhVerb)
		fmt.Fprintf(&b, "Your campaign \"%s\" was %s by %s.\n", name, enVerb, approver)
		if comment != "" {
			fmt.Fprintf(&b, "\n%s / %s:\n%s\n", zhComment, enComment, comment)
		}
		fmt.Fprintf(&b, "\n查看活动 / Open the campaign: %s\n", link)
		return b.String()
	}
	text := build(n.Comment)
	if to.Channel == channels.WeCom {
		for r := []rune(n.Comment); len(text) > wecomTextBytes && len(r) > 0; {
			r = r[:len(r)*3/4]
			text = build(string(r) + "…（全文见活动页面 / full text on the campaign page）")
		}
	}
	return channels.Message{
		ID:      "campaign-notice-" + strconv.FormatInt(n.EventID, 10),
		To:      to,
		Purpose: channels.PurposeService,
		Subject: fmt.Sprintf("%s：%s / %s: %s", zhHead, name, enHead, name),
		Text:    text,
		Meta:    map[string]string{"campaign_id": strconv.FormatInt(n.CampaignID, 10), "event_id": strconv.FormatInt(n.EventID, 10)},
	}
}
