package care_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"carillon/calendar"
	"carillon/care"
)

// A 2028 plan says the holiday data is missing, in its result, its log and
// carillon_calendar_holiday_data_missing; the configured 2028 silences it.
func TestPlanReportsMissingHolidayData(t *testing.T) {
	t.Parallel()
	b := setup(t, "C1,王芳,,,,,active\n", care.Config{})
	res, _ := b.dryRun(t, calendar.NewDate(2028, 3, 1))
	require.False(t, res.HolidayData)
	require.Equal(t, []int{2028}, res.MissingHolidayYears)
	require.Contains(t, res.HolidayWarning, "no public-holiday data for 2028")
	require.Equal(t, 1.0, gaugeValue(t, b.planner, "2028"))

	res, _ = b.dryRun(t, calendar.NewDate(2027, 3, 1))
	require.True(t, res.HolidayData)
	require.Empty(t, res.HolidayWarning)
	require.Equal(t, 0.0, gaugeValue(t, b.planner, "2027"))

	cfg := care.Config{Festivals: calendar.Config{Years: []calendar.YearConfig{{Year: 2028, Off: []string{"2028-01-26"}}}}}
	c := setup(t, "C1,王芳,,,,,active\n", cfg)
	res, _ = c.dryRun(t, calendar.NewDate(2028, 3, 1))
	require.True(t, res.HolidayData)
	require.Empty(t, res.MissingHolidayYears)
	require.Equal(t, 0.0, gaugeValue(t, c.planner, "2028"))
}

// gaugeValue reads carillon_calendar_holiday_data_missing{year} from the
// planner's collectors; -1 when the series does not exist.
func gaugeValue(t *testing.T, p *care.Planner, year string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(p.Collectors()[0]))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "carillon_calendar_holiday_data_missing" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "year" && l.GetValue() == year {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

// Festivals of the configuration (腊八 switched on, a solar and a lunar day of
// the bank's own) get their rules where the built-in ones do, and are planned
// on their days.
func TestConfiguredFestivalsArePlannedOnTheirDays(t *testing.T) {
	t.Parallel()
	cfg := care.Config{Festivals: calendar.Config{Add: []string{calendar.KeyLaba}, Custom: []calendar.CustomFestival{
		{Key: "bank_day", Name: "行庆日", NameEN: "Bank Day", Month: 6, Day: 18},
		{Key: "shangsi", Name: "上巳节", NameEN: "Shangsi Festival", Lunar: true, Month: 3, Day: 3}}}}
	b := setup(t, "C1,王芳,,,,,active\n", cfg)
	require.NoError(t, b.planner.EnsureFestivalRules(b.ctx))
	days := map[string]calendar.Date{
		"festival.bank_day": calendar.NewDate(2027, 6, 18),
		"festival.shangsi":  lunarDay(t, 2027, 3, 3),
		"festival.laba":     lunarDay(t, 2027, 12, 8),
	}
	for rule, day := range days {
		r, err := b.planner.Rule(b.ctx, rule)
		require.NoError(t, err, rule)
		require.True(t, r.Enabled, rule)
		res, by := b.dryRun(t, day)
		require.Equal(t, rule, one(t, by, "C1").Rule, day)
		require.Equal(t, 1, res.ByRule[rule])
		_, by = b.dryRun(t, day.AddDays(1))
		require.Empty(t, by["C1"], "nothing the day after %s", day)
	}
}
