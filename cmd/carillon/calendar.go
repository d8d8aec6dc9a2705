package main

import (
	"context"
	"fmt"
	"time"

	"carillon/calendar"
)

// cmdCalendar prints the festivals and business-day calendar of a year.
func cmdCalendar(_ context.Context, e *env, args []string) error {
	fs := newFlags("calendar", e.stderr)
	year := fs.Int("year", time.Now().Year(), "solar year")
	asJSON := fs.Bool("json", false, "print one JSON document")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	info, err := calendar.Year(*year, calendar.Config{})
	if err != nil {
		return fmt.Errorf("calendar %d: %w", *year, err)
	}
	if *asJSON {
		return writeJSONTo(e.stdout, info)
	}
	return calendar.WriteText(e.stdout, info)
}
