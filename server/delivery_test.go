package server_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"carillon/care"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/internal/pgtest"
	"carillon/internal/testlog"
	"carillon/server"
)

// deliverySetup serves the API with a delivery service (no providers: nothing is
// sent; these tests look at the API, the stops and the unsubscribe link).
func deliverySetup(t *testing.T) (*bundle, *delivery.Service) {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	clk := newClock()
	store, err := contacts.NewStore(db.Pool, contacts.Config{Logger: testlog.New(t), Now: clk.Now})
	require.NoError(t, err)
	ids, err := identity.NewStore(db.Pool, identity.Config{Now: clk.Now})
	require.NoError(t, err)
	svc, err := delivery.New(db.Pool, delivery.Config{Logger: testlog.New(t), Now: clk.Now}, delivery.Deps{})
	require.NoError(t, err)
	rc, err := river.NewClient[pgx.Tx](riverpgxv5.New(db.Pool), &river.Config{Test: river.TestConfig{Time: clk}})
	require.NoError(t, err)
	s, err := server.New(server.Config{Logger: testlog.New(t), RateLimit: -1, Now: clk.Now}, server.Deps{Pool: db.Pool, Contacts: store, River: rc, Auth: ids, Delivery: svc})
	require.NoError(t, err)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	b := &bundle{ctx: ctx, url: ts.URL, db: db, store: store, ids: ids, clock: clk}
	b.token = b.newUser(t, "admin", "", identity.RoleAdmin)
	_, err = store.ImportContacts(ctx, strings.NewReader("external_id,name,phone,email,consent_email\nK1,甲,13812345671,k1@example.com,yes\n"),
		contacts.ImportOptions{Actor: audit.Actor{Name: "test"}})
	require.NoError(t, err)
	return b, svc
}

func TestMessagesAPIIsIdempotent(t *testing.T) {
	t.Parallel()
	b, _ := deliverySetup(t)
	req := map[string]any{"external_id": "K1", "template": "birthday", "purpose": "service", "channels": []string{"sms"}, "idempotency_key": "k-1"}
	r := b.jsonReq(t, "POST", "/api/messages", req)
	require.Equal(t, 202, r.status, string(r.body))
	id := r.json(t)["id"]
	r = b.jsonReq(t, "POST", "/api/messages", req)
	require.Equal(t, 200, r.status)
	require.Equal(t, true, r.json(t)["duplicate"])
	require.Equal(t, id, r.json(t)["id"], "the same key never sends twice")

	r = b.do(t, "GET", fmt.Sprintf("/api/messages/%v", id), "", nil)
	require.Equal(t, 200, r.status)
	require.Equal(t, "queued", r.json(t)["status"])

	delete(req, "idempotency_key")
	require.Equal(t, 400, b.jsonReq(t, "POST", "/api/messages", req).status)
	req["idempotency_key"], req["channels"] = "k-2", []string{"fax"}
	r = b.jsonReq(t, "POST", "/api/messages", req)
	require.Equal(t, 400, r.status)
	require.Contains(t, string(r.body), "fax")
}

func TestStopsThroughTheAPI(t *testing.T) {
	t.Parallel()
	b, _ := deliverySetup(t)
	require.Equal(t, 200, b.jsonReq(t, "POST", "/api/stops", map[string]any{"channel": "sms", "reason": "incident"}).status)
	r := b.do(t, "GET", "/api/stops", "", nil)
	require.Contains(t, string(r.body), `"scope":"channel:sms"`)
	require.Equal(t, 400, b.jsonReq(t, "POST", "/api/stops", map[string]any{"channel": "sms", "provider": "x"}).status)
	require.Equal(t, 200, b.do(t, "DELETE", "/api/stops?channel=sms", "", nil).status)
	require.Equal(t, 404, b.do(t, "DELETE", "/api/stops?channel=sms", "", nil).status)
	var n int
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT count(*) FROM audit_log WHERE action IN ('sending.stop', 'sending.resume')`).Scan(&n))
	require.Equal(t, 2, n, "stops are audited")
}

func TestOneClickUnsubscribe(t *testing.T) {
	t.Parallel()
	b, svc := deliverySetup(t)
	r := b.jsonReq(t, "POST", "/api/messages", map[string]any{"external_id": "K1", "template": "birthday", "purpose": "marketing",
		"channels": []string{"email"}, "idempotency_key": "u-1"})
	require.Equal(t, 202, r.status)
	id := int64(r.json(t)["id"].(float64))
	tok := svc.Links().Token(delivery.LinkUnsubscribe, id)

	page := b.as("").do(t, "GET", "/u/"+tok, "", nil)
	require.Equal(t, 200, page.status)
	require.Contains(t, string(page.body), "<form method=\"post\">")
	done := b.as("").do(t, "POST", "/u/"+tok, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	require.Equal(t, 200, done.status)
	k1, err := b.store.GetByExternalID(b.ctx, "K1")
	require.NoError(t, err)
	cons, err := b.store.Consents(b.ctx, k1.ID)
	require.NoError(t, err)
	require.Len(t, cons, 1)
	require.False(t, cons[0].Granted)
	require.Equal(t, "unsubscribe_link", cons[0].Source)

	require.Equal(t, 404, b.as("").do(t, "POST", "/u/"+tok[:len(tok)-3]+"AAA", "", nil).status, "a forged link does nothing")
	require.Equal(t, 404, b.as("").do(t, "POST", "/hooks/aliyun/nope/receipts", "application/json", strings.NewReader("[]")).status)
}

func TestCareRulesAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	store, err := contacts.NewStore(db.Pool, contacts.Config{})
	require.NoError(t, err)
	ids, err := identity.NewStore(db.Pool, identity.Config{})
	require.NoError(t, err)
	svc, err := delivery.New(db.Pool, delivery.Config{}, delivery.Deps{})
	require.NoError(t, err)
	planner, err := care.New(db.Pool, svc, care.Config{})
	require.NoError(t, err)
	s, err := server.New(server.Config{Logger: testlog.New(t), RateLimit: -1}, server.Deps{Pool: db.Pool, Contacts: store, Auth: ids, Delivery: svc, Care: planner})
	require.NoError(t, err)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	b := &bundle{ctx: ctx, url: ts.URL, db: db, store: store, ids: ids}
	b.token = b.newUser(t, "admin", "", identity.RoleAdmin)
	marketer := b.newUser(t, "mk", "", identity.RoleMarketer)

	r := b.as(marketer).do(t, "GET", "/api/care-rules", "", nil)
	require.Equal(t, 200, r.status)
	require.Contains(t, string(r.body), `"key":"birthday"`)
	require.Equal(t, 403, b.as(marketer).jsonReq(t, "PATCH", "/api/care-rules/birthday", map[string]any{"enabled": false}).status)
	r = b.jsonReq(t, "PATCH", "/api/care-rules/birthday", map[string]any{"schedule": "at dawn"})
	require.Equal(t, 400, r.status)
	require.Contains(t, string(r.body), "cron")
	r = b.jsonReq(t, "PATCH", "/api/care-rules/birthday", map[string]any{"enabled": false})
	require.Equal(t, 200, r.status)
	require.Equal(t, false, r.json(t)["enabled"])
	require.Equal(t, 404, b.jsonReq(t, "PATCH", "/api/care-rules/nope", map[string]any{"enabled": true}).status)
	r = b.do(t, "GET", "/api/audit?object_type=care_rule&object_id=birthday", "", nil)
	require.Contains(t, string(r.body), `"care_rule.update"`, "the change is in the rule's history")

	// A date-field rule of the bank's own: checked, then created.
	r = b.jsonReq(t, "POST", "/api/care-rules", map[string]any{"key": "loan due", "field": "loan_due", "template": "deposit_maturity"})
	require.Equal(t, 400, r.status)
	require.Contains(t, string(r.body), `key \"loan due\"`)
	require.Equal(t, 403, b.as(marketer).jsonReq(t, "POST", "/api/care-rules", map[string]any{"key": "loan_due"}).status)
	r = b.jsonReq(t, "POST", "/api/care-rules", map[string]any{"key": "loan_due", "field": "loan_due", "offset_days": -3, "template": "deposit_maturity"})
	require.Equal(t, 201, r.status, string(r.body))
	require.Equal(t, "date_field", r.json(t)["kind"])
	require.Equal(t, 409, b.jsonReq(t, "POST", "/api/care-rules", map[string]any{"key": "loan_due", "field": "loan_due", "template": "deposit_maturity"}).status)
	r = b.as(marketer).do(t, "GET", "/api/care-rules/loan_due", "", nil)
	require.Equal(t, 200, r.status)
	r = b.as(marketer).do(t, "GET", "/api/care-rules/birthday/stats?from=2027-01-01&to=2027-01-31", "", nil)
	require.Equal(t, 200, r.status, string(r.body))
	require.Contains(t, string(r.body), `"days":[]`)
	require.Equal(t, 400, b.do(t, "GET", "/api/care-rules/birthday/stats?from=2027-13-01", "", nil).status)
	require.Equal(t, 404, b.do(t, "GET", "/api/care-rules/nope/stats", "", nil).status)
}

// A message sent through the API may carry a deadline; one already past is refused.
func TestMessagesAPITakesADeadline(t *testing.T) {
	t.Parallel()
	b, _ := deliverySetup(t)
	now := b.clock.Now()
	req := map[string]any{"external_id": "K1", "template": "birthday", "purpose": "service", "channels": []string{"sms"}, "idempotency_key": "d-1",
		"deadline": now.Add(-time.Minute).Format(time.RFC3339)}
	r := b.jsonReq(t, "POST", "/api/messages", req)
	require.Equal(t, 400, r.status)
	require.Contains(t, string(r.body), "not in the future")

	until := now.Add(2 * time.Hour).Truncate(time.Second)
	req["deadline"] = until.Format(time.RFC3339)
	r = b.jsonReq(t, "POST", "/api/messages", req)
	require.Equal(t, 202, r.status, string(r.body))
	var got time.Time
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT deadline FROM messages WHERE id = $1`, int64(r.json(t)["id"].(float64))).Scan(&got))
	require.True(t, until.Equal(got), "%s vs %s", until, got)
}

// An idempotency key reused with a different request is refused, as payment
// APIs do; the same request (even naming the contact another way) keeps getting
// the first answer, and nothing more is enqueued.
func TestIdempotencyKeyReusedForAnotherRequestIs409(t *testing.T) {
	t.Parallel()
	b, _ := deliverySetup(t)
	req := map[string]any{"external_id": "K1", "template": "birthday", "purpose": "service", "channels": []string{"sms"},
		"vars": map[string]any{"a": 1, "b": "x"}, "idempotency_key": "reuse-1"}
	r := b.jsonReq(t, "POST", "/api/messages", req)
	require.Equal(t, 202, r.status, string(r.body))
	id := r.json(t)["id"]

	c, err := b.store.GetByExternalID(b.ctx, "K1")
	require.NoError(t, err)
	same := map[string]any{"contact_id": c.ID, "template": "birthday", "purpose": "service", "channels": []string{"sms"},
		"vars": map[string]any{"b": "x", "a": 1.0}, "idempotency_key": "reuse-1"}
	r = b.jsonReq(t, "POST", "/api/messages", same)
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, true, r.json(t)["duplicate"])
	require.Equal(t, id, r.json(t)["id"])

	for name, change := range map[string]func(m map[string]any){
		"vars":     func(m map[string]any) { m["vars"] = map[string]any{"a": 2, "b": "x"} },
		"channels": func(m map[string]any) { m["channels"] = []string{"email", "sms"} },
		"template": func(m map[string]any) { m["template"] = "deposit_maturity" },
	} {
		other := map[string]any{}
		for k, v := range req {
			other[k] = v
		}
		change(other)
		r = b.jsonReq(t, "POST", "/api/messages", other)
		require.Equal(t, 409, r.status, name)
		require.Equal(t, "idempotency_key_reused", r.json(t)["error"].(map[string]any)["code"], name)
	}
	var n int
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT count(*) FROM messages`).Scan(&n))
	require.Equal(t, 1, n, "nothing more was enqueued")
}
