package calendar

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Calendars a birthday may follow.
const (
	CalendarSolar = "solar"
	CalendarLunar = "lunar"
)

// Milestone birthdays: the 60th and every tenth after it (70th, 80th …) are
// flagged for the customer's manager.
const (
	MilestoneFromAge = 60
	MilestoneEvery   = 10
)

// The notes stating which edge rule moved a birthday greeting. They are
// stable strings: the plan and the timeline show them as they are.
const (
	NoteFeb29     = "29 February greeted on 28 February in a common year"
	NoteLunar30   = "lunar 30th greeted on the 29th"
	NoteLeapMonth = "leap-month birthday greeted in the ordinary month"
)

// ErrNotBorn is returned for a greeting asked for a year before the first
// birthday (only known when the birth year is).
var ErrNotBorn = errors.New("no birthday before the first one")

// Birthday is a contact's birthday. Its fields are those of the contacts
// package's Birthday, so one converts to the other: calendar.Birthday(*c.Birthday).
type Birthday struct {
	Calendar   string `json:"calendar"`              // CalendarSolar or CalendarLunar
	Year       int    `json:"year,omitempty"`        // solar birth year, 0 when unknown
	Month      int    `json:"month,omitempty"`       // solar month (required for solar)
	Day        int    `json:"day,omitempty"`         // solar day (required for solar)
	LunarMonth int    `json:"lunar_month,omitempty"` // lunar month 1–12 (required for lunar)
	LunarDay   int    `json:"lunar_day,omitempty"`   // lunar day 1–30 (required for lunar)
	LunarLeap  bool   `json:"lunar_leap,omitempty"`  // born in a leap month (闰月)
}

// Greeting is one birthday greeting day.
type Greeting struct {
	Date     Date   `json:"date"`     // the solar day to greet on
	Calendar string `json:"calendar"` // the birthday's calendar
	// Year is the year in the birthday's own calendar: the solar year for a
	// solar birthday, the lunar year for a lunar one. A lunar date can fall
	// twice in one solar year; each is its own birthday with its own Year.
	Year      int      `json:"year"`
	Lunar     string   `json:"lunar"`               // the lunar date of Date: 农历冬月二十
	Notes     []string `json:"notes,omitempty"`     // the edge rules used (NoteFeb29, NoteLunar30, NoteLeapMonth)
	Age       int      `json:"age,omitempty"`       // years completed, when the birth year is known
	Milestone bool     `json:"milestone,omitempty"` // a 60th, 70th, 80th … birthday
}

// Note returns the notes joined by "; " ("" when no rule was needed).
func (g Greeting) Note() string { return strings.Join(g.Notes, "; ") }

// DedupeKey returns birthday:<contact>:<calendar>:<year>, the key that makes
// one greeting per birthday: birthday:C123:lunar:2024.
func (g Greeting) DedupeKey(contact string) string {
	return fmt.Sprintf("birthday:%s:%s:%d", contact, g.Calendar, g.Year)
}

// Validate reports whether the birthday can be greeted: a known calendar, a
// real month and day (29 February needs a leap birth year when the year is
// known), a birth year within MinYear..MaxYear or 0.
func (b Birthday) Validate() error {
	if b.Year != 0 {
		if err := checkYear(b.Year); err != nil {
			return fmt.Errorf("birthday: %w", err)
		}
	}
	switch b.Calendar {
	case CalendarSolar:
		y := b.Year
		if y == 0 {
			y = 2000 // any leap year: 29 February is a birthday
		}
		if b.Month < 1 || b.Month > 12 || b.Day < 1 || b.Day > DaysInMonth(y, time.Month(b.Month)) {
			return fmt.Errorf("%w: solar birthday %02d-%02d (year %d)", ErrInvalidDate, b.Month, b.Day, b.Year)
		}
	case CalendarLunar:
		if b.LunarMonth < 1 || b.LunarMonth > 12 || b.LunarDay < 1 || b.LunarDay > 30 {
			return fmt.Errorf("%w: lunar birthday %02d-%02d", ErrInvalidDate, b.LunarMonth, b.LunarDay)
		}
		if b.Year != 0 && b.Month != 0 && (b.Month > 12 || b.Day < 1 || b.Day > DaysInMonth(b.Year, time.Month(b.Month))) {
			return fmt.Errorf("%w: solar birth date %04d-%02d-%02d", ErrInvalidDate, b.Year, b.Month, b.Day)
		}
	default:
		return fmt.Errorf("%w: birthday calendar %q (solar or lunar)", ErrInvalidDate, b.Calendar)
	}
	return nil
}

// resolveLunar places a lunar birthday in lunar year y, whose months are ms,
// applying the leap-month and 30th rules in that order.
func resolveLunar(month, day int, leap bool, y int, ms []lunarMonth) (LunarDate, Date, []string) {
	var notes []string
	if leap && !hasMonth(ms, y, month, true) {
		leap = false
		notes = append(notes, NoteLeapMonth)
	}
	var m lunarMonth
	for _, c := range ms {
		if c.year == y && c.month == month && c.leap == leap {
			m = c // every lunar year has all twelve ordinary months
		}
	}
	if day > m.days {
		day = m.days
		notes = append(notes, NoteLunar30)
	}
	return LunarDate{Year: y, Month: month, Day: day, Leap: leap}, m.first.AddDays(day - 1), notes
}

// birthYear returns the year of birth in the birthday's own calendar, 0 when
// unknown. For a lunar birthday it is the lunar year: from the solar birth
// date when known, else the lunar year whose (month, day) fell in the solar
// birth year. Months 1–10 always fall in the solar year of their lunar year
// (正月初一 is after 20 January, 冬月 holds the winter solstice), so only 冬月
// and 腊月 need the tables (腊月廿四 of lunar 1965 was solar 1966-01-15).
func (b Birthday) birthYear() int {
	if b.Year == 0 || b.Calendar == CalendarSolar {
		return b.Year
	}
	if b.Month >= 1 && b.Month <= 12 && b.Day >= 1 {
		switch {
		case b.Month > 2 || (b.Month == 2 && b.Day > 20):
			return b.Year
		case b.Month == 1 && b.Day <= 20:
			return b.Year - 1
		}
		if l, err := ToLunar(Date{Year: b.Year, Month: time.Month(b.Month), Day: b.Day}); err == nil {
			return l.Year
		}
		return b.Year
	}
	if b.LunarMonth <= 10 || b.Year <= MinYear {
		return b.Year
	}
	ms := solarYearMonths(b.Year) // from 冬月 of lunar b.Year-1
	if _, d, _ := resolveLunar(b.LunarMonth, b.LunarDay, b.LunarLeap, b.Year-1, ms); d.Year == b.Year {
		return b.Year - 1
	}
	return b.Year
}

// ageIn fills the age and milestone for a greeting of year in the birthday's
// calendar.
func (b Birthday) ageIn(g *Greeting) error {
	if by := b.birthYear(); by != 0 {
		g.Age = g.Year - by
		if g.Age <= 0 {
			return fmt.Errorf("%w: born in %d, asked for %d", ErrNotBorn, by, g.Year)
		}
		g.Milestone = g.Age >= MilestoneFromAge && g.Age%MilestoneEvery == 0
	}
	return nil
}

// GreetingIn returns the greeting of year in the birthday's own calendar (the
// solar year for a solar birthday, the lunar year for a lunar one), with the
// edge rules applied: a solar 29 February on 28 February in common years; a
// lunar 30th on the 29th when that month is short; a leap-month birthday in
// the ordinary month when the year has no such leap month.
func (b Birthday) GreetingIn(year int) (Greeting, error) {
	if err := b.Validate(); err != nil {
		return Greeting{}, err
	}
	if err := checkYear(year); err != nil {
		return Greeting{}, err
	}
	g := Greeting{Calendar: b.Calendar, Year: year}
	if err := b.ageIn(&g); err != nil {
		return Greeting{}, err
	}
	if b.Calendar == CalendarSolar {
		day := b.Day
		if b.Month == 2 && b.Day == 29 && !IsLeapYear(year) {
			day = 28
			g.Notes = append(g.Notes, NoteFeb29)
		}
		g.Date = Date{Year: year, Month: time.Month(b.Month), Day: day}
		l, err := ToLunar(g.Date)
		if err != nil {
			return Greeting{}, err
		}
		g.Lunar = l.Chinese()
		return g, nil
	}
	l, d, notes := resolveLunar(b.LunarMonth, b.LunarDay, b.LunarLeap, year, solarYearMonths(year))
	g.Date, g.Notes, g.Lunar = d, notes, l.Chinese()
	return g, nil
}

// GreetingOn reports whether d is a birthday greeting day for b, and returns
// the greeting when it is. Decide d in the contact's own time zone.
func (b Birthday) GreetingOn(d Date) (Greeting, bool, error) {
	if b.Calendar != CalendarLunar {
		g, err := b.GreetingIn(d.Year)
		if errors.Is(err, ErrNotBorn) || (err == nil && g.Date != d) {
			return Greeting{}, false, nil
		}
		return g, err == nil, err
	}
	if err := b.Validate(); err != nil {
		return Greeting{}, false, err
	}
	if err := checkYear(d.Year); err != nil {
		return Greeting{}, false, err
	}
	if d != NewDate(d.Year, d.Month, d.Day) {
		return Greeting{}, false, fmt.Errorf("%w: %04d-%02d-%02d", ErrInvalidDate, d.Year, int(d.Month), d.Day)
	}
	l, _, ms, err := lunarOf(d)
	if err != nil {
		return Greeting{}, false, err
	}
	// ms holds every month of lunar year l.Year that reaches into solar d.Year;
	// a birthday month it lacks is greeted in an earlier solar year.
	if !hasMonth(ms, l.Year, b.LunarMonth, false) {
		return Greeting{}, false, nil
	}
	ld, date, notes := resolveLunar(b.LunarMonth, b.LunarDay, b.LunarLeap, l.Year, ms)
	if date != d {
		return Greeting{}, false, nil
	}
	g := Greeting{Date: d, Calendar: b.Calendar, Year: l.Year, Lunar: ld.Chinese(), Notes: notes}
	if err := b.ageIn(&g); errors.Is(err, ErrNotBorn) {
		return Greeting{}, false, nil
	}
	return g, true, nil
}

// GreetingsBetween returns the greetings from from to to, both included, in
// date order (for "coming in the next 7 days").
func (b Birthday) GreetingsBetween(from, to Date) ([]Greeting, error) {
	first, last := from.Year, to.Year
	if b.Calendar == CalendarLunar {
		lf, err := ToLunar(from)
		if err != nil {
			return nil, err
		}
		lt, err := ToLunar(to)
		if err != nil {
			return nil, err
		}
		first, last = lf.Year, lt.Year
	}
	var out []Greeting
	for y := first; y <= last; y++ {
		g, err := b.GreetingIn(y)
		if errors.Is(err, ErrNotBorn) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !g.Date.Before(from) && !g.Date.After(to) {
			out = append(out, g)
		}
	}
	return out, nil
}

// SolarKey is a solar (month, day) whose birthdays are greeted on a day.
type SolarKey struct {
	Month int      `json:"month"`
	Day   int      `json:"day"`
	Notes []string `json:"notes,omitempty"` // the rule that brings this key to the day
}

// LunarKey is a lunar (month, day, leap) whose birthdays are greeted on a day.
type LunarKey struct {
	Month int      `json:"month"`
	Day   int      `json:"day"`
	Leap  bool     `json:"leap"`
	Notes []string `json:"notes,omitempty"` // the rules that bring this key to the day
}

// DayKeys says which stored birthdays are greeted on a day, so the planner
// can look them up by index (solar month-day, lunar month-day-leap) instead
// of scanning every contact.
type DayKeys struct {
	Date      Date       `json:"date"`
	Lunar     LunarDate  `json:"lunar"` // the lunar date of Date; its Year is the lunar birthdays' Greeting.Year
	Solar     []SolarKey `json:"solar"`
	LunarKeys []LunarKey `json:"lunar_keys"`
}

// BirthdayKeys returns the birthday keys greeted on d: the day itself, plus
// 29 February on 28 February of a common year; for the lunar calendar the
// lunar day itself, plus the leap-month twin when the year has no such leap
// month, plus the 30th when d is the 29th of a 29-day month.
func BirthdayKeys(d Date) (DayKeys, error) {
	if err := checkYear(d.Year); err != nil {
		return DayKeys{}, err
	}
	if d != NewDate(d.Year, d.Month, d.Day) {
		return DayKeys{}, fmt.Errorf("%w: %04d-%02d-%02d", ErrInvalidDate, d.Year, int(d.Month), d.Day)
	}
	l, m, ms, err := lunarOf(d)
	if err != nil {
		return DayKeys{}, err
	}
	out := DayKeys{Date: d, Lunar: l, Solar: []SolarKey{{Month: int(d.Month), Day: d.Day}}}
	if d.Month == time.February && d.Day == 28 && !IsLeapYear(d.Year) {
		out.Solar = append(out.Solar, SolarKey{Month: 2, Day: 29, Notes: []string{NoteFeb29}})
	}
	keys := []LunarKey{{Month: l.Month, Day: l.Day, Leap: l.Leap}}
	if !l.Leap && !hasMonth(ms, l.Year, l.Month, true) {
		keys = append(keys, LunarKey{Month: l.Month, Day: l.Day, Leap: true, Notes: []string{NoteLeapMonth}})
	}
	if l.Day == 29 && m.days == 29 {
		for _, k := range keys {
			keys = append(keys, LunarKey{Month: k.Month, Day: 30, Leap: k.Leap, Notes: append(append([]string{}, k.Notes...), NoteLunar30)})
		}
	}
	out.LunarKeys = keys
	return out, nil
}

// Greeting reports whether b is greeted on the keys' day, and returns the
// greeting when it is — the same answer as b.GreetingOn(k.Date), from the
// keys already computed (the planner's path: look birthdays up by the keys,
// then call Greeting for each one found).
func (k DayKeys) Greeting(b Birthday) (Greeting, bool, error) {
	if err := b.Validate(); err != nil {
		return Greeting{}, false, err
	}
	g := Greeting{Date: k.Date, Calendar: b.Calendar, Year: k.Date.Year, Lunar: k.Lunar.Chinese()}
	found := false
	if b.Calendar == CalendarSolar {
		for _, s := range k.Solar {
			if s.Month == b.Month && s.Day == b.Day {
				found, g.Notes = true, s.Notes
			}
		}
	} else {
		g.Year = k.Lunar.Year
		for _, l := range k.LunarKeys {
			if l.Month == b.LunarMonth && l.Day == b.LunarDay && l.Leap == b.LunarLeap {
				found, g.Notes = true, l.Notes
			}
		}
	}
	if !found {
		return Greeting{}, false, nil
	}
	if err := b.ageIn(&g); errors.Is(err, ErrNotBorn) {
		return Greeting{}, false, nil
	}
	return g, true, nil
}
