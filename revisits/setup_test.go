package revisits_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
	"carillon/care"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/apptest"
	"carillon/internal/audit"
	"carillon/internal/pgtest"
	"carillon/internal/testclock"
	"carillon/revisits"
)

// bundle is what a revisits test needs: a migrated database with managers
// and contacts, the delivery service and the revisits service on one clock.
type bundle struct {
	ctx   context.Context
	db    *pgtest.DB
	clock *testclock.Clock // the services' and River's
	store *contacts.Store
	dlv   *delivery.Service
	svc   *revisits.Service
	rules *care.Planner // the care rules the digests follow
	world *apptest.World
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// at is a wall-clock time in Shanghai.
func at(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, shanghai)
}

func day(y int, m time.Month, d int) calendar.Date { return calendar.NewDate(y, m, d) }

// The east team is led by M001 (who leads themself, as in the examples); M004
// is alone in the west team and has no WeCom id.
const managersCSV = "code,name,email,wecom_userid,team,lead,timezone\n" +
	"M001,王芳,wang.fang@bank.example,wangfang,east,M001,Asia/Shanghai\n" +
	"M002,李强,li.qiang@bank.example,liqiang,east,M001,Asia/Shanghai\n" +
	"M003,张敏,zhang.min@bank.example,zhangmin,east,M001,Asia/Shanghai\n" +
	"M004,Anna Smith,anna@bank.example,,west,,Europe/London\n"

const contactsHeader = "external_id,name,phone,tier,manager,birthday,lunar_birthday,birthday_calendar,assets,deposit_maturity,status\n"

// setup imports managers and contacts (created at created) and builds the
// services with cfg.
func setup(t *testing.T, contactRows string, created time.Time, cfg revisits.Config) *bundle {
	t.Helper()
	return setupWorld(t, contactRows, apptest.Options{Clock: testclock.New(created), Revisits: cfg})
}

// setupWorld is setup on a test world built with o: the revisits service
// follows the world's care rules unless o.Revisits names others.
func setupWorld(t *testing.T, contactRows string, o apptest.Options) *bundle {
	t.Helper()
	w := apptest.New(t, o)
	ctx, store := w.Ctx, w.Contacts
	rep, err := store.ImportManagers(ctx, strings.NewReader(managersCSV), contacts.ImportOptions{Actor: audit.Actor{Name: "test"}})
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
	if contactRows != "" {
		rep, err = store.ImportContacts(ctx, strings.NewReader(contactsHeader+contactRows), contacts.ImportOptions{Actor: audit.Actor{Name: "test"}, SourceName: "test.csv"})
		require.NoError(t, err)
		require.Empty(t, rep.Errors)
	}
	store.RegisterEraser(w.Revisits)
	store.RegisterExporter(w.Revisits)
	return &bundle{ctx: ctx, db: w.DB, clock: w.Clock, store: store, dlv: w.Delivery, svc: w.Revisits, rules: w.Planner, world: w}
}

var tester = audit.Actor{Name: "test"}

func (b *bundle) contactID(t *testing.T, externalID string) int64 {
	t.Helper()
	c, err := b.store.GetByExternalID(b.ctx, externalID)
	require.NoError(t, err)
	return c.ID
}

func (b *bundle) managerID(t *testing.T, code string) int64 {
	t.Helper()
	m, err := b.store.GetManager(b.ctx, code)
	require.NoError(t, err)
	return m.ID
}

func (b *bundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, sql, args...).Scan(&n))
	return n
}

// due returns the due list on d by external id.
func (b *bundle) due(t *testing.T, d calendar.Date, managers ...string) map[string]revisits.DueItem {
	t.Helper()
	opts := revisits.DueOptions{Day: d}
	for _, m := range managers {
		opts.ManagerIDs = append(opts.ManagerIDs, b.managerID(t, m))
	}
	items, err := b.svc.Due(b.ctx, opts)
	require.NoError(t, err)
	out := map[string]revisits.DueItem{}
	for _, it := range items {
		out[it.ExternalID] = it
	}
	return out
}

func (b *bundle) logRevisit(t *testing.T, externalID string, in revisits.RevisitInput) revisits.Revisit {
	t.Helper()
	rv, err := b.svc.LogRevisit(b.ctx, tester, b.contactID(t, externalID), in, revisits.LogOptions{})
	require.NoError(t, err)
	return rv
}

func datePtr(d calendar.Date) *calendar.Date { return &d }
