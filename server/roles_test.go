package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/contacts"
	"carillon/internal/audit"
	"carillon/internal/identity"
)

type world struct {
	*bundle
	ids    map[string]int64  // contact external id -> id
	tokens map[string]string // user -> token
}

// newWorld: two teams; M1 leads east (M1, M2), M3 leads south. Contacts K1 (M1), K2
// (M2), K3 (M3). One user per role, and a manager user for each manager.
func newWorld(t *testing.T) *world {
	b := setup(t, serverConfigNoLimit())
	r := b.do(t, "POST", "/api/managers/import", "text/csv", strings.NewReader("code,name,team,lead\nM1,王芳,east,M1\nM2,李强,east,M1\nM3,赵敏,south,M3\n"))
	require.Equal(t, 200, r.status, string(r.body))
	r = b.do(t, "POST", "/api/contacts/import", "text/csv", strings.NewReader(
		"external_id,name,phone,email,manager\nK1,甲,13812345671,k1@example.com,M1\nK2,乙,13812345672,k2@example.com,M2\nK3,丙,13812345673,k3@example.com,M3\n"))
	require.Equal(t, 200, r.status, string(r.body))
	w := &world{bundle: b, ids: map[string]int64{}, tokens: map[string]string{"admin": b.token}}
	for _, ext := range []string{"K1", "K2", "K3"} {
		c, err := b.store.GetByExternalID(b.ctx, ext)
		require.NoError(t, err)
		w.ids[ext] = c.ID
	}
	w.tokens["marketer"] = b.newUser(t, "marketer", "", identity.RoleMarketer)
	w.tokens["approver"] = b.newUser(t, "approver", "", identity.RoleApprover)
	w.tokens["auditor"] = b.newUser(t, "auditor", "", identity.RoleAuditor)
	w.tokens["mgr1"] = b.newUser(t, "mgr1", "M1", identity.RoleManager)
	w.tokens["mgr2"] = b.newUser(t, "mgr2", "M2", identity.RoleManager)
	w.tokens["mgr3"] = b.newUser(t, "mgr3", "M3", identity.RoleManager)
	return w
}

func (w *world) path(p string) string {
	for ext, id := range w.ids {
		p = strings.ReplaceAll(p, "{"+ext+"}", fmt.Sprint(id))
	}
	return p
}

// The role x endpoint table, run against the real server. Each cell is the status
// that user gets; a manager asking for another manager's customer gets 404.
func TestRoleEndpointTable(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	users := []string{"admin", "marketer", "approver", "auditor", "mgr1", "mgr2", "mgr3"}
	type row struct {
		method, path, body string
		want               [7]int
	}
	csv := "external_id,name\nNEW1,新\n"
	table := []row{
		{"GET", "/api/contacts", "", [7]int{200, 200, 200, 200, 200, 200, 200}},
		{"GET", "/api/contacts/{K2}", "", [7]int{200, 200, 200, 200, 200, 200, 404}},
		{"GET", "/api/contacts/{K3}", "", [7]int{200, 200, 200, 200, 404, 404, 200}},
		{"GET", "/api/contacts/{K1}/timeline", "", [7]int{200, 200, 200, 200, 200, 404, 404}},
		{"GET", "/api/contacts/{K1}/consents", "", [7]int{200, 200, 200, 200, 200, 404, 404}},
		{"GET", "/api/contacts/{K1}/export", "", [7]int{200, 403, 403, 403, 403, 403, 403}},
		{"POST", "/api/contacts", `{"external_id":"X-%s"}`, [7]int{201, 403, 403, 403, 403, 403, 403}},
		{"PATCH", "/api/contacts/{K2}", `{"tier":"A"}`, [7]int{200, 403, 403, 403, 200, 200, 404}},
		{"PATCH", "/api/contacts/{K2}", `{"name":"改名"}`, [7]int{200, 403, 403, 403, 403, 403, 404}},
		{"PUT", "/api/contacts/{K1}/consents", `{"channel":"email","purpose":"marketing","granted":true}`, [7]int{200, 403, 403, 403, 403, 403, 403}},
		{"POST", "/api/contacts/import", csv, [7]int{200, 403, 403, 403, 403, 403, 403}},
		{"GET", "/api/managers", "", [7]int{200, 200, 200, 200, 200, 200, 200}},
		{"GET", "/api/managers/M1", "", [7]int{200, 200, 200, 200, 200, 200, 200}},
		{"POST", "/api/managers", `{"code":"N-%s","name":"新经理"}`, [7]int{201, 403, 403, 403, 403, 403, 403}},
		{"GET", "/api/audit", "", [7]int{200, 403, 403, 200, 403, 403, 403}},
		{"GET", "/api/me", "", [7]int{200, 200, 200, 200, 200, 200, 200}},
		{"DELETE", "/api/contacts/{K3}", "", [7]int{403, 403, 403, 403, 403, 403, 403}}, // admin last, below
	}
	for _, r := range table {
		for i, u := range users {
			if r.method == "DELETE" && u == "admin" {
				continue
			}
			want := r.want[i]
			body, ctype := r.body, "application/json"
			if strings.Contains(body, "%s") {
				body = fmt.Sprintf(body, u)
			}
			if strings.HasSuffix(r.path, "/import") {
				ctype = "text/csv"
			}
			got := w.as(w.tokens[u]).do(t, r.method, w.path(r.path), ctype, strings.NewReader(body))
			require.Equal(t, want, got.status, "%s %s as %s: %s", r.method, r.path, u, got.body)
		}
	}
	require.Equal(t, 204, w.do(t, "DELETE", w.path("/api/contacts/{K3}"), "", nil).status)

	// No token, a wrong token: 401 on every /api route.
	for _, tok := range []string{"", "crl_notatoken"} {
		for _, r := range table {
			got := w.as(tok).do(t, r.method, w.path(r.path), "application/json", strings.NewReader(r.body))
			require.Equal(t, 401, got.status, "%s %s with token %q", r.method, r.path, tok)
		}
	}
}

func TestManagersSeeTheirScopeFilteredInSQL(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	list := func(user string) []string {
		r := w.as(w.tokens[user]).do(t, "GET", "/api/contacts?limit=1", "", nil)
		require.Equal(t, 200, r.status)
		var page contacts.Page[contacts.Contact]
		require.NoError(t, json.Unmarshal(r.body, &page))
		var ids []string
		for _, c := range page.Items {
			ids = append(ids, c.ExternalID)
		}
		// A one-item page that is already filtered: paging never reveals others.
		if page.Next != "" {
			r := w.as(w.tokens[user]).do(t, "GET", "/api/contacts?limit=10&cursor="+page.Next, "", nil)
			require.NoError(t, json.Unmarshal(r.body, &page))
			for _, c := range page.Items {
				ids = append(ids, c.ExternalID)
			}
		}
		return ids
	}
	require.Equal(t, []string{"K1", "K2"}, list("mgr1"), "a team lead sees the team")
	require.Equal(t, []string{"K2"}, list("mgr2"))
	require.Equal(t, []string{"K3"}, list("mgr3"))
	r := w.as(w.tokens["mgr2"]).do(t, "GET", "/api/contacts?external_id=K1", "", nil)
	require.JSONEq(t, `{"items":[]}`, string(r.body), "looking up another manager's customer by number finds nothing")
}

func TestPersonalDataIsMaskedForRolesThatMayNotSeeIt(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	get := func(user string) contacts.Contact {
		r := w.as(w.tokens[user]).do(t, "GET", w.path("/api/contacts/{K1}"), "", nil)
		require.Equal(t, 200, r.status)
		var c contacts.Contact
		require.NoError(t, json.Unmarshal(r.body, &c))
		return c
	}
	require.Equal(t, "+8613812345671", get("admin").Phone)
	require.Equal(t, "+8613812345671", get("mgr1").Phone, "a manager calls their customers")
	for _, u := range []string{"marketer", "approver", "auditor"} {
		c := get(u)
		require.Equal(t, "138****5671", c.Phone, u)
		require.Equal(t, "k***@example.com", c.Email, u)
	}
}

func TestADisabledUserIsRefusedAtOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	require.Equal(t, 200, w.as(w.tokens["mgr2"]).do(t, "GET", "/api/contacts", "", nil).status)
	require.NoError(t, w.ids_().DisableUser(w.ctx, audit.Actor{Name: "test"}, "mgr2"))
	require.Equal(t, 401, w.as(w.tokens["mgr2"]).do(t, "GET", "/api/contacts", "", nil).status)
}

func (w *world) ids_() *identity.Store { return w.bundle.ids }

func TestEveryAPIWriteIsAudited(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	require.Equal(t, 200, w.jsonReq(t, "PATCH", w.path("/api/contacts/{K1}"), map[string]any{"phone": "13900001111"}).status)
	require.Equal(t, 200, w.jsonReq(t, "PUT", w.path("/api/contacts/{K1}/consents"), map[string]any{"channel": "sms", "purpose": "marketing", "granted": false}).status)
	require.Equal(t, 200, w.do(t, "GET", w.path("/api/contacts/{K1}/export"), "", nil).status)
	require.Equal(t, 204, w.do(t, "DELETE", w.path("/api/contacts/{K2}"), "", nil).status)

	r := w.as(w.tokens["auditor"]).do(t, "GET", "/api/audit?limit=100", "", nil)
	require.Equal(t, 200, r.status)
	var page struct{ Items []audit.Record }
	require.NoError(t, json.Unmarshal(r.body, &page))
	actions := map[string]audit.Record{}
	for _, rec := range page.Items {
		actions[rec.Action] = rec
		require.NotContains(t, string(rec.Changes), "13900001111", "no raw phone number in the audit log")
		require.NotContains(t, string(rec.Changes), "13812345671")
	}
	for _, a := range []string{"managers.import", "contacts.import", "contact.update", "consent.set", "contact.export", "contact.erase"} {
		require.Contains(t, actions, a)
	}
	require.Equal(t, "api:admin", actions["contact.update"].Actor)
	require.Equal(t, "127.0.0.1", actions["contact.update"].RemoteAddr)
	require.Contains(t, string(actions["contact.update"].Changes), "139****1111")

	r = w.as(w.tokens["auditor"]).do(t, "GET", "/api/audit?action=contact.&object_type=contact", "", nil)
	require.NoError(t, json.Unmarshal(r.body, &page))
	for _, rec := range page.Items {
		require.True(t, strings.HasPrefix(rec.Action, "contact."))
	}
}

func TestErasureThenTimelineAndExport(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	require.Equal(t, 204, w.do(t, "DELETE", w.path("/api/contacts/{K1}"), "", nil).status)
	require.Equal(t, 204, w.do(t, "DELETE", w.path("/api/contacts/{K1}"), "", nil).status, "erasing twice is harmless")

	r := w.do(t, "GET", w.path("/api/contacts/{K1}/export"), "", nil)
	require.Equal(t, 200, r.status)
	require.NotContains(t, string(r.body), "13812345671")
	require.NotContains(t, string(r.body), "k1@example.com")
	require.NotContains(t, string(r.body), "甲")
	var doc contacts.Export
	require.NoError(t, json.Unmarshal(r.body, &doc))
	require.NotNil(t, doc.Contact.ErasedAt)
	require.Equal(t, "K1", doc.Contact.ExternalID, "the tombstone keeps the customer number")
	require.Equal(t, contacts.EventErased, doc.Timeline[len(doc.Timeline)-1].Kind)
	require.Equal(t, contacts.EventCreated, doc.Timeline[0].Kind, "the history stays, with masked values only")

	// Counts still add up: the erased contact remains a row.
	var n int
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT count(*) FROM contacts`).Scan(&n))
	require.Equal(t, 3, n)
	// A re-import of the erased customer number is refused, not resurrected.
	r = w.do(t, "POST", "/api/contacts/import", "text/csv", strings.NewReader("external_id,name\nK1,甲\n"))
	var rep contacts.ImportReport
	require.NoError(t, json.Unmarshal(r.body, &rep))
	require.Equal(t, 1, rep.Failed)
	require.Contains(t, rep.Errors[0].Message, "erased")
}

func TestRateLimitPerToken(t *testing.T) {
	t.Parallel()
	b := setup(t, serverConfigLimit(0.001, 3))
	codes := map[int]int{}
	for range 6 {
		codes[b.do(t, "GET", "/api/me", "", nil).status]++
	}
	require.Equal(t, 3, codes[200])
	require.Equal(t, 3, codes[429])
}
