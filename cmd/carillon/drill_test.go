package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/drill"
	"carillon/internal/pgtest"
)

// drillServeEnv makes this test binary act as carillon itself (see
// TestMain): the drills start it as their `carillon serve` processes, so the
// servers run exactly the code under test without a separate build.
const drillServeEnv = "CARILLON_DRILL_TEST_AS_CARILLON"

func TestMain(m *testing.M) {
	if os.Getenv(drillServeEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// carillonBin writes an executable that runs this test binary as carillon.
func carillonBin(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "carillon")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+drillServeEnv+"=1 exec '"+self+"' \"$@\"\n"), 0o755))
	return p
}

// The quick version of every drill, each against real server processes, its
// own database (and for db-restart its own Postgres cluster), in parallel.
// Each drill checks its invariants itself and reports them; the test reads
// the report and requires every invariant held, with the figures that show
// the fault really happened.
func TestDrillsQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("the drills are left out of the fast tier (go test -short)")
	}
	t.Parallel()
	bin := carillonBin(t)
	url := pgtest.NewEmpty(t).URL
	run := func(t *testing.T, name string) *drill.Result {
		c := cli{t, url}
		out, _, err := c.run(context.Background(), "drill", name, "--quick", "--json", "--bin", bin)
		var doc map[string]*drill.Result
		require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
		res := doc[name]
		require.NotNil(t, res, out)
		require.NoError(t, err, "%s", out)
		require.True(t, res.Passed, "%s", out)
		require.Empty(t, res.Error)
		for _, c := range res.Checks {
			require.True(t, c.OK, "%s: %s", c.Name, c.Detail)
		}
		return res
	}
	num := func(t *testing.T, res *drill.Result, key string) float64 {
		v, ok := res.Counts[key].(float64)
		require.True(t, ok, "count %q missing in %v", key, res.Counts)
		return v
	}
	// Crash and provider-outage run one after the other beside the two others
	// (db-restart has a cluster of its own), which keeps the servers'
	// connections to the shared Postgres well within its limit.
	t.Run("crash, then provider-outage", func(t *testing.T) {
		t.Parallel()
		res := run(t, "crash")
		require.EqualValues(t, 3000, num(t, res, "recipients"))
		require.Positive(t, num(t, res, "messages in doubt at the kill (sending)"), "the kill came mid-dispatch")
		require.Less(t, num(t, res, "messages final at the kill"), 3000.0)
		require.EqualValues(t, 3000, num(t, res, "messages delivered"))
		require.LessOrEqual(t, num(t, res, "provider: duplicate sends"), num(t, res, "messages in doubt at the kill (sending)"))

		res = run(t, "provider-outage")
		for _, way := range []string{"single provider: ", "with failover: "} {
			require.Positive(t, num(t, res, way+"requests answered 503"))
			require.EqualValues(t, 600, num(t, res, way+"messages delivered"))
			require.Zero(t, num(t, res, way+"provider: duplicate sends"))
			require.LessOrEqual(t, num(t, res, way+"attempts per message, max"), 5.0)
		}
		require.Positive(t, num(t, res, "single provider: messages retried (attempts > 1)"))
		require.Positive(t, num(t, res, "with failover: carried by tx (failover)"))
	})
	t.Run("db-restart", func(t *testing.T) {
		t.Parallel()
		res := run(t, "db-restart")
		require.Positive(t, num(t, res, "database down (s)"))
		require.Less(t, num(t, res, "messages accepted before the stop"), 1500.0, "the restart came mid-run")
		require.EqualValues(t, 1500, num(t, res, "messages delivered"))
	})
	t.Run("two-node", func(t *testing.T) {
		t.Parallel()
		res := run(t, "two-node")
		require.Positive(t, num(t, res, "node A: sends"))
		require.Positive(t, num(t, res, "node B: sends"))
		require.Zero(t, num(t, res, "provider: duplicate sends"))
		// The drill names the day it planned in the count's key; the day is the
		// drill's own (read at its start), which need not be today's when the
		// run crosses midnight in the bank's zone.
		var planKeys []string
		for k := range res.Counts {
			if strings.HasPrefix(k, "plan jobs of ") && strings.HasSuffix(k, " for the birthday rule") {
				planKeys = append(planKeys, k)
			}
		}
		require.Len(t, planKeys, 1, "%v", res.Counts)
		require.EqualValues(t, 1, num(t, res, planKeys[0]))
		require.Positive(t, num(t, res, "care tick takeover: kill to the survivor's first tick (s)"))
	})
}

func TestDrillArguments(t *testing.T) {
	t.Parallel()
	c := cli{t, "postgres://127.0.0.1:1/none"}
	ctx := context.Background()
	_, errOut, err := c.run(ctx, "drill", "flood")
	var ee *exitError
	require.True(t, errorsAs(err, &ee))
	require.Equal(t, 2, ee.code)
	require.Contains(t, err.Error(), `unknown drill "flood"`)
	require.Empty(t, errOut)

	_, _, err = c.run(ctx, "drill", "crash", "--recipients", "-5")
	require.True(t, errorsAs(err, &ee))
	require.Equal(t, 2, ee.code)

	// A binary that is not carillon is refused before anything starts.
	_, _, err = c.run(ctx, "drill", "crash", "--quick", "--bin", "/bin/true")
	require.Error(t, err)
	require.Contains(t, err.Error(), "is not carillon")
}
