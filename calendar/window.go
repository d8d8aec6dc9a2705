package calendar

import "fmt"

// BirthdayWindow is the birthday keys greeted over a run of days, as the
// arrays an index lookup takes, and the first day each key is greeted: what
// a look-ahead of upcoming birthdays (a manager's digest, the console's "my
// customers") asks the contacts' birthday indexes.
type BirthdayWindow struct {
	SolarMonths, SolarDays []int32
	LunarMonths, LunarDays []int32
	LunarLeaps             []bool
	first                  map[windowKey]Date
}

type windowKey struct {
	lunar      bool
	month, day int
	leap       bool
}

// BirthdaysBetween returns the birthday keys (BirthdayKeys) of the days from
// from to to, both included; none when to is before from.
func BirthdaysBetween(from, to Date) (BirthdayWindow, error) {
	w := BirthdayWindow{first: map[windowKey]Date{}}
	for d := from; !d.After(to); d = d.AddDays(1) {
		keys, err := BirthdayKeys(d)
		if err != nil {
			return BirthdayWindow{}, fmt.Errorf("birthday keys of %s: %w", d, err)
		}
		for _, k := range keys.Solar {
			wk := windowKey{month: k.Month, day: k.Day}
			if _, seen := w.first[wk]; !seen {
				w.first[wk] = d
				w.SolarMonths, w.SolarDays = append(w.SolarMonths, int32(k.Month)), append(w.SolarDays, int32(k.Day))
			}
		}
		for _, k := range keys.LunarKeys {
			wk := windowKey{lunar: true, month: k.Month, day: k.Day, leap: k.Leap}
			if _, seen := w.first[wk]; !seen {
				w.first[wk] = d
				w.LunarMonths, w.LunarDays = append(w.LunarMonths, int32(k.Month)), append(w.LunarDays, int32(k.Day))
				w.LunarLeaps = append(w.LunarLeaps, k.Leap)
			}
		}
	}
	return w, nil
}

// SolarOn is the first day of the window that greets a solar birthday on
// month-day (the zero Date when none does).
func (w BirthdayWindow) SolarOn(month, day int) Date {
	return w.first[windowKey{month: month, day: day}]
}

// LunarOn is the first day of the window that greets a lunar birthday on
// month-day (leap: of the leap month); the zero Date when none does.
func (w BirthdayWindow) LunarOn(month, day int, leap bool) Date {
	return w.first[windowKey{lunar: true, month: month, day: day, leap: leap}]
}
