package care_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
	"carillon/care"
	"carillon/channels"
	"carillon/internal/audit"
)

const noticeHeader = "external_id,name,timezone,status,deposit_maturity,deposit_amount,deposit_product,loan_due,opened\n"

func TestDepositMaturityNoticeAWeekAhead(t *testing.T) {
	t.Parallel()
	b := setupCSV(t, noticeHeader+
		"D1,张伟,,active,2027-03-22,200000.00,三年期整存整取,,\n"+
		"D2,李娜,America/New_York,active,2027-03-22,,,,\n"+
		"D3,王芳,,active,2027-03-23,,,,\n"+ // matures a day later: tomorrow's notice
		"D4,赵敏,,closed,2027-03-22,,,,\n"+ // a closed account is never planned
		"D5,钱七,,active,22/03/2027,,,,\n", // not an ISO date: never matches
		care.Config{})
	day := calendar.NewDate(2027, time.March, 15)

	res, by := b.dryRun(t, day)
	require.Equal(t, 2, res.Notices)
	require.Contains(t, res.Rules, "deposit_maturity")
	d1 := one(t, by, "D1")
	require.Equal(t, "deposit_maturity", d1.Rule)
	require.Equal(t, "deposit_maturity", d1.Template)
	require.Equal(t, "notice:deposit_maturity:D1:2027-03-22:-7", d1.DedupeKey)
	require.Equal(t, []channels.Channel{channels.SMS, channels.WeChat, channels.Email}, d1.Channels)
	require.Equal(t, "deposit_maturity 2027-03-22, 7 days before", d1.Note)
	require.Equal(t, calendar.NewDate(2027, time.March, 22), *d1.FieldDate)
	require.Equal(t, time.Date(2027, time.March, 15, 9, 0, 0, 0, d1.SendAt.Location()), d1.SendAt)
	d2 := one(t, by, "D2")
	require.Equal(t, "America/New_York", d2.TimeZone)
	require.Empty(t, by["D3"])
	require.Empty(t, by["D4"])
	require.Empty(t, by["D5"])

	res, err := b.planner.Plan(b.ctx, day, care.PlanOptions{})
	require.NoError(t, err)
	require.Equal(t, 2, res.Planned)
	var dep map[string]any
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT vars->'Deposit' FROM messages WHERE dedupe_key = 'notice:deposit_maturity:D1:2027-03-22:-7'`).Scan(&dep))
	require.Equal(t, "200000.00", dep["Amount"], "imported as a number, kept exact")
	require.Equal(t, "三年期整存整取", dep["Product"])
	require.Equal(t, "2027-03-22", dep["MaturityDate"])
	require.EqualValues(t, 7, dep["DaysLeft"])
	again, err := b.planner.Plan(b.ctx, day, care.PlanOptions{})
	require.NoError(t, err)
	require.Zero(t, again.Planned)
	require.Equal(t, 2, again.Duplicates)

	// The stored date changes (the deposit was renewed): a new notice for the
	// new date, in its own week.
	_, err = b.db.Pool.Exec(b.ctx, `UPDATE contacts SET attrs = attrs || '{"deposit_maturity":"2028-03-22"}' WHERE external_id = 'D1'`)
	require.NoError(t, err)
	_, by = b.dryRun(t, calendar.NewDate(2028, time.March, 15))
	require.Equal(t, "notice:deposit_maturity:D1:2028-03-22:-7", one(t, by, "D1").DedupeKey)
}

func TestDateRulesOfTheBank(t *testing.T) {
	t.Parallel()
	b := setupCSV(t, noticeHeader+
		"L1,张伟,,active,,,,2027-05-10,2020-02-29\n"+
		"L2,李娜,,active,,,,2027-05-11,2021-02-28\n"+
		"L3,王芳,,active,,,,,2027-02-28\n", // opened this year: no anniversary yet
		care.Config{})
	actor := audit.Actor{Name: "test"}
	_, err := b.planner.CreateDateRule(b.ctx, actor, care.NewDateRule{Key: "loan_due", Field: "loan_due", OffsetDays: -3,
		Template: "deposit_maturity", Channels: []channels.Channel{channels.SMS}, SendTime: "10:30"})
	require.NoError(t, err)
	_, err = b.planner.CreateDateRule(b.ctx, actor, care.NewDateRule{Key: "anniversary", Field: "opened", Yearly: true, Template: "birthday"})
	require.NoError(t, err)

	_, by := b.dryRun(t, calendar.NewDate(2027, time.May, 7))
	l1 := one(t, by, "L1")
	require.Equal(t, "loan_due", l1.Rule)
	require.Equal(t, []channels.Channel{channels.SMS}, l1.Channels)
	require.Equal(t, 10, l1.SendAt.Hour())
	require.Equal(t, 30, l1.SendAt.Minute())
	require.Empty(t, by["L2"])

	// 2027 is a common year: an account opened on 29 February is remembered on
	// the 28th, with one opened on the 28th; one opened this year is not.
	_, by = b.dryRun(t, calendar.NewDate(2027, time.February, 28))
	a1 := one(t, by, "L1")
	require.Equal(t, "anniversary", a1.Rule)
	require.Equal(t, "notice:anniversary:L1:2020-02-29:0:2027", a1.DedupeKey)
	require.Contains(t, a1.Note, "29 February greeted on the 28th")
	require.Equal(t, "notice:anniversary:L2:2021-02-28:0:2027", one(t, by, "L2").DedupeKey)
	require.Empty(t, by["L3"])
	// 2028 is a leap year: the 29th is its own day.
	_, by = b.dryRun(t, calendar.NewDate(2028, time.February, 28))
	require.Empty(t, by["L1"])
	require.NotEmpty(t, by["L2"])
	_, by = b.dryRun(t, calendar.NewDate(2028, time.February, 29))
	require.NotEmpty(t, by["L1"])
}

func TestRulesSwitchedOffAreNotPlanned(t *testing.T) {
	t.Parallel()
	day := festivalDate(t, 2027, calendar.KeyMidAutumn)
	rows := "M1,王芳,,08-15,lunar,,active\nO1,赵敏,,,,,active\n"
	b := setup(t, rows, care.Config{})
	actor := audit.Actor{Name: "test"}
	off := false
	_, err := b.planner.UpdateRule(b.ctx, actor, "festival.mid_autumn", care.RuleChange{Enabled: &off})
	require.NoError(t, err)
	res, by := b.dryRun(t, day)
	require.Empty(t, res.Festivals, "the festival is off")
	require.Equal(t, "birthday", one(t, by, "M1").Rule, "the birthday is greeted on its own")
	require.Empty(t, by["O1"])

	_, err = b.planner.UpdateRule(b.ctx, actor, "birthday", care.RuleChange{Enabled: &off})
	require.NoError(t, err)
	res, _ = b.dryRun(t, day)
	require.Zero(t, res.Messages)
}

func TestPlanOneRule(t *testing.T) {
	t.Parallel()
	day := festivalDate(t, 2027, calendar.KeyMidAutumn)
	rows := "M1,王芳,,08-15,lunar,,active\nO1,赵敏,,,,,active\n"
	b := setup(t, rows, care.Config{})

	// The birthday rule's own run leaves a birthday on the festival to the
	// festival's combined message.
	res, err := b.planner.Plan(b.ctx, day, care.PlanOptions{Rules: []string{"birthday"}})
	require.NoError(t, err)
	require.Equal(t, []string{"birthday"}, res.Rules)
	require.Zero(t, res.Messages)
	res, err = b.planner.Plan(b.ctx, day, care.PlanOptions{Rules: []string{"festival.mid_autumn"}})
	require.NoError(t, err)
	require.Equal(t, 2, res.Planned)
	require.Equal(t, 1, res.Combined)
	require.Equal(t, map[string]int{"festival.mid_autumn": 1, "birthday+festival.mid_autumn": 1}, res.ByRule)

	_, err = b.planner.Plan(b.ctx, day, care.PlanOptions{Rules: []string{"no_such_rule"}})
	require.ErrorIs(t, err, care.ErrRuleNotFound)
}
