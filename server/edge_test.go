package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/audit"
	"carillon/server"
	"carillon/server/edge"
)

// A NUL character anywhere a string comes in is refused with a 400 that says
// so in both languages, before it reaches Postgres (where it was a 500).
func TestNULCharactersAreRefusedAtTheEdge(t *testing.T) {
	t.Parallel()
	errs := &errorCount{}
	b := setup(t, server.Config{RateLimit: -1, Logger: slog.New(errs)})
	for _, tc := range []struct {
		name, method, path, ctype, body string
	}{
		{"query", "GET", "/api/contacts?external_id=K%001", "", ""},
		{"audit filter", "GET", "/api/audit?actor=a%00b", "", ""},
		{"path", "GET", "/api/managers/M%001", "", ""},
		{"JSON string", "POST", "/api/contacts", "application/json", `{"external_id":"K9","name":"甲\u0000乙"}`},
		{"JSON key", "POST", "/api/managers", "application/json", `{"code\u0000":"M9"}`},
	} {
		var body *strings.Reader
		if tc.body != "" {
			body = strings.NewReader(tc.body)
		} else {
			body = strings.NewReader("")
		}
		r := b.do(t, tc.method, tc.path, tc.ctype, body)
		require.Equal(t, http.StatusBadRequest, r.status, "%s: %s", tc.name, r.body)
		var e struct {
			Error struct{ Code, Message string }
		}
		require.NoError(t, json.Unmarshal(r.body, &e), tc.name)
		require.Equal(t, "nul_character", e.Error.Code, tc.name)
		require.Equal(t, edge.NULMessage, e.Error.Message)
	}
	// An escaped backslash before u0000 is text, not a NUL.
	r := b.jsonReq(t, "POST", "/api/contacts", map[string]any{"external_id": "K9", "name": `a\u0000b`})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	// A console form with a NUL is refused too, in plain text.
	res, err := http.Post(b.url+"/console/login", "application/x-www-form-urlencoded", strings.NewReader("login=admin%00&password=x"))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	require.Zero(t, errs.n.Load(), "nothing for the error log")
}

// errorCount is a log handler that counts ERROR records.
type errorCount struct{ n atomic.Int64 }

func (e *errorCount) Enabled(context.Context, slog.Level) bool { return true }
func (e *errorCount) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		e.n.Add(1)
	}
	return nil
}
func (e *errorCount) WithAttrs([]slog.Attr) slog.Handler { return e }
func (e *errorCount) WithGroup(string) slog.Handler      { return e }

// API answers are never sniffed or cached; River UI and the unsubscribe page
// have a content security policy that forbids framing; none of it claims HSTS
// over plain HTTP from an untrusted peer.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Config{})
	const pw = "correct horse battery staple"
	require.NoError(t, b.ids.SetPassword(b.ctx, audit.Actor{Name: "test"}, "admin", pw))
	get := func(path string, basic bool, hdr map[string]string) http.Header {
		req, err := http.NewRequest("GET", b.url+path, nil)
		require.NoError(t, err)
		if basic {
			req.SetBasicAuth("admin", pw)
		} else {
			req.Header.Set("Authorization", "Bearer "+b.token)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res.Header
	}
	h := get("/api/me", false, nil)
	require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	require.Equal(t, "no-store", h.Get("Cache-Control"))
	h = get("/api/no-such-route", false, nil)
	require.Equal(t, "no-store", h.Get("Cache-Control"), "errors too")

	h = get("/riverui/", true, nil)
	require.Contains(t, h.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	require.Contains(t, h.Get("Content-Security-Policy"), "script-src 'self'")
	require.Equal(t, "DENY", h.Get("X-Frame-Options"))

	h = get("/u/some-token", false, nil)
	require.Contains(t, h.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	require.Contains(t, h.Get("Content-Security-Policy"), "default-src 'none'")
	require.Equal(t, "no-referrer", h.Get("Referrer-Policy"))

	h = get("/api/me", false, map[string]string{"X-Forwarded-Proto": "https"})
	require.Empty(t, h.Get("Strict-Transport-Security"), "no trusted proxy: the header is ignored")
}

// HSTS goes out over TLS, and behind a trusted proxy that says it ended TLS.
func TestHSTSOverTLSAndFromTrustedProxies(t *testing.T) {
	t.Parallel()
	proxies, err := edge.ParseProxies([]string{"127.0.0.1", "::1"})
	require.NoError(t, err)
	b := setup(t, server.Config{TrustedProxies: proxies})
	req, err := http.NewRequest("GET", b.url+"/api/me", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("X-Forwarded-Proto", "https")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, edge.HSTS, res.Header.Get("Strict-Transport-Security"))
	req.Header.Set("X-Forwarded-Proto", "http")
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Empty(t, res.Header.Get("Strict-Transport-Security"))
}
