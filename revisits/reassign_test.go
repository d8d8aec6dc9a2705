package revisits_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
	"carillon/contacts"
	"carillon/revisits"
)

func TestReassignKeepsHistoryAndCadence(t *testing.T) {
	t.Parallel()
	w := newDigestWorld(t)
	ca := w.contactID(t, "CA")
	b := w.logRevisit(t, "CB", revisits.RevisitInput{Method: revisits.MethodVisit, Outcome: "second visit"})

	// One customer: CA (due 8 October) moves to M003 and stays overdue there.
	res, err := w.svc.Reassign(w.ctx, tester, nil, revisits.ReassignInput{Contacts: []int64{ca}, To: "M003", Reason: "closer branch"})
	require.NoError(t, err)
	require.Equal(t, 1, res.Moved)
	got := w.due(t, w.day, "M003")["CA"]
	require.Equal(t, "M003", got.Manager)
	require.Equal(t, day(2026, time.October, 8), got.DueOn, "the cadence is kept")
	require.Equal(t, 1, w.count(t, `SELECT count(*) FROM contact_events WHERE contact_id = $1 AND kind = 'revisit.reassigned' AND data->>'from' = 'M002'`, ca))
	require.Equal(t, 1, w.count(t, `SELECT count(*) FROM contact_events WHERE contact_id = $1 AND kind = 'contact.updated' AND data->'changes'->'manager'->>'to' = 'M003'`, ca))

	// Bulk: every customer of M002 (a manager leaving) to M004.
	res, err = w.svc.Reassign(w.ctx, tester, nil, revisits.ReassignInput{From: "M002", To: "M004"})
	require.NoError(t, err)
	require.Equal(t, 4, res.Moved)
	require.Empty(t, w.due(t, day(2026, time.November, 30), "M002"))
	cb := w.contactID(t, "CB")
	list, err := w.svc.Revisits(w.ctx, cb, 0, 0)
	require.NoError(t, err)
	require.Len(t, list, 2, "the revisits stay with the customer")
	require.Equal(t, "M002", list[0].Manager, "and name who did them")
	require.Equal(t, b.NextDue, datePtr(w.due(t, *b.NextDue, "M004")["CB"].DueOn))
	require.Equal(t, 1, w.count(t, `SELECT count(*) FROM audit_log WHERE action = 'revisit.reassign' AND changes->>'from' = 'M002'`))

	// A moved-again customer already with M004 is unchanged; a customer of
	// another manager is out of a restricted caller's scope.
	res, err = w.svc.Reassign(w.ctx, tester, nil, revisits.ReassignInput{Contacts: []int64{cb}, To: "M004"})
	require.NoError(t, err)
	require.Equal(t, 1, res.Unchanged)
	_, err = w.svc.Reassign(w.ctx, tester, &revisits.FeedbackScope{Restricted: true, ManagerIDs: []int64{w.managerID(t, "M003")}},
		revisits.ReassignInput{Contacts: []int64{cb}, To: "M003"})
	require.ErrorIs(t, err, contacts.ErrNotFound)
	var ve *contacts.ValidationError
	_, err = w.svc.Reassign(w.ctx, tester, nil, revisits.ReassignInput{Contacts: []int64{cb}, To: "M999"})
	require.ErrorAs(t, err, &ve)
}

func TestCoverPutsTheCustomersInTheCoversDigestMarked(t *testing.T) {
	t.Parallel()
	w := newDigestWorld(t)
	cv, err := w.svc.CreateCover(w.ctx, tester, revisits.CoverInput{Manager: "M002", Cover: "M003", From: day(2026, time.October, 12), To: day(2026, time.October, 16), Reason: "annual leave"})
	require.NoError(t, err)
	_, err = w.svc.CreateCover(w.ctx, tester, revisits.CoverInput{Manager: "M002", Cover: "M001", From: day(2026, time.October, 16), To: day(2026, time.October, 20)})
	require.ErrorIs(t, err, revisits.ErrConflict, "covers of one manager do not overlap")
	_, err = w.svc.CreateCover(w.ctx, tester, revisits.CoverInput{Manager: "M003", Cover: "M001", From: day(2026, time.October, 14), To: day(2026, time.October, 14)})
	require.ErrorIs(t, err, revisits.ErrConflict, "the cover is not on leave meanwhile")

	_, by, lines := w.dryRun(t, w.day)
	require.NotContains(t, by, "M002", "no digest reaches a manager on leave")
	m3 := by["M003"]
	require.Len(t, m3.Items, 2)
	for _, it := range m3.Items {
		require.Equal(t, "M002", it.Covered, it.ExternalID)
	}
	require.Len(t, m3.Upcoming, 3, "the covered customers' birthdays and maturities too")
	require.Len(t, by["M001"].Escalated, 1, "escalation still names the customers' manager")
	require.Equal(t, "M002", by["M001"].Escalated[0].Manager)
	require.Contains(t, lines[1], `"manager":"M003"`)

	// The cover logs a revisit of a covered customer: marked covered.
	rv, err := w.svc.LogRevisit(w.ctx, tester, w.contactID(t, "CA"), revisits.RevisitInput{Method: revisits.MethodPhone, Outcome: "covered call"},
		revisits.LogOptions{ByManagerID: w.managerID(t, "M003")})
	require.NoError(t, err)
	require.True(t, rv.Covered)
	ids, err := w.svc.CoveredBy(w.ctx, []int64{w.managerID(t, "M003")}, w.day)
	require.NoError(t, err)
	require.Equal(t, []int64{w.managerID(t, "M002")}, ids)

	// After the leave (Monday 19th) M002 has their digest again; cancelled, at once.
	_, by, _ = w.dryRun(t, day(2026, time.October, 19))
	require.Contains(t, by, "M002")
	require.NoError(t, w.svc.CancelCover(w.ctx, tester, cv.ID))
	_, by, _ = w.dryRun(t, w.day)
	require.Contains(t, by, "M002")
	require.ErrorIs(t, w.svc.CancelCover(w.ctx, tester, cv.ID), contacts.ErrNotFound)
}

func TestRevisitReportRanksManagersAndTeams(t *testing.T) {
	t.Parallel()
	w := newDigestWorld(t)
	// M002: CB on time (6 Oct, due 8th), CC late (9 Oct), CA overdue now.
	// M003: CX late (12 Oct). M004: CW overdue now. M001: nothing due.
	fb := w.feedback(t, day(2026, time.October, 9), "CC", revisits.Need, "")
	w.setState(t, day(2026, time.October, 12), fb.ID, revisits.StateResolved, "new card sent")
	w.clock.Set(at(2026, time.October, 13, 10, 0))

	rep, err := w.svc.RevisitReport(w.ctx, revisits.ReportOptions{From: day(2026, time.October, 1), To: day(2026, time.October, 13)})
	require.NoError(t, err)
	by := map[string]revisits.ManagerReport{}
	var order []string
	for _, l := range rep.Managers {
		by[l.Manager] = l
		order = append(order, l.Manager)
	}
	require.Equal(t, []string{"M002", "M003", "M004", "M001"}, order)
	m2 := by["M002"]
	require.Equal(t, map[string]int{"A": 1, "B": 1, "C": 1, "D": 2}, m2.Customers)
	require.Equal(t, []int{3, 1, 1, 1, 1}, []int{m2.Due, m2.OnTime, m2.Late, m2.OverdueNow, m2.FeedbackResolved})
	require.InDelta(t, 0.3333, *m2.Rate, 1e-9)
	require.Equal(t, []int{1, 1}, []int{m2.Rank, m2.TeamRank})
	require.Equal(t, []int{2, 2}, []int{by["M003"].Rank, by["M003"].TeamRank})
	require.Equal(t, []int{2, 1}, []int{by["M004"].Rank, by["M004"].TeamRank}, "equal rates share a place")
	require.Nil(t, by["M001"].Rate, "nothing due: no rate, ranked last")
	require.Equal(t, 4, by["M001"].Rank)
	require.Equal(t, "east", rep.Teams[0].Team)
	require.InDelta(t, 0.25, *rep.Teams[0].Rate, 1e-9)
	require.Equal(t, 2, rep.Teams[1].Rank)

	// One team, and CSV.
	rep, err = w.svc.RevisitReport(w.ctx, revisits.ReportOptions{From: day(2026, time.October, 1), To: day(2026, time.October, 13), Team: "west"})
	require.NoError(t, err)
	require.Len(t, rep.Managers, 1)
	var buf bytes.Buffer
	require.NoError(t, rep.WriteCSV(&buf))
	require.Equal(t, "manager,name,team,customers_a,customers_b,customers_c,customers_d,due,on_time,late,overdue_now,completion_rate,feedback_resolved,rank,team_rank\n"+
		"M004,Anna Smith,west,1,0,0,0,1,0,0,1,0.0000,0,2,1\n", buf.String())
	_, err = w.svc.RevisitReport(w.ctx, revisits.ReportOptions{From: day(2026, time.October, 13), To: day(2026, time.October, 1)})
	var ve *contacts.ValidationError
	require.ErrorAs(t, err, &ve)
	require.True(t, strings.Contains(ve.Error(), "before"))
}

// The report and the due lists share one definition: a manager's "overdue now"
// in the report is exactly the overdue customers their due list shows on the
// same day, whatever period the report covers, and those count in its rate.
func TestReportOverdueNowIsTheDueListsOverdue(t *testing.T) {
	t.Parallel()
	w := newDigestWorld(t)
	for _, today := range []calendar.Date{day(2026, time.October, 13), day(2026, time.November, 2), day(2026, time.December, 1)} {
		w.clock.Set(at(today.Year, today.Month, today.Day, 10, 0))
		items, err := w.svc.Due(w.ctx, revisits.DueOptions{Ahead: 7})
		require.NoError(t, err)
		overdue := map[string]int{}
		for _, it := range items {
			if it.Overdue {
				overdue[it.Manager]++
			}
		}
		require.NotEmpty(t, overdue, today)
		// The month to date, and a period that ended before.
		for _, opts := range []revisits.ReportOptions{{}, {From: day(2026, time.September, 1), To: day(2026, time.September, 30)}} {
			rep, err := w.svc.RevisitReport(w.ctx, opts)
			require.NoError(t, err)
			for _, l := range rep.Managers {
				require.Equal(t, overdue[l.Manager], l.OverdueNow, "%s on %s", l.Manager, today)
				require.Equal(t, l.OnTime+l.Late+l.OverdueNow, l.Due)
				if l.OverdueNow > 0 {
					require.Less(t, *l.Rate, 1.0, "a manager with customers overdue is not at 100%%")
				}
			}
		}
	}
}

// The attack of the hardening review: a team lead (east: M001–M003) moves their
// own customer whose external id holds a newline and the id of another team's
// customer (CW, M004's, west). Such an id is refused at every entry now; one stored
// before is moved by its row id, never written into a file, so CW stays where it
// is. And a reassignment that fails part-way changes nothing.
func TestReassignCannotBeSteeredByAnExternalID(t *testing.T) {
	t.Parallel()
	w := newDigestWorld(t)
	east := &revisits.FeedbackScope{Restricted: true, ManagerIDs: []int64{w.managerID(t, "M001"), w.managerID(t, "M002"), w.managerID(t, "M003")}}

	// The entry refuses the id.
	_, err := w.store.Create(w.ctx, tester, contacts.Input{ExternalID: ptr("X9\nCW,M001"), Manager: ptr("M002")})
	var ve *contacts.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "external_id", ve.Fields[0].Field)
	require.Contains(t, ve.Fields[0].Message, "line breaks")

	// One stored before the check existed.
	ca := w.contactID(t, "CA")
	_, err = w.db.Pool.Exec(w.ctx, `UPDATE contacts SET external_id = E'X9\nCW' WHERE id = $1`, ca)
	require.NoError(t, err)
	res, err := w.svc.Reassign(w.ctx, tester, east, revisits.ReassignInput{Contacts: []int64{ca}, To: "M001"})
	require.NoError(t, err)
	require.Equal(t, 1, res.Moved)
	require.Equal(t, "M004", w.managerOf(t, "CW"), "another team's customer is not moved")
	require.Zero(t, w.count(t, `SELECT count(*) FROM contacts WHERE external_id IN ('X9', 'CW,M001')`), "no contact made of the pieces")
	c, err := w.store.Get(w.ctx, ca)
	require.NoError(t, err)
	require.Equal(t, "M001", c.Manager)

	// A failure after the move (here: the events cannot be written) rolls the
	// move back too.
	_, err = w.db.Pool.Exec(w.ctx, `CREATE FUNCTION refuse_reassigned() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.kind = 'revisit.reassigned' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER refuse_reassigned BEFORE INSERT ON contact_events FOR EACH ROW EXECUTE FUNCTION refuse_reassigned()`)
	require.NoError(t, err)
	before := w.count(t, `SELECT count(*) FROM contact_events WHERE kind = 'contact.updated'`)
	_, err = w.svc.Reassign(w.ctx, tester, nil, revisits.ReassignInput{From: "M002", To: "M003"})
	require.Error(t, err)
	require.Equal(t, "M002", w.managerOf(t, "CB"), "nothing moved")
	require.Equal(t, before, w.count(t, `SELECT count(*) FROM contact_events WHERE kind = 'contact.updated'`))
	require.Zero(t, w.count(t, `SELECT count(*) FROM audit_log WHERE action = 'revisit.reassign' AND changes->>'from' = 'M002'`))
}

func ptr(s string) *string { return &s }

func (b *bundle) managerOf(t *testing.T, externalID string) string {
	t.Helper()
	c, err := b.store.GetByExternalID(b.ctx, externalID)
	require.NoError(t, err)
	return c.Manager
}
