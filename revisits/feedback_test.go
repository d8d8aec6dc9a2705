package revisits_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
	"carillon/revisits"
)

func (w *digestWorld) feedback(t *testing.T, on calendar.Date, ext, category, owner string) revisits.Feedback {
	t.Helper()
	w.clock.Set(at(on.Year, on.Month, on.Day, 11, 0))
	fb, err := w.svc.CreateFeedback(w.ctx, tester, revisits.FeedbackInput{ContactID: w.contactID(t, ext), Category: category, Summary: category + " of " + ext, Owner: owner})
	require.NoError(t, err)
	return fb
}

func (w *digestWorld) setState(t *testing.T, on calendar.Date, id int64, state revisits.FeedbackState, solution string) {
	t.Helper()
	w.clock.Set(at(on.Year, on.Month, on.Day, 15, 0))
	ch := revisits.FeedbackChange{State: &state}
	if solution != "" {
		ch.Solution = &solution
	}
	_, err := w.svc.UpdateFeedback(w.ctx, tester, revisits.FeedbackScope{}, id, ch)
	require.NoError(t, err)
}

func TestComplaintPastItsSLAInTheOwnersAndTheLeadsDigest(t *testing.T) {
	t.Parallel()
	w := newDigestWorld(t)
	// Opened Thursday 8 October: two business days later is the 调休
	// Saturday 10th, its SLA day.
	fb := w.feedback(t, day(2026, time.October, 8), "CC", revisits.Complaint, "")
	require.Equal(t, day(2026, time.October, 10), *fb.SLADue)
	require.Equal(t, "M002", fb.Owner)

	_, by, _ := w.dryRun(t, day(2026, time.October, 10))
	require.Empty(t, by["M002"].Complaints, "on its SLA day it is not late yet")
	_, by, _ = w.dryRun(t, day(2026, time.October, 12))
	require.Len(t, by["M002"].Complaints, 1)
	require.Equal(t, 1, by["M002"].Complaints[0].DaysOver)
	require.Len(t, by["M001"].Complaints, 1, "the owner's team lead sees it too")
	require.Empty(t, by["M004"].Complaints)
	// The new complaint was pushed to its owner at once, not kept for the digest.
	require.Empty(t, by["M002"].Alerts)
	require.Equal(t, 1, w.count(t, `SELECT count(*) FROM messages m JOIN managers g ON g.id = m.manager_id
		WHERE m.dedupe_key = $1 AND g.code = 'M002' AND m.template_key = 'revisit_alert'`, fmt.Sprintf("complaint:%d", fb.ID)))

	// In progress it is still open; resolved it is gone.
	w.setState(t, day(2026, time.October, 12), fb.ID, revisits.StateInProgress, "")
	_, by, _ = w.dryRun(t, day(2026, time.October, 12))
	require.Len(t, by["M002"].Complaints, 1)
	w.setState(t, day(2026, time.October, 12), fb.ID, revisits.StateResolved, "fee refunded")
	_, by, _ = w.dryRun(t, day(2026, time.October, 13))
	require.Empty(t, by["M002"].Complaints)
	require.Empty(t, by["M001"].Complaints)

	// A suggestion has no SLA.
	sg := w.feedback(t, day(2026, time.October, 8), "CA", revisits.Suggestion, "")
	require.Nil(t, sg.SLADue)
	// The state never moves back; a resolved record is closed.
	state := revisits.StateOpen
	_, err := w.svc.UpdateFeedback(w.ctx, tester, revisits.FeedbackScope{}, fb.ID, revisits.FeedbackChange{State: &state})
	require.ErrorIs(t, err, revisits.ErrConflict)
	require.Equal(t, 3, w.count(t, `SELECT count(*) FROM contact_events WHERE kind LIKE 'feedback.%' AND contact_id = $1`, w.contactID(t, "CC")))
}

func TestWeeklyFeedbackSummaryOnMondayForTeamLeads(t *testing.T) {
	t.Parallel()
	w := newDigestWorld(t)
	c := w.feedback(t, day(2026, time.October, 8), "CC", revisits.Complaint, "")
	w.setState(t, day(2026, time.October, 13), c.ID, revisits.StateResolved, "fee refunded")
	w.feedback(t, day(2026, time.October, 13), "CA", revisits.Need, "")
	w.feedback(t, day(2026, time.October, 14), "CX", revisits.Suggestion, "")
	w.feedback(t, day(2026, time.October, 14), "CW", revisits.Need, "") // M004 has no lead

	monday := day(2026, time.October, 19)
	w.clock.Set(at(2026, time.October, 19, 6, 0))
	_, by, _ := w.dryRun(t, monday)
	sum := by["M001"].Weekly
	require.NotNil(t, sum)
	require.Equal(t, day(2026, time.October, 12), sum.From)
	require.Equal(t, day(2026, time.October, 18), sum.To)
	require.Equal(t, []string{"M001", "M002", "M003"}, sum.Team)
	require.Equal(t, map[string]int{"suggestion": 1, "need": 1, "complaint": 0}, sum.New)
	require.Equal(t, 1, sum.Resolved)
	require.Len(t, sum.Open, 2)
	require.Equal(t, "CA", sum.Open[0].ExternalID, "oldest first")
	require.Equal(t, 6, sum.Open[0].AgeDays)
	require.Equal(t, "M003", sum.Open[1].Owner)
	require.Equal(t, []revisits.SolutionLine{{ID: c.ID, Category: "complaint", State: "resolved", Owner: "M002", Solution: "fee refunded"}}, sum.Solutions)
	require.Nil(t, by["M002"].Weekly, "for team leads only")
	require.Nil(t, by["M004"].Weekly)

	// Not on Tuesday.
	_, by, _ = w.dryRun(t, day(2026, time.October, 20))
	require.Nil(t, by["M001"].Weekly)
	// After the National Day week the first business day is Thursday 8 October.
	sums, err := w.svc.WeeklySummaries(w.ctx, day(2026, time.October, 5), day(2026, time.October, 8), []string{"M001"})
	require.NoError(t, err)
	require.Equal(t, 1, sums["M001"].New["complaint"])
	_, err = w.svc.WeeklySummaries(w.ctx, day(2026, time.October, 6), day(2026, time.October, 8), nil)
	require.Error(t, err, "a week starts on a Monday")
	require.Equal(t, day(2026, time.October, 5), revisits.WeekOf(day(2026, time.October, 11)))
}
