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

	"carillon/calendar"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/identity"
	"carillon/internal/pgtest"
	"carillon/internal/testlog"
	"carillon/revisits"
	"carillon/server"
)

// revisitWorld serves the API with the revisits service: M1 leads east (M1,
// M2), M3 is alone in south; K1 is M1's, K2 M2's, K3 M3's, all tier A.
type revisitWorld struct {
	*bundle
	ids    map[string]int64
	tokens map[string]string
}

func revisitSetup(t *testing.T) *revisitWorld {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	clk := newClock()
	store, err := contacts.NewStore(db.Pool, contacts.Config{Logger: testlog.New(t), Now: clk.Now})
	require.NoError(t, err)
	ids, err := identity.NewStore(db.Pool, identity.Config{Now: clk.Now})
	require.NoError(t, err)
	dlv, err := delivery.New(db.Pool, delivery.Config{Logger: testlog.New(t), Now: clk.Now}, delivery.Deps{})
	require.NoError(t, err)
	rv, err := revisits.New(db.Pool, store, dlv, revisits.Config{Logger: testlog.New(t), Now: clk.Now})
	require.NoError(t, err)
	rc, err := river.NewClient[pgx.Tx](riverpgxv5.New(db.Pool), &river.Config{Test: river.TestConfig{Time: clk}})
	require.NoError(t, err)
	s, err := server.New(server.Config{Logger: testlog.New(t), RateLimit: -1, Now: clk.Now},
		server.Deps{Pool: db.Pool, Contacts: store, River: rc, Auth: ids, Delivery: dlv, Revisits: rv})
	require.NoError(t, err)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	b := &bundle{ctx: ctx, url: ts.URL, db: db, store: store, ids: ids, clock: clk}
	b.token = b.newUser(t, "admin", "", identity.RoleAdmin)
	r := b.do(t, "POST", "/api/managers/import", "text/csv", strings.NewReader("code,name,team,lead\nM1,王芳,east,M1\nM2,李强,east,M1\nM3,赵敏,south,M3\n"))
	require.Equal(t, 200, r.status, string(r.body))
	r = b.do(t, "POST", "/api/contacts/import", "text/csv", strings.NewReader(
		"external_id,name,phone,tier,manager\nK1,甲,13812345671,A,M1\nK2,乙,13812345672,A,M2\nK3,丙,13812345673,A,M3\n"))
	require.Equal(t, 200, r.status, string(r.body))
	w := &revisitWorld{bundle: b, ids: map[string]int64{}, tokens: map[string]string{"admin": b.token}}
	for _, ext := range []string{"K1", "K2", "K3"} {
		c, err := store.GetByExternalID(ctx, ext)
		require.NoError(t, err)
		w.ids[ext] = c.ID
	}
	w.tokens["marketer"] = b.newUser(t, "marketer", "", identity.RoleMarketer)
	w.tokens["mgr1"] = b.newUser(t, "mgr1", "M1", identity.RoleManager)
	w.tokens["mgr2"] = b.newUser(t, "mgr2", "M2", identity.RoleManager)
	w.tokens["mgr3"] = b.newUser(t, "mgr3", "M3", identity.RoleManager)
	return w
}

func (w *revisitWorld) as(user string) *bundle { return w.bundle.as(w.tokens[user]) }

func TestLogRevisitThroughTheAPI(t *testing.T) {
	t.Parallel()
	w := revisitSetup(t)
	path := fmt.Sprintf("/api/contacts/%d/revisits", w.ids["K2"])
	body := map[string]any{"method": "phone", "outcome": "reached", "needs": "a mortgage", "tier": "B", "tier_reason": "assets fell",
		"feedback": []map[string]any{{"category": "complaint", "summary": "long queue at the branch"}}}

	// Scope: M2's customer is 404 to M3, as if it did not exist; a marketer may not log.
	require.Equal(t, 404, w.as("mgr3").jsonReq(t, "POST", path, body).status)
	require.Equal(t, 403, w.as("marketer").jsonReq(t, "POST", path, body).status)

	r := w.as("mgr2").jsonReq(t, "POST", path, body)
	require.Equal(t, 201, r.status, string(r.body))
	got := r.json(t)
	require.Equal(t, "downgrade", got["tier_change"])
	require.Equal(t, false, got["covered"])
	fb := got["feedback"].([]any)[0].(map[string]any)
	require.Equal(t, "M2", fb["owner"])
	require.NotEmpty(t, fb["sla_due"])

	// The team lead sees the revisit of the team's customer; M3 does not.
	r = w.as("mgr1").do(t, "GET", path, "", nil)
	require.Equal(t, 200, r.status, string(r.body))
	require.Len(t, r.json(t)["items"], 1)
	require.Equal(t, 404, w.as("mgr3").do(t, "GET", path, "", nil).status)

	// The feedback is followed up, forward only.
	fpath := fmt.Sprintf("/api/feedback/%v", fb["id"])
	require.Equal(t, 404, w.as("mgr3").jsonReq(t, "PATCH", fpath, map[string]any{"state": "in_progress"}).status)
	r = w.as("mgr2").jsonReq(t, "PATCH", fpath, map[string]any{"state": "resolved", "solution": "queue ticket by app"})
	require.Equal(t, 200, r.status, string(r.body))
	require.NotEmpty(t, r.json(t)["resolved_on"])
	r = w.as("mgr2").jsonReq(t, "PATCH", fpath, map[string]any{"state": "open"})
	require.Equal(t, 409, r.status, string(r.body))

	// Bad input names the field.
	r = w.as("mgr2").jsonReq(t, "POST", path, map[string]any{"method": "fax", "outcome": "x"})
	require.Equal(t, 400, r.status)
	require.Contains(t, string(r.body), `"field":"method"`)

	// Feedback alone; listed by state within scope.
	r = w.as("mgr3").jsonReq(t, "POST", "/api/feedback", map[string]any{"contact_id": w.ids["K3"], "category": "suggestion", "summary": "longer hours"})
	require.Equal(t, 201, r.status, string(r.body))
	require.Equal(t, 404, w.as("mgr3").jsonReq(t, "POST", "/api/feedback", map[string]any{"contact_id": w.ids["K1"], "category": "need", "summary": "x"}).status)
	r = w.as("mgr3").do(t, "GET", "/api/feedback?state=unresolved", "", nil)
	require.Equal(t, 200, r.status, string(r.body))
	require.Len(t, r.json(t)["items"], 1)
	r = w.as("admin").do(t, "GET", "/api/feedback", "", nil)
	require.Len(t, r.json(t)["items"], 2)

	// The lead's weekly summary of this week: the complaint is new and resolved.
	week := revisits.WeekOf(calendar.DateOf(w.clock.Now().In(shanghaiZone(t)))).String()
	r = w.as("mgr1").do(t, "GET", "/api/feedback/weekly?week="+week, "", nil)
	require.Equal(t, 200, r.status, string(r.body))
	sum := r.json(t)
	require.Equal(t, float64(1), sum["new"].(map[string]any)["complaint"])
	require.Equal(t, float64(1), sum["resolved"])
	require.Equal(t, 404, w.as("mgr2").do(t, "GET", "/api/feedback/weekly?lead=M1&week="+week, "", nil).status)
	require.Equal(t, 404, w.as("mgr2").do(t, "GET", "/api/feedback/weekly", "", nil).status, "M2 leads no team")
}

func shanghaiZone(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	return loc
}

func TestDueRevisitsThroughTheAPI(t *testing.T) {
	t.Parallel()
	w := revisitSetup(t)
	// Every customer was created today: due in 7 days at the latest.
	r := w.as("mgr2").do(t, "GET", "/api/revisits/due?ahead=14", "", nil)
	require.Equal(t, 200, r.status, string(r.body))
	items := r.json(t)["items"].([]any)
	require.Len(t, items, 1)
	require.Equal(t, "K2", items[0].(map[string]any)["external_id"])
	// The lead sees the team; another team is 404; an admin must name one.
	r = w.as("mgr1").do(t, "GET", "/api/revisits/due?ahead=14", "", nil)
	require.Len(t, r.json(t)["items"], 2)
	require.Equal(t, 404, w.as("mgr1").do(t, "GET", "/api/revisits/due?manager=M3", "", nil).status)
	require.Equal(t, 400, w.as("admin").do(t, "GET", "/api/revisits/due", "", nil).status)
	r = w.as("admin").do(t, "GET", "/api/revisits/due?team=east&ahead=14", "", nil)
	require.Len(t, r.json(t)["items"], 2)
	require.Equal(t, 400, w.as("admin").do(t, "GET", "/api/revisits/due?team=east&date=tomorrow", "", nil).status)

	r = w.as("admin").jsonReq(t, "PUT", "/api/revisit-cadences/D", map[string]any{"days": 20})
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, 403, w.as("mgr1").jsonReq(t, "PUT", "/api/revisit-cadences/D", map[string]any{"days": 20}).status)
	r = w.as("mgr1").do(t, "GET", "/api/revisit-cadences", "", nil)
	require.Equal(t, float64(20), r.json(t)["days"].(map[string]any)["D"])

	rule := map[string]any{"kind": "attr_drop", "attr": "balance", "threshold": 0.5, "enabled": true, "description": "balance halved"}
	require.Equal(t, 403, w.as("mgr1").jsonReq(t, "PUT", "/api/revisit-alert-rules/balance_drop", rule).status)
	r = w.as("admin").jsonReq(t, "PUT", "/api/revisit-alert-rules/balance_drop", rule)
	require.Equal(t, 200, r.status, string(r.body))
	r = w.as("admin").jsonReq(t, "PUT", "/api/revisit-alert-rules/balance_drop", map[string]any{"kind": "attr_drop", "attr": "balance", "threshold": 2})
	require.Equal(t, 400, r.status)
	require.Contains(t, string(r.body), `"field":"threshold"`)
	r = w.as("mgr1").do(t, "GET", "/api/revisit-alert-rules", "", nil)
	require.Len(t, r.json(t)["items"], 3)
}

func TestReassignCoverAndReportThroughTheAPI(t *testing.T) {
	t.Parallel()
	w := revisitSetup(t)
	k2 := fmt.Sprintf("/api/contacts/%d/revisits", w.ids["K2"])
	today := calendar.DateOf(w.clock.Now().In(shanghaiZone(t)))

	// M3 covers M2 today: M3 may then log M2's customers' revisits.
	require.Equal(t, 404, w.as("mgr3").jsonReq(t, "POST", k2, map[string]any{"method": "phone", "outcome": "x"}).status)
	cover := map[string]any{"manager": "M2", "cover": "M3", "from": today.String(), "to": today.AddDays(2).String()}
	require.Equal(t, 404, w.as("mgr3").jsonReq(t, "POST", "/api/covers", cover).status, "M3 is not M2's lead")
	r := w.as("mgr1").jsonReq(t, "POST", "/api/covers", map[string]any{"manager": "M2", "cover": "M1", "from": today.String(), "to": today.String()})
	require.Equal(t, 201, r.status, string(r.body))
	r = w.as("admin").jsonReq(t, "POST", "/api/covers", cover)
	require.Equal(t, 409, r.status, "overlaps M1's cover of M2")
	r = w.as("admin").do(t, "GET", "/api/covers", "", nil)
	require.Len(t, r.json(t)["items"], 1)
	id := r.json(t)["items"].([]any)[0].(map[string]any)["id"]
	require.Equal(t, 204, w.as("admin").do(t, "DELETE", fmt.Sprintf("/api/covers/%v", id), "", nil).status)
	r = w.as("admin").jsonReq(t, "POST", "/api/covers", cover)
	require.Equal(t, 201, r.status, string(r.body))
	r = w.as("mgr3").jsonReq(t, "POST", k2, map[string]any{"method": "phone", "outcome": "covered call"})
	require.Equal(t, 201, r.status, string(r.body))
	require.Equal(t, true, r.json(t)["covered"])

	// The lead moves K2 from M2 to M1 within the team; not to another team.
	require.Equal(t, 404, w.as("mgr1").jsonReq(t, "POST", "/api/reassignments", map[string]any{"contacts": []int64{w.ids["K2"]}, "to": "M3"}).status)
	r = w.as("mgr1").jsonReq(t, "POST", "/api/reassignments", map[string]any{"contacts": []int64{w.ids["K2"]}, "to": "M1", "reason": "M2 leaves"})
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, float64(1), r.json(t)["moved"])
	require.Equal(t, 404, w.as("mgr2").do(t, "GET", k2, "", nil).status, "no longer M2's")

	// The ranking: M2's customer was revisited on time (by the cover, for M2).
	r = w.as("admin").do(t, "GET", "/api/reports/revisits", "", nil)
	require.Equal(t, 200, r.status, string(r.body))
	rows := r.json(t)["managers"].([]any)
	require.Len(t, rows, 3)
	first := rows[0].(map[string]any)
	require.Equal(t, "M2", first["manager"])
	require.Equal(t, float64(1), first["on_time"])
	require.Equal(t, float64(1), first["rank"])
	r = w.as("mgr3").do(t, "GET", "/api/reports/revisits", "", nil)
	require.Len(t, r.json(t)["managers"], 1, "a manager sees their own line")
	r = w.as("admin").do(t, "GET", "/api/reports/revisits?format=csv&team=south", "", nil)
	require.Equal(t, 200, r.status)
	require.True(t, strings.HasPrefix(string(r.body), "manager,name,team,"), string(r.body))
	require.Contains(t, string(r.body), "\nM3,赵敏,south,")
	require.Equal(t, 400, w.as("admin").do(t, "GET", "/api/reports/revisits?format=xml", "", nil).status)
	require.Equal(t, 403, w.as("marketer").do(t, "GET", "/api/reports/revisits", "", nil).status)
}

// A manager reads the covers of their own scope only: a colleague's leave and
// its reason are not theirs. A team lead sees the team's; an administrator all.
func TestCoversAreScopedToTheManager(t *testing.T) {
	t.Parallel()
	w := revisitSetup(t)
	today := calendar.DateOf(w.clock.Now().In(shanghaiZone(t)))
	r := w.as("admin").jsonReq(t, "POST", "/api/covers", map[string]any{"manager": "M2", "cover": "M1",
		"from": today.String(), "to": today.AddDays(3).String(), "reason": "病假 sick leave"})
	require.Equal(t, 201, r.status, string(r.body))
	for user, want := range map[string]int{"admin": 1, "mgr1": 1, "mgr2": 1, "mgr3": 0} {
		r := w.as(user).do(t, "GET", "/api/covers", "", nil)
		require.Equal(t, 200, r.status, string(r.body))
		require.Len(t, r.json(t)["items"], want, user)
		if want == 0 {
			require.NotContains(t, string(r.body), "sick", user)
		}
	}
}
