package delivery_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"carillon/channels"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/audit"
)

// SMS fails permanently at the provider: the message fails, and the next channel
// is tried as a child linked to it, which is delivered.
func TestFallbackAfterPermanentFailure(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{sandbox: "perm_fail_rate = 1.0"})
	c1 := h.contact(t, "C1")
	res := h.enqueue(t, planned("f:1", c1.ID, channels.PurposeService, channels.SMS, channels.WeChat, channels.Email))
	parent := h.waitFor(t, res.IDs[0], "failed")
	require.Contains(t, parent.Reason, "permanent")
	var childID int64
	require.Eventually(t, func() bool {
		return h.db.Pool.QueryRow(h.ctx, `SELECT id FROM messages WHERE parent_id = $1`, res.IDs[0]).Scan(&childID) == nil
	}, 10*time.Second, 20*time.Millisecond)
	child := h.waitFor(t, childID, "delivered")
	require.Equal(t, "wechat", child.Channel)
	var counted int
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT count(*) FROM messages WHERE contact_id = $1 AND parent_id IS NULL`, c1.ID).Scan(&counted))
	require.Equal(t, 1, counted, "only the parent counts")
	kinds := h.kinds(t, c1.ID)
	require.Equal(t, "message.failed", kinds[0])
	require.ElementsMatch(t, []string{"message.failed", "message.sent", "message.delivered"}, kinds)
}

// A receipt applied twice, and a late "sent" after "delivered", change nothing.
func TestReceiptsAreIdempotentAndMonotonic(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	c1 := h.contact(t, "C1")
	res := h.enqueue(t, planned("r:1", c1.ID, channels.PurposeService, channels.SMS))
	h.waitFor(t, res.IDs[0], "delivered")
	// The receipt may land before the worker records its send: wait for both events.
	require.Eventually(t, func() bool { return len(h.kinds(t, c1.ID)) == 2 }, 10*time.Second, 20*time.Millisecond)
	events := len(h.kinds(t, c1.ID))
	id := itoa(res.IDs[0])
	for _, st := range []channels.Status{channels.StatusDelivered, channels.StatusSent, channels.StatusFailed, channels.StatusDelivered} {
		r, err := h.svc.ApplyReceipts(h.ctx, []channels.Receipt{{Provider: "ali", MessageID: id, Status: st}})
		require.NoError(t, err)
		require.Equal(t, 1, r.Matched)
		require.Equal(t, 0, r.Changed, "%s after delivered", st)
	}
	require.Equal(t, "delivered", h.message(t, res.IDs[0]).Status)
	require.Len(t, h.kinds(t, c1.ID), events, "no new timeline events")
}

// A receipt that arrives before its send is recorded is kept, then applied when
// the send is.
func TestReceiptBeforeTheSendIsRecorded(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{noStart: true})
	c1 := h.contact(t, "C1")
	res := h.enqueue(t, planned("r:2", c1.ID, channels.PurposeService, channels.WeChat))
	// The WeChat sandbox numbers messages from 2000000001: the first it accepts has that id.
	const first = "2000000001"
	early, err := h.svc.ApplyReceipts(h.ctx, []channels.Receipt{{Provider: "oa", ProviderMessageID: first, Status: channels.StatusDelivered}})
	require.NoError(t, err)
	require.Equal(t, 1, early.Unmatched)
	h.start(t)
	h.waitFor(t, res.IDs[0], "sent", "delivered")
	var pmid string
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT provider_message_id FROM messages WHERE id = $1`, res.IDs[0]).Scan(&pmid))
	require.Equal(t, first, pmid)
	h.waitFor(t, res.IDs[0], "delivered")
	var applied bool
	var mid int64
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT applied, message_id FROM receipts WHERE provider_message_id = $1 ORDER BY id LIMIT 1`, first).Scan(&applied, &mid))
	require.True(t, applied, "the early receipt was applied once the send was recorded")
	require.Equal(t, res.IDs[0], mid)
}

func TestEmergencyStopHoldsAndResumeReleases(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{cfg: delivery.Config{StopRecheck: 200 * time.Millisecond}})
	c1 := h.contact(t, "C1")
	actor := audit.Actor{Name: "test"}
	require.NoError(t, h.svc.StopSending(h.ctx, actor, "channel:sms", "provider incident"))
	res := h.enqueue(t, planned("s:1", c1.ID, channels.PurposeService, channels.SMS))
	require.Equal(t, "stopped:channel:sms", waitReason(t, h, res.IDs[0]))
	// The held message waits StopRecheck by the world's clock, is looked at again
	// then and deferred again, twice.
	held := h.scheduledJob(t)
	for range 2 {
		require.Equal(t, h.clock.Now().Add(200*time.Millisecond), held.ScheduledAt, "held for StopRecheck")
		h.release(t, held)
		require.Eventually(t, func() bool {
			j, err := h.river.JobList(h.ctx, river.NewJobListParams().States(rivertype.JobStateScheduled))
			require.NoError(t, err)
			if len(j.Jobs) != 1 || j.Jobs[0].ID == held.ID {
				return false
			}
			held = j.Jobs[0]
			return true
		}, 20*time.Second, 20*time.Millisecond, "the held message was looked at again and deferred again")
	}
	var jobs int
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT count(*) FROM river_job WHERE state = 'completed'`).Scan(&jobs))
	require.GreaterOrEqual(t, jobs, 3, "the first look and two rechecks")
	require.Equal(t, "queued", h.message(t, res.IDs[0]).Status)
	page, err := h.store.Timeline(h.ctx, c1.ID, contacts.TimelineFilter{Kind: "message.deferred"})
	require.NoError(t, err)
	require.Len(t, page.Items, 1, "the hold is in the timeline once, not at every recheck")
	require.Zero(t, h.built.Sandboxes["ali"].Recorder().Count(), "nothing reached the provider while stopped")
	found, err := h.svc.ResumeSending(h.ctx, actor, "channel:sms")
	require.NoError(t, err)
	require.True(t, found)
	// The held message's job comes back after StopRecheck and is sent.
	h.release(t, held)
	h.waitFor(t, res.IDs[0], "delivered")
	stops, err := h.svc.Stops(h.ctx)
	require.NoError(t, err)
	require.Empty(t, stops)
}

// A customer replies TD: SMS marketing consent is revoked at once, and a marketing
// SMS already queued to them is suppressed at send time.
func TestUnsubscribeReplySuppressesQueuedMarketing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{noStart: true})
	c1 := h.contact(t, "C1")
	res := h.enqueue(t, planned("td:1", c1.ID, channels.PurposeMarketing, channels.SMS))
	require.NoError(t, h.svc.ApplyInbound(h.ctx, h.store, []channels.Inbound{{Provider: "ali", Kind: channels.InboundReply,
		From: channels.Address{Channel: channels.SMS, Value: c1.Phone}, Text: "退订", Unsubscribe: channels.IsUnsubscribeReply("退订")}}))
	cons, err := h.store.Consents(h.ctx, c1.ID)
	require.NoError(t, err)
	for _, c := range cons {
		if c.Channel == "sms" && c.Purpose == "marketing" {
			require.False(t, c.Granted)
			require.Equal(t, "sms_reply", c.Source)
		}
	}
	h.start(t)
	m := h.waitFor(t, res.IDs[0], "suppressed")
	require.Equal(t, "no_channel", m.Reason)
	page, err := h.store.Timeline(h.ctx, c1.ID, contacts.TimelineFilter{Kind: "message.suppressed"})
	require.NoError(t, err)
	require.Contains(t, string(page.Items[0].Data), "no_marketing_consent")

	// Any other reply is kept for the manager, not in the timeline text.
	require.NoError(t, h.svc.ApplyInbound(h.ctx, h.store, []channels.Inbound{{Provider: "ali", Kind: channels.InboundReply,
		From: channels.Address{Channel: channels.SMS, Value: c1.Phone}, Text: "请经理给我回电话"}}))
	page, err = h.store.Timeline(h.ctx, c1.ID, contacts.TimelineFilter{Kind: "reply.received"})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	require.NotContains(t, string(page.Items[0].Data), "回电话")
}

func TestWeChatUnfollowRevokesWeChat(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	c4 := h.contact(t, "C4")
	require.NoError(t, h.svc.ApplyInbound(h.ctx, h.store, []channels.Inbound{{Provider: "oa", Kind: channels.InboundUnfollow,
		From: channels.Address{Channel: channels.WeChat, Value: c4.WeChatOpenID}}}))
	res := h.enqueue(t, planned("u:1", c4.ID, channels.PurposeService, channels.WeChat, channels.Email))
	m := h.waitFor(t, res.IDs[0], "sent")
	require.Equal(t, "email", m.Channel, "WeChat is revoked; the service notice goes by email")
}

func TestSignedUnsubscribeLinks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{noStart: true})
	l := h.svc.Links()
	tok := l.Token(delivery.LinkUnsubscribe, 42)
	id, err := l.Check(delivery.LinkUnsubscribe, tok)
	require.NoError(t, err)
	require.Equal(t, int64(42), id)
	other := l.Token(delivery.LinkUnsubscribe, 43)
	_, err = l.Check(delivery.LinkUnsubscribe, tok[:len(tok)-2]+other[len(other)-2:])
	require.ErrorIs(t, err, delivery.ErrBadLink)
	_, err = l.Check(delivery.LinkUnsubscribe, "AAAA")
	require.ErrorIs(t, err, delivery.ErrBadLink)
}

// A send that times out may have been accepted: it is not handed to another
// provider at once but waits, and the provider's receipt settles it — no second send.
func TestATimeoutWaitsForTheReceiptInsteadOfResending(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{aliyun: `timeout = "200ms"`, sandbox: `latency = "600ms"`})
	c1 := h.contact(t, "C1")
	res := h.enqueue(t, planned("amb:1", c1.ID, channels.PurposeService, channels.SMS, channels.Email))
	// The sandbox accepted it after all and pushes its receipt, which names our id;
	// it may land before or after the worker records the timeout, so the deferral
	// is checked in the timeline, which the record always writes.
	h.wait(t, res.IDs[0], false, "delivered")
	require.Eventually(t, func() bool {
		page, err := h.store.Timeline(h.ctx, c1.ID, contacts.TimelineFilter{Kind: "message.deferred"})
		require.NoError(t, err)
		return len(page.Items) == 1 && strings.Contains(page.Items[0].Summary, "ambiguous: awaiting receipt")
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, 1, h.built.Sandboxes["ali"].Recorder().SendsOf(itoa(res.IDs[0])), "sent once")
	var children int
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT count(*) FROM messages WHERE parent_id = $1`, res.IDs[0]).Scan(&children))
	require.Zero(t, children, "no fallback to email")
}

// A receipt that says the address will never work suppresses it and tries the
// next channel.
func TestPermanentReceiptSuppressesTheAddress(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{sandbox: `receipt_delay = "1m"`})
	c1 := h.contact(t, "C1")
	res := h.enqueue(t, planned("perm:1", c1.ID, channels.PurposeService, channels.SMS, channels.Email))
	h.waitFor(t, res.IDs[0], "sent")
	r, err := h.svc.ApplyReceipts(h.ctx, []channels.Receipt{{Provider: "ali", MessageID: itoa(res.IDs[0]), Status: channels.StatusFailed, Permanent: true, Code: "MOBILE_NUMBER_ILLEGAL"}})
	require.NoError(t, err)
	require.Equal(t, 1, r.Changed)
	var suppressed bool
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT EXISTS (SELECT 1 FROM suppressions WHERE channel = 'sms' AND address = $1)`, c1.Phone).Scan(&suppressed))
	require.True(t, suppressed)
	var child int64
	require.Eventually(t, func() bool {
		return h.db.Pool.QueryRow(h.ctx, `SELECT id FROM messages WHERE parent_id = $1`, res.IDs[0]).Scan(&child) == nil
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, "email", h.waitFor(t, child, "sent").Channel)
}

// A delivery failure reported by receipt falls back to the next channel like a
// send-time failure: a permanent one (空号) also suppresses the number for its
// reason; a temporary one (handset off) suppresses nothing.
func TestFailedReceiptFallsBackAndSuppressesForItsReason(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		code       string
		suppressed string // the suppression reason, "" none
	}{
		"空号":                {"MN:0001", "invalid"},
		"carrier blacklist": {"DBBLACK", "complaint"},
		"handset off":       {"MK:0023", ""},
		"code unknown":      {"ZZ:0001", ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, harnessOpts{sandbox: fmt.Sprintf("undelivered_rate = 1.0;undelivered_code = %q", c.code)})
			c1 := h.contact(t, "C1")
			res := h.enqueue(t, planned("rf:1", c1.ID, channels.PurposeService, channels.SMS, channels.WeChat))
			parent := h.waitFor(t, res.IDs[0], "failed")
			require.Equal(t, "receipt: "+c.code, parent.Reason)
			var childID int64
			require.Eventually(t, func() bool {
				return h.db.Pool.QueryRow(h.ctx, `SELECT id FROM messages WHERE parent_id = $1`, res.IDs[0]).Scan(&childID) == nil
			}, 20*time.Second, 20*time.Millisecond, "the next channel is tried")
			child := h.waitFor(t, childID, "delivered")
			require.Equal(t, "wechat", child.Channel)
			var reason string
			err := h.db.Pool.QueryRow(h.ctx, `SELECT reason FROM suppressions WHERE channel = 'sms' AND address = $1`, c1.Phone).Scan(&reason)
			if c.suppressed == "" {
				require.ErrorIs(t, err, pgx.ErrNoRows, "a temporary failure suppresses nothing")
			} else {
				require.NoError(t, err)
				require.Equal(t, c.suppressed, reason)
			}
		})
	}
}

// A message is never sent after its deadline: one looked at past it, one that
// quiet hours would defer past it, and one held by a stop until after it are
// cancelled with reason expired and said so in the timeline.
func TestMessagesPastTheirDeadlineAreCancelledNotSentLate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{noStart: true, cfg: delivery.Config{StopRecheck: time.Minute}})
	c1 := h.contact(t, "C1")
	now := h.clock.Now()                                                             // 10:00 in Shanghai
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 16, 0, 0, 0, time.UTC) // 00:00 the next day in Shanghai

	late := planned("dl:late", c1.ID, channels.PurposeService, channels.SMS)
	late.Deadline = now.Add(-time.Minute) // its day is over
	onTime := planned("dl:ontime", c1.ID, channels.PurposeService, channels.SMS)
	onTime.Deadline = midnight
	res := h.enqueue(t, late, onTime)
	h.start(t)
	m := h.waitFor(t, res.IDs[0], "cancelled")
	require.Equal(t, delivery.ReasonExpired, m.Reason)
	h.waitFor(t, res.IDs[1], "delivered")
	require.Zero(t, h.built.Sandboxes["ali"].Recorder().SendsOf(itoa(res.IDs[0])), "nothing sent late")

	// At 21:30 a marketing message would wait for 09:00 tomorrow: past its day.
	h.clock.Set(now.Add(11*time.Hour + 30*time.Minute))
	quiet := planned("dl:quiet", c1.ID, channels.PurposeMarketing, channels.SMS)
	quiet.Deadline = midnight
	id := h.enqueue(t, quiet).IDs[0]
	m = h.waitFor(t, id, "cancelled")
	require.Equal(t, delivery.ReasonExpired, m.Reason)

	// Held by an emergency stop until after its deadline.
	h.clock.Set(now)
	require.NoError(t, h.svc.StopSending(h.ctx, audit.Actor{Name: "test"}, "channel:sms", "incident"))
	held := planned("dl:held", c1.ID, channels.PurposeService, channels.SMS, channels.Email)
	held.Deadline = now.Add(90 * time.Second)
	id = h.enqueue(t, held).IDs[0]
	require.Equal(t, "stopped:channel:sms", waitReason(t, h, id), "held for a minute: still before its deadline")
	h.release(t, h.scheduledJob(t)) // a minute later, still stopped: the next look would be past it
	m = h.waitFor(t, id, "cancelled")
	require.Equal(t, delivery.ReasonExpired, m.Reason)
	require.Zero(t, h.built.Sandboxes["ali"].Recorder().SendsOf(itoa(id)))
	require.Contains(t, h.kinds(t, c1.ID), "message.cancelled")
}

// Care (greetings) goes unless the customer refused it on the channel: refused on
// SMS, a greeting goes by the next channel; a service notice still goes by SMS.
func TestCareRefusedOnAChannelGoesByTheNext(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	c1 := h.contact(t, "C1")
	require.NoError(t, pgx.BeginFunc(h.ctx, h.db.Pool, func(tx pgx.Tx) error {
		_, err := h.store.SetConsent(h.ctx, tx, audit.Actor{Name: "test"}, c1.ID, contacts.ConsentChange{Channel: "sms", Purpose: "care", Granted: false, Source: "api"})
		return err
	}))
	greeting := h.enqueue(t, planned("care:1", c1.ID, channels.PurposeCare, channels.SMS, channels.Email)).IDs[0]
	notice := h.enqueue(t, planned("svc:1", c1.ID, channels.PurposeService, channels.SMS)).IDs[0]
	m := h.waitFor(t, greeting, "sent", "delivered")
	require.Equal(t, "email", m.Channel)
	m = h.waitFor(t, notice, "delivered")
	require.Equal(t, "sms", m.Channel)

	// Refused on every channel it has: suppressed, and said why.
	only := h.enqueue(t, planned("care:2", c1.ID, channels.PurposeCare, channels.SMS)).IDs[0]
	m = h.waitFor(t, only, "suppressed")
	require.Equal(t, "no_channel", m.Reason)
	var skipped string
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT data::text FROM contact_events WHERE contact_id = $1 AND kind = 'message.suppressed'`, c1.ID).Scan(&skipped))
	require.Contains(t, skipped, "care_consent_revoked")
}

// A customer answers a birthday greeting with 退订，谢谢: care and marketing are
// revoked on SMS, with the reply in the timeline; the next greeting goes by
// email and service notices still go by SMS. An unsubscribe reply after a
// marketing message leaves care alone, and a question revokes nothing.
func TestUnsubscribeReplyToAGreetingRevokesCareOnThatChannel(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	c1 := h.contact(t, "C1")
	reply := func(text string) {
		t.Helper()
		require.NoError(t, h.svc.ApplyInbound(h.ctx, h.store, []channels.Inbound{{Provider: "ali", Kind: channels.InboundReply,
			From: channels.Address{Channel: channels.SMS, Value: c1.Phone}, Text: text, Unsubscribe: channels.IsUnsubscribeReply(text)}}))
	}
	// granted says whether a consent stands (not revoked).
	granted := func(ch, purpose string) bool {
		t.Helper()
		cons, err := h.store.Consents(h.ctx, c1.ID)
		require.NoError(t, err)
		for _, c := range cons {
			if c.Channel == ch && c.Purpose == purpose {
				return c.Granted
			}
		}
		return true // no statement: the channel's default holds
	}
	replies := func(text string) (summaries []string) {
		t.Helper()
		page, err := h.store.Timeline(h.ctx, c1.ID, contacts.TimelineFilter{Kind: contacts.EventConsentChanged})
		require.NoError(t, err)
		for _, e := range page.Items {
			if e.ReplyText() == text {
				summaries = append(summaries, e.Summary)
				require.Equal(t, "***", e.Masked().ReplyText(), "hidden from staff who may not see personal data")
			}
		}
		return summaries
	}

	// TD after a marketing SMS: marketing goes, greetings stay.
	push := h.enqueue(t, planned("mkt:1", c1.ID, channels.PurposeMarketing, channels.SMS)).IDs[0]
	h.waitFor(t, push, "sent", "delivered")
	reply("回复TD")
	require.False(t, granted("sms", "marketing"))
	require.True(t, granted("sms", "care"), "a reply to a marketing push leaves greetings alone")
	require.Len(t, replies("回复TD"), 1)

	// 退订 after a birthday greeting: care goes on SMS, with the reply's text.
	greeting := h.enqueue(t, planned("care:1", c1.ID, channels.PurposeCare, channels.SMS)).IDs[0]
	h.waitFor(t, greeting, "sent", "delivered")
	reply("退订了吗？")
	require.True(t, granted("sms", "care"), "a question revokes nothing")
	reply("退订，谢谢")
	require.False(t, granted("sms", "care"))
	got := replies("退订，谢谢")
	require.Len(t, got, 1)
	require.Contains(t, got[0], "短信关怀授权已撤销")
	require.Contains(t, got[0], "care consent revoked for sms")

	next := h.enqueue(t, planned("care:2", c1.ID, channels.PurposeCare, channels.SMS, channels.Email)).IDs[0]
	require.Equal(t, "email", h.waitFor(t, next, "sent", "delivered").Channel)
	notice := h.enqueue(t, planned("svc:1", c1.ID, channels.PurposeService, channels.SMS)).IDs[0]
	require.Equal(t, "sms", h.waitFor(t, notice, "sent", "delivered").Channel, "service notices still go")
}
