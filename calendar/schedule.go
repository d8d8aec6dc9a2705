package calendar

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Holiday-data sources of a year (YearInfo.HolidaySource, BusinessYear.Source).
const (
	SourceLibrary = "library" // lunar-go's table
	SourceConfig  = "config"  // the bank's [[calendar.year]] table
	SourceNone    = "none"    // neither: Monday to Friday only
)

// Names given to the days of a configured year, which carries dates only.
const (
	configuredHolidayName   = "法定节假日（配置）"
	configuredHolidayNameEN = "Public holiday (configured)"
	configuredWorkdayName   = "调休上班（配置）"
	configuredWorkdayNameEN = "Make-up workday (configured)"
)

// schedule is Config.Years compiled: for each configured year its days off
// and days worked.
type schedule struct {
	years map[int]*schedYear
}

type schedYear struct {
	off, worked map[Date]bool
}

// compileYears checks and compiles the configured years; the error is a
// *ConfigError naming the table, index and field.
func compileYears(years []YearConfig) (*schedule, error) {
	s := &schedule{years: map[int]*schedYear{}}
	seenYear := map[int]int{}
	for i, y := range years {
		at := func(field string) string { return fmt.Sprintf("calendar.year[%d].%s", i, field) }
		if y.Year < MinYear || y.Year > MaxYear {
			return nil, cfgErr(at("year"), fmt.Sprint(y.Year), fmt.Sprintf("is not a year in %d–%d", MinYear, MaxYear),
				fmt.Sprintf("不是 %d–%d 之间的年份", MinYear, MaxYear))
		}
		if j, ok := seenYear[y.Year]; ok {
			return nil, cfgErr(at("year"), fmt.Sprint(y.Year), fmt.Sprintf("is configured already by calendar.year[%d]", j),
				fmt.Sprintf("已在 calendar.year[%d] 中配置", j))
		}
		seenYear[y.Year] = i
		sy := &schedYear{off: map[Date]bool{}, worked: map[Date]bool{}}
		for _, list := range []struct {
			name string
			days []string
			into map[Date]bool
		}{{"off", y.Off, sy.off}, {"worked", y.Worked, sy.worked}} {
			for k, v := range list.days {
				field := at(fmt.Sprintf("%s[%d]", list.name, k))
				d, err := ParseDate(v)
				if err != nil || d.String() != v {
					return nil, cfgErr(field, v, "is not a date (YYYY-MM-DD)", "不是日期（格式 YYYY-MM-DD）")
				}
				inYear := d.Year == y.Year || (d.Year == y.Year-1 && d.Month == time.December && d.Day >= holidayDataFrom)
				if !inYear {
					return nil, cfgErr(field, v, fmt.Sprintf("is not in %d (nor on 29–31 December %d)", y.Year, y.Year-1),
						fmt.Sprintf("不在 %d 年内（也不是 %d 年 12 月 29–31 日）", y.Year, y.Year-1))
				}
				if list.into[d] {
					return nil, cfgErr(field, v, "is listed twice", "重复列出")
				}
				if list.name == "worked" {
					if sy.off[d] {
						return nil, cfgErr(field, v, "is listed as a day off too", "同时被列为放假日")
					}
					if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
						return nil, cfgErr(field, v, fmt.Sprintf("is a %s: a make-up workday (调休) is a Saturday or Sunday", wd),
							"不是周六或周日：调休上班日只能是周末")
					}
				}
				list.into[d] = true
			}
		}
		s.years[y.Year] = sy
	}
	return s, nil
}

// sched returns the compiled years: the one WithDefaults set, or compiled now
// (invalid entries are reported by Validate, not here).
func (c Config) schedule() *schedule {
	if c.sched != nil {
		return c.sched
	}
	if len(c.Years) == 0 {
		return &schedule{}
	}
	s, err := compileYears(c.Years)
	if err != nil {
		return &schedule{}
	}
	return s
}

// HolidaySource says where the public-holiday schedule of a solar year comes
// from: SourceConfig when the configuration lists the year (it then wins over
// lunar-go), SourceLibrary when lunar-go carries it, SourceNone otherwise.
func (c Config) HolidaySource(year int) string {
	if _, ok := c.schedule().years[year]; ok {
		return SourceConfig
	}
	if HasHolidayData(year) {
		return SourceLibrary
	}
	return SourceNone
}

// HasHolidayData reports whether the year's public-holiday schedule is known,
// from the configuration or lunar-go. A year with neither is "missing": its
// business days are Monday to Friday, and every answer says so.
func (c Config) HasHolidayData(year int) bool { return c.HolidaySource(year) != SourceNone }

// MissingHolidayData returns, in order and once each, the years among those
// given whose holiday data is missing.
func (c Config) MissingHolidayData(years ...int) []int {
	var out []int
	for _, y := range years {
		if !c.HasHolidayData(y) && !slices.Contains(out, y) {
			out = append(out, y)
		}
	}
	slices.Sort(out)
	return out
}

// dayHasData reports whether the holiday data settles d: its year's schedule
// is known and, for 29–31 December, the next year's too.
func (c Config) dayHasData(d Date) bool {
	if d.Month == time.December && d.Day >= holidayDataFrom {
		return c.HasHolidayData(d.Year) && c.HasHolidayData(d.Year+1)
	}
	return c.HasHolidayData(d.Year)
}

func (c Config) dayWarning(d Date) string {
	if !c.HasHolidayData(d.Year) {
		return NoHolidayDataWarning(d.Year)
	}
	return NoHolidayDataWarning(d.Year+1) + fmt.Sprintf(" (its schedule may still move %s / 其安排仍可能调整 %s)", d, d)
}

// configuredDay answers d from the configuration: ok is false when no
// configured year covers d (then lunar-go does, or nobody).
func (c Config) configuredDay(d Date) (kind string, ok bool) {
	s := c.schedule()
	for _, y := range []int{d.Year, d.Year + 1} {
		sy, has := s.years[y]
		if !has {
			continue
		}
		switch {
		case sy.off[d]:
			return KindHoliday, true
		case sy.worked[d]:
			return KindMakeup, true
		}
	}
	if _, has := s.years[d.Year]; has {
		return weekdayKind(d), true
	}
	return "", false
}

func weekdayKind(d Date) string {
	switch d.Weekday() {
	case time.Saturday, time.Sunday:
		return KindWeekend
	}
	return KindWorkday
}

// LookAhead is how far past today the standing checks (at start, the
// console's banner) look for missing holiday data: a month, so a year
// without data is announced in the December before it.
const LookAhead = 31

// HolidayCheck says whether the holiday data settles a span of days.
// JSON: {"holiday_data":false,"missing_years":[2028],"warning":"…"}.
type HolidayCheck struct {
	HolidayData bool   `json:"holiday_data"`
	Missing     []int  `json:"missing_years,omitempty"` // years with neither configured nor library data
	Warning     string `json:"warning,omitempty"`       // English / Chinese, one sentence per missing year
}

// CheckHolidayData checks the days from..to (inclusive): the span is
// settled when every day's year has holiday data, configured or from
// lunar-go, and — for a span reaching 29–31 December — the next year too.
func (c Config) CheckHolidayData(from, to Date) HolidayCheck {
	if to.Before(from) {
		from, to = to, from
	}
	var years []int
	for y := from.Year; y <= to.Year; y++ {
		years = append(years, y)
	}
	if last := NewDate(to.Year, time.December, holidayDataFrom); !to.Before(last) {
		years = append(years, to.Year+1)
	}
	out := HolidayCheck{Missing: c.MissingHolidayData(years...)}
	out.HolidayData = len(out.Missing) == 0
	var ws []string
	for _, y := range out.Missing {
		ws = append(ws, NoHolidayDataWarning(y))
	}
	out.Warning = strings.Join(ws, "; ")
	return out
}
