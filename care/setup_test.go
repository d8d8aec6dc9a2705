package care_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
	"carillon/care"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/audit"
	"carillon/internal/pgtest"
	"carillon/internal/testlog"
)

// bundle is what a planner test needs: a fresh migrated database with the
// contacts of a CSV, the delivery service and a planner.
type bundle struct {
	ctx     context.Context
	db      *pgtest.DB
	store   *contacts.Store
	svc     *delivery.Service
	planner *care.Planner
}

const csvHeader = "external_id,name,birthday,lunar_birthday,birthday_calendar,timezone,status\n"

func setup(t *testing.T, csvRows string, cfg care.Config) *bundle {
	t.Helper()
	return setupCSV(t, csvHeader+csvRows, cfg)
}

// setupCSV is setup with a CSV of its own header.
func setupCSV(t *testing.T, csv string, cfg care.Config) *bundle {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	store, err := contacts.NewStore(db.Pool, contacts.Config{Logger: testlog.New(t)})
	require.NoError(t, err)
	rep, err := store.ImportContacts(ctx, strings.NewReader(csv), contacts.ImportOptions{Actor: audit.Actor{Name: "test"}, SourceName: "care.csv"})
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
	svc, err := delivery.New(db.Pool, delivery.Config{Logger: testlog.New(t)}, delivery.Deps{})
	require.NoError(t, err)
	cfg.Logger = testlog.New(t)
	p, err := care.New(db.Pool, svc, cfg)
	require.NoError(t, err)
	return &bundle{ctx: ctx, db: db, store: store, svc: svc, planner: p}
}

// dryRun plans day without writing and returns the items by contact.
func (b *bundle) dryRun(t *testing.T, day calendar.Date) (care.Result, map[string][]care.Item) {
	t.Helper()
	res, err := b.planner.Plan(b.ctx, day, care.PlanOptions{DryRun: true})
	require.NoError(t, err)
	by := map[string][]care.Item{}
	for _, it := range res.Items {
		by[it.Contact] = append(by[it.Contact], it)
	}
	return res, by
}

// one returns the only item of a contact.
func one(t *testing.T, by map[string][]care.Item, contact string) care.Item {
	t.Helper()
	require.Len(t, by[contact], 1, "items of %s", contact)
	return by[contact][0]
}

// festivalDate returns the date of a festival in a solar year, from the
// calendar package.
func festivalDate(t *testing.T, year int, key string) calendar.Date {
	t.Helper()
	fs, err := calendar.Festivals(year, calendar.Config{})
	require.NoError(t, err)
	for _, f := range fs {
		if f.Key == key {
			return f.Date
		}
	}
	t.Fatalf("no %s in %d", key, year)
	return calendar.Date{}
}

// lunarDay returns the solar date of a lunar date, from the calendar package.
func lunarDay(t *testing.T, year, month, day int) calendar.Date {
	t.Helper()
	d, err := calendar.ToSolar(calendar.LunarDate{Year: year, Month: month, Day: day})
	require.NoError(t, err)
	return d
}

func (b *bundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, sql, args...).Scan(&n))
	return n
}
