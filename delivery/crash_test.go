package delivery_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"carillon/channels"
	"carillon/channels/registry"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/testclock"
)

const crashBatch = 5

// A worker process dies between the provider's acceptance and the commit of the
// outcome. After a restart nothing is lost: every message ends final, the provider
// got each at least once, duplicates are no more than the sends in flight at the
// crash, and each duplicate is in the timeline.
func TestCrashBetweenAcceptanceAndCommit(t *testing.T) {
	t.Parallel()
	for name, sb := range map[string]string{
		"receipts prompt": "",
		"receipts late":   `receipt_delay = "1m"`, // the provider cannot be asked in time: resend
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			crashAndRestart(t, sb, name == "receipts late")
		})
	}
}

func crashAndRestart(t *testing.T, sandbox string, expectDuplicates bool) {
	h := newHarness(t, harnessOpts{noStart: true, sandbox: sandbox, cfg: delivery.Config{JobBatch: crashBatch, SendConcurrency: 1}})
	c1, c2 := h.contact(t, "C1"), h.contact(t, "C2")
	var planned []delivery.Planned
	for i := range 4 * crashBatch {
		planned = append(planned, planned1(fmt.Sprintf("crash:%d", i), []int64{c1.ID, c2.ID}[i%2]))
	}
	res := h.enqueue(t, planned...)
	require.Len(t, res.IDs, len(planned))

	// The child process sends through the same sandbox and exits (like a SIGKILL: no
	// deferred work, no commit) right after the third acceptance.
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CARILLON_CRASH_DB="+h.db.URL, "CARILLON_CRASH_SANDBOX="+h.built.Sandboxes["ali"].URL(),
		"CARILLON_CRASH_NOW="+h.clock.Now().Format(time.RFC3339Nano))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "the child must die mid-run: %s", out)
	require.Equal(t, 3, ee.ExitCode(), "%s", out)
	rec := h.built.Sandboxes["ali"].Recorder()
	accepted := rec.Count()
	require.GreaterOrEqual(t, accepted, 3)

	var inFlight int
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT count(*) FROM messages WHERE status = 'sending'`).Scan(&inFlight))
	require.LessOrEqual(t, inFlight, crashBatch, "only the crashed job's messages are in doubt")
	require.Positive(t, inFlight)

	// What River's rescuer does once RescueStuckJobsAfter has passed: the running job
	// becomes retryable. (The drill waits for the real rescuer; a test does not.)
	_, err = h.db.Pool.Exec(h.ctx, `UPDATE river_job SET state = 'available', scheduled_at = $1 WHERE state = 'running'`, h.clock.Now())
	require.NoError(t, err)
	h.start(t)
	// The world's clock stands still: a job that failed once and waits for its
	// retry gets there only when time passes, so let it pass while we wait.
	nudged := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(nudged)
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			var retryAt *time.Time
			if err := h.db.Pool.QueryRow(h.ctx, `SELECT max(scheduled_at) FROM river_job WHERE state = 'retryable'`).Scan(&retryAt); err == nil &&
				retryAt != nil && !h.clock.Now().After(*retryAt) {
				h.clock.Set(retryAt.Add(time.Second))
			}
		}
	}()
	defer func() { close(stop); <-nudged }()
	for _, id := range res.IDs {
		// A message whose receipt came back while its worker was dead is final
		// without the dead worker's record: wait for the status alone.
		h.wait(t, id, false, "delivered", "failed", "sent")
	}
	// And until the rescued job has recorded what it did.
	if !assert.Eventually(t, func() bool {
		var busy int
		require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT count(*) FROM river_job WHERE state IN ('available', 'running', 'retryable')`).Scan(&busy))
		return busy == 0
	}, 20*time.Second, 20*time.Millisecond) {
		t.Fatalf("jobs still busy: %s", h.busyJobs(t))
	}
	dups := 0
	for _, id := range res.IDs {
		n := rec.SendsOf(itoa(id))
		require.GreaterOrEqual(t, n, 1, "message %d never reached the provider", id)
		dups += n - 1
	}
	require.LessOrEqual(t, dups, inFlight, "duplicates are bounded by the sends in flight at the crash")
	// A message in doubt whose receipt came back meanwhile (the sandbox echoes our id,
	// as Aliyun's OutId does) is known to be sent and is not sent again; the others
	// are, each flagged in the timeline as a possible duplicate.
	var flagged int
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT count(*) FROM contact_events WHERE kind = 'message.sent' AND data ? 'maybe_duplicate'`).Scan(&flagged))
	require.Positive(t, flagged, "messages in doubt were sent again")
	require.GreaterOrEqual(t, flagged, dups, "every duplicate is visible in the timeline")
	require.LessOrEqual(t, flagged, inFlight)
	if expectDuplicates {
		require.Positive(t, dups, "accepted but unrecorded sends without a receipt are sent again")
	}
	t.Logf("in flight at the crash: %d, accepted before it: %d, sent again: %d, duplicates at the provider: %d", inFlight, accepted, flagged, dups)
}

func planned1(key string, contactID int64) delivery.Planned {
	return planned(key, contactID, channels.PurposeService, channels.SMS)
}

// TestCrashChild is the worker process TestCrashBetweenAcceptanceAndCommit kills.
func TestCrashChild(t *testing.T) {
	dbURL := os.Getenv("CARILLON_CRASH_DB")
	if dbURL == "" {
		t.Skip("run by TestCrashBetweenAcceptanceAndCommit as a child process")
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	store, err := contacts.NewStore(pool, contacts.Config{})
	require.NoError(t, err)
	cfg, err := channels.DecodeTOML(fmt.Sprintf(`
[[provider]]
name = "ali"
provider = "aliyun"
endpoint = %q
key_id = "harness-key"
secret_env = "SANDBOX_SECRET"
webhook_secret_env = "SANDBOX_SECRET"
sign_name = "Carillon"
`, os.Getenv("CARILLON_CRASH_SANDBOX")))
	require.NoError(t, err)
	built, err := registry.Build(ctx, cfg, registry.Deps{Pool: pool, Getenv: func(k string) string {
		return map[string]string{"SANDBOX_SECRET": channels.DefaultSandboxSecret}[k]
	}})
	require.NoError(t, err)
	// The parent's clock, for the child's services and River alike.
	now, err := time.Parse(time.RFC3339Nano, os.Getenv("CARILLON_CRASH_NOW"))
	require.NoError(t, err)
	clk := testclock.New(now)
	var accepted atomic.Int32
	svc, err := delivery.New(pool, delivery.Config{JobBatch: crashBatch, SendConcurrency: 1, Now: clk.Now,
		AfterSend: func(int64) {
			if accepted.Add(1) == 3 {
				os.Exit(3)
			}
		}}, delivery.Deps{Registry: built.Registry, Renderer: testRenderer{}})
	require.NoError(t, err)
	workers := river.NewWorkers()
	river.AddWorker(workers, svc.Worker(store))
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:            map[string]river.QueueConfig{delivery.DefaultQueue: {MaxWorkers: 1}},
		Workers:           workers,
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		Test:              river.TestConfig{Time: clk},
	})
	require.NoError(t, err)
	require.NoError(t, rc.Start(ctx))
	time.Sleep(30 * time.Second)
	t.Fatal("the child was meant to die before this")
}

// busyJobs describes the jobs not yet done, for a failure's message.
func (h *harness) busyJobs(t *testing.T) string {
	var out string
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT COALESCE(string_agg(kind || ' ' || state || ' attempt ' || attempt || ' at ' || scheduled_at::text || ' ' || COALESCE(errors[array_length(errors, 1)]::text, ''), '; '), '')
		FROM river_job WHERE state IN ('available', 'running', 'retryable')`).Scan(&out))
	return out
}
