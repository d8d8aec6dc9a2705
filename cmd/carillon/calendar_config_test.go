package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
	"carillon/internal/pgtest"
)

// calendarTOML is a bank's [calendar] section: 腊八 switched on, its own
// solar and lunar days, and 2028's public holidays typed in.
const calendarTOML = `
[calendar]
add = ["laba"]

[[calendar.festival]]
key = "bank_day"
name = "行庆日"
name_en = "Bank Day"
month = 6
day = 18

[[calendar.festival]]
key = "shangsi"
name = "上巳节"
name_en = "Shangsi Festival"
lunar = true
month = 3
day = 3

[[calendar.year]]
year = 2028
off = ["2028-01-01", "2028-01-25", "2028-01-26", "2028-01-27", "2028-01-28", "2028-01-29", "2028-01-30", "2028-01-31"]
worked = ["2028-01-22"]
`

func TestCalendarSectionOfTheConfig(t *testing.T) {
	t.Parallel()
	fc, err := parseConfig(calendarTOML, "carillon.toml")
	require.NoError(t, err)
	require.Equal(t, []string{calendar.KeyLaba}, fc.Calendar.Add)
	require.Len(t, fc.Calendar.Custom, 2)
	require.True(t, fc.Calendar.Custom[1].Lunar)
	require.False(t, fc.Calendar.IsBusinessDay(calendar.NewDate(2028, 1, 26)), "a configured holiday")
	require.True(t, fc.Calendar.IsBusinessDay(calendar.NewDate(2028, 1, 22)), "a configured make-up Saturday")
	require.True(t, fc.Calendar.HasHolidayData(2028))

	for _, tc := range []struct{ toml, want string }{
		{"[[calendar.year]]\nyear = 2028\noff = [\"2028-01-01\", \"2028-01-02\", \"2028-13-01\"]\n",
			`config carillon.toml: calendar.year[0].off[2]: "2028-13-01" is not a date (YYYY-MM-DD) / 不是日期（格式 YYYY-MM-DD）`},
		{"[[calendar.year]]\nyear = 2028\n[[calendar.year]]\nyear = 2029\nworked = [\"2029-01-03\"]\n",
			`config carillon.toml: calendar.year[1].worked[0]: "2029-01-03" is a Wednesday`},
		{"[calendar]\nadd = [\"halloween\"]\n", `config carillon.toml: calendar.add[0]: "halloween" is not a built-in festival`},
		{"[[calendar.festival]]\nkey = \"x\"\nname = \"x\"\nmonth = 2\nday = 31\n", `config carillon.toml: calendar.festival[0].day: "31" is not a day of month 2`},
		{"[[calendar.festival]]\nkey = \"x\"\nname = \"x\"\nmonth = 2\nday = 1\ndate = \"02-01\"\n", `unknown keys calendar.festival.date`},
	} {
		_, err := parseConfig(tc.toml, "carillon.toml")
		require.ErrorContains(t, err, tc.want)
	}
}

// An invalid [calendar] stops plan at start, before the database is opened,
// naming the place.
func TestPlanRejectsAnInvalidCalendarSection(t *testing.T) {
	t.Parallel()
	c := cli{t, "postgres://invalid.invalid/none"}
	file := writeTemp(t, "bad.toml", "[[calendar.year]]\nyear = 2028\noff = [\"2028-02-30\"]\n")
	_, _, err := c.run(context.Background(), "plan", "--date", "2028-03-01", "--dry-run", "--config", file)
	require.ErrorContains(t, err, `calendar.year[0].off[0]: "2028-02-30" is not a date`)
}

func TestCalendarCommandListsTheConfiguration(t *testing.T) {
	t.Parallel()
	c := cli{t, ""}
	file := writeTemp(t, "carillon.toml", calendarTOML)
	out, _, err := c.run(context.Background(), "calendar", "--year", "2028", "--config", file, "--json")
	require.NoError(t, err)
	var y calendar.YearInfo
	require.NoError(t, json.Unmarshal([]byte(out), &y))
	keys := map[string]string{}
	for _, f := range y.Festivals {
		keys[f.Key] = f.Date.String()
	}
	require.Equal(t, "2028-06-18", keys["bank_day"])
	shangsi, err := calendar.ToSolar(calendar.LunarDate{Year: 2028, Month: 3, Day: 3})
	require.NoError(t, err)
	require.Equal(t, shangsi.String(), keys["shangsi"])
	require.Contains(t, keys, calendar.KeyLaba)
	require.True(t, y.HolidayData)
	require.Equal(t, calendar.SourceConfig, y.HolidaySource)
	require.Len(t, y.Holidays, 8)
	require.Equal(t, "2028-01-22", y.Workdays[0].Date.String())
	require.NotNil(t, y.Config)
	require.Equal(t, []string{calendar.KeyLaba}, y.Config.Enabled)
	require.Equal(t, []int{2028}, y.Config.Years)
	require.Len(t, y.Config.Custom, 2)

	text, _, err := c.run(context.Background(), "calendar", "--year", "2028", "--config", file)
	require.NoError(t, err)
	require.Contains(t, text, "festival bank_day")
	require.Contains(t, text, "festival shangsi")
	require.Regexp(t, `optional festivals on +\[laba\]`, text)
	require.NotContains(t, text, "no public-holiday data for 2028:")

	// Without the configuration 2028 has no data, and says so.
	text, _, err = c.run(context.Background(), "calendar", "--year", "2028")
	require.NoError(t, err)
	require.Contains(t, text, "no public-holiday data for 2028")
	require.NotContains(t, text, "bank_day")
}

// A 2028 plan says the holiday data is missing; the configuration's 2028
// makes the warning go, and its festivals are planned on their days.
func TestPlanReportsMissingHolidayDataAndPlansConfiguredFestivals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := cli{t, pgtest.New(t).URL}
	contactsCSV := writeTemp(t, "c.csv", "external_id,name,birthday,lunar_birthday,birthday_calendar,timezone,status\nP1,王芳,,,,,active\n")
	_, _, err := c.run(ctx, "import", "contacts", contactsCSV)
	require.NoError(t, err)
	cfg := writeTemp(t, "carillon.toml", calendarTOML)

	_, summary := planLines(t, c, "--date", "2028-03-01", "--dry-run")
	require.Equal(t, false, summary["holiday_data"])
	require.Equal(t, []any{2028.0}, summary["missing_holiday_years"])
	require.Contains(t, summary["holiday_warning"], "no public-holiday data for 2028")
	_, stderr, err := c.run(ctx, "plan", "--date", "2028-03-01", "--dry-run")
	require.NoError(t, err)
	require.Contains(t, stderr, "plan: warning: no public-holiday data for 2028")

	_, summary = planLines(t, c, "--date", "2028-03-01", "--dry-run", "--config", cfg)
	require.Equal(t, true, summary["holiday_data"])
	require.NotContains(t, summary, "missing_holiday_years")
	require.NotContains(t, summary, "holiday_warning")

	shangsi, err := calendar.ToSolar(calendar.LunarDate{Year: 2028, Month: 3, Day: 3})
	require.NoError(t, err)
	laba := ""
	fs, err := calendar.Festivals(2028, calendar.Config{Add: []string{calendar.KeyLaba}})
	require.NoError(t, err)
	for _, f := range fs {
		if f.Key == calendar.KeyLaba {
			laba = f.Date.String()
		}
	}
	require.NotEmpty(t, laba)
	for date, rule := range map[string]string{"2028-06-18": "festival.bank_day", shangsi.String(): "festival.shangsi", laba: "festival.laba"} {
		items, summary := planLines(t, c, "--date", date, "--dry-run", "--config", cfg)
		require.Len(t, items, 1, date)
		require.Equal(t, rule, items[0]["rule"], date)
		require.Equal(t, "P1", items[0]["contact"])
		require.Equal(t, 1.0, summary["by_rule"].(map[string]any)[rule])
		// Without the configuration nothing is greeted that day.
		items, _ = planLines(t, c, "--date", date, "--dry-run")
		require.Empty(t, items, date)
	}
}
