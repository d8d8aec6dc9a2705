package calendar

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Keys of the built-in festivals.
const (
	KeyNewYear        = "new_year"        // 元旦, 1 January
	KeyNewYearsEve    = "new_years_eve"   // 除夕, last day of the lunar year (腊月廿九 or 三十)
	KeySpringFestival = "spring_festival" // 春节, 正月初一
	KeyLantern        = "lantern"         // 元宵, 正月十五
	KeyQingming       = "qingming"        // 清明, solar term
	KeyDragonBoat     = "dragon_boat"     // 端午, 五月初五
	KeyQixi           = "qixi"            // 七夕, 七月初七
	KeyMidAutumn      = "mid_autumn"      // 中秋, 八月十五
	KeyNationalDay    = "national_day"    // 国庆, 1 October
	KeyDoubleNinth    = "double_ninth"    // 重阳, 九月初九
	KeyLaba           = "laba"            // 腊八, 腊月初八 (optional)
	KeyXiaonian       = "xiaonian"        // 小年, 腊月廿三 north / 廿四 south (optional)
	KeyWomensDay      = "womens_day"      // 妇女节, 8 March (optional)
	KeyTeachersDay    = "teachers_day"    // 教师节, 10 September (optional)
)

// 小年 styles: the north keeps 腊月廿三, the south 腊月廿四.
const (
	XiaonianNorth   = "north"
	XiaonianSouth   = "south"
	DefaultXiaonian = XiaonianNorth
)

// DefaultFestivalKeys returns the festivals listed when Config.Festivals is nil:
// 元旦, 除夕, 春节, 元宵, 清明, 端午, 七夕, 中秋, 国庆, 重阳.
func DefaultFestivalKeys() []string {
	return []string{KeyNewYear, KeyNewYearsEve, KeySpringFestival, KeyLantern, KeyQingming,
		KeyDragonBoat, KeyQixi, KeyMidAutumn, KeyNationalDay, KeyDoubleNinth}
}

// OptionalFestivalKeys returns the built-in festivals that are off by default
// and may be named in Config.Add (or Config.Festivals).
func OptionalFestivalKeys() []string {
	return []string{KeyLaba, KeyXiaonian, KeyWomensDay, KeyTeachersDay}
}

// Config chooses the festivals a year lists.
type Config struct {
	// Festivals names the built-in festivals to list, by key. Nil means
	// DefaultFestivalKeys(); an empty non-nil slice lists none of them.
	Festivals []string `json:"festivals,omitempty" toml:"festivals"`
	// Add names further built-in festivals (OptionalFestivalKeys) listed on
	// top of Festivals. Default: none.
	Add []string `json:"add,omitempty" toml:"add"`
	// Xiaonian is the 小年 listed when "xiaonian" is on: XiaonianNorth
	// (腊月廿三) or XiaonianSouth (腊月廿四). Default DefaultXiaonian (north).
	Xiaonian string `json:"xiaonian,omitempty" toml:"xiaonian"`
	// Custom lists the bank's own fixed-date days (a founding anniversary),
	// solar or lunar: the file's [[calendar.festival]] tables. Default: none.
	Custom []CustomFestival `json:"custom,omitempty" toml:"festival"`
	// Years supplies public-holiday schedules (days off and 调休 days
	// worked) for solar years, the file's [[calendar.year]] tables. A
	// configured year replaces lunar-go's table for that year. Default: none.
	Years []YearConfig `json:"years,omitempty" toml:"year"`

	// sched is Years compiled, set by WithDefaults.
	sched *schedule
}

// CustomFestival is a bank's own festival on a fixed solar or lunar date.
// A solar 29 February falls on 28 February in common years; a lunar 30th on
// the 29th when the month is short (the Festival then carries a Note).
type CustomFestival struct {
	Key    string `json:"key" toml:"key"`         // lower-case letters, digits and _, not a built-in key
	Name   string `json:"name" toml:"name"`       // Chinese name, required
	NameEN string `json:"name_en" toml:"name_en"` // English name, defaults to Name
	Lunar  bool   `json:"lunar" toml:"lunar"`     // Month and Day are lunar (ordinary, not leap, month)
	Month  int    `json:"month" toml:"month"`
	Day    int    `json:"day" toml:"day"`
}

// YearConfig is one solar year's public-holiday schedule supplied by the
// bank (the State Council's notice, typed in), for a year lunar-go does not
// carry or carries wrongly:
//
//	[[calendar.year]]
//	year = 2028
//	off = ["2028-01-01", "2028-01-26", "2028-01-27"]
//	worked = ["2028-01-23"]
//
// Dates are YYYY-MM-DD strings in the year, or on 29–31 December of the year
// before (a notice may move those). Off days may fall on weekends (inside a
// break); worked days must be Saturdays or Sundays.
type YearConfig struct {
	Year   int      `json:"year" toml:"year"`
	Off    []string `json:"off" toml:"off"`       // public-holiday days off
	Worked []string `json:"worked" toml:"worked"` // 调休 make-up workdays
}

// WithDefaults returns a copy of c with defaults applied.
func (c Config) WithDefaults() Config {
	out := Config{
		Festivals: slices.Clone(c.Festivals),
		Add:       slices.Clone(c.Add),
		Xiaonian:  cmp.Or(c.Xiaonian, DefaultXiaonian),
		Custom:    slices.Clone(c.Custom),
		Years:     slices.Clone(c.Years),
	}
	out.sched, _ = compileYears(out.Years)
	if c.Festivals == nil {
		out.Festivals = DefaultFestivalKeys()
	}
	for i := range out.Custom {
		out.Custom[i].NameEN = cmp.Or(out.Custom[i].NameEN, out.Custom[i].Name)
	}
	return out
}

// ErrConfig is wrapped by every *ConfigError.
var ErrConfig = errors.New("calendar config")

// ConfigError is an invalid value of the configuration. Field names its place
// in the file's [calendar] section as TOML spells it:
// "calendar.year[0].off[2]", "calendar.festival[1].key".
type ConfigError struct {
	Field string // calendar.year[0].off[2]
	Value string // the value as written; "" when there is none to show
	Msg   string // English: is not a date (YYYY-MM-DD)
	MsgZH string // Chinese: 不是日期（YYYY-MM-DD）
}

// Error reads `calendar.year[0].off[2]: "2028-13-01" is not a date
// (YYYY-MM-DD) / 不是日期（YYYY-MM-DD）`.
func (e *ConfigError) Error() string {
	v := ""
	if e.Value != "" {
		v = strconv.Quote(e.Value) + " "
	}
	return fmt.Sprintf("%s: %s%s / %s", e.Field, v, e.Msg, e.MsgZH)
}

// Unwrap makes a ConfigError match ErrConfig.
func (e *ConfigError) Unwrap() error { return ErrConfig }

func cfgErr(field, value, msg, msgZH string) *ConfigError {
	return &ConfigError{Field: field, Value: value, Msg: msg, MsgZH: msgZH}
}

// Validate checks the configuration, defaults applied; the error is a
// *ConfigError naming the section, index and field.
func (c Config) Validate() error { return c.WithDefaults().validate() }

func (c Config) validate() error {
	builtin := append(DefaultFestivalKeys(), OptionalFestivalKeys()...)
	seen := map[string]bool{}
	for _, list := range []struct {
		name string
		keys []string
	}{{"festivals", c.Festivals}, {"add", c.Add}} {
		name := list.name
		for i, k := range list.keys {
			if !slices.Contains(builtin, k) {
				return cfgErr(fmt.Sprintf("calendar.%s[%d]", name, i), k,
					fmt.Sprintf("is not a built-in festival (built-in: %v; optional: %v)", DefaultFestivalKeys(), OptionalFestivalKeys()),
					"不是内置节日（可选：腊八 laba、小年 xiaonian、妇女节 womens_day、教师节 teachers_day）")
			}
			seen[k] = true
		}
	}
	switch c.Xiaonian {
	case XiaonianNorth, XiaonianSouth:
	default:
		return cfgErr("calendar.xiaonian", c.Xiaonian, fmt.Sprintf("must be %q or %q", XiaonianNorth, XiaonianSouth),
			"应为 north（腊月廿三）或 south（腊月廿四）")
	}
	for i, f := range c.Custom {
		at := func(field string) string { return fmt.Sprintf("calendar.festival[%d].%s", i, field) }
		if !validKey(f.Key) {
			return cfgErr(at("key"), f.Key, "is not a key: use lower-case letters, digits and _", "不是有效的键：只能用小写字母、数字和下划线")
		}
		if slices.Contains(builtin, f.Key) || seen[f.Key] {
			return cfgErr(at("key"), f.Key, "is already used by another festival", "已被其他节日使用")
		}
		seen[f.Key] = true
		if f.Name == "" {
			return cfgErr(at("name"), "", "is required (the Chinese name)", "必填（中文名称）")
		}
		maxDay := 30
		if !f.Lunar && f.Month >= 1 && f.Month <= 12 {
			maxDay = DaysInMonth(2000, time.Month(f.Month)) // a leap year: 29 February allowed
		}
		if f.Month < 1 || f.Month > 12 {
			return cfgErr(at("month"), strconv.Itoa(f.Month), "is not a month (1–12)", "不是有效月份（1–12）")
		}
		if f.Day < 1 || f.Day > maxDay {
			return cfgErr(at("day"), strconv.Itoa(f.Day), fmt.Sprintf("is not a day of month %d (1–%d)", f.Month, maxDay),
				fmt.Sprintf("不是 %d 月的有效日期（1–%d）", f.Month, maxDay))
		}
	}
	_, err := compileYears(c.Years)
	return err
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}
