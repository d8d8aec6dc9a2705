package calendar

import (
	"fmt"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"
)

// Kinds of day on the business-day calendar.
const (
	KindWorkday = "workday" // an ordinary Monday–Friday
	KindWeekend = "weekend" // Saturday or Sunday, no make-up work
	KindHoliday = "holiday" // a public holiday day off (weekends inside the break included)
	KindMakeup  = "makeup"  // 调休: a weekend day worked to make up for a holiday
)

// HolidayDay is one day of China's public-holiday schedule: a day off
// (in YearInfo.Holidays) or a 调休 make-up workday (in YearInfo.Workdays).
// JSON: {"date":"2027-02-05","name":"春节","name_en":"Spring Festival","festival":"2027-02-06"}.
type HolidayDay struct {
	Date     Date   `json:"date"`              // the day itself
	Name     string `json:"name"`              // the holiday it belongs to: 春节
	NameEN   string `json:"name_en"`           // Spring Festival
	Festival Date   `json:"festival,omitzero"` // the festival day the break is for (none for a configured year)
}

// Day is the business-day calendar's answer for one date.
type Day struct {
	Date     Date   `json:"date"`
	Business bool   `json:"business"`          // a working day for the bank
	Kind     string `json:"kind"`              // KindWorkday, KindWeekend, KindHoliday, KindMakeup
	Holiday  string `json:"holiday,omitempty"` // the holiday a holiday or makeup day belongs to
	// HolidayData is false when the year is beyond lunar-go's public-holiday
	// schedule (or, for 29–31 December, the next year's is): the answer then
	// counts weekends only as far as it is unknown, and Warning says so.
	HolidayData bool   `json:"holiday_data"`
	Warning     string `json:"warning,omitempty"`
}

// HasHolidayData reports whether lunar-go carries China's public-holiday
// schedule (holidays and 调休) for the solar year; v1.4.7 covers 2002–2027.
func HasHolidayData(year int) bool {
	return year >= 2002 && year <= 9999 && HolidayUtil.GetHolidaysByYear(year).Len() > 0
}

// holidayDataFrom is the first December day that belongs to the next year's
// schedule: the official notice for year Y+1 has moved 29–31 December of Y
// (2007-12-29 worked, 2023-12-30 and 31 off for 元旦 2024).
const holidayDataFrom = 29

// NoHolidayDataWarning is the warning given for a year without holiday data.
func NoHolidayDataWarning(year int) string {
	return fmt.Sprintf("no public-holiday data for %d: business days are Monday to Friday only; holidays and 调休 make-up days are unknown"+
		" / %d 年没有法定节假日数据：工作日仅按周一至周五计算，节假日与调休未知（可在配置的 [[calendar.year]] 中补充）", year, year)
}

func holidayNameEN(n string) string {
	switch n {
	case "元旦节", "元旦":
		return "New Year's Day"
	case "春节":
		return "Spring Festival"
	case "清明节":
		return "Qingming Festival"
	case "劳动节":
		return "Labour Day"
	case "端午节":
		return "Dragon Boat Festival"
	case "中秋节":
		return "Mid-Autumn Festival"
	case "国庆节":
		return "National Day"
	case "国庆中秋":
		return "National Day and Mid-Autumn Festival"
	case "抗战胜利日":
		return "Victory Day"
	}
	return n
}

func toHolidayDay(h *HolidayUtil.Holiday) (HolidayDay, error) {
	d, err := ParseDate(h.GetDay())
	if err != nil {
		return HolidayDay{}, err
	}
	t, err := ParseDate(h.GetTarget())
	if err != nil {
		return HolidayDay{}, err
	}
	return HolidayDay{Date: d, Name: h.GetName(), NameEN: holidayNameEN(h.GetName()), Festival: t}, nil
}

// DayOf classifies a date: workday, weekend, public holiday or 调休 make-up
// workday, from lunar-go's table only (Config.DayOf consults the configured
// years first). Outside the holiday data it falls back to weekends only and
// sets HolidayData false and Warning.
func DayOf(d Date) Day { return Config{}.DayOf(d) }

// DayOf classifies a date as the package's DayOf does, a configured year
// (Config.Years) replacing lunar-go's table for that year.
func (c Config) DayOf(d Date) Day {
	out := Day{Date: d, HolidayData: c.dayHasData(d)}
	if !out.HolidayData {
		out.Warning = c.dayWarning(d)
	}
	if kind, ok := c.configuredDay(d); ok {
		out.Kind = kind
		out.Business = kind == KindWorkday || kind == KindMakeup
		switch kind {
		case KindHoliday:
			out.Holiday = configuredHolidayName
		case KindMakeup:
			out.Holiday = configuredWorkdayName
		}
		return out
	}
	if h := HolidayUtil.GetHolidayByYmd(d.Year, int(d.Month), d.Day); h != nil {
		out.Holiday = h.GetName()
		if h.IsWork() {
			out.Business, out.Kind = true, KindMakeup
		} else {
			out.Business, out.Kind = false, KindHoliday
		}
		return out
	}
	switch d.Weekday() {
	case time.Saturday, time.Sunday:
		out.Business, out.Kind = false, KindWeekend
	default:
		out.Business, out.Kind = true, KindWorkday
	}
	return out
}

// IsBusinessDay reports whether d is a working day: Monday to Friday unless a
// public holiday, plus the 调休 weekend days worked. For a year without
// holiday data (HasHolidayData false) it counts weekends only; use DayOf to
// get the warning with the answer.
func IsBusinessDay(d Date) bool { return DayOf(d).Business }

// IsBusinessDay is the package's IsBusinessDay with the configured years.
func (c Config) IsBusinessDay(d Date) bool { return c.DayOf(d).Business }

// NextBusinessDay returns the first business day on or after d. exact is
// false when a day consulted lay outside the holiday data (weekends only).
func NextBusinessDay(d Date) (next Date, exact bool) { return Config{}.NextBusinessDay(d) }

// NextBusinessDay is the package's NextBusinessDay with the configured years.
func (c Config) NextBusinessDay(d Date) (next Date, exact bool) {
	exact = true
	for {
		day := c.DayOf(d)
		exact = exact && day.HolidayData
		if day.Business {
			return d, exact
		}
		d = d.AddDays(1)
	}
}

// AddBusinessDays returns the date n business days after d (before d when
// n < 0); with n == 0 it returns d itself, whatever kind of day it is. So
// AddBusinessDays(Friday, 1) is the next business day, and an item overdue
// "by more than 3 business days" is one whose AddBusinessDays(due, 3) is
// before today. exact is false when a day consulted lay outside the holiday
// data (weekends only).
func AddBusinessDays(d Date, n int) (result Date, exact bool) { return Config{}.AddBusinessDays(d, n) }

// AddBusinessDays is the package's AddBusinessDays with the configured years.
func (c Config) AddBusinessDays(d Date, n int) (result Date, exact bool) {
	exact = true
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	for n > 0 {
		d = d.AddDays(step)
		day := c.DayOf(d)
		exact = exact && day.HolidayData
		if day.Business {
			n--
		}
	}
	return d, exact
}

// BusinessDaysBetween counts the business days in (from, to]: the days after
// from up to and including to (0 when to is not after from).
func BusinessDaysBetween(from, to Date) (count int, exact bool) {
	return Config{}.BusinessDaysBetween(from, to)
}

// BusinessDaysBetween is the package's BusinessDaysBetween with the
// configured years.
func (c Config) BusinessDaysBetween(from, to Date) (count int, exact bool) {
	exact = true
	for d := from.AddDays(1); !d.After(to); d = d.AddDays(1) {
		day := c.DayOf(d)
		exact = exact && day.HolidayData
		if day.Business {
			count++
		}
	}
	return count, exact
}

// BusinessYear is the public-holiday schedule of one solar year.
type BusinessYear struct {
	Year        int          `json:"year"`
	Holidays    []HolidayDay `json:"holidays"` // days off, in date order
	Workdays    []HolidayDay `json:"workdays"` // 调休 make-up workdays, in date order
	HolidayData bool         `json:"holiday_data"`
	Warning     string       `json:"warning,omitempty"`
	Source      string       `json:"holiday_source"` // SourceLibrary, SourceConfig or SourceNone
}

// HolidaysOf returns the public holidays and 调休 make-up workdays whose day
// falls in the solar year. Without holiday data both lists are empty (not
// nil), HolidayData is false and Warning says so. When only the next year's
// data is missing, HolidayData is true and Warning says that 29–31 December
// may still change.
func HolidaysOf(year int) (BusinessYear, error) { return Config{}.HolidaysOf(year) }

// HolidaysOf is the package's HolidaysOf with the configured years: a
// configured year lists its configured days (named "法定节假日（配置）" /
// "Public holiday (configured)", no festival day) instead of lunar-go's.
func (c Config) HolidaysOf(year int) (BusinessYear, error) {
	out := BusinessYear{Year: year, Holidays: []HolidayDay{}, Workdays: []HolidayDay{}, Source: c.HolidaySource(year)}
	out.HolidayData = out.Source != SourceNone
	if !out.HolidayData {
		out.Warning = NoHolidayDataWarning(year)
		return out, nil
	}
	if !c.HasHolidayData(year + 1) {
		out.Warning = fmt.Sprintf("no public-holiday data for %d yet: its notice may still make 29–31 December %d holidays or make-up workdays"+
			" / %d 年尚无法定节假日数据：其通知仍可能调整 %d 年 12 月 29–31 日", year+1, year, year+1, year)
	}
	if out.Source == SourceConfig {
		for d := NewDate(year, time.January, 1); d.Year == year; d = d.AddDays(1) {
			switch c.DayOf(d).Kind {
			case KindHoliday:
				out.Holidays = append(out.Holidays, HolidayDay{Date: d, Name: configuredHolidayName, NameEN: configuredHolidayNameEN})
			case KindMakeup:
				out.Workdays = append(out.Workdays, HolidayDay{Date: d, Name: configuredWorkdayName, NameEN: configuredWorkdayNameEN})
			}
		}
		return out, nil
	}
	l := HolidayUtil.GetHolidaysByYear(year)
	for e := l.Front(); e != nil; e = e.Next() {
		h := e.Value.(*HolidayUtil.Holiday)
		hd, err := toHolidayDay(h)
		if err != nil {
			return BusinessYear{}, fmt.Errorf("read holiday data for %d: %w", year, err)
		}
		if hd.Date.Year != year {
			continue
		}
		if _, ok := c.configuredDay(hd.Date); ok {
			continue // 29–31 December as the next year's configured notice has them
		}
		if h.IsWork() {
			out.Workdays = append(out.Workdays, hd)
		} else {
			out.Holidays = append(out.Holidays, hd)
		}
	}
	for d := NewDate(year, time.December, holidayDataFrom); d.Year == year; d = d.AddDays(1) {
		if kind, ok := c.configuredDay(d); ok {
			switch kind {
			case KindHoliday:
				out.Holidays = append(out.Holidays, HolidayDay{Date: d, Name: configuredHolidayName, NameEN: configuredHolidayNameEN})
			case KindMakeup:
				out.Workdays = append(out.Workdays, HolidayDay{Date: d, Name: configuredWorkdayName, NameEN: configuredWorkdayNameEN})
			}
		}
	}
	return out, nil
}
