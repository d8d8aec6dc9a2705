package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/pgtest"
)

// The whole loop, headless: load, serve with every sandbox, play today, wait
// for every message to settle, unsubscribe through a link, and check the
// timelines against the outbox. The check makes and drops a database of its
// own on the test's server.
func TestDemoCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo check is left out of the fast tier (go test -short)")
	}
	t.Parallel()
	c := cli{t, pgtest.New(t).URL}
	out, _, err := c.run(context.Background(), "demo", "--check", "--contacts", "1500", "--wait", "20s")
	require.NoError(t, err, out)
	require.Contains(t, out, "demo policy: quiet hours and frequency caps are off")
	require.Contains(t, out, "unsubscribes by link: 1")
	require.Contains(t, out, "demo --check: passed")
}
