package calendar_test

import (
	"fmt"
	"os"

	"carillon/calendar"
)

func ExampleFestivals() {
	fs, err := calendar.Festivals(2027, calendar.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range fs {
		fmt.Println(f.Date, f.Key, f.Name, f.Lunar)
	}
	// Output:
	// 2027-01-01 new_year 元旦 冬月廿四
	// 2027-02-05 new_years_eve 除夕 腊月廿九
	// 2027-02-06 spring_festival 春节 正月初一
	// 2027-02-20 lantern 元宵节 正月十五
	// 2027-04-05 qingming 清明节 二月廿九
	// 2027-06-09 dragon_boat 端午节 五月初五
	// 2027-08-08 qixi 七夕节 七月初七
	// 2027-09-15 mid_autumn 中秋节 八月十五
	// 2027-10-01 national_day 国庆节 九月初二
	// 2027-10-08 double_ninth 重阳节 九月初九
}

func ExampleAddBusinessDays() {
	due := calendar.NewDate(2026, 9, 30)
	for n := 1; n <= 3; n++ {
		d, exact := calendar.AddBusinessDays(due, n)
		fmt.Println(n, d, d.Weekday(), calendar.DayOf(d).Kind, exact)
	}
	d, exact := calendar.AddBusinessDays(calendar.NewDate(2030, 9, 30), 1)
	fmt.Println(d, exact, calendar.DayOf(d).Warning)
	// Output:
	// 1 2026-10-08 Thursday workday true
	// 2 2026-10-09 Friday workday true
	// 3 2026-10-10 Saturday makeup true
	// 2030-10-01 false no public-holiday data for 2030: business days are Monday to Friday only; holidays and 调休 make-up days are unknown / 2030 年没有法定节假日数据：工作日仅按周一至周五计算，节假日与调休未知（可在配置的 [[calendar.year]] 中补充）
}

func ExampleBirthday_GreetingOn() {
	// Born on 腊月三十; lunar 2024's 腊月 has only 29 days.
	b := calendar.Birthday{Calendar: calendar.CalendarLunar, Year: 1966, LunarMonth: 12, LunarDay: 30}
	g, ok, err := b.GreetingOn(calendar.NewDate(2025, 1, 28))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ok, g.Date, g.Lunar, g.Note())
	fmt.Println(g.DedupeKey("C1001"), g.Age, g.Milestone)
	// Output:
	// true 2025-01-28 农历腊月廿九 lunar 30th greeted on the 29th
	// birthday:C1001:lunar:2024 59 false
}

func ExampleBirthdayKeys() {
	keys, err := calendar.BirthdayKeys(calendar.NewDate(2026, 2, 28))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, k := range keys.Solar {
		fmt.Printf("solar %02d-%02d %v\n", k.Month, k.Day, k.Notes)
	}
	for _, k := range keys.LunarKeys {
		fmt.Printf("lunar %s %v\n", calendar.LunarMonthDayChinese(k.Month, k.Day, k.Leap), k.Notes)
	}
	// Output:
	// solar 02-28 []
	// solar 02-29 [29 February greeted on 28 February in a common year]
	// lunar 正月十二 []
	// lunar 闰正月十二 [leap-month birthday greeted in the ordinary month]
}

func ExampleWriteText() {
	y, err := calendar.Year(2026, calendar.Config{Festivals: []string{calendar.KeyMidAutumn}})
	if err != nil {
		fmt.Println(err)
		return
	}
	y.Holidays = y.Holidays[len(y.Holidays)-7:] // the National Day week only
	y.Workdays = y.Workdays[len(y.Workdays)-2:]
	if err := calendar.WriteText(os.Stdout, y); err != nil {
		fmt.Println(err)
	}
	// Output:
	// Calendar 2026
	//
	// Festivals
	//   2026-09-25  Fri  八月十五  Mid-Autumn Festival  中秋节
	//
	// Public holidays (days off)
	//   2026-10-01  Thu  National Day  国庆节
	//   2026-10-02  Fri  National Day  国庆节
	//   2026-10-03  Sat  National Day  国庆节
	//   2026-10-04  Sun  National Day  国庆节
	//   2026-10-05  Mon  National Day  国庆节
	//   2026-10-06  Tue  National Day  国庆节
	//   2026-10-07  Wed  National Day  国庆节
	//
	// Make-up workdays (调休)
	//   2026-09-20  Sun  National Day  国庆节
	//   2026-10-10  Sat  National Day  国庆节
}
