package calendar

import (
	"cmp"
	"fmt"
	"slices"
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
	Festivals []string `json:"festivals,omitempty"`
	// Add names further built-in festivals (OptionalFestivalKeys) listed on
	// top of Festivals. Default: none.
	Add []string `json:"add,omitempty"`
	// Xiaonian is the 小年 listed when "xiaonian" is on: XiaonianNorth
	// (腊月廿三) or XiaonianSouth (腊月廿四). Default DefaultXiaonian (north).
	Xiaonian string `json:"xiaonian,omitempty"`
	// Custom lists the bank's own fixed-date days (a founding anniversary),
	// solar or lunar. Default: none.
	Custom []CustomFestival `json:"custom,omitempty"`
}

// CustomFestival is a bank's own festival on a fixed solar or lunar date.
// A solar 29 February falls on 28 February in common years; a lunar 30th on
// the 29th when the month is short (the Festival then carries a Note).
type CustomFestival struct {
	Key    string `json:"key"`     // lower-case letters, digits and _, not a built-in key
	Name   string `json:"name"`    // Chinese name, required
	NameEN string `json:"name_en"` // English name, defaults to Name
	Lunar  bool   `json:"lunar"`   // Month and Day are lunar (ordinary, not leap, month)
	Month  int    `json:"month"`
	Day    int    `json:"day"`
}

// WithDefaults returns a copy of c with defaults applied.
func (c Config) WithDefaults() Config {
	out := Config{
		Festivals: slices.Clone(c.Festivals),
		Add:       slices.Clone(c.Add),
		Xiaonian:  cmp.Or(c.Xiaonian, DefaultXiaonian),
		Custom:    slices.Clone(c.Custom),
	}
	if c.Festivals == nil {
		out.Festivals = DefaultFestivalKeys()
	}
	for i := range out.Custom {
		out.Custom[i].NameEN = cmp.Or(out.Custom[i].NameEN, out.Custom[i].Name)
	}
	return out
}

func (c Config) validate() error {
	builtin := append(DefaultFestivalKeys(), OptionalFestivalKeys()...)
	seen := map[string]bool{}
	for _, k := range append(slices.Clone(c.Festivals), c.Add...) {
		if !slices.Contains(builtin, k) {
			return fmt.Errorf("calendar config: unknown festival %q (built-in: %v)", k, builtin)
		}
		seen[k] = true
	}
	switch c.Xiaonian {
	case XiaonianNorth, XiaonianSouth:
	default:
		return fmt.Errorf("calendar config: xiaonian %q must be %q or %q", c.Xiaonian, XiaonianNorth, XiaonianSouth)
	}
	for _, f := range c.Custom {
		if !validKey(f.Key) {
			return fmt.Errorf("calendar config: custom festival key %q: use lower-case letters, digits and _", f.Key)
		}
		if slices.Contains(builtin, f.Key) || seen[f.Key] {
			return fmt.Errorf("calendar config: custom festival key %q is already used", f.Key)
		}
		seen[f.Key] = true
		if f.Name == "" {
			return fmt.Errorf("calendar config: custom festival %q has no name", f.Key)
		}
		maxDay := 30
		if !f.Lunar && f.Month >= 1 && f.Month <= 12 {
			maxDay = DaysInMonth(2000, time.Month(f.Month)) // a leap year: 29 February allowed
		}
		if f.Month < 1 || f.Month > 12 || f.Day < 1 || f.Day > maxDay {
			return fmt.Errorf("calendar config: custom festival %q: no such date %02d-%02d", f.Key, f.Month, f.Day)
		}
	}
	return nil
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
