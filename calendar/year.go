package calendar

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// YearInfo is the calendar of one solar year, as `carillon calendar --year
// YYYY --json` prints it. Lists are never null.
type YearInfo struct {
	Year        int          `json:"year"`
	Festivals   []Festival   `json:"festivals"`
	Holidays    []HolidayDay `json:"holidays"` // public-holiday days off
	Workdays    []HolidayDay `json:"workdays"` // 调休 make-up workdays
	HolidayData bool         `json:"holiday_data"`
	Warning     string       `json:"warning,omitempty"`
}

// Year returns the festivals and the public-holiday schedule of a solar year.
func Year(year int, cfg Config) (YearInfo, error) {
	fs, err := Festivals(year, cfg)
	if err != nil {
		return YearInfo{}, fmt.Errorf("festivals of %d: %w", year, err)
	}
	by, err := HolidaysOf(year)
	if err != nil {
		return YearInfo{}, err
	}
	if fs == nil {
		fs = []Festival{}
	}
	return YearInfo{Year: year, Festivals: fs, Holidays: by.Holidays, Workdays: by.Workdays,
		HolidayData: by.HolidayData, Warning: by.Warning}, nil
}

func weekdayLabel(d Date) string { return d.Weekday().String()[:3] }

// WriteText writes y as plain-text tables: festivals, then days off, then
// make-up workdays, and the warning when the year has no holiday data.
func WriteText(w io.Writer, y YearInfo) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	p("Calendar %d\n\n", y.Year)
	p("Festivals\n")
	for _, f := range y.Festivals {
		name := f.Name
		if f.Note != "" {
			name += " (" + f.Note + ")"
		}
		p("  %s\t%s\t%s\t%s\t%s\n", f.Date, weekdayLabel(f.Date), f.Lunar, f.NameEN, name)
	}
	if !y.HolidayData {
		p("\nWarning: %s\n", y.Warning)
		return tw.Flush()
	}
	p("\nPublic holidays (days off)\n")
	for _, h := range y.Holidays {
		p("  %s\t%s\t%s\t%s\n", h.Date, weekdayLabel(h.Date), h.NameEN, h.Name)
	}
	p("\nMake-up workdays (调休)\n")
	for _, h := range y.Workdays {
		p("  %s\t%s\t%s\t%s\n", h.Date, weekdayLabel(h.Date), h.NameEN, h.Name)
	}
	return tw.Flush()
}
