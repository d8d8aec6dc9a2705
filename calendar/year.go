package calendar

import (
	"fmt"
	"io"
	"slices"
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
	// HolidaySource is where Holidays and Workdays come from:
	// SourceLibrary (lunar-go), SourceConfig ([[calendar.year]]) or SourceNone.
	HolidaySource string `json:"holiday_source"`
	// Config is the configuration's festival choice and its configured
	// years, when asked for (carillon calendar --config).
	Config *ConfigSummary `json:"config,omitempty"`
}

// ConfigSummary lists what a configuration adds to the built-in calendar.
type ConfigSummary struct {
	Enabled []string         `json:"enabled"` // optional built-in festivals switched on (腊八 laba …)
	Custom  []CustomFestival `json:"custom"`  // the bank's [[calendar.festival]] tables
	Years   []int            `json:"years"`   // the years of its [[calendar.year]] tables
}

// Summary returns what c adds to the built-in calendar. Lists are never null.
func (c Config) Summary() ConfigSummary {
	c = c.WithDefaults()
	out := ConfigSummary{Enabled: []string{}, Custom: c.Custom, Years: []int{}}
	if out.Custom == nil {
		out.Custom = []CustomFestival{}
	}
	for _, k := range OptionalFestivalKeys() {
		if slices.Contains(c.Festivals, k) || slices.Contains(c.Add, k) {
			out.Enabled = append(out.Enabled, k)
		}
	}
	for _, y := range c.Years {
		out.Years = append(out.Years, y.Year)
	}
	return out
}

// Year returns the festivals and the public-holiday schedule of a solar year.
func Year(year int, cfg Config) (YearInfo, error) {
	fs, err := Festivals(year, cfg)
	if err != nil {
		return YearInfo{}, fmt.Errorf("festivals of %d: %w", year, err)
	}
	by, err := cfg.HolidaysOf(year)
	if err != nil {
		return YearInfo{}, err
	}
	if fs == nil {
		fs = []Festival{}
	}
	return YearInfo{Year: year, Festivals: fs, Holidays: by.Holidays, Workdays: by.Workdays,
		HolidayData: by.HolidayData, HolidaySource: by.Source, Warning: by.Warning}, nil
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
	if y.Config != nil {
		p("\nConfiguration\n")
		p("  optional festivals on\t%v\n", y.Config.Enabled)
		for _, f := range y.Config.Custom {
			cal := "solar"
			if f.Lunar {
				cal = "lunar"
			}
			p("  festival %s\t%s %02d-%02d\t%s\t%s\n", f.Key, cal, f.Month, f.Day, f.NameEN, f.Name)
		}
		p("  holiday years configured\t%v\n", y.Config.Years)
	}
	if !y.HolidayData {
		p("\nWarning: %s\n", y.Warning)
		return tw.Flush()
	}
	src := ""
	if y.HolidaySource == SourceConfig {
		src = ", from the configuration / 来自配置"
	}
	p("\nPublic holidays (days off)%s\n", src)
	for _, h := range y.Holidays {
		p("  %s\t%s\t%s\t%s\n", h.Date, weekdayLabel(h.Date), h.NameEN, h.Name)
	}
	p("\nMake-up workdays (调休)\n")
	for _, h := range y.Workdays {
		p("  %s\t%s\t%s\t%s\n", h.Date, weekdayLabel(h.Date), h.NameEN, h.Name)
	}
	return tw.Flush()
}
