package revisits_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
	"carillon/revisits"
)

// 2028's holidays typed into the configuration: 春节 off 25–31 January,
// Saturday 22 worked.
var cal2028 = calendar.Config{Years: []calendar.YearConfig{{Year: 2028,
	Off:    []string{"2028-01-25", "2028-01-26", "2028-01-27", "2028-01-28", "2028-01-29", "2028-01-30", "2028-01-31"},
	Worked: []string{"2028-01-22"}}}}

func TestDueDaysAndSLAsUseTheConfiguredYear(t *testing.T) {
	t.Parallel()
	created := at(2028, time.January, 20, 10, 0)
	lib := setup(t, "CC,客户,13800000001,B,M002,,,,,,active\n", created, revisits.Config{})
	conf := setup(t, "CC,客户,13800000001,B,M002,,,,,,active\n", created, revisits.Config{Festivals: cal2028})

	// Without data 2028 counts weekends only: the Wednesday 26th is due.
	require.Equal(t, day(2028, time.January, 26), lib.svc.DueDate(day(2028, time.January, 26)))
	require.Equal(t, day(2028, time.February, 1), conf.svc.DueDate(day(2028, time.January, 26)))
	require.Equal(t, day(2028, time.January, 22), conf.svc.DueDate(day(2028, time.January, 22)), "the make-up Saturday is a business day")

	// A complaint opened Friday 21st: 2 business days are the 22nd (worked)
	// and 24th with the configuration, the 24th and 25th without.
	for _, tc := range []struct {
		b    *bundle
		want calendar.Date
	}{{lib, day(2028, time.January, 25)}, {conf, day(2028, time.January, 24)}} {
		tc.b.clock.Set(at(2028, time.January, 21, 11, 0))
		fb, err := tc.b.svc.CreateFeedback(tc.b.ctx, tester, revisits.FeedbackInput{ContactID: tc.b.contactID(t, "CC"), Category: revisits.Complaint, Summary: "late card"})
		require.NoError(t, err)
		require.Equal(t, tc.want, *fb.SLADue)
	}

	// The digests of a 2028 day say whether they counted with holiday data.
	res, err := lib.svc.PlanDigests(lib.ctx, day(2028, time.March, 1), revisits.DigestOptions{DryRun: true})
	require.NoError(t, err)
	require.False(t, res.HolidayData)
	require.Contains(t, res.HolidayWarning, "no public-holiday data for 2028")
	res, err = conf.svc.PlanDigests(conf.ctx, day(2028, time.March, 1), revisits.DigestOptions{DryRun: true})
	require.NoError(t, err)
	require.True(t, res.HolidayData)
	require.Empty(t, res.HolidayWarning)
}
