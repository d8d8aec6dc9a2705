package calendar_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
)

func date(t *testing.T, s string) calendar.Date {
	t.Helper()
	d, err := calendar.ParseDate(s)
	require.NoError(t, err)
	return d
}

// expand turns "2026-02-15..2026-02-23" into its days.
func expand(t *testing.T, spans ...string) []string {
	t.Helper()
	var out []string
	for _, s := range spans {
		from, to := s, s
		if len(s) > 10 {
			from, to = s[:10], s[12:]
		}
		for d := date(t, from); !d.After(date(t, to)); d = d.AddDays(1) {
			out = append(out, d.String())
		}
	}
	return out
}

// The State Council's notices, written out by hand: 国办发明电〔2024〕12号 for
// 2025 and the notice of 2025-11-04 for 2026.
var notices = map[int]struct{ off, worked []string }{
	2025: {
		off: []string{"2025-01-01", "2025-01-28..2025-02-04", "2025-04-04..2025-04-06", "2025-05-01..2025-05-05",
			"2025-05-31..2025-06-02", "2025-10-01..2025-10-08"},
		worked: []string{"2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"},
	},
	2026: {
		off: []string{"2026-01-01..2026-01-03", "2026-02-15..2026-02-23", "2026-04-04..2026-04-06", "2026-05-01..2026-05-05",
			"2026-06-19..2026-06-21", "2026-09-25..2026-09-27", "2026-10-01..2026-10-07"},
		worked: []string{"2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"},
	},
}

func TestHolidaysMatchStateCouncilNotice(t *testing.T) {
	t.Parallel()
	for year, n := range notices {
		t.Run(strconv.Itoa(year), func(t *testing.T) {
			t.Parallel()
			by, err := calendar.HolidaysOf(year)
			require.NoError(t, err)
			require.True(t, by.HolidayData)
			var off, worked []string
			for _, h := range by.Holidays {
				off = append(off, h.Date.String())
				require.NotEmpty(t, h.Name)
				require.NotEmpty(t, h.NameEN)
			}
			for _, h := range by.Workdays {
				worked = append(worked, h.Date.String())
			}
			require.Equal(t, expand(t, n.off...), off)
			require.Equal(t, n.worked, worked)
		})
	}
}

func TestDayOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		date     string
		business bool
		kind     string
		holiday  string
	}{
		// 2026's National Day week: Sunday 20 September and Saturday 10 October worked.
		{"2026-09-19", false, calendar.KindWeekend, ""},
		{"2026-09-20", true, calendar.KindMakeup, "国庆节"},
		{"2026-09-30", true, calendar.KindWorkday, ""},
		{"2026-10-01", false, calendar.KindHoliday, "国庆节"},
		{"2026-10-05", false, calendar.KindHoliday, "国庆节"},
		{"2026-10-07", false, calendar.KindHoliday, "国庆节"},
		{"2026-10-08", true, calendar.KindWorkday, ""},
		{"2026-10-10", true, calendar.KindMakeup, "国庆节"},
		{"2026-10-11", false, calendar.KindWeekend, ""},
		// Spring Festival 2026: Saturday 14 February worked, Monday 23 February off.
		{"2026-02-14", true, calendar.KindMakeup, "春节"},
		{"2026-02-23", false, calendar.KindHoliday, "春节"},
		{"2026-02-24", true, calendar.KindWorkday, ""},
		{"2025-10-08", false, calendar.KindHoliday, "国庆中秋"},
		{"2025-10-11", true, calendar.KindMakeup, "国庆中秋"},
		// 2027 from lunar-go's data (the notice published 2026-11).
		{"2027-01-31", true, calendar.KindMakeup, "春节"},
		{"2027-02-05", false, calendar.KindHoliday, "春节"},
		{"2027-06-09", false, calendar.KindHoliday, "端午节"},
		{"2027-10-09", true, calendar.KindMakeup, "国庆节"},
	}
	for _, tt := range tests {
		t.Run(tt.date, func(t *testing.T) {
			t.Parallel()
			day := calendar.DayOf(date(t, tt.date))
			require.Equal(t, tt.business, day.Business)
			require.Equal(t, tt.business, calendar.IsBusinessDay(date(t, tt.date)))
			require.Equal(t, tt.kind, day.Kind)
			require.Equal(t, tt.holiday, day.Holiday)
			require.True(t, day.HolidayData)
			require.Empty(t, day.Warning)
		})
	}
}

func TestAddBusinessDays(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from string
		n    int
		want string
	}{
		{"2026-09-30", 0, "2026-09-30"},
		{"2026-09-30", 1, "2026-10-08"}, // over the whole National Day week
		{"2026-09-30", 2, "2026-10-09"},
		{"2026-09-30", 3, "2026-10-10"}, // the 调休 Saturday
		{"2026-09-30", 4, "2026-10-12"},
		{"2026-10-08", -1, "2026-09-30"},
		{"2026-09-18", 1, "2026-09-20"}, // Friday → the Sunday worked
		{"2026-02-13", 1, "2026-02-14"},
		{"2026-02-13", 2, "2026-02-24"},
		{"2026-03-06", 1, "2026-03-09"}, // an ordinary weekend
	}
	for _, tt := range tests {
		t.Run(tt.from+"+"+strconv.Itoa(tt.n), func(t *testing.T) {
			t.Parallel()
			got, exact := calendar.AddBusinessDays(date(t, tt.from), tt.n)
			require.Equal(t, tt.want, got.String())
			require.True(t, exact)
		})
	}
}

func TestNextBusinessDay(t *testing.T) {
	t.Parallel()
	tests := []struct{ from, want string }{
		{"2026-10-01", "2026-10-08"},
		{"2026-09-19", "2026-09-20"},
		{"2026-10-08", "2026-10-08"},
		{"2026-02-15", "2026-02-24"},
	}
	for _, tt := range tests {
		got, exact := calendar.NextBusinessDay(date(t, tt.from))
		require.Equal(t, tt.want, got.String(), tt.from)
		require.True(t, exact)
	}
}

func TestBusinessDaysBetween(t *testing.T) {
	t.Parallel()
	// 2026-09-30 (Wed) to 2026-10-12 (Mon): 10-08, 10-09, 10-10 (调休), 10-12.
	n, exact := calendar.BusinessDaysBetween(date(t, "2026-09-30"), date(t, "2026-10-12"))
	require.Equal(t, 4, n)
	require.True(t, exact)
	n, _ = calendar.BusinessDaysBetween(date(t, "2026-10-12"), date(t, "2026-09-30"))
	require.Zero(t, n)
}

func TestOutOfHolidayDataFallsBackLoudly(t *testing.T) {
	t.Parallel()
	require.True(t, calendar.HasHolidayData(2002))
	require.True(t, calendar.HasHolidayData(2027))
	require.False(t, calendar.HasHolidayData(2028))
	require.False(t, calendar.HasHolidayData(2001))

	// 1 October 2030 is a Tuesday: without data it counts as a business day, and says so.
	day := calendar.DayOf(date(t, "2030-10-01"))
	require.True(t, day.Business)
	require.Equal(t, calendar.KindWorkday, day.Kind)
	require.False(t, day.HolidayData)
	require.Contains(t, day.Warning, "2030")
	require.Equal(t, calendar.KindWeekend, calendar.DayOf(date(t, "2030-10-05")).Kind)

	got, exact := calendar.AddBusinessDays(date(t, "2030-09-30"), 1)
	require.Equal(t, "2030-10-01", got.String())
	require.False(t, exact)

	// Crossing from known into unknown data is inexact too.
	got, exact = calendar.AddBusinessDays(date(t, "2027-12-30"), 2)
	require.Equal(t, "2028-01-03", got.String())
	require.False(t, exact)

	// 29–31 December belong to the next year's notice (2023-12-30 was off for
	// 元旦 2024), so 2027-12-31 is not settled while 2028 is missing.
	require.False(t, calendar.DayOf(date(t, "2027-12-31")).HolidayData)
	require.NotEmpty(t, calendar.DayOf(date(t, "2027-12-31")).Warning)
	require.True(t, calendar.DayOf(date(t, "2027-12-28")).HolidayData)
	require.Equal(t, calendar.KindHoliday, calendar.DayOf(date(t, "2023-12-30")).Kind)

	by, err := calendar.HolidaysOf(2030)
	require.NoError(t, err)
	require.False(t, by.HolidayData)
	require.NotNil(t, by.Holidays)
	require.NotNil(t, by.Workdays)
	require.Empty(t, by.Holidays)
	require.NotEmpty(t, by.Warning)

	by, err = calendar.HolidaysOf(2027)
	require.NoError(t, err)
	require.True(t, by.HolidayData)
	require.Contains(t, by.Warning, "2028", "the last days of 2027 wait for 2028's notice")
}
