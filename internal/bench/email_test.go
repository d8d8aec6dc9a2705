package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"carillon/delivery"
	"carillon/internal/pgtest"
	"carillon/internal/testlog"
)

// TestBenchEmailReport runs `bench email` at a tiny size and checks the
// report's structure, never its timings: both rates measured, the ratio is
// the one of the two rates, CPU and bytes per message at the sink reported.
func TestBenchEmailReport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewEmpty(t).URL
	opts := Options{Quick: true, Runs: 1, Messages: 200, Connections: 3, Stderr: testlog.Writer(),
		Getenv: func(k string) string { return map[string]string{"DATABASE_URL": url}[k] }}
	results, err := Run(ctx, opts, []string{"email"})
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, WriteJSON(&buf, results))
	out := buf.String()
	var rep map[string]Figure
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	f, ok := rep["email"]
	require.True(t, ok, out)
	require.Equal(t, 200, f.Size)
	require.Len(t, f.Runs, 1)
	require.Len(t, f.BaselineRuns, 1)
	require.Greater(t, f.Value, 0.0)
	require.Greater(t, f.Baseline, 0.0)
	require.Equal(t, "bare go-mail loop msgs/s", f.BaselineName)
	require.InEpsilon(t, f.Value/f.Baseline, f.Ratio, 1e-9)
	require.NotNil(t, f.Email)
	require.Equal(t, 3, f.Email.Connections)
	// Every message went out once: the sink accepted as many mails as the
	// outbox holds sent, and those are all of them.
	require.Equal(t, 200, f.Email.MessagesSent)
	require.Equal(t, int64(f.Email.MessagesSent), f.Email.SinkAccepted)
	require.Greater(t, f.Email.CPUMicrosPerMessage, 0.0)
	require.Greater(t, f.Email.BaselineCPUMicrosPerMessage, 0.0)
	// The campaign's messages carry the 4.5 KB body (text and HTML parts); the
	// baseline sends one of them again, so the sizes match.
	require.Greater(t, f.Email.SinkBytesPerMessage, 4500.0)
	require.InDelta(t, f.Email.SinkBytesPerMessage, f.Email.BaselineSinkBytesPerMessage, 64)
	require.Greater(t, f.Email.PostgresXactsPerMessage, 0.0)
	require.Greater(t, f.Email.PostgresRowsPerMessage, 0.0)
	require.Equal(t, "10:00 Asia/Shanghai", f.Email.Clock)
	require.Len(t, f.Email.Notes, 2)

	opts.Messages, opts.Connections = 50, 1
	results, err = Run(ctx, opts, []string{"email"})
	require.NoError(t, err)
	buf.Reset()
	Print(&buf, []string{"email"}, results)
	text := buf.String()
	require.Contains(t, text, "比值 ratio (Carillon / baseline)")
	require.Contains(t, text, "基线 baseline (bare go-mail loop")
	require.Contains(t, text, "sink accepted: 50 封 mails / 已发送 messages sent: 50")
}

// The run's clock reads 10:00 in the recipients' zone, at or before the real
// time, so quiet hours are on and everything the database's clock wrote is due.
func TestBenchEmailClockIsInsideTheWindow(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	for _, now := range []time.Time{
		time.Date(2026, 12, 3, 1, 30, 0, 0, loc),  // before 10:00: yesterday's
		time.Date(2026, 12, 3, 10, 0, 0, 0, loc),  // right on it
		time.Date(2026, 12, 3, 23, 59, 0, 0, loc), // late evening, quiet hours
	} {
		off := windowOffset(now, loc)
		require.LessOrEqual(t, off, time.Duration(0), now)
		require.Greater(t, off, -24*time.Hour, now)
		at := now.Add(off).In(loc)
		require.Equal(t, "10:00", at.Format("15:04"), now)
	}
}

func TestEveryBenchmarkIsRunnable(t *testing.T) {
	t.Parallel()
	require.Len(t, byName, len(Names))
	for _, n := range Names {
		b, ok := byName[n]
		require.True(t, ok, n)
		require.NotNil(t, b.run, n)
		require.GreaterOrEqual(t, b.full, 10_000, n)
	}
}

// A run whose clock is hours behind the real one (late in the evening in the
// recipients' zone, the clock is put back to 10:00) sends every message once:
// its deliver jobs run on the clock River's rescuer reads, so none is rescued
// while it still sends and no message goes out twice.
func TestBenchEmailLateInTheDaySendsEachMessageOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	l := time.Now().In(loc)
	wall := time.Date(l.Year(), l.Month(), l.Day(), 23, 30, 0, 0, loc) // the clock goes back 13½ hours
	if wall.After(time.Now()) {
		wall = wall.AddDate(0, 0, -1)
	}
	e := &env{stderr: testlog.Writer(), logger: testlog.New(t)}
	r, err := emailOnce(ctx, e, db.Pool, 300, 3, wall)
	require.NoError(t, err)
	require.Equal(t, 300, r.sent)
	require.Equal(t, int64(300), r.sinkMails)

	// Each deliver job ran once, begun on the real clock.
	rc, err := river.NewClient(riverpgxv5.New(db.Pool), &river.Config{})
	require.NoError(t, err)
	jobs, err := rc.JobList(ctx, river.NewJobListParams().Kinds(delivery.DeliverArgs{}.Kind()).First(10_000))
	require.NoError(t, err)
	require.NotEmpty(t, jobs.Jobs)
	for _, j := range jobs.Jobs {
		require.Equal(t, rivertype.JobStateCompleted, j.State, "job %d: %v", j.ID, j.Errors)
		require.Equal(t, 1, j.Attempt, "job %d: %v", j.ID, j.Errors)
		require.NotNil(t, j.AttemptedAt)
		require.WithinDuration(t, time.Now(), *j.AttemptedAt, 10*time.Minute, "job %d", j.ID)
	}
}
