package calendar

import (
	"errors"
	"fmt"
	"time"

	lunarcal "github.com/6tail/lunar-go/calendar"
)

// The years (solar, and lunar for lunar dates) this package converts.
// lunar-go computes any year; the bound keeps nonsense input from reaching it.
const (
	MinYear = 1900
	MaxYear = 2200
)

var (
	// ErrInvalidDate is returned for a date that does not exist (solar 31 April,
	// a lunar 30th in a 29-day month, a leap month the year does not have).
	ErrInvalidDate = errors.New("invalid date")
	// ErrOutOfRange is returned for a year outside MinYear..MaxYear.
	ErrOutOfRange = errors.New("year out of range")
)

// LunarDate is a date on the Chinese lunar calendar. Year is the lunar year
// (which starts on 春节, so lunar 2024-12-01 falls in solar January 2025);
// Leap marks a leap month (闰月), which follows the ordinary month of the same
// number.
type LunarDate struct {
	Year  int  `json:"year"`
	Month int  `json:"month"`
	Day   int  `json:"day"`
	Leap  bool `json:"leap,omitempty"`
}

// Chinese numerals of lunar months and days.
func lunarMonthName(m int) string {
	switch m {
	case 1:
		return "正"
	case 11:
		return "冬"
	case 12:
		return "腊"
	}
	return chineseDigit(m)
}

func chineseDigit(n int) string {
	return []string{"〇", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}[n]
}

func lunarDayName(d int) string {
	switch {
	case d <= 10:
		return "初" + chineseDigit(d)
	case d < 20:
		return "十" + chineseDigit(d-10)
	case d == 20:
		return "二十"
	case d < 30:
		return "廿" + chineseDigit(d-20)
	}
	return "三十"
}

// LunarMonthDayChinese formats a lunar month and day: 正月初一, 闰四月初八,
// 八月十五, 冬月廿九, 腊月三十. It returns "" for a month outside 1–12 or a day
// outside 1–30.
func LunarMonthDayChinese(month, day int, leap bool) string {
	if month < 1 || month > 12 || day < 1 || day > 30 {
		return ""
	}
	return lunarMonthChinese(month, leap) + lunarDayName(day)
}

func lunarMonthChinese(month int, leap bool) string {
	s := lunarMonthName(month) + "月"
	if leap {
		s = "闰" + s
	}
	return s
}

// MonthDayChinese returns the month and day in Chinese: 闰四月初八.
func (l LunarDate) MonthDayChinese() string { return LunarMonthDayChinese(l.Month, l.Day, l.Leap) }

// Chinese returns the month and day with the 农历 prefix: 农历八月十五.
func (l LunarDate) Chinese() string { return "农历" + l.MonthDayChinese() }

// String returns an ASCII form for logs and keys: 2025-06-08, or 2025-L06-08
// for a leap month.
func (l LunarDate) String() string {
	leap := ""
	if l.Leap {
		leap = "L"
	}
	return fmt.Sprintf("%04d-%s%02d-%02d", l.Year, leap, l.Month, l.Day)
}

// lunarMonth is one month of a lunar year.
type lunarMonth struct {
	year, month int
	leap        bool
	days        int
	first       Date // solar date of the 初一
}

func checkYear(y int) error {
	if y < MinYear || y > MaxYear {
		return fmt.Errorf("%w: %d (supported %d–%d)", ErrOutOfRange, y, MinYear, MaxYear)
	}
	return nil
}

// solarYearMonths returns, from one lunar-go computation, the lunar months
// from 冬月 of lunar year y-1 (the month of the winter solstice before solar
// year y) on: they cover every day of solar year y and every month of lunar
// year y. Each month carries its own lunar year. y must be within range.
func solarYearMonths(y int) []lunarMonth {
	l := lunarcal.NewLunarYear(y).GetMonths()
	out := make([]lunarMonth, 0, l.Len())
	for e := l.Front(); e != nil; e = e.Next() {
		m := e.Value.(*lunarcal.LunarMonth)
		s := lunarcal.NewSolarFromJulianDay(m.GetFirstJulianDay())
		mon := m.GetMonth()
		out = append(out, lunarMonth{
			year:  m.GetYear(),
			month: abs(mon),
			leap:  mon < 0,
			days:  m.GetDayCount(),
			first: Date{Year: s.GetYear(), Month: time.Month(s.GetMonth()), Day: s.GetDay()},
		})
	}
	return out
}

// lunarMonths returns the months of lunar year y in order (12, or 13 with a
// leap month). y must be within range.
func lunarMonths(y int) []lunarMonth {
	var out []lunarMonth
	for _, m := range solarYearMonths(y) {
		if m.year == y {
			out = append(out, m)
		}
	}
	return out
}

// locate finds the lunar date of d among ms.
func locate(ms []lunarMonth, d Date) (LunarDate, lunarMonth, bool) {
	for _, m := range ms {
		if n := m.first.DaysUntil(d); n >= 0 && n < m.days {
			return LunarDate{Year: m.year, Month: m.month, Day: n + 1, Leap: m.leap}, m, true
		}
	}
	return LunarDate{}, lunarMonth{}, false
}

// lunarOf returns the lunar date of a valid, in-range d, the month it is in,
// and the months around it (solarYearMonths(d.Year)).
func lunarOf(d Date) (LunarDate, lunarMonth, []lunarMonth, error) {
	ms := solarYearMonths(d.Year)
	l, m, ok := locate(ms, d)
	if !ok {
		return LunarDate{}, lunarMonth{}, nil, fmt.Errorf("calendar: no lunar month holds %s", d)
	}
	return l, m, ms, nil
}

// hasMonth reports whether lunar year y has the month among ms.
func hasMonth(ms []lunarMonth, y, month int, leap bool) bool {
	for _, m := range ms {
		if m.year == y && m.month == month && m.leap == leap {
			return true
		}
	}
	return false
}

func findMonth(ms []lunarMonth, month int, leap bool) (lunarMonth, bool) {
	for _, m := range ms {
		if m.month == month && m.leap == leap {
			return m, true
		}
	}
	return lunarMonth{}, false
}

// LeapMonth returns the leap month of a lunar year (4 for 闰四月), or 0 when the
// year has none.
func LeapMonth(lunarYear int) (int, error) {
	if err := checkYear(lunarYear); err != nil {
		return 0, err
	}
	for _, m := range lunarMonths(lunarYear) {
		if m.leap {
			return m.month, nil
		}
	}
	return 0, nil
}

// LunarMonthDays returns the length (29 or 30) of a lunar month; ok is false
// when the year has no such month (a leap month it does not have).
func LunarMonthDays(lunarYear, month int, leap bool) (days int, ok bool, err error) {
	if err := checkYear(lunarYear); err != nil {
		return 0, false, err
	}
	m, ok := findMonth(lunarMonths(lunarYear), month, leap)
	return m.days, ok, nil
}

// ToLunar converts a solar date to the lunar calendar.
func ToLunar(d Date) (LunarDate, error) {
	if err := checkYear(d.Year); err != nil {
		return LunarDate{}, err
	}
	if d != NewDate(d.Year, d.Month, d.Day) {
		return LunarDate{}, fmt.Errorf("%w: %04d-%02d-%02d", ErrInvalidDate, d.Year, int(d.Month), d.Day)
	}
	l, _, _, err := lunarOf(d)
	return l, err
}

// ToSolar converts a lunar date to the solar calendar. A date that does not
// exist (a 30th in a 29-day month, a leap month the year lacks) is an error
// wrapping ErrInvalidDate, never a panic.
func ToSolar(l LunarDate) (Date, error) {
	if err := checkYear(l.Year); err != nil {
		return Date{}, err
	}
	if l.Month < 1 || l.Month > 12 || l.Day < 1 || l.Day > 30 {
		return Date{}, fmt.Errorf("%w: lunar %s", ErrInvalidDate, l)
	}
	m, ok := findMonth(lunarMonths(l.Year), l.Month, l.Leap)
	if !ok {
		return Date{}, fmt.Errorf("%w: lunar year %d has no %s", ErrInvalidDate, l.Year, lunarMonthChinese(l.Month, l.Leap))
	}
	if l.Day > m.days {
		return Date{}, fmt.Errorf("%w: %s of lunar year %d has %d days, not %d", ErrInvalidDate, lunarMonthChinese(l.Month, l.Leap), l.Year, m.days, l.Day)
	}
	return m.first.AddDays(l.Day - 1), nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
