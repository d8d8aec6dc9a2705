package campaigns_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"carillon/campaigns"
	"carillon/channels/registry"
	"carillon/channels/sandbox"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/apptest"
	"carillon/internal/audit"
	"carillon/templates"
)

// live is a bundle with the aliyun SMS and SMTP sandboxes behind the real
// adapters, and a River client running the deliver worker and the campaigns'
// workers.
type live struct {
	*bundle
	built *registry.Built
	river *river.Client[pgx.Tx]
}

func setupLive(t *testing.T, cfg campaigns.Config) *live {
	t.Helper()
	return setupLiveWith(t, cfg, "")
}

// liveProviders are the aliyun SMS sandbox, whose receipts come back to the
// world's hooks, and the SMTP sandbox.
const liveProviders = `
[[provider]]
name = "ali"
provider = "aliyun"
endpoint = "sandbox"
key_id = "campaign-key"
webhook_secret_env = "HOOK"
sign_name = "示例银行"
  [provider.sandbox]
  %[1]s
  %[2]s

[[provider]]
name = "mail"
provider = "smtp"
endpoint = "sandbox"
from = "news@bank.example"
webhook_secret_env = "HOOK"
`

// setupLiveWith is setupLive with extra TOML for the SMS sandbox (latency = "200ms").
func setupLiveWith(t *testing.T, cfg campaigns.Config, smsSandbox string) *live {
	t.Helper()
	cfg.DrainPoll = 200 * time.Millisecond
	b := setup(t, options{
		delivery:  delivery.Config{MarketingWindow: delivery.Always, ServiceWindow: delivery.Always, Backoff: time.Second},
		cfg:       cfg,
		providers: fmt.Sprintf(liveProviders, apptest.ReceiptURL("ali"), smsSandbox),
		run:       true,
	})
	return &live{bundle: b, built: b.world.Built, river: b.world.River}
}

func (l *live) sms() *sandbox.Recorder { return l.built.Sandboxes["ali"].Recorder() }

// waitStatus polls until the campaign is in status.
func (l *live) waitStatus(t *testing.T, id int64, status campaigns.Status) campaigns.Campaign {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := l.svc.Get(l.ctx, id)
		require.NoError(t, err)
		if c.Status == status {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign %d is %s, not %s", id, c.Status, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// completedRuns counts the campaign's completed runs.
func (l *live) completedRuns(t *testing.T, id int64) int {
	t.Helper()
	var done int
	require.NoError(t, l.db.Pool.QueryRow(l.ctx, `SELECT count(*) FROM campaign_runs WHERE campaign_id = $1 AND status = 'completed'`, id).Scan(&done))
	return done
}

// tickUntil runs the scheduler's tick at `at` until done holds, as the scheduler
// does every minute: a tick that finds the campaign locked by one of its own jobs
// (FOR UPDATE SKIP LOCKED) leaves the firing to the next tick.
func (l *live) tickUntil(t *testing.T, at time.Time, done func() bool) {
	t.Helper()
	require.Eventually(t, func() bool {
		require.NoError(t, l.svc.Tick(l.ctx, at))
		return done()
	}, 60*time.Second, 100*time.Millisecond, "the tick at %s had no effect", at)
}

// idle waits until River has nothing left to run (every job completed, cancelled
// or discarded): whatever could still reach a provider has had its chance, so a
// count taken then is final.
func (l *live) idle(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		res, err := l.river.JobList(l.ctx, river.NewJobListParams().First(1).States(rivertype.JobStateAvailable, rivertype.JobStatePending,
			rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled))
		require.NoError(t, err)
		return len(res.Jobs) == 0
	}, 60*time.Second, 20*time.Millisecond, "River still has jobs to run")
}

func (l *live) waitSent(t *testing.T, atLeast int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for l.sms().Count() < atLeast {
		if time.Now().After(deadline) {
			t.Fatalf("%d SMS accepted by the sandbox, want %d", l.sms().Count(), atLeast)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// statuses counts the run's messages by status and reason.
func (l *live) statuses(t *testing.T, campaignID int64) map[string]int {
	t.Helper()
	rows, err := l.db.Pool.Query(l.ctx, `SELECT m.status || CASE WHEN m.reason <> '' THEN ':' || m.reason ELSE '' END, count(*)
		FROM messages m JOIN campaign_runs r ON m.source = 'campaign_run' AND m.source_id = r.id::text
		WHERE r.campaign_id = $1 GROUP BY 1`, campaignID)
	require.NoError(t, err)
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		require.NoError(t, rows.Scan(&k, &n))
		out[k] = n
	}
	require.NoError(t, rows.Err())
	return out
}

func distinctRecipients(r *sandbox.Recorder) int {
	seen := map[string]bool{}
	for _, d := range r.Deliveries() {
		seen[d.To] = true
	}
	return len(seen)
}

// Family members who share a phone get one SMS; a contact with no address is
// targeted, and suppressed.
func TestRunSendsOneSMSPerSharedNumber(t *testing.T) {
	t.Parallel()
	l := setupLive(t, campaigns.Config{})
	l.addContacts(t, 1, 3, func(i int, in *contacts.Input) { in.Phone = ptr("13900000000") })
	l.addContacts(t, 4, 2, nil)
	l.addContacts(t, 6, 1, func(i int, in *contacts.Input) { in.Phone = nil })
	c := l.approved(t, campaigns.Input{})
	c, err := l.svc.Start(l.ctx, l.users["mk"], c.ID)
	require.NoError(t, err)
	require.Equal(t, campaigns.StatusRunning, c.Status)
	l.waitStatus(t, c.ID, campaigns.StatusCompleted)
	require.Equal(t, 3, l.sms().Count())
	require.Equal(t, 3, distinctRecipients(l.sms()))
	require.Zero(t, l.sms().Duplicates())
	st := l.statuses(t, c.ID)
	require.Equal(t, 1, st["suppressed:no_channel"], "%v", st)
	require.Equal(t, 3, st["sent"]+st["delivered"], "%v", st)
	var recipients, audience int64
	require.NoError(t, l.db.Pool.QueryRow(l.ctx, `SELECT recipients, audience FROM campaign_runs WHERE campaign_id = $1`, c.ID).Scan(&recipients, &audience))
	require.EqualValues(t, 4, recipients)
	require.EqualValues(t, 6, audience)
	// The dedupe key carries no phone number.
	var keys []string
	rows, err := l.db.Pool.Query(l.ctx, `SELECT dedupe_key FROM messages`)
	require.NoError(t, err)
	keys, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	for _, k := range keys {
		require.NotContains(t, k, "13900000000")
		require.Regexp(t, `^campaign:\d+:\d{10}$`, k)
	}
}

// After a pause returns, nothing of the campaign reaches the provider until
// it is resumed; then every recipient gets exactly one message.
func TestNothingIsSentBetweenPauseAndResume(t *testing.T) {
	t.Parallel()
	l := setupLive(t, campaigns.Config{Horizon: 2 * time.Second})
	const n = 40
	l.addContacts(t, 1, n, nil)
	c := l.approved(t, campaigns.Input{Throttle: ptr(10)})
	_, err := l.svc.Start(l.ctx, l.users["mk"], c.ID)
	require.NoError(t, err)
	l.waitSent(t, 5)

	res, err := l.svc.Pause(l.ctx, l.users["ap"], c.ID)
	require.NoError(t, err)
	require.Zero(t, res.InFlight)
	require.Equal(t, campaigns.StatusPaused, res.Campaign.Status)
	atPause := l.sms().Count()
	require.Less(t, atPause, n, "the pause came before the end")
	// The throttle would have sent the rest within 4 s: let every job that could
	// send run out.
	l.idle(t)
	require.Equal(t, atPause, l.sms().Count(), "a message reached the provider while paused")
	st := l.statuses(t, c.ID)
	require.Zero(t, st["queued"]+st["sending"], "%v", st)
	require.EqualValues(t, res.Held, st["cancelled:campaign_paused"], "%v", st)

	_, err = l.svc.Resume(l.ctx, l.users["mk"], c.ID)
	require.NoError(t, err)
	l.waitStatus(t, c.ID, campaigns.StatusCompleted)
	require.Equal(t, n, l.sms().Count())
	require.Equal(t, n, distinctRecipients(l.sms()))
	require.Zero(t, l.sms().Duplicates())
	st = l.statuses(t, c.ID)
	require.Equal(t, n, st["sent"]+st["delivered"], "%v", st)
	require.EqualValues(t, res.Held, st["cancelled:campaign_resumed"], "%v", st)
	h, err := l.svc.History(l.ctx, c.ID)
	require.NoError(t, err)
	var actions []string
	for _, e := range h {
		actions = append(actions, e.Action)
	}
	require.Equal(t, []string{"create", "submit", "approve", "start", "pause", "resume", "run_completed"}, actions)
}

// A fan-out that fails mid-run (as a crash would, its last batch not committed)
// resumes from the stored cursor: every recipient exactly once. Running it again
// from the start (a lost cursor) writes nothing new: the dedupe keys hold.
func TestRunResumesAfterACrashWithExactCounts(t *testing.T) {
	t.Parallel()
	var failed atomic.Bool
	l := setupLive(t, campaigns.Config{Batch: 7, AfterBatch: func(runID, cursor int64) error {
		if cursor == 17 && failed.CompareAndSwap(false, true) { // slice 2's first batch (3 slices of 10)
			return errors.New("simulated crash")
		}
		return nil
	}})
	const n = 30
	l.addContacts(t, 1, n, nil)
	c := l.approved(t, campaigns.Input{})
	_, err := l.svc.Start(l.ctx, l.users["mk"], c.ID)
	require.NoError(t, err)
	l.waitStatus(t, c.ID, campaigns.StatusCompleted)
	require.True(t, failed.Load())
	require.Equal(t, n, l.sms().Count())
	require.Zero(t, l.sms().Duplicates())
	var msgs, keys int
	require.NoError(t, l.db.Pool.QueryRow(l.ctx, `SELECT count(*), count(DISTINCT dedupe_key) FROM messages WHERE source = 'campaign_run'`).Scan(&msgs, &keys))
	require.Equal(t, n, msgs)
	require.Equal(t, n, keys)
	var runID, enqueued int64
	require.NoError(t, l.db.Pool.QueryRow(l.ctx, `SELECT id, enqueued FROM campaign_runs WHERE campaign_id = $1`, c.ID).Scan(&runID, &enqueued))
	require.EqualValues(t, n, enqueued)

	// A lost cursor: the run starts over and writes nothing new.
	_, err = l.db.Pool.Exec(l.ctx, `UPDATE campaign_runs SET cursor = 0, status = 'running' WHERE id = $1`, runID)
	require.NoError(t, err)
	_, err = l.river.Insert(l.ctx, campaigns.RunArgs{RunID: runID}, nil)
	require.NoError(t, err)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var status string
		require.NoError(t, l.db.Pool.QueryRow(l.ctx, `SELECT status FROM campaign_runs WHERE id = $1`, runID).Scan(&status))
		if status == "completed" {
			break
		}
		require.True(t, time.Now().Before(deadline), "run is %s", status)
		time.Sleep(50 * time.Millisecond)
	}
	require.NoError(t, l.db.Pool.QueryRow(l.ctx, `SELECT count(*) FROM messages WHERE source = 'campaign_run'`).Scan(&msgs))
	require.Equal(t, n, msgs)
	require.Equal(t, n, l.sms().Count())
}

// Cancelling a running campaign stops it for good: nothing more is sent.
func TestCancelStopsARunningCampaign(t *testing.T) {
	t.Parallel()
	l := setupLive(t, campaigns.Config{Horizon: 2 * time.Second})
	const n = 30
	l.addContacts(t, 1, n, nil)
	c := l.approved(t, campaigns.Input{Throttle: ptr(10)})
	_, err := l.svc.Start(l.ctx, l.users["mk"], c.ID)
	require.NoError(t, err)
	l.waitSent(t, 3)
	res, err := l.svc.Cancel(l.ctx, l.users["mk"], c.ID, "wrong product")
	require.NoError(t, err)
	require.Zero(t, res.InFlight)
	require.Equal(t, campaigns.StatusCancelled, res.Campaign.Status)
	at := l.sms().Count()
	l.idle(t)
	require.Equal(t, at, l.sms().Count())
	var status string
	require.NoError(t, l.db.Pool.QueryRow(l.ctx, `SELECT status FROM campaign_runs WHERE id = $1`, res.RunID).Scan(&status))
	require.Equal(t, "cancelled", status)
	_, err = l.svc.Resume(l.ctx, l.users["mk"], c.ID)
	require.ErrorIs(t, err, campaigns.ErrState)
}

// A campaign scheduled at a time starts then, by its River job.
func TestScheduledAtATime(t *testing.T) {
	t.Parallel()
	l := setupLive(t, campaigns.Config{})
	l.addContacts(t, 1, 2, nil)
	at := l.clock.Now().Add(1500 * time.Millisecond)
	c := l.approved(t, campaigns.Input{Schedule: &campaigns.Schedule{Kind: "at", At: &at}})
	c, err := l.svc.Start(l.ctx, l.users["mk"], c.ID)
	require.NoError(t, err)
	require.Equal(t, campaigns.StatusScheduled, c.Status)
	require.Zero(t, l.sms().Count())
	l.waitStatus(t, c.ID, campaigns.StatusCompleted)
	require.Equal(t, 2, l.sms().Count())
	// Started, by the world's clock, not before its time.
	var started time.Time
	require.NoError(t, l.db.Pool.QueryRow(l.ctx, `SELECT started_at FROM campaign_runs WHERE campaign_id = $1`, c.ID).Scan(&started))
	require.False(t, started.Before(at), "started at %s, before its time %s", started, at)
}

// A recurring campaign is started by the scheduler tick at each firing, once
// per firing however many ticks see it, and each run messages each address once.
func TestRecurringCampaignRunsOncePerFiring(t *testing.T) {
	t.Parallel()
	l := setupLive(t, campaigns.Config{})
	l.addContacts(t, 1, 3, nil)
	c := l.approved(t, campaigns.Input{Schedule: &campaigns.Schedule{Kind: "cron", Cron: "CRON_TZ=Asia/Shanghai * * * * *"}})
	c, err := l.svc.Start(l.ctx, l.users["mk"], c.ID)
	require.NoError(t, err)
	require.Equal(t, campaigns.StatusScheduled, c.Status)
	first := *c.NextRunAt
	require.NoError(t, l.svc.Tick(l.ctx, first.Add(-time.Second)))
	require.Equal(t, campaigns.StatusScheduled, l.waitStatus(t, c.ID, campaigns.StatusScheduled).Status, "not due yet")

	// Two ticks (two nodes, or a tick run twice) at the firing: one run.
	require.NoError(t, l.svc.Tick(l.ctx, first.Add(time.Second)))
	require.NoError(t, l.svc.Tick(l.ctx, first.Add(2*time.Second)))
	c = l.waitStatus(t, c.ID, campaigns.StatusScheduled)
	require.Equal(t, 3, l.sms().Count())
	require.True(t, c.NextRunAt.After(first))

	// The next firing: a second run, completed (it is running only for a moment,
	// so wait for its end rather than for that moment).
	l.tickUntil(t, c.NextRunAt.Add(time.Second), func() bool { return l.completedRuns(t, c.ID) >= 2 })
	l.waitStatus(t, c.ID, campaigns.StatusScheduled)
	l.waitSent(t, 6)
	var runs, msgs, perRun int
	require.NoError(t, l.db.Pool.QueryRow(l.ctx, `SELECT count(DISTINCT r.id), count(m.id), max(n) FROM campaign_runs r
		JOIN messages m ON m.source = 'campaign_run' AND m.source_id = r.id::text
		JOIN LATERAL (SELECT count(*) AS n FROM messages x WHERE x.source_id = r.id::text AND x.contact_id = m.contact_id) k ON true
		WHERE r.campaign_id = $1`, c.ID).Scan(&runs, &msgs, &perRun))
	require.Equal(t, 2, runs)
	require.Equal(t, 6, msgs)
	require.Equal(t, 1, perRun, "one message per contact per run")

	// Past its end date the tick completes it instead.
	ended := l.clock.Now().Add(-time.Minute)
	_, err = l.db.Pool.Exec(l.ctx, `UPDATE campaigns SET ends_at = $2 WHERE id = $1`, c.ID, ended)
	require.NoError(t, err)
	c, err = l.svc.Get(l.ctx, c.ID)
	require.NoError(t, err)
	l.tickUntil(t, c.NextRunAt.Add(time.Second), func() bool {
		c, err := l.svc.Get(l.ctx, c.ID)
		require.NoError(t, err)
		return c.Status == campaigns.StatusCompleted
	})
	require.Equal(t, 6, l.sms().Count())
}

// An unthrottled run is written by several jobs at once; a pause still stops
// all of them, and every recipient gets exactly one message after the resume.
func TestPauseStopsAnUnthrottledRunWrittenInSlices(t *testing.T) {
	t.Parallel()
	l := setupLiveWith(t, campaigns.Config{Batch: 5}, `latency = "100ms"`)
	const n = 120
	l.addContacts(t, 1, n, nil)
	c := l.approved(t, campaigns.Input{})
	_, err := l.svc.Start(l.ctx, l.users["mk"], c.ID)
	require.NoError(t, err)
	l.waitSent(t, 10)
	res, err := l.svc.Pause(l.ctx, l.users["mk"], c.ID)
	require.NoError(t, err)
	require.Zero(t, res.InFlight)
	atPause := l.sms().Count()
	require.Less(t, atPause, n)
	l.idle(t)
	require.Equal(t, atPause, l.sms().Count(), "a message reached the provider while paused")
	st := l.statuses(t, c.ID)
	require.Zero(t, st["queued"]+st["sending"], "%v", st)

	_, err = l.svc.Resume(l.ctx, l.users["mk"], c.ID)
	require.NoError(t, err)
	l.waitStatus(t, c.ID, campaigns.StatusCompleted)
	require.Equal(t, n, l.sms().Count())
	require.Equal(t, n, distinctRecipients(l.sms()))
	require.Zero(t, l.sms().Duplicates())
	var slices int
	require.NoError(t, l.db.Pool.QueryRow(l.ctx, `SELECT count(*) FROM river_job WHERE kind = 'campaigns.run' AND (args ->> 'slices')::int > 0`).Scan(&slices))
	require.GreaterOrEqual(t, slices, 3, "written by slice jobs")
	stats, err := l.svc.Stats(l.ctx, c.ID)
	require.NoError(t, err)
	require.EqualValues(t, n, stats.Total.Written)
	require.EqualValues(t, n, stats.Total.All.Sent)
}

// What the approver saw is what is sent: the messages are pinned to the
// template version the review rendered, even when another is activated later.
func TestApprovedTemplateVersionIsSent(t *testing.T) {
	t.Parallel()
	l := setupLive(t, campaigns.Config{})
	l.addContacts(t, 1, 2, nil)
	c := l.approved(t, campaigns.Input{})
	require.Equal(t, 1, c.Review.TemplateVersion)
	v1, err := l.templates.Active(l.ctx, templateKey)
	require.NoError(t, err)
	def := v1.Definition
	def.Variants = append([]templates.Variant(nil), def.Variants...)
	sms := *def.Variants[0].SMS
	sms.Text = "{{.Contact.Salutation}}，新版文案未经审批。拒收请回复R"
	def.Variants[0].SMS = &sms
	v2, _, err := l.templates.Save(l.ctx, audit.Actor{Name: "test"}, def, templates.SaveOptions{Activate: true})
	require.NoError(t, err)
	require.Equal(t, 2, v2.Version)

	_, err = l.svc.Start(l.ctx, l.users["mk"], c.ID)
	require.NoError(t, err)
	l.waitStatus(t, c.ID, campaigns.StatusCompleted)
	rows, err := l.db.Pool.Query(l.ctx, `SELECT template_version, body FROM messages WHERE source = 'campaign_run'`)
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		var v int
		var body string
		require.NoError(t, rows.Scan(&v, &body))
		require.Equal(t, 1, v)
		require.Contains(t, body, "稳健理财上线")
		require.NotContains(t, body, "新版")
		n++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, 2, n)
}

// A campaign's messages are worth sending until the campaign ends: each carries
// its end as its deadline, and one still waiting then is cancelled as expired
// (counted in the funnel), never sent late.
func TestCampaignMessagesExpireAtTheCampaignsEnd(t *testing.T) {
	t.Parallel()
	l := setupLive(t, campaigns.Config{})
	l.addContacts(t, 1, 3, nil)
	ends := l.clock.Now().Add(time.Hour).Truncate(time.Second)
	c := l.approved(t, campaigns.Input{EndsAt: &ends})
	_, err := l.svc.Start(l.ctx, l.users["mk"], c.ID)
	require.NoError(t, err)
	l.waitStatus(t, c.ID, campaigns.StatusCompleted)
	var n int
	require.NoError(t, l.db.Pool.QueryRow(l.ctx, `SELECT count(*) FROM messages WHERE source = 'campaign_run' AND deadline = $1`, ends).Scan(&n))
	require.Equal(t, 3, n, "every message carries the campaign's end")

	// One left waiting past the end (as an outage would leave it) is cancelled.
	var id int64
	require.NoError(t, l.db.Pool.QueryRow(l.ctx, `UPDATE messages SET status = 'queued', reason = '', deadline = $1 WHERE id = (SELECT min(id) FROM messages WHERE source = 'campaign_run')
		RETURNING id`, l.clock.Now().Add(-time.Second)).Scan(&id))
	_, err = l.river.Insert(l.ctx, delivery.DeliverArgs{MessageIDs: []int64{id}}, &river.InsertOpts{Queue: delivery.DefaultQueue})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		var st, reason string
		require.NoError(t, l.db.Pool.QueryRow(l.ctx, `SELECT status, reason FROM messages WHERE id = $1`, id).Scan(&st, &reason))
		return st == "cancelled" && reason == delivery.ReasonExpired
	}, 30*time.Second, 20*time.Millisecond)
	stats, err := l.svc.Stats(l.ctx, c.ID)
	require.NoError(t, err)
	require.EqualValues(t, 1, stats.Total.All.Expired)
}
