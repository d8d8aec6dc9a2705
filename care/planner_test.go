package care_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
	"carillon/care"
	"carillon/channels"
	"carillon/internal/audit"
)

var allChannels = []channels.Channel{channels.WeChat, channels.SMS, channels.Email}

func TestSolarBirthday(t *testing.T) {
	t.Parallel()
	b := setup(t, "S1,张伟,1967-03-15,,solar,,active\nS2,李娜,1980-03-16,,solar,,active\nS3,王芳,03-15,,solar,,active\n", care.Config{})
	day := calendar.NewDate(2027, time.March, 15)

	res, by := b.dryRun(t, day)
	require.Equal(t, 2, res.Messages)
	require.Equal(t, 2, res.Birthdays)
	require.Equal(t, 1, res.Milestones)
	require.Empty(t, res.Festivals)
	require.Empty(t, by["S2"], "a birthday tomorrow is not today's")

	s1 := one(t, by, "S1")
	require.Equal(t, care.RuleBirthday, s1.Rule)
	require.Equal(t, "birthday", s1.Template)
	require.Equal(t, "birthday:S1:solar:2027", s1.DedupeKey)
	require.Equal(t, day, s1.Date)
	require.Equal(t, allChannels, s1.Channels)
	require.Equal(t, 60, s1.Age)
	require.True(t, s1.Milestone, "a 60th birthday is flagged for the manager")
	require.Empty(t, s1.Note)

	s3 := one(t, by, "S3")
	require.Zero(t, s3.Age, "birth year unknown")
	require.False(t, s3.Milestone)
}

func TestLunarBirthday(t *testing.T) {
	t.Parallel()
	b := setup(t, "L1,王芳,,08-10,lunar,,active\nL2,赵敏,,11-20,lunar,,active\nS1,李娜,08-10,,solar,,active\n", care.Config{})
	day := lunarDay(t, 2027, 8, 10)

	_, by := b.dryRun(t, day)
	l1 := one(t, by, "L1")
	require.Equal(t, "birthday:L1:lunar:2027", l1.DedupeKey)
	require.Equal(t, calendar.CalendarLunar, l1.Calendar)
	require.Empty(t, by["S1"], "a solar 08-10 is not a lunar 08-10")
	_, by = b.dryRun(t, day.AddDays(-1))
	require.Empty(t, by["L1"])

	// Lunar 冬月二十 fell twice in solar 2024: on 2024-01-01 (lunar year 2023,
	// and 元旦: one combined message) and on 2024-12-20 (lunar year 2024).
	_, by = b.dryRun(t, calendar.NewDate(2024, time.January, 1))
	l2 := one(t, by, "L2")
	require.Equal(t, "birthday+festival.new_year", l2.Rule)
	require.Equal(t, "birthday:L2:lunar:2023", l2.BirthdayKey)
	_, by = b.dryRun(t, calendar.NewDate(2024, time.December, 20))
	l2 = one(t, by, "L2")
	require.Equal(t, "birthday:L2:lunar:2024", l2.DedupeKey)
	require.Equal(t, l2.DedupeKey, l2.BirthdayKey)

	res, err := b.planner.Plan(b.ctx, day, care.PlanOptions{})
	require.NoError(t, err)
	require.Equal(t, 1, res.Planned)
	var occ map[string]any
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT vars->'Occasion' FROM messages WHERE dedupe_key = 'birthday:L1:lunar:2027'`).Scan(&occ))
	require.Equal(t, true, occ["IsLunar"])
	require.Equal(t, "农历八月初十", occ["Lunar"])
	require.Equal(t, "birthday", occ["Key"])
	require.Equal(t, day.String(), occ["Date"])
}

func TestFeb29InACommonYear(t *testing.T) {
	t.Parallel()
	b := setup(t, "F1,李娜,1988-02-29,,solar,,active\n", care.Config{})

	_, by := b.dryRun(t, calendar.NewDate(2027, time.February, 28))
	f1 := one(t, by, "F1")
	require.Equal(t, calendar.NoteFeb29, f1.Note)
	require.Equal(t, "birthday:F1:solar:2027", f1.DedupeKey)
	require.Equal(t, 39, f1.Age)

	// The rule used is in the message's vars, which delivery's timeline
	// events carry as "note".
	_, err := b.planner.Plan(b.ctx, calendar.NewDate(2027, time.February, 28), care.PlanOptions{})
	require.NoError(t, err)
	var note string
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT vars->>'Note' FROM messages WHERE dedupe_key = 'birthday:F1:solar:2027'`).Scan(&note))
	require.Equal(t, calendar.NoteFeb29, note)

	_, by = b.dryRun(t, calendar.NewDate(2028, time.February, 28))
	require.Empty(t, by["F1"], "a leap year has its own 29 February")
	_, by = b.dryRun(t, calendar.NewDate(2028, time.February, 29))
	require.Empty(t, one(t, by, "F1").Note)
}

func TestLunar30thInAShortMonth(t *testing.T) {
	t.Parallel()
	month := 0
	for m := 1; m <= 11 && month == 0; m++ {
		if n, _, err := calendar.LunarMonthDays(2027, m, false); err == nil && n == 29 {
			month = m
		}
	}
	require.NotZero(t, month, "lunar 2027 has a short month")
	b := setup(t, fmt.Sprintf("T1,陈刚,,%02d-30,lunar,,active\nT2,周丽,,%02d-29,lunar,,active\n", month, month), care.Config{})
	day := lunarDay(t, 2027, month, 29)

	_, by := b.dryRun(t, day)
	t1 := one(t, by, "T1")
	require.Equal(t, calendar.NoteLunar30, t1.Note)
	require.Equal(t, "birthday:T1:lunar:2027", t1.DedupeKey)
	require.Empty(t, one(t, by, "T2").Note)

	_, by = b.dryRun(t, day.AddDays(1))
	require.Empty(t, by["T1"], "greeted once, on the 29th")
}

func TestLeapMonthBirthday(t *testing.T) {
	t.Parallel()
	leap27, err := calendar.LeapMonth(2027)
	require.NoError(t, err)
	require.NotEqual(t, 6, leap27)
	leap25, err := calendar.LeapMonth(2025)
	require.NoError(t, err)
	require.Equal(t, 6, leap25, "2025 had a 闰六月")
	b := setup(t, "P1,孙悦,,闰06-10,lunar,,active\nP2,钱进,,06-10,lunar,,active\n", care.Config{})

	// 2027 has no 闰六月: the leap-month birthday is greeted in 六月.
	_, by := b.dryRun(t, lunarDay(t, 2027, 6, 10))
	require.Equal(t, calendar.NoteLeapMonth, one(t, by, "P1").Note)
	require.Empty(t, one(t, by, "P2").Note)

	// 2025 has one: each birthday in its own month.
	ordinary := lunarDay(t, 2025, 6, 10)
	leapDay, err := calendar.ToSolar(calendar.LunarDate{Year: 2025, Month: 6, Day: 10, Leap: true})
	require.NoError(t, err)
	_, by = b.dryRun(t, ordinary)
	require.Empty(t, by["P1"])
	one(t, by, "P2")
	_, by = b.dryRun(t, leapDay)
	require.Empty(t, by["P2"])
	p1 := one(t, by, "P1")
	require.Empty(t, p1.Note)
	require.Equal(t, "birthday:P1:lunar:2025", p1.DedupeKey)
}

func TestOnlyActiveUnerasedContactsArePlanned(t *testing.T) {
	t.Parallel()
	b := setup(t, "A1,甲,1950-10-02,,solar,,active\nD1,乙,1950-10-02,,solar,,deceased\nC1,丙,10-02,,solar,,closed\n"+
		"Z1,丁,10-02,,solar,,dormant\nE1,戊,10-02,,solar,,active\n", care.Config{})
	e1, err := b.store.GetByExternalID(b.ctx, "E1")
	require.NoError(t, err)
	require.NoError(t, b.store.Erase(b.ctx, audit.Actor{Name: "test"}, e1.ID))

	res, by := b.dryRun(t, calendar.NewDate(2026, time.October, 2))
	require.Equal(t, 1, res.Messages)
	one(t, by, "A1")

	// 国庆: every active contact, and none other.
	res, by = b.dryRun(t, calendar.NewDate(2026, time.October, 1))
	require.Equal(t, []string{calendar.KeyNationalDay}, res.Festivals)
	require.Equal(t, 1, res.Messages)
	require.Equal(t, "festival.national_day", one(t, by, "A1").Rule)
}

func TestSendAtIsNineInTheContactsZone(t *testing.T) {
	t.Parallel()
	b := setup(t, "SH,张伟,1990-03-15,,solar,Asia/Shanghai,active\nNY,Anna,1990-03-15,,solar,America/New_York,active\n", care.Config{})
	day := calendar.NewDate(2027, time.March, 15)
	var items []care.Item
	res, err := b.planner.Plan(b.ctx, day, care.PlanOptions{Emit: func(it care.Item) error { items = append(items, it); return nil }})
	require.NoError(t, err)
	require.Equal(t, 2, res.Planned)
	require.Len(t, items, 2)

	want := map[string]time.Time{}
	for _, z := range []struct{ contact, zone string }{{"SH", "Asia/Shanghai"}, {"NY", "America/New_York"}} {
		loc, err := time.LoadLocation(z.zone)
		require.NoError(t, err)
		want[z.contact] = time.Date(2027, time.March, 15, 9, 0, 0, 0, loc)
	}
	require.Equal(t, 12*time.Hour, want["NY"].Sub(want["SH"]), "New York is on daylight time on 15 March 2027")
	for _, it := range items {
		require.True(t, it.SendAt.Equal(want[it.Contact]), "%s: %s", it.Contact, it.SendAt)
		var stored time.Time
		require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT send_at FROM messages WHERE dedupe_key = $1`, it.DedupeKey).Scan(&stored))
		require.True(t, stored.Equal(want[it.Contact]), "%s stored %s", it.Contact, stored)
	}
	line, err := json.Marshal(items[1])
	require.NoError(t, err)
	require.Contains(t, string(line), `"send_at":"2027-03-15T09:00:00-04:00"`)
	require.Contains(t, string(line), `"timezone":"America/New_York"`)
}

func TestFestivalPlansEveryActiveContact(t *testing.T) {
	t.Parallel()
	rows := ""
	for i := 1; i <= 7; i++ {
		rows += fmt.Sprintf("K%d,客户%d,,,,,active\n", i, i)
	}
	rows += "K8,客户8,,,,,deceased\n"
	b := setup(t, rows, care.Config{BatchSize: 3})
	day := festivalDate(t, 2027, calendar.KeyMidAutumn)

	var items []care.Item
	res, err := b.planner.Plan(b.ctx, day, care.PlanOptions{Emit: func(it care.Item) error { items = append(items, it); return nil }})
	require.NoError(t, err)
	require.Equal(t, []string{calendar.KeyMidAutumn}, res.Festivals)
	require.Equal(t, 7, res.Planned)
	require.Zero(t, res.Birthdays)
	require.Len(t, items, 7)
	for i, it := range items {
		require.Equal(t, fmt.Sprintf("K%d", i+1), it.Contact, "in id order, across batches of 3")
		require.Equal(t, "festival.mid_autumn", it.Rule)
		require.Equal(t, "festival.mid_autumn", it.Template)
		require.Equal(t, fmt.Sprintf("festival:mid_autumn:K%d:2027", i+1), it.DedupeKey)
		require.False(t, it.Duplicate)
	}
	require.Equal(t, 7, b.count(t, `SELECT count(*) FROM messages WHERE source = 'care_rule' AND source_id = 'festival.mid_autumn' AND purpose = 'care'`))
	var occ map[string]any
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT vars->'Occasion' FROM messages WHERE dedupe_key = 'festival:mid_autumn:K1:2027'`).Scan(&occ))
	require.Equal(t, "中秋节", occ["Name"])
	require.Equal(t, "农历八月十五", occ["Lunar"])

	// 除夕 of lunar 2026 falls on 2027-02-05: the key names the lunar year.
	_, by := b.dryRun(t, festivalDate(t, 2027, calendar.KeyNewYearsEve))
	require.Equal(t, "festival:new_years_eve:K1:2026", one(t, by, "K1").DedupeKey)
}

func TestBirthdayOnAFestivalIsOneCombinedMessage(t *testing.T) {
	t.Parallel()
	day := festivalDate(t, 2027, calendar.KeyMidAutumn)
	rows := fmt.Sprintf("M1,王芳,,08-15,lunar,,active\nM2,李娜,1967-%02d-%02d,,solar,,active\nO1,赵敏,,,,,active\n", int(day.Month), day.Day)

	b := setup(t, rows, care.Config{})
	res, by := b.dryRun(t, day)
	require.Equal(t, 3, res.Messages)
	require.Equal(t, 2, res.Combined)
	require.Equal(t, 2, res.Birthdays)
	m1 := one(t, by, "M1")
	require.Equal(t, "birthday+festival.mid_autumn", m1.Rule)
	require.Equal(t, "festival.mid_autumn", m1.Template)
	require.Equal(t, "festival:mid_autumn:M1:2027", m1.DedupeKey)
	require.Equal(t, calendar.CalendarLunar, m1.Calendar)
	m2 := one(t, by, "M2")
	require.Equal(t, "birthday+festival.mid_autumn", m2.Rule)
	require.True(t, m2.Milestone)
	require.Equal(t, "festival.mid_autumn", one(t, by, "O1").Rule)

	_, err := b.planner.Plan(b.ctx, day, care.PlanOptions{})
	require.NoError(t, err)
	var bday map[string]any
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT vars->'Birthday' FROM messages WHERE dedupe_key = 'festival:mid_autumn:M2:2027'`).Scan(&bday))
	require.Equal(t, "birthday:M2:solar:2027", bday["DedupeKey"])
	require.Equal(t, true, bday["Milestone"])
	require.EqualValues(t, 60, bday["Age"])
	require.Equal(t, 3, b.count(t, `SELECT count(*) FROM messages`))

	split := setup(t, rows, care.Config{SeparateBirthdayOnFestival: true})
	res, by = split.dryRun(t, day)
	require.Equal(t, 5, res.Messages)
	require.Zero(t, res.Combined)
	require.Len(t, by["M1"], 2)
	require.ElementsMatch(t, []string{"festival.mid_autumn", "birthday"}, []string{by["M1"][0].Rule, by["M1"][1].Rule})
}

func TestReplanPlansNothingNew(t *testing.T) {
	t.Parallel()
	// 2027-02-06 is 春节 (正月初一): a festival for all, and lunar 01-01 and
	// solar 02-06 birthdays.
	day := calendar.NewDate(2027, time.February, 6)
	b := setup(t, "R1,甲,,01-01,lunar,,active\nR2,乙,1990-02-06,,solar,America/New_York,active\nR3,丙,,,,,active\nR4,丁,,,,,active\n",
		care.Config{BatchSize: 2})

	first, err := b.planner.Plan(b.ctx, day, care.PlanOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{calendar.KeySpringFestival}, first.Festivals)
	require.Equal(t, 4, first.Planned)
	require.Equal(t, 2, first.Combined)
	require.Zero(t, first.Duplicates)
	jobs := b.count(t, `SELECT count(*) FROM river_job`)
	require.Positive(t, jobs)

	var items []care.Item
	again, err := b.planner.Plan(b.ctx, day, care.PlanOptions{Emit: func(it care.Item) error { items = append(items, it); return nil }})
	require.NoError(t, err)
	require.Zero(t, again.Planned)
	require.Equal(t, 4, again.Duplicates)
	require.Len(t, items, 4)
	for _, it := range items {
		require.True(t, it.Duplicate, it.DedupeKey)
	}
	require.Equal(t, 4, b.count(t, `SELECT count(*) FROM messages`))
	require.Equal(t, jobs, b.count(t, `SELECT count(*) FROM river_job`), "no new deliver jobs")
}

func TestConfig(t *testing.T) {
	t.Parallel()
	c := care.Config{}.WithDefaults()
	require.Equal(t, care.DefaultSendTime, c.SendTime)
	require.Equal(t, "09:00", c.SendTime)
	require.Equal(t, allChannels, c.BirthdayChannels)
	require.Equal(t, allChannels, c.FestivalChannels)
	require.Equal(t, care.DefaultBatchSize, c.BatchSize)
	require.False(t, c.SeparateBirthdayOnFestival)
	require.True(t, care.DefaultCombined)

	for _, tc := range []struct {
		cfg  care.Config
		want string
	}{
		{care.Config{SendTime: "9am"}, "SendTime"},
		{care.Config{SendTime: "24:00"}, "SendTime"},
		{care.Config{BirthdayChannels: []channels.Channel{channels.WeCom}}, "BirthdayChannels"},
		{care.Config{FestivalChannels: []channels.Channel{channels.SMS, channels.SMS}}, "named twice"},
		{care.Config{BatchSize: care.MaxBatchSize + 1}, "BatchSize"},
		{care.Config{FallbackTimeZone: "Mars/Olympus"}, "FallbackTimeZone"},
		{care.Config{Festivals: calendar.Config{Add: []string{"halloween"}}}, "halloween"},
		{care.Config{}, "enqueuer"},
	} {
		_, err := care.New(nil, nil, tc.cfg)
		require.ErrorIs(t, err, care.ErrConfig, tc.want)
		require.ErrorContains(t, err, tc.want)
	}
}

func TestTwoFestivalsOnOneDay(t *testing.T) {
	t.Parallel()
	// 2020-10-01 was both 国庆 and 中秋.
	day := calendar.NewDate(2020, time.October, 1)
	require.Equal(t, day, festivalDate(t, 2020, calendar.KeyMidAutumn))
	b := setup(t, "B1,甲,1960-10-01,,solar,,active\nN1,乙,,,,,active\n", care.Config{})

	res, by := b.dryRun(t, day)
	require.ElementsMatch(t, []string{calendar.KeyMidAutumn, calendar.KeyNationalDay}, res.Festivals)
	require.Equal(t, 4, res.Messages)
	require.Equal(t, 1, res.Combined)
	require.Len(t, by["N1"], 2)
	require.Len(t, by["B1"], 2, "the birthday joins one festival's message; the other festival is its own")
	rules := []string{by["B1"][0].Rule, by["B1"][1].Rule}
	require.Contains(t, rules, "birthday+festival."+res.Festivals[0])
	require.Contains(t, rules, "festival."+res.Festivals[1])
	require.True(t, by["B1"][0].Milestone || by["B1"][1].Milestone, "the 60th is recorded")
}

func TestGreetingsAreCareAndNoticesService(t *testing.T) {
	t.Parallel()
	b := setupCSV(t, "external_id,name,birthday,deposit_maturity\nS1,张伟,1967-03-15,2027-03-22\n", care.Config{})
	_, err := b.planner.Plan(b.ctx, calendar.NewDate(2027, time.March, 15), care.PlanOptions{})
	require.NoError(t, err)
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM messages WHERE dedupe_key LIKE 'birthday:%' AND purpose = 'care'`))
	require.Equal(t, 1, b.count(t, `SELECT count(*) FROM messages WHERE dedupe_key LIKE 'notice:%' AND purpose = 'service'`))
}
