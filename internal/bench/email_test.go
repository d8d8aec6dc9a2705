package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
