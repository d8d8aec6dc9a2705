package revisits_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/require"

	"carillon/calendar"
	"carillon/care"
	"carillon/internal/app"
	"carillon/internal/apptest"
	"carillon/internal/testclock"
	"carillon/internal/testlog"
	"carillon/revisits"
)

// digestWorld: customers created Thursday 24 September 2026; the digest day is
// Tuesday 13 October 2026.
//   - CA (A, M002): due 8 October, 4 business days late on the 13th: overdue,
//     and escalated to the lead M001 (more than 3).
//   - CB (B, M002): revisited 6 October (a holiday) → due the 13th.
//   - CC (C, M002): revisited 9 October → due the 23rd; nothing today.
//   - CD (D, M002): due the 26th; its solar birthday is 15 October (upcoming).
//   - CE (D, M002): a deposit maturing 18 October (upcoming), a lunar birthday
//     on 16 October (upcoming, computed from the calendar).
//   - CX (A, M003): revisited 12 October → due the 19th: M003 has nothing.
//   - CW (A, M004, London, no lead): overdue since the 8th.
type digestWorld struct {
	*bundle
	day calendar.Date
}

func newDigestWorld(t *testing.T) *digestWorld {
	t.Helper()
	return newDigestWorldWith(t, apptest.Options{})
}

// newDigestWorldWith is newDigestWorld on a world built with o (its clock
// is the digest world's).
func newDigestWorldWith(t *testing.T, o apptest.Options) *digestWorld {
	t.Helper()
	lunar, err := calendar.ToLunar(day(2026, time.October, 16))
	require.NoError(t, err)
	require.False(t, lunar.Leap)
	rows := "CA,甲,13800000001,A,M002,,,,,,\n" +
		"CB,乙,13800000002,B,M002,,,,,,\n" +
		"CC,丙,13800000003,C,M002,,,,,,\n" +
		"CD,丁,13800000004,D,M002,1970-10-15,,solar,,,\n" +
		fmt.Sprintf("CE,戊,13800000005,D,M002,,%02d-%02d,lunar,500000,2026-10-18,\n", lunar.Month, lunar.Day) +
		"CX,己,13800000006,A,M003,,,,,,\n" +
		"CW,Wendy,+12125550101,A,M004,,,,,,\n"
	o.Clock = testclock.New(at(2026, time.September, 24, 10, 0))
	b := setupWorld(t, rows, o)
	for _, r := range []struct {
		ext string
		on  calendar.Date
	}{{"CB", day(2026, time.October, 6)}, {"CC", day(2026, time.October, 9)}, {"CX", day(2026, time.October, 12)}} {
		b.clock.Set(at(r.on.Year, r.on.Month, r.on.Day, 16, 0))
		b.logRevisit(t, r.ext, revisits.RevisitInput{Method: revisits.MethodPhone, Outcome: "reached " + r.ext})
	}
	b.clock.Set(at(2026, time.October, 13, 6, 0))
	return &digestWorld{bundle: b, day: day(2026, time.October, 13)}
}

func (w *digestWorld) dryRun(t *testing.T, d calendar.Date) (revisits.DigestResult, map[string]revisits.Digest, []string) {
	t.Helper()
	var lines []string
	res, err := w.svc.PlanDigests(w.ctx, d, revisits.DigestOptions{DryRun: true, Keep: true, Emit: func(l revisits.DigestLine) error {
		b, err := json.Marshal(l)
		lines = append(lines, string(b))
		return err
	}})
	require.NoError(t, err)
	by := map[string]revisits.Digest{}
	for _, dg := range res.Digests {
		by[dg.Manager] = dg
	}
	return res, by, lines
}

func TestDigestContentDueOverdueUpcomingAndEscalation(t *testing.T) {
	t.Parallel()
	w := newDigestWorld(t)
	res, by, lines := w.dryRun(t, w.day)

	require.Equal(t, []string{
		`{"rule":"revisit_digest","manager":"M001","date":"2026-10-13","due":0,"overdue":0,"escalated":1,"channels":["wecom","email"]}`,
		`{"rule":"revisit_digest","manager":"M002","date":"2026-10-13","due":1,"overdue":1,"escalated":0,"channels":["wecom","email"]}`,
		`{"rule":"revisit_digest","manager":"M004","date":"2026-10-13","due":0,"overdue":1,"escalated":0,"channels":["wecom","email"]}`,
	}, lines, "one line per manager with something to act on; M003 has nothing: no digest")
	require.Equal(t, 3, res.Messages)
	require.Equal(t, 1, res.Empty)

	m2 := by["M002"]
	require.Len(t, m2.Items, 2)
	require.Equal(t, "CA", m2.Items[0].ExternalID, "the overdue first")
	require.True(t, m2.Items[0].Overdue)
	require.Equal(t, 4, m2.Items[0].DaysLate)
	require.Equal(t, "CB", m2.Items[1].ExternalID)
	require.Equal(t, "reached CB", m2.Items[1].Last.Outcome, "the last revisit and its outcome")
	require.Equal(t, day(2026, time.October, 6), m2.Items[1].Last.On)
	var upcoming []string
	for _, u := range m2.Upcoming {
		upcoming = append(upcoming, u.Date.String()+" "+u.Kind+" "+u.ExternalID+" "+u.Note)
	}
	require.Equal(t, []string{"2026-10-15 birthday CD solar", "2026-10-16 birthday CE lunar", "2026-10-18 deposit_maturity CE "}, upcoming)
	require.Equal(t, at(2026, time.October, 13, 8, 30), m2.SendAt)

	m1 := by["M001"]
	require.Empty(t, m1.Items)
	require.Equal(t, []revisits.Escalation{{Manager: "M002", ManagerName: "李强", ContactID: w.contactID(t, "CA"), ExternalID: "CA",
		Name: "甲", Tier: "A", DueOn: day(2026, time.October, 8), DaysLate: 4}}, m1.Escalated)
	team := map[string]revisits.TeamLine{}
	for _, l := range m1.Team {
		team[l.Manager] = l
	}
	require.Equal(t, revisits.TeamLine{Manager: "M002", Name: "李强", Due: 1, Overdue: 1}, team["M002"])
	require.Equal(t, revisits.TeamLine{Manager: "M003", Name: "张敏", Done: 1}, team["M003"], "CX revisited on the previous business day")
	require.Contains(t, team, "M001")

	m4 := by["M004"]
	london, err := time.LoadLocation("Europe/London")
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, time.October, 13, 8, 30, 0, 0, london), m4.SendAt, "08:30 in the manager's own zone")
	require.Empty(t, m4.Escalated)
}

func TestEscalationAfterNBusinessDays(t *testing.T) {
	t.Parallel()
	w := newDigestWorld(t)
	// On Monday 12 October CA is 3 business days late (9th, 10th 调休, 12th):
	// not more than 3, so not escalated.
	_, by, _ := w.dryRun(t, day(2026, time.October, 12))
	require.Empty(t, by["M001"].Escalated)
	require.Equal(t, 3, by["M002"].Items[0].DaysLate)
	// With EscalateAfter 2 it is.
	w.svc = mustService(t, w.bundle, revisits.Config{EscalateAfter: 2})
	_, by, _ = w.dryRun(t, day(2026, time.October, 12))
	require.Len(t, by["M001"].Escalated, 1)
}

func TestNoDigestOnAHolidayOrAWeekendButOnAMakeupSaturday(t *testing.T) {
	t.Parallel()
	w := newDigestWorld(t)
	for _, d := range []calendar.Date{day(2026, time.October, 5), day(2026, time.October, 11)} {
		res, _, lines := w.dryRun(t, d)
		require.False(t, res.BusinessDay, d.String())
		require.Empty(t, lines, d.String())
		res, err := w.svc.PlanDigests(w.ctx, d, revisits.DigestOptions{})
		require.NoError(t, err)
		require.Zero(t, res.Planned)
	}
	// The 调休 Saturday 10 October is worked: CA (due the 8th) is overdue.
	res, by, _ := w.dryRun(t, day(2026, time.October, 10))
	require.True(t, res.BusinessDay)
	require.True(t, by["M002"].Items[0].Overdue)
	require.Equal(t, 0, w.count(t, `SELECT count(*) FROM messages`))
}

func TestDigestsEnqueuedOncePerManagerAndDay(t *testing.T) {
	t.Parallel()
	w := newDigestWorld(t)
	cb := w.contactID(t, "CB")
	_, err := w.db.Pool.Exec(w.ctx, `INSERT INTO inbound_messages (provider, kind, contact_id, address, text, at)
		VALUES ('ali', 'reply', $1, '13800000002', '下周三下午方便', $2), ('ali', 'reply', $1, '13800000002', 'TD', $2)`, cb, at(2026, time.October, 12, 20, 0))
	require.NoError(t, err)
	_, err = w.db.Pool.Exec(w.ctx, `UPDATE inbound_messages SET unsubscribe = true WHERE text = 'TD'`)
	require.NoError(t, err)

	res, err := w.svc.PlanDigests(w.ctx, w.day, revisits.DigestOptions{Keep: true})
	require.NoError(t, err)
	require.Equal(t, 3, res.Planned)
	for _, d := range res.Digests {
		if d.Manager == "M002" {
			require.Len(t, d.Replies, 1, "an unsubscribe is not a reply to forward")
			require.Equal(t, "下周三下午方便", d.Replies[0].Text)
		}
	}

	type row struct {
		Key, Template, Source string
		Channels              []string
		SendAt                time.Time
		Vars                  map[string]any
	}
	rows, err := w.db.Pool.Query(w.ctx, `SELECT m.dedupe_key, m.template_key, m.source, m.channels, m.send_at, m.vars
		FROM messages m JOIN managers g ON g.id = m.manager_id WHERE m.contact_id IS NULL ORDER BY m.dedupe_key`)
	require.NoError(t, err)
	var got []row
	for rows.Next() {
		var r row
		require.NoError(t, rows.Scan(&r.Key, &r.Template, &r.Source, &r.Channels, &r.SendAt, &r.Vars))
		got = append(got, r)
	}
	require.NoError(t, rows.Err())
	require.Len(t, got, 3)
	require.Equal(t, "digest:M002:2026-10-13", got[1].Key)
	require.Equal(t, "revisit_digest", got[1].Template)
	require.Equal(t, []string{"wecom", "email"}, got[1].Channels)
	require.True(t, got[1].SendAt.Equal(at(2026, time.October, 13, 8, 30)))
	dg := got[1].Vars["Digest"].(map[string]any)
	require.Equal(t, float64(2), dg["Total"])
	require.Equal(t, float64(1), dg["Overdue"])
	items := dg["Items"].([]any)
	require.Equal(t, "0001", items[0].(map[string]any)["PhoneTail"])
	require.Contains(t, dg["URL"], "manager=M002")
	require.Len(t, dg["Replies"], 1)
	require.Equal(t, "下周三下午方便", dg["Replies"].([]any)[0].(map[string]any)["Text"])
	up := dg["Upcoming"].([]any)[0].(map[string]any)
	require.Equal(t, map[string]any{"Date": "2026-10-15", "Kind": "birthday", "ContactID": float64(w.contactID(t, "CD")), "ExternalID": "CD", "Name": "丁", "Note": "solar"}, up)
	lead := got[0].Vars["Digest"].(map[string]any)
	esc := lead["Escalated"].([]any)[0].(map[string]any)
	require.Equal(t, "李强", esc["ManagerName"])
	require.Equal(t, float64(4), esc["DaysLate"])
	require.NotEmpty(t, lead["Team"])
	require.Equal(t, 1, w.count(t, `SELECT count(*) FROM inbound_messages WHERE forwarded`))
	require.Equal(t, 3, w.count(t, `SELECT sum(jsonb_array_length(args -> 'message_ids')) FROM river_job WHERE kind = 'delivery.deliver'`))

	// Planning the day again plans nothing new.
	res, err = w.svc.PlanDigests(w.ctx, w.day, revisits.DigestOptions{})
	require.NoError(t, err)
	require.Equal(t, 0, res.Planned)
	require.Equal(t, 3, res.Duplicates)
	require.Equal(t, 3, w.count(t, `SELECT count(*) FROM messages`))
}

func mustService(t *testing.T, b *bundle, cfg revisits.Config) *revisits.Service {
	t.Helper()
	cfg.Now = b.clock.Now
	cfg.Rules = b.rules
	svc, err := revisits.New(b.db.Pool, b.store, b.dlv, cfg)
	require.NoError(t, err)
	return svc
}

func TestCarePlannerPlansTheDigestsThroughItsExtension(t *testing.T) {
	t.Parallel()
	w := newDigestWorld(t)
	planner, err := care.New(w.db.Pool, w.dlv, care.Config{Logger: testlog.New(t)})
	require.NoError(t, err)
	planner.AddExtension(app.DigestExtension(w.svc)) // as serve and plan wire it

	// `carillon plan --date 2026-10-13 --dry-run --json`: one line per digest.
	var lines []string
	res, err := planner.Plan(w.ctx, w.day, care.PlanOptions{DryRun: true, Rules: []string{revisits.RuleDigest}, EmitLine: func(l any) error {
		b, err := json.Marshal(l)
		lines = append(lines, string(b))
		return err
	}})
	require.NoError(t, err)
	require.Equal(t, 3, res.Messages)
	require.Len(t, lines, 3)
	require.Equal(t, `{"rule":"revisit_digest","manager":"M002","date":"2026-10-13","due":1,"overdue":1,"escalated":0,"channels":["wecom","email"]}`, lines[1])

	// The scheduler's job for the rule's day, worked by River.
	wk := rivertest.NewWorker(t, riverpgxv5.New(w.db.Pool), &river.Config{Logger: testlog.New(t)}, river.Worker[care.PlanDayArgs](planner.PlanDayWorker()))
	tx, err := w.db.Pool.Begin(w.ctx)
	require.NoError(t, err)
	defer tx.Rollback(w.ctx) //nolint:errcheck
	jr, err := wk.Work(w.ctx, t, tx, care.PlanDayArgs{Date: w.day.String(), Rule: revisits.RuleDigest}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, jr.EventKind)
	require.Equal(t, 3, w.count(t, `SELECT count(*) FROM messages WHERE source = 'revisits' AND dedupe_key LIKE 'digest:%:2026-10-13'`))

	// Switched off, the rule plans nothing.
	_, err = w.db.Pool.Exec(w.ctx, `UPDATE care_rules SET enabled = false WHERE key = 'revisit_digest'`)
	require.NoError(t, err)
	res, err = planner.Plan(w.ctx, day(2026, time.October, 14), care.PlanOptions{DryRun: true, Rules: []string{revisits.RuleDigest}})
	require.NoError(t, err)
	require.Zero(t, res.Messages)
}

func TestDigestTimeAndChannelsComeFromTheCareRule(t *testing.T) {
	t.Parallel()
	w := newDigestWorld(t)
	var sendTime string
	var chans []string
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT send_time, channels FROM care_rules WHERE key = 'revisit_digest'`).Scan(&sendTime, &chans))
	require.Equal(t, "08:30", sendTime)
	require.Equal(t, []string{"wecom", "email"}, chans)

	_, err := w.db.Pool.Exec(w.ctx, `UPDATE care_rules SET send_time = '07:45', channels = '{email,sms}' WHERE key = 'revisit_digest'`)
	require.NoError(t, err)
	_, by, lines := w.dryRun(t, w.day)
	require.Equal(t, at(2026, time.October, 13, 7, 45), by["M002"].SendAt)
	require.Contains(t, lines[1], `"channels":["email"]`, "sms cannot reach a manager")
}
