package calendar

import (
	"fmt"
	"slices"
	"time"

	lunarcal "github.com/6tail/lunar-go/calendar"
)

// Festival is one festival day of a solar year.
type Festival struct {
	Key        string `json:"key"`                  // spring_festival, or a custom key
	Name       string `json:"name"`                 // 春节
	NameEN     string `json:"name_en"`              // Spring Festival
	Date       Date   `json:"date"`                 // solar date, YYYY-MM-DD
	Lunar      string `json:"lunar"`                // lunar date of that day: 正月初一
	LunarBased bool   `json:"lunar_based"`          // fixed on the lunar calendar (除夕 included)
	Note       string `json:"note,omitempty"`       // a rule that moved the day, e.g. "lunar 30th kept on the 29th"
	Term       string `json:"solar_term,omitempty"` // the solar term it follows: 清明
}

type festivalKind int

const (
	solarFixed festivalKind = iota
	lunarFixed
	lunarYearEnd // 除夕: the last day of the lunar year
	solarTerm
)

type festivalDef struct {
	key, name, nameEN string
	kind              festivalKind
	month, day        int
	term              string
}

func builtinDef(key, xiaonian string) festivalDef {
	switch key {
	case KeyNewYear:
		return festivalDef{key, "元旦", "New Year's Day", solarFixed, 1, 1, ""}
	case KeyNewYearsEve:
		return festivalDef{key, "除夕", "Chinese New Year's Eve", lunarYearEnd, 12, 0, ""}
	case KeySpringFestival:
		return festivalDef{key, "春节", "Spring Festival", lunarFixed, 1, 1, ""}
	case KeyLantern:
		return festivalDef{key, "元宵节", "Lantern Festival", lunarFixed, 1, 15, ""}
	case KeyQingming:
		return festivalDef{key, "清明节", "Qingming Festival", solarTerm, 0, 0, "清明"}
	case KeyDragonBoat:
		return festivalDef{key, "端午节", "Dragon Boat Festival", lunarFixed, 5, 5, ""}
	case KeyQixi:
		return festivalDef{key, "七夕节", "Qixi Festival", lunarFixed, 7, 7, ""}
	case KeyMidAutumn:
		return festivalDef{key, "中秋节", "Mid-Autumn Festival", lunarFixed, 8, 15, ""}
	case KeyNationalDay:
		return festivalDef{key, "国庆节", "National Day", solarFixed, 10, 1, ""}
	case KeyDoubleNinth:
		return festivalDef{key, "重阳节", "Double Ninth Festival", lunarFixed, 9, 9, ""}
	case KeyLaba:
		return festivalDef{key, "腊八节", "Laba Festival", lunarFixed, 12, 8, ""}
	case KeyXiaonian:
		if xiaonian == XiaonianSouth {
			return festivalDef{key, "小年", "Little New Year", lunarFixed, 12, 24, ""}
		}
		return festivalDef{key, "小年", "Little New Year", lunarFixed, 12, 23, ""}
	case KeyWomensDay:
		return festivalDef{key, "妇女节", "International Women's Day", solarFixed, 3, 8, ""}
	case KeyTeachersDay:
		return festivalDef{key, "教师节", "Teachers' Day", solarFixed, 9, 10, ""}
	}
	return festivalDef{}
}

// defs returns the festival definitions of a defaulted, valid config in a
// stable order (built-ins in DefaultFestivalKeys/OptionalFestivalKeys order,
// then custom ones as configured).
func (c Config) defs() []festivalDef {
	on := append(slices.Clone(c.Festivals), c.Add...)
	var out []festivalDef
	for _, k := range append(DefaultFestivalKeys(), OptionalFestivalKeys()...) {
		if slices.Contains(on, k) {
			out = append(out, builtinDef(k, c.Xiaonian))
		}
	}
	for _, f := range c.Custom {
		kind := solarFixed
		if f.Lunar {
			kind = lunarFixed
		}
		out = append(out, festivalDef{f.Key, f.Name, f.NameEN, kind, f.Month, f.Day, ""})
	}
	return out
}

// Festivals lists the festivals of solar year year, in date order. The year
// is scanned day by day, so a lunar festival appears as often as it falls in
// the year: 0, 1 or 2 times (腊八 fell on 2022-01-10 and again on 2022-12-30).
// Two entries with the same key then differ by date.
func Festivals(year int, cfg Config) ([]Festival, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return festivalsOf(year, cfg.defs())
}

// FestivalsOn returns the festivals that fall on d (often none).
func FestivalsOn(d Date, cfg Config) ([]Festival, error) {
	all, err := Festivals(d.Year, cfg)
	if err != nil {
		return nil, err
	}
	var out []Festival
	for _, f := range all {
		if f.Date == d {
			out = append(out, f)
		}
	}
	return out, nil
}

// yearDay is one solar day of a year with its lunar date.
type yearDay struct {
	date          Date
	lunar         LunarDate
	monthDays     int  // length of its lunar month
	lastOfLunarYr bool // the last day of its lunar year (除夕)
}

// scanYear returns every day of solar year year with its lunar date. The
// lunar years year-1 and year together cover the solar year.
func scanYear(year int) ([]yearDay, error) {
	if err := checkYear(year - 1); err != nil {
		return nil, err
	}
	if err := checkYear(year); err != nil {
		return nil, err
	}
	days := make([]yearDay, 0, 366)
	for _, ly := range []int{year - 1, year} {
		ms := lunarMonths(ly)
		for i, m := range ms {
			for d := 1; d <= m.days; d++ {
				date := m.first.AddDays(d - 1)
				if date.Year != year {
					continue
				}
				days = append(days, yearDay{
					date:          date,
					lunar:         LunarDate{Year: ly, Month: m.month, Day: d, Leap: m.leap},
					monthDays:     m.days,
					lastOfLunarYr: i == len(ms)-1 && d == m.days,
				})
			}
		}
	}
	if len(days) != 365 && len(days) != 366 {
		return nil, fmt.Errorf("calendar: lunar months cover %d days of %d", len(days), year)
	}
	return days, nil
}

func festivalsOf(year int, defs []festivalDef) ([]Festival, error) {
	days, err := scanYear(year)
	if err != nil {
		return nil, err
	}
	lunarOn := func(d Date) string {
		i := Date{Year: year, Month: time.January, Day: 1}.DaysUntil(d)
		return days[i].lunar.MonthDayChinese()
	}
	var out []Festival
	seen := map[string]bool{}
	add := func(def festivalDef, d Date, note string) {
		id := def.key + "@" + d.String()
		if seen[id] {
			return
		}
		seen[id] = true
		f := Festival{Key: def.key, Name: def.name, NameEN: def.nameEN, Date: d, Lunar: lunarOn(d), Note: note}
		f.LunarBased = def.kind == lunarFixed || def.kind == lunarYearEnd
		if def.kind == solarTerm {
			f.Term = def.term
		}
		out = append(out, f)
	}
	for _, def := range defs {
		switch def.kind {
		case solarFixed:
			day, note := def.day, ""
			if def.month == 2 && def.day == 29 && !IsLeapYear(year) {
				day, note = 28, "29 February kept on 28 February in a common year"
			}
			add(def, Date{Year: year, Month: time.Month(def.month), Day: day}, note)
		case solarTerm:
			d, err := SolarTerm(year, def.term)
			if err != nil {
				return nil, err
			}
			add(def, d, "")
		case lunarFixed, lunarYearEnd:
			for _, yd := range days {
				l := yd.lunar
				switch {
				case def.kind == lunarYearEnd && yd.lastOfLunarYr:
					add(def, yd.date, "")
				case def.kind == lunarFixed && !l.Leap && l.Month == def.month && l.Day == def.day:
					add(def, yd.date, "")
				case def.kind == lunarFixed && !l.Leap && l.Month == def.month && def.day == 30 && l.Day == 29 && yd.monthDays == 29:
					add(def, yd.date, "lunar 30th kept on the 29th")
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Festival) int { return a.Date.Compare(b.Date) })
	return out, nil
}

// solarTermName maps lunar-go's internal names of the neighbouring years'
// terms to Chinese.
func solarTermName(n string) string {
	switch n {
	case "DA_XUE":
		return "大雪"
	case "DONG_ZHI":
		return "冬至"
	case "XIAO_HAN":
		return "小寒"
	case "DA_HAN":
		return "大寒"
	case "LI_CHUN":
		return "立春"
	case "YU_SHUI":
		return "雨水"
	case "JING_ZHE":
		return "惊蛰"
	}
	return n
}

// SolarTerm returns the day (Beijing time) of one of the 24 solar terms in a
// solar year, by its Chinese name: SolarTerm(2026, "清明") is 2026-04-05.
func SolarTerm(year int, name string) (Date, error) {
	if err := checkYear(year); err != nil {
		return Date{}, err
	}
	jds := lunarcal.NewLunarYear(year).GetJieQiJulianDays()
	for i, n := range lunarcal.JIE_QI_IN_USE {
		if solarTermName(n) != name || i >= len(jds) {
			continue
		}
		s := lunarcal.NewSolarFromJulianDay(jds[i])
		if s.GetYear() == year {
			return Date{Year: year, Month: time.Month(s.GetMonth()), Day: s.GetDay()}, nil
		}
	}
	return Date{}, fmt.Errorf("%w: no solar term %q in %d", ErrInvalidDate, name, year)
}
