package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/internal/pgtest"
	"carillon/internal/testlog"
)

// cli runs the carillon command in-process against one database.
type cli struct {
	t   *testing.T
	url string
}

func (c cli) run(ctx context.Context, args ...string) (string, string, error) {
	return c.runEnv(ctx, nil, args...)
}

// runEnv runs the CLI with more environment variables (CARILLON_TOKEN).
func (c cli) runEnv(ctx context.Context, more map[string]string, args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	env := map[string]string{"DATABASE_URL": c.url, "CARILLON_RESCUE_STUCK_JOBS_AFTER": "5s"}
	for k, v := range more {
		env[k] = v
	}
	err := run(ctx, args, &out, io.MultiWriter(&errb, testlog.Writer()), func(k string) string { return env[k] })
	return out.String(), errb.String(), err
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func TestMigrateImportAndReimport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := cli{t, pgtest.NewEmpty(t).URL}

	_, _, err := c.run(ctx, "migrate", "up")
	require.NoError(t, err)
	out, _, err := c.run(ctx, "migrate", "status", "--json")
	require.NoError(t, err)
	var st struct{ Pending []any }
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	require.Empty(t, st.Pending)

	mgr := writeTemp(t, "m.csv", "工号,姓名,团队,组长\nM1,王芳,east,M1\n")
	_, _, err = c.run(ctx, "import", "managers", mgr)
	require.NoError(t, err)

	file := writeTemp(t, "c.csv", "客户号,姓名,手机号,客户经理\nK1,甲,13812345678,M1\nK2,乙,13812345678999,M1\nK3,丙,13812345679,M9\n")
	out, _, err = c.run(ctx, "import", "contacts", file, "--json")
	require.NoError(t, err, "bad rows still exit 0")
	var rep map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.EqualValues(t, 3, rep["rows"])
	require.EqualValues(t, 1, rep["inserted"])
	require.EqualValues(t, 2, rep["failed"])
	errs := rep["errors"].([]any)
	require.Equal(t, map[string]any{"line": 3.0, "column": "手机号", "field": "phone", "message": errs[0].(map[string]any)["message"]}, errs[0])
	require.NotContains(t, out, "13812345678999", "the bad number is masked")

	out, _, err = c.run(ctx, "import", "contacts", file, "--json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.EqualValues(t, 0, rep["inserted"])
	require.EqualValues(t, 0, rep["updated"])
	require.EqualValues(t, 1, rep["unchanged"])

	out, _, err = c.run(ctx, "import", "contacts", file)
	require.NoError(t, err)
	require.Contains(t, out, "line 3, column 手机号")

	_, _, err = c.run(ctx, "import", "contacts", writeTemp(t, "empty.csv", ""))
	require.Error(t, err)
	require.Contains(t, err.Error(), "empty")
	var ee *exitError
	require.False(t, errorsAs(err, &ee), "an unreadable file exits 1, not a usage error")

	_, _, err = c.run(ctx, "import", "contacts", filepath.Join(t.TempDir(), "missing.csv"))
	require.ErrorContains(t, err, "no such file")
}

func TestServeRefusesAnUnmigratedDatabase(t *testing.T) {
	t.Parallel()
	c := cli{t, pgtest.NewEmpty(t).URL}
	_, _, err := c.run(context.Background(), "serve", "--addr", "127.0.0.1:0")
	require.ErrorContains(t, err, "refusing to serve")
	require.ErrorContains(t, err, "carillon migrate up")
}

func TestServeIsReadyAndStopsOnSignal(t *testing.T) {
	t.Parallel()
	db := pgtest.NewURL(t)
	e := newEnv(&bytes.Buffer{}, testlog.Writer(), func(k string) string { return map[string]string{"CARILLON_LOG_LEVEL": "debug"}[k] })
	pool := openTestPool(t, db.URL)
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, e, pool, serveOptions{addr: "127.0.0.1:0", ready: func(a string) { addrc <- a }, rescueAfter: 5 * time.Second})
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("serve ended early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	res, err := http.Get("http://" + addr + "/readyz")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode)

	cancel() // what SIGTERM does through signal.NotifyContext
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
	}
	_, err = http.Get("http://" + addr + "/readyz")
	require.Error(t, err, "the listener is closed")
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	c := cli{t, "postgres://unused"}
	for _, args := range [][]string{{}, {"nonsense"}, {"import"}, {"import", "people", "x.csv"}} {
		_, stderr, err := c.run(context.Background(), args...)
		var ee *exitError
		require.True(t, errorsAs(err, &ee), "%v", args)
		require.Equal(t, 2, ee.code)
		require.True(t, strings.Contains(stderr, "usage") || strings.Contains(stderr, "Usage"), stderr)
	}
}
