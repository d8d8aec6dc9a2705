package care_test

import (
	"fmt"

	"carillon/calendar"
	"carillon/care"
)

// The rules and dedupe keys a plan uses: a combined message carries the
// festival's key, and the birthday's own key in its vars.
func Example_keys() {
	fmt.Println(care.RuleBirthday, care.FestivalRule(calendar.KeyMidAutumn), care.CombinedRule(calendar.KeyMidAutumn))
	fmt.Println(care.FestivalDedupeKey(calendar.KeyMidAutumn, "C123", 2027))
	g := calendar.Greeting{Calendar: calendar.CalendarLunar, Year: 2026}
	fmt.Println(g.DedupeKey("C123"))
	// Output:
	// birthday festival.mid_autumn birthday+festival.mid_autumn
	// festival:mid_autumn:C123:2027
	// birthday:C123:lunar:2026
}
