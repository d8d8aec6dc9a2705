package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"carillon/contacts"
	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/internal/pgtest"
	"carillon/internal/testclock"
	"carillon/internal/testlog"
	"carillon/server"
)

type bundle struct {
	ctx   context.Context
	url   string
	db    *pgtest.DB
	store *contacts.Store
	ids   *identity.Store
	token string // sent as the bearer token; the admin's unless changed with as
	// clock is the world's one clock (the services', the server's and River's),
	// running from a working Monday at 10:00 in Shanghai.
	clock *testclock.Clock
}

// newClock is a world's clock.
func newClock() *testclock.Clock { return testclock.Running(testclock.Base()) }

func setup(t *testing.T, cfg server.Config) *bundle {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	clk := newClock()
	store, err := contacts.NewStore(db.Pool, contacts.Config{Logger: testlog.New(t), Now: clk.Now})
	require.NoError(t, err)
	ids, err := identity.NewStore(db.Pool, identity.Config{Now: clk.Now})
	require.NoError(t, err)
	rc, err := river.NewClient[pgx.Tx](riverpgxv5.New(db.Pool), &river.Config{Test: river.TestConfig{Time: clk}})
	require.NoError(t, err)
	if cfg.Logger == nil {
		cfg.Logger = testlog.New(t)
	}
	cfg.Now = clk.Now
	s, err := server.New(cfg, server.Deps{Pool: db.Pool, Contacts: store, River: rc, Auth: ids})
	require.NoError(t, err)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	b := &bundle{ctx: ctx, url: ts.URL, db: db, store: store, ids: ids, clock: clk}
	b.token = b.newUser(t, "admin", "", identity.RoleAdmin)
	return b
}

// newUser creates a user with roles (and a manager code for the manager role) and
// returns a token of theirs.
func (b *bundle) newUser(t *testing.T, login, managerCode string, roles ...identity.Role) string {
	t.Helper()
	actor := audit.Actor{Name: "test"}
	_, err := b.ids.CreateUser(b.ctx, actor, identity.NewUser{Login: login, DisplayName: login, Roles: roles, ManagerCode: managerCode})
	require.NoError(t, err)
	secret, _, err := b.ids.CreateToken(b.ctx, actor, login, "test", nil)
	require.NoError(t, err)
	return secret
}

// as returns a copy of the bundle that sends token.
func (b *bundle) as(token string) *bundle {
	c := *b
	c.token = token
	return &c
}

type resp struct {
	status int
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), string(r.body))
	return m
}

func (b *bundle) do(t *testing.T, method, path, ctype string, body io.Reader) resp {
	t.Helper()
	req, err := http.NewRequest(method, b.url+path, body)
	require.NoError(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if b.token != "" {
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return resp{res.StatusCode, data}
}

func (b *bundle) jsonReq(t *testing.T, method, path string, v any) resp {
	t.Helper()
	var body io.Reader
	if v != nil {
		data, err := json.Marshal(v)
		require.NoError(t, err)
		body = bytes.NewReader(data)
	}
	return b.do(t, method, path, "application/json", body)
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Config{})
	require.Equal(t, 200, b.do(t, "GET", "/healthz", "", nil).status)
	r := b.do(t, "GET", "/readyz", "", nil)
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, "ready", r.json(t)["status"])
	m := b.do(t, "GET", "/metrics", "", nil)
	require.Equal(t, 200, m.status)
	require.Contains(t, string(m.body), "carillon_river_jobs")
	require.Equal(t, 200, b.do(t, "GET", "/riverui/", "", nil).status)
	require.Equal(t, 401, b.as("").do(t, "GET", "/riverui/", "", nil).status)
}

func TestReadinessFailsWhenTheDatabaseIsGone(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Config{})
	b.db.Pool.Close()
	require.Equal(t, http.StatusServiceUnavailable, b.do(t, "GET", "/readyz", "", nil).status)
}

func TestContactLifecycleThroughTheAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Config{})
	r := b.jsonReq(t, "POST", "/api/managers", map[string]any{"code": "M1", "name": "王芳", "team": "east"})
	require.Equal(t, 201, r.status, string(r.body))

	r = b.jsonReq(t, "POST", "/api/contacts", map[string]any{"external_id": "A1", "name": "张伟", "phone": "13812345678", "tier": "B", "manager": "M1",
		"lunar_birthday": "闰04-08", "consents": map[string]bool{"sms": true}})
	require.Equal(t, 201, r.status, string(r.body))
	c := r.json(t)
	id := int64(c["id"].(float64))
	require.Equal(t, "+8613812345678", c["phone"])
	require.Equal(t, map[string]any{"calendar": "lunar", "lunar_month": float64(4), "lunar_day": float64(8), "lunar_leap": true}, c["birthday"])

	require.Equal(t, 409, b.jsonReq(t, "POST", "/api/contacts", map[string]any{"external_id": "A1"}).status)

	r = b.jsonReq(t, "PATCH", fmt.Sprintf("/api/contacts/%d", id), map[string]any{"tier": "A", "clear": []string{"manager"}})
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, "A", r.json(t)["tier"])
	require.Nil(t, r.json(t)["manager"])

	r = b.jsonReq(t, "PUT", fmt.Sprintf("/api/contacts/%d/consents", id), map[string]any{"channel": "sms", "purpose": "marketing", "granted": false, "reason": "asked by phone"})
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, true, r.json(t)["changed"])

	r = b.do(t, "GET", fmt.Sprintf("/api/contacts/%d/timeline", id), "", nil)
	require.Equal(t, 200, r.status)
	var page struct {
		Items []contacts.Event `json:"items"`
	}
	require.NoError(t, json.Unmarshal(r.body, &page))
	var kinds []string
	for _, e := range page.Items {
		kinds = append(kinds, e.Kind)
		require.NotContains(t, string(e.Data), "13812345678")
		require.Equal(t, "api:admin", e.Actor)
	}
	require.Equal(t, []string{"consent.changed", "contact.updated", "contact.created"}, kinds, "newest first")
	require.Contains(t, string(page.Items[1].Data), `"manager":{"from":"M1"}`)
	require.Contains(t, string(page.Items[1].Data), `"fields":["tier","manager"]`)

	r = b.do(t, "GET", fmt.Sprintf("/api/contacts/%d/timeline?kind=consent.", id), "", nil)
	require.NoError(t, json.Unmarshal(r.body, &page))
	require.Len(t, page.Items, 1)

	require.Equal(t, 204, b.do(t, "DELETE", fmt.Sprintf("/api/contacts/%d", id), "", nil).status)
	r = b.do(t, "GET", fmt.Sprintf("/api/contacts/%d", id), "", nil)
	require.Equal(t, 200, r.status)
	erased := r.json(t)
	require.NotNil(t, erased["erased_at"])
	require.Nil(t, erased["phone"])
	require.Nil(t, erased["name"])
	require.Equal(t, 410, b.jsonReq(t, "PATCH", fmt.Sprintf("/api/contacts/%d", id), map[string]any{"tier": "C"}).status)
}

func TestBadInputGetsClearErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Config{MaxBodyBytes: 4096})
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		code, contains                  string
	}{
		{"bad phone", "POST", "/api/contacts", "application/json", `{"external_id":"X","phone":"12"}`, 400, "invalid", "phone"},
		{"unknown field", "POST", "/api/contacts", "application/json", `{"external_id":"X","teir":"A"}`, 400, "bad_request", "teir"},
		{"not json", "POST", "/api/contacts", "application/json", `{`, 400, "bad_request", "request body"},
		{"form post", "POST", "/api/contacts", "application/x-www-form-urlencoded", `a=b`, 415, "unsupported_media_type", "application/json"},
		{"too large", "POST", "/api/contacts", "application/json", `{"external_id":"` + strings.Repeat("x", 5000) + `"}`, 413, "too_large", "4096"},
		{"unknown contact", "GET", "/api/contacts/999", "", "", 404, "not_found", ""},
		{"not an id", "GET", "/api/contacts/abc", "", "", 404, "not_found", ""},
		{"unknown route", "GET", "/api/nothing", "", "", 404, "not_found", "no such API route"},
		{"bad cursor", "GET", "/api/contacts?cursor=zz", "", "", 400, "bad_cursor", ""},
		{"unknown manager", "POST", "/api/contacts", "application/json", `{"external_id":"X","manager":"NOPE"}`, 400, "invalid", "NOPE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := b.do(t, tc.method, tc.path, tc.ctype, strings.NewReader(tc.body))
			require.Equal(t, tc.status, r.status, string(r.body))
			e := r.json(t)["error"].(map[string]any)
			require.Equal(t, tc.code, e["code"])
			require.Contains(t, e["message"], tc.contains)
		})
	}
	var n int
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT count(*) FROM contacts`).Scan(&n))
	require.Zero(t, n, "nothing was written by bad requests")
}

func TestImportEndpointStreamsCSVAndMultipart(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Config{MaxBodyBytes: 4096})
	csv := "external_id,name,phone\nI1,甲,13812345678\nI2,乙,bad\n"
	r := b.do(t, "POST", "/api/contacts/import", "text/csv", strings.NewReader(csv))
	require.Equal(t, 200, r.status, string(r.body))
	var rep contacts.ImportReport
	require.NoError(t, json.Unmarshal(r.body, &rep))
	require.Equal(t, 1, rep.Inserted)
	require.Equal(t, []contacts.RowError{{Line: 3, Column: "phone", Field: "phone", Message: rep.Errors[0].Message}}, rep.Errors)

	// Bigger than the JSON cap: the import has its own.
	var big strings.Builder
	big.WriteString("external_id,name\n")
	for i := range 500 {
		fmt.Fprintf(&big, "B%04d,客户%d\n", i, i)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "contacts.csv")
	require.NoError(t, err)
	_, _ = fw.Write([]byte(big.String()))
	require.NoError(t, mw.Close())
	require.Greater(t, body.Len(), 4096)
	r = b.do(t, "POST", "/api/contacts/import", mw.FormDataContentType(), &body)
	require.Equal(t, 200, r.status, string(r.body))
	require.NoError(t, json.Unmarshal(r.body, &rep))
	require.Equal(t, 500, rep.Inserted)

	r = b.do(t, "POST", "/api/contacts/import", "text/csv", strings.NewReader(""))
	require.Equal(t, 400, r.status)
	require.Equal(t, "unreadable", r.json(t)["error"].(map[string]any)["code"])
}

func TestImportEndpointSizeLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Config{MaxBodyBytes: 1024, MaxImportBytes: 2048})
	var big strings.Builder
	big.WriteString("external_id,name\n")
	for i := range 500 {
		fmt.Fprintf(&big, "B%04d,客户%d\n", i, i)
	}
	r := b.do(t, "POST", "/api/contacts/import", "text/csv", strings.NewReader(big.String()))
	require.Equal(t, 413, r.status, string(r.body))
}

func TestListPagingAndFilters(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Config{})
	var csv strings.Builder
	csv.WriteString("external_id,tier,tags\n")
	for i := range 25 {
		fmt.Fprintf(&csv, "P%02d,%c,%s\n", i, "AB"[i%2], map[bool]string{true: "vip", false: "wealth"}[i%5 == 0])
	}
	r := b.do(t, "POST", "/api/contacts/import", "text/csv", strings.NewReader(csv.String()))
	require.Equal(t, 200, r.status)
	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		r := b.do(t, "GET", "/api/contacts?tier=A&limit=5&cursor="+cursor, "", nil)
		require.Equal(t, 200, r.status, string(r.body))
		var page contacts.Page[contacts.Contact]
		require.NoError(t, json.Unmarshal(r.body, &page))
		pages++
		for _, c := range page.Items {
			require.Equal(t, "A", c.Tier)
			require.False(t, seen[c.ExternalID], "no contact twice across pages")
			seen[c.ExternalID] = true
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	require.Len(t, seen, 13)
	require.Equal(t, 3, pages)
	r = b.do(t, "GET", "/api/contacts?tag=vip", "", nil)
	var page contacts.Page[contacts.Contact]
	require.NoError(t, json.Unmarshal(r.body, &page))
	require.Len(t, page.Items, 5)
}

func serverConfigNoLimit() server.Config { return server.Config{RateLimit: -1} }

func serverConfigLimit(rate float64, burst int) server.Config {
	return server.Config{RateLimit: rate, RateBurst: burst}
}
