package calendar_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
)

// year2028 is a bank's typed-in notice for 2028 (a year lunar-go v1.4.7 does
// not carry): 春节 off Tuesday 25 to Monday 31 January, Saturday 22 worked.
func year2028() calendar.YearConfig {
	return calendar.YearConfig{Year: 2028,
		Off:    []string{"2028-01-01", "2028-01-25", "2028-01-26", "2028-01-27", "2028-01-28", "2028-01-29", "2028-01-30", "2028-01-31"},
		Worked: []string{"2028-01-22"}}
}

func TestYearWithoutDataIsMissing(t *testing.T) {
	t.Parallel()
	cfg := calendar.Config{}.WithDefaults()
	require.Equal(t, calendar.SourceNone, cfg.HolidaySource(2028))
	require.Equal(t, []int{2028}, cfg.MissingHolidayData(2027, 2028, 2028))
	day := cfg.DayOf(date(t, "2028-01-26"))
	require.False(t, day.HolidayData)
	require.True(t, day.Business, "weekends only: a Wednesday is a business day")
	require.Contains(t, day.Warning, "no public-holiday data for 2028")
	require.Contains(t, day.Warning, "2028 年没有法定节假日数据")
}

func TestConfiguredYearGivesHolidaysAndMakeupDays(t *testing.T) {
	t.Parallel()
	cfg := calendar.Config{Years: []calendar.YearConfig{year2028()}}.WithDefaults()
	require.NoError(t, cfg.Validate())
	require.Equal(t, calendar.SourceConfig, cfg.HolidaySource(2028))
	require.Empty(t, cfg.MissingHolidayData(2028))

	hol := cfg.DayOf(date(t, "2028-01-26")) // a Wednesday off
	require.False(t, hol.Business)
	require.Equal(t, calendar.KindHoliday, hol.Kind)
	require.True(t, hol.HolidayData)
	require.Empty(t, hol.Warning)

	sat := cfg.DayOf(date(t, "2028-01-22")) // a Saturday worked
	require.True(t, sat.Business)
	require.Equal(t, calendar.KindMakeup, sat.Kind)

	require.True(t, cfg.IsBusinessDay(date(t, "2028-02-01")))
	require.False(t, cfg.IsBusinessDay(date(t, "2028-02-05")), "an ordinary Saturday stays off")
	next, exact := cfg.NextBusinessDay(date(t, "2028-01-25"))
	require.Equal(t, "2028-02-01", next.String())
	require.True(t, exact)
	d, exact := cfg.AddBusinessDays(date(t, "2028-01-21"), 1)
	require.Equal(t, "2028-01-22", d.String(), "Friday + 1 business day is the make-up Saturday")
	require.True(t, exact)
	n, exact := cfg.BusinessDaysBetween(date(t, "2028-01-21"), date(t, "2028-02-01"))
	require.Equal(t, 3, n, "22nd (worked), 24th and 1 February")
	require.True(t, exact)

	// The package's functions keep lunar-go's answer only.
	require.True(t, calendar.IsBusinessDay(date(t, "2028-01-26")))

	by, err := cfg.HolidaysOf(2028)
	require.NoError(t, err)
	require.True(t, by.HolidayData)
	require.Len(t, by.Holidays, 8)
	require.Len(t, by.Workdays, 1)
	require.Equal(t, "Public holiday (configured)", by.Holidays[0].NameEN)

	y, err := calendar.Year(2028, cfg)
	require.NoError(t, err)
	require.True(t, y.HolidayData)
	require.NotContains(t, y.Warning, "no public-holiday data for 2028:")
	require.Contains(t, y.Warning, "no public-holiday data for 2029 yet", "late December 2028 still waits for 2029's notice")
	b, err := json.Marshal(y)
	require.NoError(t, err)
	require.Contains(t, string(b), `"holiday_source":"config"`)
	require.NotContains(t, string(b), `"festival":"0000`, "a configured day names no festival day")
}

func TestConfiguredYearWinsOverTheLibrary(t *testing.T) {
	t.Parallel()
	// 2027-02-05 (a Friday) is off in lunar-go's 春节 break; a bank whose
	// configuration says otherwise is believed.
	require.False(t, calendar.IsBusinessDay(date(t, "2027-02-05")))
	cfg := calendar.Config{Years: []calendar.YearConfig{{Year: 2027, Off: []string{"2027-02-08"}}}}.WithDefaults()
	require.True(t, cfg.IsBusinessDay(date(t, "2027-02-05")))
	require.False(t, cfg.IsBusinessDay(date(t, "2027-02-08")))
	require.False(t, cfg.IsBusinessDay(date(t, "2027-01-31")), "lunar-go's make-up Sunday is not the configuration's")
	require.Equal(t, calendar.SourceConfig, cfg.HolidaySource(2027))
	require.Equal(t, calendar.SourceLibrary, cfg.HolidaySource(2026))
}

func TestConfiguredYearSettlesLateDecember(t *testing.T) {
	t.Parallel()
	lib := calendar.DayOf(date(t, "2027-12-31"))
	require.False(t, lib.HolidayData, "2028's notice may still move it")
	y := year2028()
	y.Off = append(y.Off, "2027-12-31")
	cfg := calendar.Config{Years: []calendar.YearConfig{y}}.WithDefaults()
	day := cfg.DayOf(date(t, "2027-12-31"))
	require.True(t, day.HolidayData)
	require.False(t, day.Business)
	require.Equal(t, calendar.KindHoliday, day.Kind)
	by, err := cfg.HolidaysOf(2027)
	require.NoError(t, err)
	require.Equal(t, "2027-12-31", by.Holidays[len(by.Holidays)-1].Date.String())
	require.Empty(t, by.Warning)
}

func TestConfigErrorsNameTheirPlace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg  calendar.Config
		want string
	}{
		{calendar.Config{Years: []calendar.YearConfig{{Year: 2028, Off: []string{"2028-01-01", "2028-01-02", "2028-13-01"}}}},
			`calendar.year[0].off[2]: "2028-13-01" is not a date (YYYY-MM-DD) / 不是日期（格式 YYYY-MM-DD）`},
		{calendar.Config{Years: []calendar.YearConfig{{Year: 2028, Off: []string{"2028-1-5"}}}},
			`calendar.year[0].off[0]: "2028-1-5" is not a date`},
		{calendar.Config{Years: []calendar.YearConfig{year2028(), {Year: 2029, Worked: []string{"2029-03-05"}}}},
			`calendar.year[1].worked[0]: "2029-03-05" is a Monday: a make-up workday (调休) is a Saturday or Sunday`},
		{calendar.Config{Years: []calendar.YearConfig{{Year: 2028, Off: []string{"2029-01-01"}}}},
			`calendar.year[0].off[0]: "2029-01-01" is not in 2028`},
		{calendar.Config{Years: []calendar.YearConfig{{Year: 2028, Off: []string{"2028-01-22"}, Worked: []string{"2028-01-22"}}}},
			`calendar.year[0].worked[0]: "2028-01-22" is listed as a day off too`},
		{calendar.Config{Years: []calendar.YearConfig{{Year: 2028, Off: []string{"2028-01-03", "2028-01-03"}}}},
			`calendar.year[0].off[1]: "2028-01-03" is listed twice`},
		{calendar.Config{Years: []calendar.YearConfig{year2028(), year2028()}},
			`calendar.year[1].year: "2028" is configured already by calendar.year[0]`},
		{calendar.Config{Years: []calendar.YearConfig{{}}}, `calendar.year[0].year: "0" is not a year`},
		{calendar.Config{Add: []string{calendar.KeyLaba, "halloween"}}, `calendar.add[1]: "halloween" is not a built-in festival`},
		{calendar.Config{Custom: []calendar.CustomFestival{{Key: "bank_day", Name: "行庆日", Month: 6, Day: 18}, {Key: "Bad Key", Name: "x", Month: 1, Day: 1}}},
			`calendar.festival[1].key: "Bad Key" is not a key`},
		{calendar.Config{Custom: []calendar.CustomFestival{{Key: "b", Month: 1, Day: 2}}}, `calendar.festival[0].name: is required`},
		{calendar.Config{Custom: []calendar.CustomFestival{{Key: "b", Name: "b", Lunar: true, Month: 13, Day: 2}}}, `calendar.festival[0].month: "13" is not a month`},
		{calendar.Config{Custom: []calendar.CustomFestival{{Key: "b", Name: "b", Month: 2, Day: 30}}}, `calendar.festival[0].day: "30" is not a day of month 2`},
		{calendar.Config{Xiaonian: "east"}, `calendar.xiaonian: "east" must be`},
	} {
		err := tc.cfg.Validate()
		require.ErrorIs(t, err, calendar.ErrConfig, tc.want)
		require.ErrorContains(t, err, tc.want)
	}
}

func TestCheckHolidayData(t *testing.T) {
	t.Parallel()
	lib := calendar.Config{}.WithDefaults()
	ok := lib.CheckHolidayData(date(t, "2027-03-01"), date(t, "2027-03-31"))
	require.True(t, ok.HolidayData)
	require.Empty(t, ok.Warning)
	for _, span := range [][2]string{{"2028-03-01", "2028-03-01"}, {"2027-12-01", "2028-01-01"}, {"2027-12-30", "2027-12-30"}} {
		c := lib.CheckHolidayData(date(t, span[0]), date(t, span[1]))
		require.False(t, c.HolidayData, span)
		require.Equal(t, []int{2028}, c.Missing, span)
		require.Contains(t, c.Warning, "no public-holiday data for 2028", span)
	}
	cfg := calendar.Config{Years: []calendar.YearConfig{year2028()}}.WithDefaults()
	require.True(t, cfg.CheckHolidayData(date(t, "2027-12-01"), date(t, "2028-06-01")).HolidayData)
	require.Equal(t, []int{2029}, cfg.CheckHolidayData(date(t, "2028-12-31"), date(t, "2028-12-31")).Missing)
}
