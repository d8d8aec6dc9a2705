package delivery_test

import (
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"carillon/delivery"
)

type probeArgs struct{}

func (probeArgs) Kind() string { return "probe" }

// TestQueuesCountsRiverJobsByQueueAndState reads River's jobs through River's
// API: available and running counted by River's driver, the oldest available
// job's wait, scheduled and retryable jobs, discarded ones of the last day
// only, and a count that reaches QueueCountCap.
func TestQueuesCountsRiverJobsByQueueAndState(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{noStart: true})
	inserter, err := river.NewClient(riverpgxv5.New(h.db.Pool), &river.Config{Test: river.TestConfig{Time: h.clock}}) // insert-only: any kind; the world's clock
	require.NoError(t, err)
	ins := func(queue string, n int, at time.Time) {
		t.Helper()
		ps := make([]river.InsertManyParams, n)
		for i := range ps {
			ps[i] = river.InsertManyParams{Args: probeArgs{}, InsertOpts: &river.InsertOpts{Queue: queue, ScheduledAt: at}} // zero: available now
		}
		_, err := inserter.InsertManyFast(h.ctx, ps)
		require.NoError(t, err)
	}
	ins(delivery.DefaultQueue, 3, time.Time{}) // available, waiting 1m30s by the time they are counted
	ins("reports", 4, time.Time{})
	h.clock.Advance(90 * time.Second)
	now := h.clock.Now()
	ins(delivery.DefaultQueue, 2, now.Add(time.Hour)) // scheduled
	ins("reports", delivery.QueueCountCap+5, now.Add(time.Hour))
	// Of the available jobs in reports: one retryable, two discarded (one of them two days ago).
	_, err = h.db.Pool.Exec(h.ctx, `UPDATE river_job SET state = 'retryable' WHERE id = (SELECT min(id) FROM river_job WHERE queue = 'reports' AND state = 'available')`)
	require.NoError(t, err)
	_, err = h.db.Pool.Exec(h.ctx, `UPDATE river_job SET state = 'discarded', finalized_at = CASE WHEN id % 2 = 0 THEN $1::timestamptz ELSE $2::timestamptz END
		WHERE id IN (SELECT id FROM river_job WHERE queue = 'reports' AND state = 'available' ORDER BY id LIMIT 2)`,
		now.Add(-time.Hour), now.Add(-48*time.Hour))
	require.NoError(t, err)

	qs, err := h.svc.Queues(h.ctx, now)
	require.NoError(t, err)
	require.Equal(t, []delivery.QueueJobs{{Queue: delivery.DefaultQueue, Available: 3, Scheduled: 2, OldestAvailable: 90 * time.Second}}, qs,
		"the outbox's own queue is read though no client runs it; River's default one has no jobs and is left out")

	// Once a client runs reports, River lists it.
	_, err = h.db.Pool.Exec(h.ctx, `INSERT INTO river_queue (name, created_at, metadata, updated_at) VALUES ('reports', $1, '{}', $1)`, now)
	require.NoError(t, err)
	qs, err = h.svc.Queues(h.ctx, now)
	require.NoError(t, err)
	require.Equal(t, []delivery.QueueJobs{
		{Queue: delivery.DefaultQueue, Available: 3, Scheduled: 2, OldestAvailable: 90 * time.Second},
		{Queue: "reports", Available: 1, Scheduled: delivery.QueueCountCap, Retryable: 1, Discarded: 1, OldestAvailable: 90 * time.Second},
	}, qs, "scheduled jobs are counted up to the cap; the job discarded two days ago is not counted")
}

// TestSourceEngagementCountsOpenedAndClickedEmails counts, per source id, the
// email messages opened and clicked at least once, from the timeline's view
// (contact_message_events): an event of another message, an SMS message's or
// one older than the message is not counted.
func TestSourceEngagementCountsOpenedAndClickedEmails(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{noStart: true})
	h.seed(t)
	c1, c4 := h.contact(t, "C1"), h.contact(t, "C4")
	now := h.clock.Now()
	msg := func(key string, contactID int64, sourceID, channel string) int64 {
		t.Helper()
		var id int64
		require.NoError(t, h.db.Pool.QueryRow(h.ctx, `INSERT INTO messages (dedupe_key, contact_id, source, source_id, purpose, template_key, channels, channel, status, send_at, created_at)
			VALUES ($1, $2, 'campaign_run', $3, 'marketing', 'promo', ARRAY[$4], $4, 'delivered', $5, $5) RETURNING id`, key, contactID, sourceID, channel, now).Scan(&id))
		return id
	}
	event := func(contactID, messageID int64, kind string, at time.Time) {
		t.Helper()
		_, err := h.db.Pool.Exec(h.ctx, `INSERT INTO contact_events (contact_id, at, kind, actor, data) VALUES ($1, $2, $3, 'test', jsonb_build_object('message_id', $4::bigint::text))`,
			contactID, at, kind, messageID)
		require.NoError(t, err)
	}
	a := msg("a", c1.ID, "7", "email")
	b := msg("b", c4.ID, "7", "email")
	s := msg("s", c1.ID, "7", "sms")
	o := msg("o", c4.ID, "8", "email")
	event(c1.ID, a, "message.opened", now.Add(time.Minute))
	event(c1.ID, a, "message.opened", now.Add(2*time.Minute)) // twice: one message
	event(c1.ID, a, "message.clicked", now.Add(3*time.Minute))
	event(c4.ID, b, "message.opened", now.Add(-time.Minute)) // before the message: not its
	event(c1.ID, s, "message.opened", now.Add(time.Minute))  // not an email
	event(c4.ID, o, "message.clicked", now.Add(time.Minute))
	event(c1.ID, o, "message.opened", now.Add(time.Minute)) // another contact's event

	got, err := h.svc.SourceEngagement(h.ctx, "campaign_run", []string{"7", "8"})
	require.NoError(t, err)
	require.ElementsMatch(t, []delivery.SourceEngagement{{SourceID: "7", Opened: 1, Clicked: 1}, {SourceID: "8", Opened: 0, Clicked: 1}}, got)
	got, err = h.svc.SourceEngagement(h.ctx, "campaign_run", []string{"9"})
	require.NoError(t, err)
	require.Empty(t, got)
}
