package calendar_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
)

func TestLunarChinese(t *testing.T) {
	t.Parallel()
	tests := []struct {
		month, day int
		leap       bool
		want       string
	}{
		{8, 15, false, "八月十五"},
		{4, 8, true, "闰四月初八"},
		{1, 1, false, "正月初一"},
		{12, 30, false, "腊月三十"},
		{11, 20, false, "冬月二十"},
		{10, 10, false, "十月初十"},
		{3, 21, false, "三月廿一"},
		{2, 11, false, "二月十一"},
		{6, 29, true, "闰六月廿九"},
		{13, 1, false, ""},
		{1, 31, false, ""},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, calendar.LunarMonthDayChinese(tt.month, tt.day, tt.leap))
	}
	l := calendar.LunarDate{Year: 2025, Month: 8, Day: 15}
	require.Equal(t, "农历八月十五", l.Chinese())
	require.Equal(t, "2025-08-15", l.String())
	require.Equal(t, "2025-L06-10", calendar.LunarDate{Year: 2025, Month: 6, Day: 10, Leap: true}.String())
}

func TestSolarLunarConversion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		solar string
		lunar calendar.LunarDate
	}{
		// lunar 冬月二十 falls twice in solar 2024
		{"2024-01-01", calendar.LunarDate{Year: 2023, Month: 11, Day: 20}},
		{"2024-12-20", calendar.LunarDate{Year: 2024, Month: 11, Day: 20}},
		{"2024-02-09", calendar.LunarDate{Year: 2023, Month: 12, Day: 30}},
		{"2025-01-29", calendar.LunarDate{Year: 2025, Month: 1, Day: 1}},
		// 2025's leap sixth month began on 25 July.
		{"2025-07-24", calendar.LunarDate{Year: 2025, Month: 6, Day: 30}},
		{"2025-07-25", calendar.LunarDate{Year: 2025, Month: 6, Day: 1, Leap: true}},
		{"2025-10-06", calendar.LunarDate{Year: 2025, Month: 8, Day: 15}},
		{"2026-05-24", calendar.LunarDate{Year: 2026, Month: 4, Day: 8}},
	}
	for _, tt := range tests {
		t.Run(tt.solar, func(t *testing.T) {
			t.Parallel()
			l, err := calendar.ToLunar(date(t, tt.solar))
			require.NoError(t, err)
			require.Equal(t, tt.lunar, l)
			s, err := calendar.ToSolar(tt.lunar)
			require.NoError(t, err)
			require.Equal(t, tt.solar, s.String())
		})
	}
}

func TestToSolarRejectsImpossibleDates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		l    calendar.LunarDate
	}{
		{"no leap fourth month in 2026", calendar.LunarDate{Year: 2026, Month: 4, Day: 1, Leap: true}},
		{"腊月 of lunar 2024 has 29 days", calendar.LunarDate{Year: 2024, Month: 12, Day: 30}},
		{"day 31", calendar.LunarDate{Year: 2024, Month: 1, Day: 31}},
		{"month 13", calendar.LunarDate{Year: 2024, Month: 13, Day: 1}},
	}
	for _, tt := range tests {
		_, err := calendar.ToSolar(tt.l)
		require.ErrorIs(t, err, calendar.ErrInvalidDate, tt.name)
	}
	_, err := calendar.ToSolar(calendar.LunarDate{Year: 1800, Month: 1, Day: 1})
	require.ErrorIs(t, err, calendar.ErrOutOfRange)
	_, err = calendar.ToLunar(calendar.Date{Year: 2026, Month: 2, Day: 30})
	require.ErrorIs(t, err, calendar.ErrInvalidDate)
}

func TestLeapMonthAndMonthDays(t *testing.T) {
	t.Parallel()
	for year, want := range map[int]int{2020: 4, 2023: 2, 2025: 6, 2026: 0, 2027: 0, 2028: 5} {
		got, err := calendar.LeapMonth(year)
		require.NoError(t, err)
		require.Equal(t, want, got, year)
	}
	days, ok, err := calendar.LunarMonthDays(2024, 12, false)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 29, days)
	days, ok, err = calendar.LunarMonthDays(2023, 12, false)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 30, days)
	_, ok, err = calendar.LunarMonthDays(2026, 6, true)
	require.NoError(t, err)
	require.False(t, ok)
}

func TestDate(t *testing.T) {
	t.Parallel()
	d := date(t, "2026-02-28")
	require.Equal(t, "2026-03-01", d.AddDays(1).String())
	require.Equal(t, "2026-02-28", d.AddDays(1).AddDays(-1).String())
	require.Equal(t, 365, d.DaysUntil(date(t, "2027-02-28")))
	require.Equal(t, "2026-03-02", calendar.NewDate(2026, 2, 30).String())
	_, err := calendar.ParseDate("2026-2-28")
	require.ErrorIs(t, err, calendar.ErrInvalidDate)
	_, err = calendar.ParseDate("2026-02-29")
	require.ErrorIs(t, err, calendar.ErrInvalidDate)

	b, err := json.Marshal(struct {
		D calendar.Date `json:"d"`
	}{d})
	require.NoError(t, err)
	require.JSONEq(t, `{"d":"2026-02-28"}`, string(b))
	var back struct {
		D calendar.Date `json:"d"`
	}
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, d, back.D)
	require.Error(t, json.Unmarshal([]byte(`{"d":"28/02/2026"}`), &back))
}

func TestSolarTerm(t *testing.T) {
	t.Parallel()
	for s, want := range map[int]string{2025: "2025-04-04", 2026: "2026-04-05", 2027: "2027-04-05", 2024: "2024-04-04"} {
		d, err := calendar.SolarTerm(s, "清明")
		require.NoError(t, err)
		require.Equal(t, want, d.String())
	}
	d, err := calendar.SolarTerm(2026, "冬至")
	require.NoError(t, err)
	require.Equal(t, "2026-12-22", d.String())
	d, err = calendar.SolarTerm(2026, "小寒")
	require.NoError(t, err)
	require.Equal(t, "2026-01-05", d.String())
	_, err = calendar.SolarTerm(2026, "圣诞")
	require.Error(t, err)
}
