package calendar_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
)

func solar(year, month, day int) calendar.Birthday {
	return calendar.Birthday{Calendar: calendar.CalendarSolar, Year: year, Month: month, Day: day}
}

func lunar(month, day int, leap bool) calendar.Birthday {
	return calendar.Birthday{Calendar: calendar.CalendarLunar, LunarMonth: month, LunarDay: day, LunarLeap: leap}
}

func TestBirthdayEdgeRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		b        calendar.Birthday
		on       string   // the greeting day
		notOn    []string // days that are not
		year     int      // Greeting.Year, in the birthday's calendar
		notes    []string
		lunarStr string
	}{
		{
			name: "solar birthday", b: solar(0, 6, 15), on: "2026-06-15", notOn: []string{"2026-06-14", "2026-06-16"},
			year: 2026,
		},
		{
			name: "29 February greeted on 28 February in a common year", b: solar(0, 2, 29),
			on: "2026-02-28", notOn: []string{"2026-03-01", "2026-02-27"}, year: 2026, notes: []string{calendar.NoteFeb29},
		},
		{
			name: "29 February kept in a leap year", b: solar(0, 2, 29),
			on: "2028-02-29", notOn: []string{"2028-02-28"}, year: 2028,
		},
		{
			name: "lunar birthday", b: lunar(8, 15, false), on: "2026-09-25", notOn: []string{"2026-09-24"},
			year: 2026, lunarStr: "农历八月十五",
		},
		{
			// 腊月 of lunar 2024 has 29 days: 腊月三十 is greeted on 腊月廿九, 2025-01-28.
			name: "lunar 30th greeted on the 29th in a short month", b: lunar(12, 30, false),
			on: "2025-01-28", notOn: []string{"2025-01-29", "2025-01-27"}, year: 2024,
			notes: []string{calendar.NoteLunar30}, lunarStr: "农历腊月廿九",
		},
		{
			// 腊月 of lunar 2023 has 30 days.
			name: "lunar 30th kept in a long month", b: lunar(12, 30, false),
			on: "2024-02-09", notOn: []string{"2024-02-08"}, year: 2023, lunarStr: "农历腊月三十",
		},
		{
			// Born in 闰四月 (2020); lunar 2026 has no leap fourth month: 四月初八 is 2026-05-24.
			name: "leap-month birthday in the ordinary month when the year has none", b: lunar(4, 8, true),
			on: "2026-05-24", year: 2026, notes: []string{calendar.NoteLeapMonth}, lunarStr: "农历四月初八",
		},
		{
			// Lunar 2025 has a leap sixth month (from 2025-07-25): 闰六月初十 is 2025-08-03, not 六月初十 (2025-07-04).
			name: "leap-month birthday in the leap month when the year has one", b: lunar(6, 10, true),
			on: "2025-08-03", notOn: []string{"2025-07-04"}, year: 2025, lunarStr: "农历闰六月初十",
		},
		{
			name: "ordinary-month birthday stays in the ordinary month of a leap year", b: lunar(6, 10, false),
			on: "2025-07-04", notOn: []string{"2025-08-03"}, year: 2025, lunarStr: "农历六月初十",
		},
		{
			// Both rules: a 闰腊月三十 birthday in lunar 2024 (no leap 腊月, a 29-day 腊月).
			name: "leap month and 30th together", b: lunar(12, 30, true),
			on: "2025-01-28", year: 2024, notes: []string{calendar.NoteLeapMonth, calendar.NoteLunar30}, lunarStr: "农历腊月廿九",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, ok, err := tt.b.GreetingOn(date(t, tt.on))
			require.NoError(t, err)
			require.True(t, ok, "greeted on %s", tt.on)
			require.Equal(t, tt.on, g.Date.String())
			require.Equal(t, tt.year, g.Year)
			require.Equal(t, tt.notes, g.Notes)
			require.Equal(t, tt.b.Calendar, g.Calendar)
			if tt.lunarStr != "" {
				require.Equal(t, tt.lunarStr, g.Lunar)
			}
			for _, d := range tt.notOn {
				_, ok, err := tt.b.GreetingOn(date(t, d))
				require.NoError(t, err)
				require.False(t, ok, "not greeted on %s", d)
			}
			// The index keys of the day find this birthday, with the same notes.
			keys, err := calendar.BirthdayKeys(date(t, tt.on))
			require.NoError(t, err)
			require.Equal(t, tt.notes, keyNotes(t, keys, tt.b))
		})
	}
}

// keyNotes returns the notes of the key of keys matching b; it fails when
// none does.
func keyNotes(t *testing.T, keys calendar.DayKeys, b calendar.Birthday) []string {
	t.Helper()
	if b.Calendar == calendar.CalendarSolar {
		for _, k := range keys.Solar {
			if k.Month == b.Month && k.Day == b.Day {
				return k.Notes
			}
		}
	} else {
		for _, k := range keys.LunarKeys {
			if k.Month == b.LunarMonth && k.Day == b.LunarDay && k.Leap == b.LunarLeap {
				return k.Notes
			}
		}
	}
	t.Fatalf("no key of %s matches %+v", keys.Date, b)
	return nil
}

func matchesKeys(keys calendar.DayKeys, b calendar.Birthday) ([]string, bool) {
	if b.Calendar == calendar.CalendarSolar {
		for _, k := range keys.Solar {
			if k.Month == b.Month && k.Day == b.Day {
				return k.Notes, true
			}
		}
		return nil, false
	}
	for _, k := range keys.LunarKeys {
		if k.Month == b.LunarMonth && k.Day == b.LunarDay && k.Leap == b.LunarLeap {
			return k.Notes, true
		}
	}
	return nil, false
}

// TestBirthdayKeysAgreeWithGreetingOn checks, day by day over 2023–2025 (leap
// second and sixth months) and the winter of 2033 (a leap 冬月), that looking
// birthdays up by the day's index keys finds exactly the birthdays GreetingOn
// greets that day, with the same greeting, and that each is greeted once per
// year of its own calendar.
func TestBirthdayKeysAgreeWithGreetingOn(t *testing.T) {
	t.Parallel()
	withYear := func(b calendar.Birthday, y int) calendar.Birthday { b.Year = y; return b }
	birthdays := []calendar.Birthday{
		solar(0, 2, 29), solar(1964, 2, 29), solar(0, 2, 28), solar(0, 3, 1), solar(1966, 12, 31),
		lunar(12, 30, false), lunar(12, 29, false), lunar(11, 30, false), lunar(1, 1, false),
		lunar(4, 8, true), lunar(6, 10, true), lunar(6, 30, true), lunar(2, 30, true), lunar(6, 10, false),
		lunar(11, 15, true), lunar(11, 30, true), withYear(lunar(8, 15, false), 1973),
	}
	type span struct{ from, to string }
	for _, sp := range []span{{"2023-01-01", "2025-12-31"}, {"2033-10-01", "2034-03-31"}} {
		count := make([]map[int]int, len(birthdays)) // greetings per year of the birthday's calendar
		for i := range count {
			count[i] = map[int]int{}
		}
		for d := date(t, sp.from); !d.After(date(t, sp.to)); d = d.AddDays(1) {
			keys, err := calendar.BirthdayKeys(d)
			require.NoError(t, err)
			for i, b := range birthdays {
				g, ok, err := b.GreetingOn(d)
				require.NoError(t, err)
				notes, found := matchesKeys(keys, b)
				require.Equal(t, ok, found, "%s: %+v greeted=%v, found by keys=%v", d, b, ok, found)
				kg, kok, err := keys.Greeting(b)
				require.NoError(t, err)
				require.Equal(t, ok, kok)
				if ok {
					require.Equal(t, g.Notes, notes, "%s %+v", d, b)
					require.Equal(t, g, kg, "%s %+v", d, b)
					count[i][g.Year]++
				}
			}
		}
		for i, b := range birthdays {
			for y, n := range count[i] {
				require.Equal(t, 1, n, "%+v greeted %d times in year %d", b, n, y)
			}
		}
	}
}

func TestLeapEleventhMonth2033(t *testing.T) {
	t.Parallel()
	leap, err := calendar.LeapMonth(2033)
	require.NoError(t, err)
	require.Equal(t, 11, leap, "2033 has a leap 冬月")
	// A 闰冬月 birthday is greeted in the leap month in 2033 and in the ordinary 冬月 in 2034.
	b := lunar(11, 15, true)
	g33, err := b.GreetingIn(2033)
	require.NoError(t, err)
	require.Empty(t, g33.Notes)
	require.Equal(t, "农历闰冬月十五", g33.Lunar)
	g34, err := b.GreetingIn(2034)
	require.NoError(t, err)
	require.Equal(t, []string{calendar.NoteLeapMonth}, g34.Notes)
	require.Equal(t, "农历冬月十五", g34.Lunar)
}

func TestLunarBirthdayTwiceInOneSolarYear(t *testing.T) {
	t.Parallel()
	b := lunar(11, 20, false) // 冬月二十
	gs, err := b.GreetingsBetween(date(t, "2024-01-01"), date(t, "2024-12-31"))
	require.NoError(t, err)
	require.Len(t, gs, 2)
	require.Equal(t, "2024-01-01", gs[0].Date.String())
	require.Equal(t, 2023, gs[0].Year)
	require.Equal(t, "2024-12-20", gs[1].Date.String())
	require.Equal(t, 2024, gs[1].Year)
	require.Equal(t, "birthday:C42:lunar:2023", gs[0].DedupeKey("C42"))
	require.Equal(t, "birthday:C42:lunar:2024", gs[1].DedupeKey("C42"))

	keys, err := calendar.BirthdayKeys(date(t, "2024-12-20"))
	require.NoError(t, err)
	require.Equal(t, calendar.LunarDate{Year: 2024, Month: 11, Day: 20}, keys.Lunar)

	// A solar birthday's key is the solar year.
	g, ok, err := solar(0, 3, 5).GreetingOn(date(t, "2026-03-05"))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "birthday:C42:solar:2026", g.DedupeKey("C42"))
}

func TestGreetingsBetweenWeek(t *testing.T) {
	t.Parallel()
	gs, err := lunar(8, 15, false).GreetingsBetween(date(t, "2026-09-20"), date(t, "2026-09-26"))
	require.NoError(t, err)
	require.Len(t, gs, 1)
	require.Equal(t, "2026-09-25", gs[0].Date.String())
	gs, err = solar(0, 2, 29).GreetingsBetween(date(t, "2027-02-25"), date(t, "2027-03-03"))
	require.NoError(t, err)
	require.Len(t, gs, 1)
	require.Equal(t, "2027-02-28", gs[0].Date.String())
	require.Equal(t, calendar.NoteFeb29, gs[0].Note())
}

func TestBirthdayAgeAndMilestones(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		b         calendar.Birthday
		on        string
		age       int
		milestone bool
	}{
		{"60th", solar(1966, 10, 1), "2026-10-01", 60, true},
		{"55th", solar(1971, 10, 1), "2026-10-01", 55, false},
		{"70th", solar(1956, 3, 1), "2026-03-01", 70, true},
		{"80th", solar(1946, 7, 7), "2026-07-07", 80, true},
		{"100th", solar(1926, 7, 7), "2026-07-07", 100, true},
		{"50th is not flagged", solar(1976, 7, 7), "2026-07-07", 50, false},
		{"29 February, common year", solar(1964, 2, 29), "2026-02-28", 62, false},
		{"year unknown", solar(0, 7, 7), "2026-07-07", 0, false},
		// Lunar: the age counts lunar years. 中秋 1966 was solar 1966-09-29, lunar year 1966.
		{"lunar 60th", calendar.Birthday{Calendar: "lunar", Year: 1966, LunarMonth: 8, LunarDay: 15}, "2026-09-25", 60, true},
		// Solar 1966-01-15 was 腊月廿四 of lunar 1965: with only the solar birth
		// year known, the lunar birth year is the one whose 腊月廿四 fell in
		// solar 1966, so the greeting of lunar year 2025 (2026-02-11) is the 60th.
		{"lunar 腊月 birthday of solar January", calendar.Birthday{Calendar: "lunar", Year: 1966, LunarMonth: 12, LunarDay: 24}, "2026-02-11", 60, true},
		// With the full solar birth date given, the lunar birth year follows from it.
		{"lunar with solar birth date in 腊月", calendar.Birthday{Calendar: "lunar", Year: 1966, Month: 1, Day: 15, LunarMonth: 12, LunarDay: 24}, "2026-02-11", 60, true},
		{"lunar with solar birth date in 正月", calendar.Birthday{Calendar: "lunar", Year: 1966, Month: 1, Day: 26, LunarMonth: 1, LunarDay: 6}, "2026-02-22", 60, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, ok, err := tt.b.GreetingOn(date(t, tt.on))
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, tt.age, g.Age)
			require.Equal(t, tt.milestone, g.Milestone)
		})
	}

	// Before the first birthday there is none.
	_, ok, err := solar(2000, 5, 5).GreetingOn(date(t, "2000-05-05"))
	require.NoError(t, err)
	require.False(t, ok)
	_, err = solar(2000, 5, 5).GreetingIn(1999)
	require.ErrorIs(t, err, calendar.ErrNotBorn)
}

func TestBirthdayValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		b    calendar.Birthday
		err  error // nil: valid
	}{
		{"solar", solar(1980, 4, 30), nil},
		{"solar 29 February, year unknown", solar(0, 2, 29), nil},
		{"solar 29 February of a leap year", solar(1992, 2, 29), nil},
		{"solar 29 February of a common year", solar(1991, 2, 29), calendar.ErrInvalidDate},
		{"solar 31 April", solar(0, 4, 31), calendar.ErrInvalidDate},
		{"solar month 0", solar(0, 0, 1), calendar.ErrInvalidDate},
		{"lunar 30th", lunar(12, 30, false), nil},
		{"lunar 31st", lunar(12, 31, false), calendar.ErrInvalidDate},
		{"lunar month 13", lunar(13, 1, false), calendar.ErrInvalidDate},
		{"unknown calendar", calendar.Birthday{Calendar: "julian", Month: 1, Day: 1}, calendar.ErrInvalidDate},
		{"birth year out of range", solar(1700, 1, 1), calendar.ErrOutOfRange},
	}
	for _, tt := range tests {
		err := tt.b.Validate()
		if tt.err == nil {
			require.NoError(t, err, tt.name)
		} else {
			require.ErrorIs(t, err, tt.err, tt.name)
			_, _, err = tt.b.GreetingOn(date(t, "2026-01-01"))
			require.Error(t, err, tt.name)
		}
	}
}

func TestBirthdayKeysOfADay(t *testing.T) {
	t.Parallel()
	// 2025-01-28 is 腊月廿九 of lunar 2024, a 29-day month, in a year without a leap 腊月.
	keys, err := calendar.BirthdayKeys(date(t, "2025-01-28"))
	require.NoError(t, err)
	require.Equal(t, []calendar.SolarKey{{Month: 1, Day: 28}}, keys.Solar)
	want := []calendar.LunarKey{
		{Month: 12, Day: 29},
		{Month: 12, Day: 29, Leap: true, Notes: []string{calendar.NoteLeapMonth}},
		{Month: 12, Day: 30, Notes: []string{calendar.NoteLunar30}},
		{Month: 12, Day: 30, Leap: true, Notes: []string{calendar.NoteLeapMonth, calendar.NoteLunar30}},
	}
	require.Equal(t, want, keys.LunarKeys)

	// 2026-02-28, a common year: 29 February is greeted too.
	keys, err = calendar.BirthdayKeys(date(t, "2026-02-28"))
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(keys.Solar, func(k calendar.SolarKey) bool { return k.Month == 2 && k.Day == 29 }))
	keys, err = calendar.BirthdayKeys(date(t, "2028-02-28"))
	require.NoError(t, err)
	require.Len(t, keys.Solar, 1)

	// 2025-08-03 is in the leap sixth month: only the leap key.
	keys, err = calendar.BirthdayKeys(date(t, "2025-08-03"))
	require.NoError(t, err)
	require.Equal(t, []calendar.LunarKey{{Month: 6, Day: 10, Leap: true}}, keys.LunarKeys)
	// 2025-07-04, ordinary 六月初十 of a year that has 闰六月: no leap key.
	keys, err = calendar.BirthdayKeys(date(t, "2025-07-04"))
	require.NoError(t, err)
	require.Equal(t, []calendar.LunarKey{{Month: 6, Day: 10}}, keys.LunarKeys)
}
