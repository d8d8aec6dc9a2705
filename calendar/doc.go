// Package calendar holds Carillon's dates: festivals on the solar and lunar
// calendars, China's business days, and the birthday rules. Everything here
// is a pure function over dates — no database, no clock, no global state of
// its own. Decide "today" in the contact's (or manager's) time zone, turn it
// into a Date with DateOf, and ask.
//
// The lunar calendar, the solar terms and the public-holiday schedule come
// from github.com/6tail/lunar-go (v1.4.7). This package never lets lunar-go
// panic: impossible lunar dates are checked against the month lengths first
// and come back as errors wrapping ErrInvalidDate; years outside
// MinYear..MaxYear come back as ErrOutOfRange.
//
// # Festivals
//
// Festivals(year, cfg) lists a solar year's festivals in date order. By
// default: 元旦 new_year, 除夕 new_years_eve (the last day of the lunar year,
// 腊月廿九 or 腊月三十), 春节 spring_festival, 元宵 lantern, 清明 qingming
// (the solar term), 端午 dragon_boat, 七夕 qixi, 中秋 mid_autumn, 国庆
// national_day, 重阳 double_ninth. Config.Add turns on 腊八 laba, 小年 xiaonian
// (Config.Xiaonian north 腊月廿三 or south 腊月廿四), 妇女节 womens_day, 教师节
// teachers_day; Config.Custom adds a bank's own solar or lunar anniversary.
// The year is scanned day by day, so a lunar festival is listed each time it
// falls in the year — 0, 1 or 2 times (腊八 fell on 2022-01-10 and on
// 2022-12-30); 除夕 of lunar year N always falls in January or February of
// solar year N+1, so it is listed once a year.
//
// # Business days
//
// IsBusinessDay, DayOf, NextBusinessDay, AddBusinessDays and
// BusinessDaysBetween follow China's public holidays and 调休 make-up
// workdays (weekend days worked). lunar-go has the schedule for 2002–2027
// (HasHolidayData); other years fall back to Monday–Friday and say so: DayOf
// and HolidaysOf carry HolidayData false and a Warning, and the functions
// returning dates return exact=false. The State Council's notice for year
// Y+1 has moved 29–31 December of Y before (2023-12-30 was off for 元旦
// 2024), so those three days count as unsettled while Y+1 has no data.
//
// # Birthdays
//
// A Birthday (convertible from contacts.Birthday) is greeted once per year of
// its own calendar. The edge rules, each reported as a note in
// Greeting.Notes: a solar 29 February is greeted on 28 February in common
// years (NoteFeb29); a lunar 30th on the 29th when that month is short
// (NoteLunar30); a leap-month birthday in the ordinary month when the year
// has no such leap month, and in the leap month when it has (NoteLeapMonth).
// Greeting.Year is the year in the birthday's own calendar — the lunar year
// for a lunar birthday — for dedupe keys birthday:<contact>:lunar:<year>
// (Greeting.DedupeKey): lunar 冬月二十 fell on 2024-01-01 (lunar year 2023)
// and on 2024-12-20 (lunar year 2024), two birthdays in one solar year.
//
// For planning by index, BirthdayKeys(day) returns the solar (month, day) and
// lunar (month, day, leap) keys whose birthdays are greeted that day, each
// with the notes of the rule that brings it there. Look the contacts up by
// those keys, then call keys.Greeting(birthday) for each one found: it gives
// the greeting (year, notes, age, milestone flag for the 60th, 70th, 80th …)
// without recomputing the lunar calendar. Birthday.GreetingOn(day) gives the
// same answer for one contact on its own, and GreetingsBetween lists the
// greetings of a date range (a manager's "next 7 days").
//
// # Year summary (carillon calendar --year YYYY --json)
//
// Year(year, cfg) returns a YearInfo; WriteText prints it as plain-text
// tables. Its JSON is one document:
//
//	{"year":2027,
//	 "festivals":[{"key":"spring_festival","name":"春节","name_en":"Spring Festival",
//	               "date":"2027-02-06","lunar":"正月初一","lunar_based":true}, …],
//	 "holidays":[{"date":"2027-02-05","name":"春节","name_en":"Spring Festival","festival":"2027-02-06"}, …],
//	 "workdays":[{"date":"2027-01-31","name":"春节","name_en":"Spring Festival","festival":"2027-02-06"}, …],
//	 "holiday_data":true}
//
// Dates are ISO YYYY-MM-DD strings. "holidays" are the official days off,
// weekend days inside a break included; "workdays" are the 调休 make-up
// workdays; each carries the holiday's name (as in the official notice, e.g.
// 元旦节, 国庆节) and the festival day the break is for. A festival may carry
// "note" (a custom date moved by a rule) and 清明 carries "solar_term". For a
// year without holiday data both lists are [], "holiday_data" is false and
// "warning" explains. Fields are only ever added.
package calendar
