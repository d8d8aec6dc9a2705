package main

import (
	"context"
	"fmt"
	"time"

	"carillon/calendar"
)

// cmdCalendar prints the festivals and business-day calendar of a year; with
// --config, as the file's [calendar] section makes them (festivals switched
// on, the bank's own festivals, configured holiday years) and a summary of it.
func cmdCalendar(_ context.Context, e *env, args []string) error {
	fs := newFlags("calendar", e.stderr)
	year := fs.Int("year", time.Now().Year(), "solar year")
	asJSON := fs.Bool("json", false, "print one JSON document")
	cfgPath := fs.String("config", "", "configuration file (TOML): its [calendar] section is applied and listed")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	fc, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	info, err := calendar.Year(*year, fc.Calendar)
	if err != nil {
		return fmt.Errorf("calendar %d: %w", *year, err)
	}
	if *cfgPath != "" {
		sum := fc.Calendar.Summary()
		info.Config = &sum
	}
	if *asJSON {
		return writeJSONTo(e.stdout, info)
	}
	return calendar.WriteText(e.stdout, info)
}
