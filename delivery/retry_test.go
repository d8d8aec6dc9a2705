package delivery_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/channels"
	"carillon/delivery"
	"carillon/internal/audit"
	"carillon/internal/testclock"
)

// A message that failed on temporary errors only (the provider answered with
// temporary failures until the attempts ran out) is re-queued by Retry and goes
// through the worker again.
func TestRetryRequeuesMessagesThatExhaustedTheirRetries(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{cfg: delivery.Config{MaxAttempts: 1}, sandbox: "temp_fail_rate = 1.0"})
	c1 := h.contact(t, "C1")
	res := h.enqueue(t, planned("retry:1", c1.ID, channels.PurposeService, channels.SMS))
	m := h.waitFor(t, res.IDs[0], "failed")
	require.Contains(t, m.Reason, "retries_exhausted")
	refused := h.built.Sandboxes["ali"].Recorder().Refused()
	require.Equal(t, 1, refused)

	out, err := h.svc.Retry(h.ctx, audit.Actor{Name: "test"}, delivery.RetryFilter{Since: h.clock.Now().Add(-time.Hour), Channel: "sms", Provider: "ali"})
	require.NoError(t, err)
	require.Equal(t, 1, out.Requeued)
	require.Equal(t, []int64{res.IDs[0]}, out.IDs)

	// The provider still fails: the message is sent again and fails again.
	require.Eventually(t, func() bool { return h.built.Sandboxes["ali"].Recorder().Refused() == 2 }, 20*time.Second, 20*time.Millisecond)
	h.waitFor(t, res.IDs[0], "failed")
	require.Equal(t, []string{"message.failed", "message.requeued", "message.failed"}, waitKinds(t, h, c1.ID, 3))
}

// Retry re-queues only what failed on temporary errors in the window, on the
// channel asked, and never a message whose fallback took over or whose contact is
// erased or inactive; a dry run changes nothing.
func TestRetryChoosesWhatItRequeues(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{noStart: true})
	c1, c2, c3, c4 := h.contact(t, "C1"), h.contact(t, "C2"), h.contact(t, "C3"), h.contact(t, "C4")
	now := h.clock.Now()
	ids := map[string]int64{}
	for name, p := range map[string]delivery.Planned{
		"retry":        planned("rc:retry", c1.ID, channels.PurposeService, channels.SMS),
		"has child":    planned("rc:child", c2.ID, channels.PurposeService, channels.SMS),
		"the child":    planned("rc:child/fallback:wechat", c2.ID, channels.PurposeService, channels.WeChat),
		"deceased":     planned("rc:deceased", c3.ID, channels.PurposeService, channels.SMS),
		"erased":       planned("rc:erased", c4.ID, channels.PurposeService, channels.Email),
		"permanent":    planned("rc:permanent", c1.ID, channels.PurposeService, channels.SMS),
		"long ago":     planned("rc:old", c1.ID, channels.PurposeService, channels.SMS),
		"other chan":   planned("rc:email", c1.ID, channels.PurposeService, channels.Email),
		"still queued": planned("rc:queued", c1.ID, channels.PurposeService, channels.SMS),
	} {
		res := h.enqueue(t, p)
		require.Len(t, res.IDs, 1)
		ids[name] = res.IDs[0]
	}
	_, err := h.db.Pool.Exec(h.ctx, `DELETE FROM river_job`)
	require.NoError(t, err)
	fail := func(name, reason, channel string, at time.Time) {
		_, err := h.db.Pool.Exec(h.ctx, `UPDATE messages SET status = 'failed', reason = $2, channel = $3, provider = $4, attempts = 5, final_at = $5
			WHERE id = $1`, ids[name], reason, channel, map[string]string{"sms": "ali", "email": "mail"}[channel], at)
		require.NoError(t, err)
	}
	hourAgo := now.Add(-time.Hour)
	fail("retry", "retries_exhausted: ali isv.BUSINESS_LIMIT_CONTROL", "sms", hourAgo)
	fail("has child", "retries_exhausted: ali temporary", "sms", hourAgo)
	fail("deceased", "retries_exhausted: ali temporary", "sms", hourAgo)
	fail("erased", "retries_exhausted: mail temporary", "sms", hourAgo)
	fail("permanent", "permanent: ali isv.MOBILE_NUMBER_ILLEGAL", "sms", hourAgo)
	fail("long ago", "retries_exhausted: ali temporary", "sms", now.Add(-72*time.Hour))
	fail("other chan", "retries_exhausted: mail temporary", "email", hourAgo)
	_, err = h.db.Pool.Exec(h.ctx, `UPDATE messages SET parent_id = $1 WHERE id = $2`, ids["has child"], ids["the child"])
	require.NoError(t, err)
	require.NoError(t, h.store.Erase(h.ctx, audit.Actor{Name: "test"}, c4.ID))

	filter := delivery.RetryFilter{Since: now.Add(-2 * time.Hour), Channel: "sms", DryRun: true}
	dry, err := h.svc.Retry(h.ctx, audit.Actor{Name: "test"}, filter)
	require.NoError(t, err)
	require.Equal(t, delivery.RetryResult{Requeued: 1, IDs: []int64{ids["retry"]}, SkippedFallback: 1, SkippedContact: 2, DryRun: true}, dry)
	require.Equal(t, "failed", h.message(t, ids["retry"]).Status, "a dry run changes nothing")

	filter.DryRun = false
	out, err := h.svc.Retry(h.ctx, audit.Actor{Name: "test"}, filter)
	require.NoError(t, err)
	require.Equal(t, delivery.RetryResult{Requeued: 1, IDs: []int64{ids["retry"]}, SkippedFallback: 1, SkippedContact: 2}, out)
	var attempts, jobs, audited int
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT attempts FROM messages WHERE id = $1`, ids["retry"]).Scan(&attempts))
	require.Zero(t, attempts)
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT count(*) FROM river_job WHERE kind = 'delivery.deliver'`).Scan(&jobs))
	require.Equal(t, 1, jobs)
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT count(*) FROM audit_log WHERE action = 'messages.retry' AND actor = 'test'`).Scan(&audited))
	require.Equal(t, 1, audited)

	h.start(t)
	h.waitFor(t, ids["retry"], "delivered")
	for _, name := range []string{"has child", "deceased", "erased", "permanent", "long ago", "other chan"} {
		require.Equal(t, "failed", h.message(t, ids[name]).Status, name)
	}
	require.Equal(t, "queued", h.message(t, ids["still queued"]).Status)
	require.Contains(t, h.kinds(t, c1.ID), "message.requeued")

	again, err := h.svc.Retry(h.ctx, audit.Actor{Name: "test"}, filter)
	require.NoError(t, err)
	require.Zero(t, again.Requeued, "a delivered message is not retried")

	_, err = h.svc.Retry(h.ctx, audit.Actor{Name: "test"}, delivery.RetryFilter{})
	require.ErrorIs(t, err, delivery.ErrInvalid)
}

// waitKinds waits until the contact's timeline holds n message events.
func waitKinds(t *testing.T, h *harness, contactID int64, n int) []string {
	t.Helper()
	var kinds []string
	require.Eventually(t, func() bool { kinds = h.kinds(t, contactID); return len(kinds) >= n }, 20*time.Second, 20*time.Millisecond)
	return kinds
}

// A message deferred by quiet hours is held until its window opens, and then sent.
func TestQuietHoursReleaseAtTheWindowOpening(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.clock.Set(testclock.Date(2026, 11, 30, 13, 30, 0, time.UTC)) // 21:30 in Shanghai
	c1 := h.contact(t, "C1")
	res := h.enqueue(t, planned("qr:1", c1.ID, channels.PurposeMarketing, channels.SMS))
	id := res.IDs[0]
	require.Equal(t, "quiet_hours", waitReason(t, h, id))
	opening := testclock.Date(2026, 12, 1, 1, 0, 0, time.UTC) // 09:00 in Shanghai
	job := h.scheduledJob(t)
	require.Equal(t, opening, job.ScheduledAt.UTC(), "the job waits for the window, not a retry")
	require.Equal(t, "queued", h.message(t, id).Status)
	require.Zero(t, h.built.Sandboxes["ali"].Recorder().SendsOf(itoa(id)))

	// At the opening, by the world's clock, the job runs and the message is sent.
	h.release(t, job)
	h.waitFor(t, id, "delivered")
	require.Equal(t, 1, h.built.Sandboxes["ali"].Recorder().SendsOf(itoa(id)))
	kinds := waitKinds(t, h, c1.ID, 3)
	require.Equal(t, "message.deferred", kinds[0])
	require.ElementsMatch(t, []string{"message.sent", "message.delivered"}, kinds[1:])
}
