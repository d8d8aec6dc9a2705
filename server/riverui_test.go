package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/audit"
	"carillon/server"
	"carillon/server/edge"
)

// riverUI sends a request to River UI with Basic credentials.
func (b *bundle) riverUI(t *testing.T, method, path, login, pw, body string) *http.Response {
	t.Helper()
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	} else {
		rd = strings.NewReader("")
	}
	req, err := http.NewRequest(method, b.url+path, rd)
	require.NoError(t, err)
	req.SetBasicAuth(login, pw)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res
}

// Guessing an administrator's password through River UI's Basic auth meets
// the console's throttle; the lockout is audited.
func TestRiverUIBasicAuthIsThrottled(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Config{})
	const pw = "correct horse battery staple"
	require.NoError(t, b.ids.SetPassword(b.ctx, audit.Actor{Name: "test"}, "admin", pw))
	require.Equal(t, http.StatusOK, b.riverUI(t, "GET", "/riverui/", "admin", pw, "").StatusCode)
	codes := map[int]int{}
	for i := range 12 {
		codes[b.riverUI(t, "GET", "/riverui/", "admin", fmt.Sprintf("guess %d", i), "").StatusCode]++
	}
	require.Equal(t, edge.DefaultFreeFailures+1, codes[http.StatusUnauthorized])
	require.Equal(t, 12-edge.DefaultFreeFailures-1, codes[http.StatusTooManyRequests])
	res := b.riverUI(t, "GET", "/riverui/", "admin", pw, "")
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode, "the right password waits out the lock too")
	require.NotEmpty(t, res.Header.Get("Retry-After"))

	recs, _, err := audit.List(b.ctx, b.db.Pool, audit.Filter{Action: "riverui.sign_in_locked"})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, "admin", recs[0].ObjectID)
	require.Equal(t, "127.0.0.1", recs[0].RemoteAddr)
}

// Every River UI write is audited with its user, method, path, status and job
// ids; reads are not.
func TestRiverUIWritesAreAudited(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Config{})
	const pw = "correct horse battery staple"
	require.NoError(t, b.ids.SetPassword(b.ctx, audit.Actor{Name: "test"}, "admin", pw))
	require.Equal(t, http.StatusOK, b.riverUI(t, "GET", "/riverui/api/jobs?state=available", "admin", pw, "").StatusCode)
	b.riverUI(t, "POST", "/riverui/api/jobs/cancel", "admin", pw, `{"job_ids":["41","42"]}`)

	recs, _, err := audit.List(b.ctx, b.db.Pool, audit.Filter{Action: "riverui."})
	require.NoError(t, err)
	require.Len(t, recs, 1, "the read is not audited, the write is")
	require.Equal(t, "riverui.POST /riverui/api/jobs/cancel", recs[0].Action)
	require.Equal(t, "riverui:admin", recs[0].Actor)
	require.Equal(t, audit.AuthPassword, recs[0].Auth)
	require.Contains(t, string(recs[0].Changes), `"job_ids": [41, 42]`)
	require.Contains(t, string(recs[0].Changes), `"status":`)

	// A refused write (no credentials) is not River UI's to audit.
	req, err := http.NewRequest("POST", b.url+"/riverui/api/jobs/cancel", strings.NewReader(`{"job_ids":["1"]}`))
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	recs, _, err = audit.List(b.ctx, b.db.Pool, audit.Filter{Action: "riverui."})
	require.NoError(t, err)
	require.Len(t, recs, 1)
}
