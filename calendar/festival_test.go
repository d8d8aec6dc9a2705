package calendar_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
)

// publishedFestivals is written by hand from published tables, not generated
// from lunar-go: the State Council's holiday notices (国办发明电〔2024〕12号 for
// 2025, the notice of 2025-11-04 for 2026) name the days of 除夕, 春节, 清明,
// 端午 and 中秋; the other days and the lunar dates are those of the printed
// almanacs (万年历); 2027's are the almanac's (its notice is not encoded here).
var publishedFestivals = map[int]map[string]struct{ date, lunar string }{
	2025: {
		"new_year":        {"2025-01-01", "腊月初二"},
		"new_years_eve":   {"2025-01-28", "腊月廿九"}, // no 腊月三十 in lunar 2024
		"spring_festival": {"2025-01-29", "正月初一"},
		"lantern":         {"2025-02-12", "正月十五"},
		"qingming":        {"2025-04-04", "三月初七"},
		"dragon_boat":     {"2025-05-31", "五月初五"},
		"qixi":            {"2025-08-29", "七月初七"}, // late: 闰六月 in 2025
		"mid_autumn":      {"2025-10-06", "八月十五"},
		"national_day":    {"2025-10-01", "八月初十"},
		"double_ninth":    {"2025-10-29", "九月初九"},
	},
	2026: {
		"new_year":        {"2026-01-01", "冬月十三"},
		"new_years_eve":   {"2026-02-16", "腊月廿九"},
		"spring_festival": {"2026-02-17", "正月初一"},
		"lantern":         {"2026-03-03", "正月十五"},
		"qingming":        {"2026-04-05", "二月十八"},
		"dragon_boat":     {"2026-06-19", "五月初五"},
		"qixi":            {"2026-08-19", "七月初七"},
		"mid_autumn":      {"2026-09-25", "八月十五"},
		"national_day":    {"2026-10-01", "八月廿一"},
		"double_ninth":    {"2026-10-18", "九月初九"},
	},
	2027: {
		"new_year":        {"2027-01-01", "冬月廿四"},
		"new_years_eve":   {"2027-02-05", "腊月廿九"},
		"spring_festival": {"2027-02-06", "正月初一"},
		"lantern":         {"2027-02-20", "正月十五"},
		"qingming":        {"2027-04-05", "二月廿九"},
		"dragon_boat":     {"2027-06-09", "五月初五"},
		"qixi":            {"2027-08-08", "七月初七"},
		"mid_autumn":      {"2027-09-15", "八月十五"},
		"national_day":    {"2027-10-01", "九月初二"},
		"double_ninth":    {"2027-10-08", "九月初九"},
	},
}

func TestFestivalsMatchPublishedTable(t *testing.T) {
	t.Parallel()
	for year, want := range publishedFestivals {
		t.Run(strconv.Itoa(year), func(t *testing.T) {
			t.Parallel()
			got, err := calendar.Festivals(year, calendar.Config{})
			require.NoError(t, err)
			require.Len(t, got, len(want), "one of each default festival in %d", year)
			seen := map[string]bool{}
			for i, f := range got {
				w, ok := want[f.Key]
				require.True(t, ok, "unexpected festival %q", f.Key)
				require.False(t, seen[f.Key], "%s listed twice in %d", f.Key, year)
				seen[f.Key] = true
				require.Equal(t, w.date, f.Date.String(), "%d %s", year, f.Key)
				require.Equal(t, w.lunar, f.Lunar, "%d %s", year, f.Key)
				require.NotEmpty(t, f.Name)
				require.NotEmpty(t, f.NameEN)
				if i > 0 {
					require.False(t, f.Date.Before(got[i-1].Date), "festivals in date order")
				}
			}
		})
	}
}

func TestFestivalNamesAndKinds(t *testing.T) {
	t.Parallel()
	got, err := calendar.Festivals(2027, calendar.Config{})
	require.NoError(t, err)
	byKey := map[string]calendar.Festival{}
	for _, f := range got {
		byKey[f.Key] = f
	}
	tests := []struct {
		key, name, nameEN string
		lunarBased        bool
	}{
		{"new_year", "元旦", "New Year's Day", false},
		{"new_years_eve", "除夕", "Chinese New Year's Eve", true},
		{"spring_festival", "春节", "Spring Festival", true},
		{"lantern", "元宵节", "Lantern Festival", true},
		{"qingming", "清明节", "Qingming Festival", false},
		{"dragon_boat", "端午节", "Dragon Boat Festival", true},
		{"qixi", "七夕节", "Qixi Festival", true},
		{"mid_autumn", "中秋节", "Mid-Autumn Festival", true},
		{"national_day", "国庆节", "National Day", false},
		{"double_ninth", "重阳节", "Double Ninth Festival", true},
	}
	for _, tt := range tests {
		f, ok := byKey[tt.key]
		require.True(t, ok, tt.key)
		require.Equal(t, tt.name, f.Name)
		require.Equal(t, tt.nameEN, f.NameEN)
		require.Equal(t, tt.lunarBased, f.LunarBased, tt.key)
	}
	require.Equal(t, "清明", byKey["qingming"].Term)
}

func TestNewYearsEveLastDayOfLunarYear(t *testing.T) {
	t.Parallel()
	tests := []struct {
		year        int
		date, lunar string
	}{
		{2024, "2024-02-09", "腊月三十"},
		{2025, "2025-01-28", "腊月廿九"},
		{2026, "2026-02-16", "腊月廿九"},
		{2027, "2027-02-05", "腊月廿九"},
		{2028, "2028-01-25", "腊月廿九"},
		{2030, "2030-02-02", "腊月三十"},
	}
	for _, tt := range tests {
		fs, err := calendar.Festivals(tt.year, calendar.Config{Festivals: []string{calendar.KeyNewYearsEve}})
		require.NoError(t, err)
		require.Len(t, fs, 1, "除夕 falls once in %d", tt.year)
		require.Equal(t, tt.date, fs[0].Date.String())
		require.Equal(t, tt.lunar, fs[0].Lunar)
		// the next day is 春节
		l, err := calendar.ToLunar(fs[0].Date.AddDays(1))
		require.NoError(t, err)
		require.Equal(t, calendar.LunarDate{Year: tt.year, Month: 1, Day: 1}, l)
	}
}

func TestOptionalFestivals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		year  int
		cfg   calendar.Config
		key   string
		dates []string
	}{
		// 腊八 of lunar 2021 and of lunar 2022 both fall in solar 2022.
		{"laba twice", 2022, calendar.Config{Festivals: []string{}, Add: []string{"laba"}}, "laba", []string{"2022-01-10", "2022-12-30"}},
		{"laba once", 2025, calendar.Config{Festivals: []string{}, Add: []string{"laba"}}, "laba", []string{"2025-01-07"}},
		{"xiaonian north", 2025, calendar.Config{Festivals: []string{}, Add: []string{"xiaonian"}}, "xiaonian", []string{"2025-01-22"}},
		{"xiaonian south", 2025, calendar.Config{Festivals: []string{}, Add: []string{"xiaonian"}, Xiaonian: "south"}, "xiaonian", []string{"2025-01-23"}},
		{"womens day", 2026, calendar.Config{Festivals: []string{}, Add: []string{"womens_day"}}, "womens_day", []string{"2026-03-08"}},
		{"teachers day", 2026, calendar.Config{Festivals: []string{}, Add: []string{"teachers_day"}}, "teachers_day", []string{"2026-09-10"}},
		{"bank solar anniversary", 2026, calendar.Config{Festivals: []string{}, Custom: []calendar.CustomFestival{{Key: "bank_day", Name: "行庆日", Month: 11, Day: 18}}}, "bank_day", []string{"2026-11-18"}},
		{"bank lunar anniversary", 2026, calendar.Config{Festivals: []string{}, Custom: []calendar.CustomFestival{{Key: "bank_day", Name: "行庆日", Lunar: true, Month: 8, Day: 15}}}, "bank_day", []string{"2026-09-25"}},
		{"solar 29 February in a common year", 2027, calendar.Config{Festivals: []string{}, Custom: []calendar.CustomFestival{{Key: "leap", Name: "闰日", Month: 2, Day: 29}}}, "leap", []string{"2027-02-28"}},
		// 腊月 of lunar 2024 has 29 days: a lunar 12-30 anniversary falls on 腊月廿九.
		{"lunar 30th in a short month", 2025, calendar.Config{Festivals: []string{}, Custom: []calendar.CustomFestival{{Key: "eve", Name: "年三十", Lunar: true, Month: 12, Day: 30}}}, "eve", []string{"2025-01-28"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs, err := calendar.Festivals(tt.year, tt.cfg)
			require.NoError(t, err)
			var dates []string
			for _, f := range fs {
				require.Equal(t, tt.key, f.Key)
				dates = append(dates, f.Date.String())
			}
			require.Equal(t, tt.dates, dates)
		})
	}
}

func TestFestivalsOn(t *testing.T) {
	t.Parallel()
	d, err := calendar.ParseDate("2026-09-25")
	require.NoError(t, err)
	fs, err := calendar.FestivalsOn(d, calendar.Config{})
	require.NoError(t, err)
	require.Len(t, fs, 1)
	require.Equal(t, "mid_autumn", fs[0].Key)

	fs, err = calendar.FestivalsOn(d.AddDays(1), calendar.Config{})
	require.NoError(t, err)
	require.Empty(t, fs)
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  calendar.Config
		ok   bool
	}{
		{"zero value", calendar.Config{}, true},
		{"unknown festival", calendar.Config{Add: []string{"christmas"}}, false},
		{"bad xiaonian", calendar.Config{Xiaonian: "east"}, false},
		{"custom key clash", calendar.Config{Custom: []calendar.CustomFestival{{Key: "qixi", Name: "x", Month: 1, Day: 2}}}, false},
		{"custom bad key", calendar.Config{Custom: []calendar.CustomFestival{{Key: "Bank Day", Name: "x", Month: 1, Day: 2}}}, false},
		{"custom no name", calendar.Config{Custom: []calendar.CustomFestival{{Key: "b", Month: 1, Day: 2}}}, false},
		{"custom 31 April", calendar.Config{Custom: []calendar.CustomFestival{{Key: "b", Name: "x", Month: 4, Day: 31}}}, false},
		{"custom lunar 31st", calendar.Config{Custom: []calendar.CustomFestival{{Key: "b", Name: "x", Lunar: true, Month: 4, Day: 31}}}, false},
		{"custom twice", calendar.Config{Custom: []calendar.CustomFestival{{Key: "b", Name: "x", Month: 1, Day: 2}, {Key: "b", Name: "y", Month: 1, Day: 3}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := calendar.Festivals(2026, tt.cfg)
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}

func TestConfigWithDefaults(t *testing.T) {
	t.Parallel()
	c := calendar.Config{}.WithDefaults()
	require.Equal(t, calendar.DefaultFestivalKeys(), c.Festivals)
	require.Equal(t, calendar.DefaultXiaonian, c.Xiaonian)

	c = calendar.Config{Festivals: []string{}, Custom: []calendar.CustomFestival{{Key: "b", Name: "行庆日"}}}.WithDefaults()
	require.Empty(t, c.Festivals, "an empty list stays empty")
	require.Equal(t, "行庆日", c.Custom[0].NameEN, "English name defaults to the name")
}
