package revisits_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
	"carillon/contacts"
	"carillon/revisits"
)

// The customers of these tests are created on Thursday 24 September 2026, the
// day before the Mid-Autumn break (25–27 September), a week before National
// Day (1–7 October, 调休 Saturday 10 October worked).
const cadenceRows = "CA,甲,,A,M002,,,,,,\n" +
	"CB,乙,,B,M002,,,,,,\n" +
	"CC,丙,,C,M002,,,,,,\n" +
	"CD,丁,,D,M002,,,,,,\n" +
	"CX,戊,,A,M003,,,,,,\n" +
	"CN,己,,,M002,,,,,,\n" + // no tier: no cadence
	"CZ,庚,,A,,,,,,,\n" // no manager: nobody to remind

func TestCadencePerTierAcrossAMonthWithHolidaysAndMakeupDays(t *testing.T) {
	t.Parallel()
	b := setup(t, cadenceRows, at(2026, time.September, 24, 10, 0), revisits.Config{})

	// Monday 28 September: nothing is due yet.
	require.Empty(t, b.due(t, day(2026, time.September, 28), "M002"))

	// A and B (7 days) fall on 1 October, a holiday: due the next business
	// day, 8 October. C (14 days) falls on 8 October itself. D (30 days)
	// falls on Saturday 24 October, an ordinary weekend: due Monday 26th.
	got := b.due(t, day(2026, time.October, 31), "M002")
	require.Len(t, got, 4)
	for ext, want := range map[string]calendar.Date{
		"CA": day(2026, time.October, 8), "CB": day(2026, time.October, 8),
		"CC": day(2026, time.October, 8), "CD": day(2026, time.October, 26),
	} {
		require.Equal(t, want, got[ext].DueOn, ext)
		require.Equal(t, "created", got[ext].SinceKind, ext)
		require.Equal(t, day(2026, time.September, 24), got[ext].Since, ext)
	}

	// Asked on a holiday (3 October) nothing is due: the due day is the 8th.
	require.Empty(t, b.due(t, day(2026, time.October, 3), "M002"))
	// On 8 October A, B and C are due today, not overdue.
	got = b.due(t, day(2026, time.October, 8), "M002")
	require.Len(t, got, 3)
	require.False(t, got["CA"].Overdue)
	// On the 调休 Saturday, 10 October, they are two business days late (9th, 10th).
	got = b.due(t, day(2026, time.October, 10), "M002")
	require.True(t, got["CC"].Overdue)
	require.Equal(t, 2, got["CC"].DaysLate)
	// On Monday 12th: three (the Sunday is not worked).
	require.Equal(t, 3, b.due(t, day(2026, time.October, 12), "M002")["CA"].DaysLate)

	// A revisit on a holiday (3 October) counts from that day: 7 days later
	// is the 调休 Saturday 10 October, a working day, so due then.
	b.clock.Set(at(2026, time.October, 3, 15, 0))
	rv := b.logRevisit(t, "CX", revisits.RevisitInput{Method: revisits.MethodPhone, Outcome: "reached, all well"})
	require.Equal(t, day(2026, time.October, 10), *rv.NextDue)
	got = b.due(t, day(2026, time.October, 10), "M003")
	require.Equal(t, day(2026, time.October, 10), got["CX"].DueOn)
	require.Equal(t, "revisit", got["CX"].SinceKind)
	require.Equal(t, "reached, all well", got["CX"].Last.Outcome)

	// Every manager's list holds the customers with a tier and a manager only.
	all, err := b.svc.Due(b.ctx, revisits.DueOptions{Day: day(2026, time.October, 31)})
	require.NoError(t, err)
	require.Len(t, all, 5)
}

func TestCadenceIsConfigurable(t *testing.T) {
	t.Parallel()
	b := setup(t, cadenceRows, at(2026, time.September, 24, 10, 0), revisits.Config{})
	// D monthly becomes 10 days: 4 October (holiday) → 8 October.
	require.NoError(t, b.svc.SetCadence(b.ctx, tester, "D", 10))
	got := b.due(t, day(2026, time.October, 8), "M002")
	require.Equal(t, day(2026, time.October, 8), got["CD"].DueOn)
	cads, err := b.svc.Cadences(b.ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"A": 7, "B": 7, "C": 14, "D": 10}, cads)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'revisit.cadence' AND object_id = 'D'`))

	var ve *contacts.ValidationError
	require.ErrorAs(t, b.svc.SetCadence(b.ctx, tester, "E", 7), &ve)
	require.ErrorAs(t, b.svc.SetCadence(b.ctx, tester, "A", 0), &ve)
}

func TestRevisitResetsTheCadence(t *testing.T) {
	t.Parallel()
	b := setup(t, cadenceRows, at(2026, time.September, 24, 10, 0), revisits.Config{})
	// On Monday 12 October CA is overdue (due the 8th).
	b.clock.Set(at(2026, time.October, 12, 9, 0))
	require.True(t, b.due(t, day(2026, time.October, 12), "M002")["CA"].Overdue)

	rv := b.logRevisit(t, "CA", revisits.RevisitInput{Method: revisits.MethodVisit, Outcome: "visited at home", Needs: "wealth products", Notes: "call back"})
	require.False(t, rv.OnTime, "due on the 8th, revisited on the 12th")
	require.Equal(t, day(2026, time.October, 8), *rv.DueOn)
	require.Equal(t, day(2026, time.October, 19), *rv.NextDue)
	// Gone from the list until the 19th.
	require.NotContains(t, b.due(t, day(2026, time.October, 16), "M002"), "CA")
	require.Equal(t, day(2026, time.October, 19), b.due(t, day(2026, time.October, 19), "M002")["CA"].DueOn)

	// A next date overrides the cadence: 14 October.
	rv = b.logRevisit(t, "CB", revisits.RevisitInput{Method: revisits.MethodPhone, Outcome: "busy", NextDate: datePtr(day(2026, time.October, 14))})
	require.Equal(t, day(2026, time.October, 14), *rv.NextDue)
	it := b.due(t, day(2026, time.October, 14), "M002")["CB"]
	require.Equal(t, "next_date", it.SinceKind)
	require.Equal(t, day(2026, time.October, 14), it.DueOn)

	// A revisit back-dated before the latest one is recorded but does not
	// move the cadence back.
	b.logRevisit(t, "CA", revisits.RevisitInput{Method: revisits.MethodPhone, Outcome: "earlier call", VisitedOn: datePtr(day(2026, time.October, 9))})
	require.NotContains(t, b.due(t, day(2026, time.October, 16), "M002"), "CA")
	list, err := b.svc.Revisits(b.ctx, b.contactID(t, "CA"), 0, 0)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "earlier call", list[0].Outcome, "latest logged first")

	// The timeline has the revisit, without its free text.
	var n int
	var data []byte
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT count(*) OVER (), data FROM contact_events WHERE contact_id = $1 AND kind = 'revisit.logged' ORDER BY id LIMIT 1`,
		b.contactID(t, "CA")).Scan(&n, &data))
	require.Equal(t, 2, n)
	require.NotContains(t, string(data), "visited at home")
	var ev map[string]any
	require.NoError(t, json.Unmarshal(data, &ev))
	require.Equal(t, false, ev["on_time"])
	require.Equal(t, "2026-10-19", ev["next_due"])
	require.Equal(t, 3, b.count(t, `SELECT count(*) FROM audit_log WHERE action = 'revisit.log'`))
}

func TestRevisitTierChangeIsAnUpgradeOrADowngradeWithItsReason(t *testing.T) {
	t.Parallel()
	b := setup(t, cadenceRows, at(2026, time.September, 24, 10, 0), revisits.Config{})
	b.clock.Set(at(2026, time.October, 9, 10, 0))

	up := b.logRevisit(t, "CB", revisits.RevisitInput{Method: revisits.MethodBranch, Outcome: "opened a wealth account", Tier: "A", TierReason: "assets above 5m"})
	require.Equal(t, revisits.Upgrade, up.TierChange)
	require.Equal(t, "B", up.TierFrom)
	down := b.logRevisit(t, "CC", revisits.RevisitInput{Method: revisits.MethodPhone, Outcome: "moved savings elsewhere", Tier: "D", TierReason: "assets moved out"})
	require.Equal(t, revisits.Downgrade, down.TierChange)
	same := b.logRevisit(t, "CA", revisits.RevisitInput{Method: revisits.MethodPhone, Outcome: "fine", Tier: "A"})
	require.Empty(t, same.TierChange, "the same tier is no change and needs no reason")

	c, err := b.store.GetByExternalID(b.ctx, "CB")
	require.NoError(t, err)
	require.Equal(t, "A", c.Tier)
	var change, reason string
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT tier_change, tier_reason FROM revisits WHERE id = $1`, down.ID).Scan(&change, &reason))
	require.Equal(t, "downgrade", change)
	require.Equal(t, "assets moved out", reason)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM contact_events WHERE contact_id = $1 AND kind = 'revisit.tier_changed' AND data->>'change' = 'upgrade'`, c.ID))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM contact_events WHERE contact_id = $1 AND kind = 'contact.updated'`, c.ID))
	// The manager's own downgrade raises no alert for their digest.
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM revisit_alerts WHERE contact_id = $1 AND closed IS NULL`, b.contactID(t, "CC")))
	// The new tier's cadence counts from the revisit: D is 30 days.
	require.Equal(t, day(2026, time.November, 9), *down.NextDue)

	// A first tier is set without being a change: CN had none.
	first := b.logRevisit(t, "CN", revisits.RevisitInput{Method: revisits.MethodPhone, Outcome: "new customer", Tier: "C"})
	require.Empty(t, first.TierChange)
	require.Equal(t, day(2026, time.October, 23), *first.NextDue, "C: 14 days from the revisit")
	cn, err := b.store.GetByExternalID(b.ctx, "CN")
	require.NoError(t, err)
	require.Equal(t, "C", cn.Tier)

	// A tier change without a reason is refused, and nothing is recorded.
	_, err = b.svc.LogRevisit(b.ctx, tester, b.contactID(t, "CD"), revisits.RevisitInput{Method: revisits.MethodPhone, Outcome: "x", Tier: "C"}, revisits.LogOptions{})
	var ve *contacts.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "tier_reason", ve.Fields[0].Field)
	c, err = b.store.GetByExternalID(b.ctx, "CD")
	require.NoError(t, err)
	require.Equal(t, "D", c.Tier)
}

func TestRevisitInputIsChecked(t *testing.T) {
	t.Parallel()
	b := setup(t, cadenceRows, at(2026, time.September, 24, 10, 0), revisits.Config{})
	b.clock.Set(at(2026, time.October, 9, 10, 0))
	id := b.contactID(t, "CA")
	for name, tc := range map[string]struct {
		in    revisits.RevisitInput
		field string
	}{
		"method":  {revisits.RevisitInput{Method: "fax", Outcome: "x"}, "method"},
		"outcome": {revisits.RevisitInput{Method: "phone", Outcome: "  "}, "outcome"},
		"future":  {revisits.RevisitInput{Method: "phone", Outcome: "x", VisitedOn: datePtr(day(2026, time.October, 10))}, "visited_on"},
		// Created on 24 September: a revisit on the 20th predates the record.
		"before created": {revisits.RevisitInput{Method: "phone", Outcome: "x", VisitedOn: datePtr(day(2026, time.September, 20))}, "visited_on"},
		"next not after": {revisits.RevisitInput{Method: "phone", Outcome: "x", NextDate: datePtr(day(2026, time.October, 9))}, "next_date"},
		"tier":           {revisits.RevisitInput{Method: "phone", Outcome: "x", Tier: "Z", TierReason: "r"}, "tier"},
		"feedback":       {revisits.RevisitInput{Method: "phone", Outcome: "x", Feedback: []revisits.FeedbackInput{{Category: "praise", Summary: "x"}}}, "feedback[0].category"},
	} {
		_, err := b.svc.LogRevisit(b.ctx, tester, id, tc.in, revisits.LogOptions{})
		var ve *contacts.ValidationError
		require.ErrorAs(t, err, &ve, name)
		require.Equal(t, tc.field, ve.Fields[0].Field, name)
	}
	_, err := b.svc.LogRevisit(b.ctx, tester, 999999, revisits.RevisitInput{Method: "phone", Outcome: "x"}, revisits.LogOptions{})
	require.ErrorIs(t, err, contacts.ErrNotFound)
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM revisits`))
}

func TestErasureScrubsRevisitText(t *testing.T) {
	t.Parallel()
	b := setup(t, cadenceRows, at(2026, time.September, 24, 10, 0), revisits.Config{})
	b.clock.Set(at(2026, time.October, 9, 10, 0))
	b.logRevisit(t, "CA", revisits.RevisitInput{Method: "phone", Outcome: "spoke to 张三 at 13800138000", Notes: "secret",
		Feedback: []revisits.FeedbackInput{{Category: revisits.Complaint, Summary: "fee charged twice"}}})
	require.NoError(t, b.store.Erase(b.ctx, tester, b.contactID(t, "CA")))
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM revisits WHERE outcome <> '' OR notes <> ''`))
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM feedback WHERE summary <> ''`))
}
