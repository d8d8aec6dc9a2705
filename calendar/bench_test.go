package calendar_test

import (
	"testing"

	"carillon/calendar"
)

func BenchmarkBirthdayKeys(b *testing.B) {
	d := calendar.NewDate(2026, 2, 28)
	for b.Loop() {
		if _, err := calendar.BirthdayKeys(d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGreetingOnLunar(b *testing.B) {
	bd := calendar.Birthday{Calendar: calendar.CalendarLunar, Year: 1966, LunarMonth: 8, LunarDay: 15}
	d := calendar.NewDate(2026, 9, 25)
	for b.Loop() {
		if _, _, err := bd.GreetingOn(d); err != nil {
			b.Fatal(err)
		}
	}
}

// The worst case: a 腊月 birthday with only the solar birth year known needs
// the birth year's lunar table, and the day's table again after it.
func BenchmarkGreetingOnLunarLaYue(b *testing.B) {
	bd := calendar.Birthday{Calendar: calendar.CalendarLunar, Year: 1966, LunarMonth: 12, LunarDay: 30}
	d := calendar.NewDate(2025, 1, 28)
	for b.Loop() {
		if _, _, err := bd.GreetingOn(d); err != nil {
			b.Fatal(err)
		}
	}
}

// The planner's path: keys computed once a day, then Greeting per contact found.
func BenchmarkDayKeysGreeting(b *testing.B) {
	keys, err := calendar.BirthdayKeys(calendar.NewDate(2026, 9, 25))
	if err != nil {
		b.Fatal(err)
	}
	bd := calendar.Birthday{Calendar: calendar.CalendarLunar, Year: 1966, LunarMonth: 8, LunarDay: 15}
	for b.Loop() {
		if _, ok, err := keys.Greeting(bd); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkIsBusinessDay(b *testing.B) {
	d := calendar.NewDate(2026, 10, 10)
	for b.Loop() {
		calendar.IsBusinessDay(d)
	}
}

func BenchmarkYear(b *testing.B) {
	for b.Loop() {
		if _, err := calendar.Year(2027, calendar.Config{}); err != nil {
			b.Fatal(err)
		}
	}
}
