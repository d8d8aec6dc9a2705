package revisits_test

import (
	"fmt"
	"time"

	"carillon/calendar"
	"carillon/revisits"
)

// A tier-A customer revisited on Thursday 24 September 2026 is due seven days
// later, 1 October — National Day, a holiday to the 7th — so the reminder
// falls on Thursday 8 October. One revisited on 3 October is due on Saturday
// 10 October, a 调休 make-up day the bank works.
func ExampleDueDate() {
	cadence := revisits.DefaultCadences["A"]
	for _, last := range []calendar.Date{calendar.NewDate(2026, time.September, 24), calendar.NewDate(2026, time.October, 3)} {
		due := revisits.DueDate(last.AddDays(cadence))
		fmt.Println(last, "→", due, due.Weekday())
	}
	// Output:
	// 2026-09-24 → 2026-10-08 Thursday
	// 2026-10-03 → 2026-10-10 Saturday
}
