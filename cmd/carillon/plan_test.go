package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
	"carillon/internal/pgtest"
)

// planLines runs carillon plan with --json and splits its output into the
// items and the closing summary.
func planLines(t *testing.T, c cli, args ...string) ([]map[string]any, map[string]any) {
	t.Helper()
	out, _, err := c.run(context.Background(), append([]string{"plan", "--json"}, args...)...)
	require.NoError(t, err)
	var items []map[string]any
	var summary map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), "each line is one JSON object: %s", line)
		if s, ok := m["summary"]; ok {
			summary = s.(map[string]any)
			continue
		}
		items = append(items, m)
	}
	require.NotNil(t, summary)
	return items, summary
}

func TestPlanCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := cli{t, pgtest.New(t).URL}
	file := writeTemp(t, "c.csv", "external_id,name,birthday,lunar_birthday,birthday_calendar,timezone,status\n"+
		"P1,王芳,,01-01,lunar,,active\n"+
		"P2,Anna,,,,America/New_York,active\n"+
		"P3,李娜,,,,,deceased\n")
	_, _, err := c.run(ctx, "import", "contacts", file)
	require.NoError(t, err)

	// 2027-02-06 is 春节, 正月初一: everyone's festival, and P1's lunar birthday.
	items, summary := planLines(t, c, "--date", "2027-02-06", "--dry-run")
	require.Len(t, items, 2)
	require.Equal(t, map[string]any{
		"rule": "birthday+festival.spring_festival", "contact": "P1", "contact_id": items[0]["contact_id"], "date": "2027-02-06",
		"channels": []any{"wechat", "sms", "email"}, "template": "festival.spring_festival",
		"send_at": "2027-02-06T09:00:00+08:00", "deadline": "2027-02-07T00:00:00+08:00", "timezone": "Asia/Shanghai",
		"dedupe_key": "festival:spring_festival:P1:2027", "birthday_key": "birthday:P1:lunar:2027", "calendar": "lunar",
	}, items[0])
	require.Equal(t, "festival.spring_festival", items[1]["rule"])
	require.Equal(t, "2027-02-06T09:00:00-05:00", items[1]["send_at"])
	require.Equal(t, true, summary["dry_run"])
	require.EqualValues(t, 2, summary["planned"])

	// (--backfill: whatever today is, the day is planned for real; before today
	// its messages would be cancelled as expired.)
	out, _, err := c.run(ctx, "plan", "--date", "2027-02-06", "--backfill")
	require.NoError(t, err)
	require.Contains(t, out, "2027-02-06: planned 2 new messages, 0 already planned")
	out, _, err = c.run(ctx, "plan", "--date", "2027-02-06", "--backfill")
	require.NoError(t, err)
	require.Contains(t, out, "2027-02-06: planned 0 new messages, 2 already planned", "a re-plan plans nothing new")
	items, summary = planLines(t, c, "--date", "2027-02-06", "--backfill")
	require.EqualValues(t, 0, summary["planned"])
	require.EqualValues(t, 2, summary["duplicates"])
	require.Equal(t, true, items[0]["duplicate"])

	// A day gone by is a dry run unless --backfill is given.
	out, stderr, err := c.run(ctx, "plan", "--date", "2020-01-25")
	require.NoError(t, err)
	require.Contains(t, out, "2020-01-25: would plan")
	require.Contains(t, stderr, "is before today")
	require.Contains(t, stderr, "--backfill")

	for _, args := range [][]string{{"plan"}, {"plan", "--date", "2027-02-30"}, {"plan", "--date", "2027-02-06", "extra"}} {
		_, _, err := c.run(ctx, args...)
		var ee *exitError
		require.True(t, errorsAs(err, &ee), "%v", args)
		require.Equal(t, 2, ee.code, "%v", args)
	}
}

// The example contacts on 2027-04-17: the birthdays of that day on both
// calendars and the deposits maturing a week later, worked out here from the
// CSV itself with the plain rules (the day is clear of every edge rule), for
// active contacts only; planned once, then nothing new.
func TestPlanTheExampleContacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := cli{t, pgtest.New(t).URL}
	for _, f := range []string{"managers", "contacts"} {
		_, _, err := c.run(ctx, "import", f, filepath.Join("..", "..", "examples", f+".csv"))
		require.NoError(t, err)
	}
	day := calendar.NewDate(2027, time.April, 17)
	lunar, err := calendar.ToLunar(day)
	require.NoError(t, err)
	require.False(t, lunar.Leap)
	require.Less(t, lunar.Day, 29, "no lunar 30th rule on this day")

	f, err := os.Open(filepath.Join("..", "..", "examples", "contacts.csv"))
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	want := map[string]string{} // contact -> rule
	for _, r := range recs[1:] {
		get := func(h string) string { return r[col[h]] }
		if get("status") != "" && get("status") != "active" {
			continue
		}
		switch {
		case get("birthday_calendar") == "solar" && strings.HasSuffix(get("birthday"), "04-17"):
			want[get("external_id")] = "birthday"
		case get("birthday_calendar") == "lunar" && get("lunar_birthday") == fmt.Sprintf("%02d-%02d", lunar.Month, lunar.Day):
			want[get("external_id")] = "birthday"
		}
		if get("deposit_maturity") == "2027-04-24" {
			require.NotContains(t, want, get("external_id"), "the example day has no contact with both")
			want[get("external_id")] = "deposit_maturity"
		}
	}
	require.NotEmpty(t, want)

	// Customers' messages only: managers' digests (the revisits rule) are
	// lines without a contact.
	customers := func(items []map[string]any) map[string]string {
		got := map[string]string{}
		for _, it := range items {
			if k, ok := it["contact"].(string); ok {
				got[k] = it["rule"].(string)
			}
		}
		return got
	}
	items, _ := planLines(t, c, "--date", day.String(), "--dry-run")
	require.Equal(t, want, customers(items))

	items, _ = planLines(t, c, "--date", day.String(), "--backfill")
	require.Equal(t, want, customers(items))
	for _, it := range items {
		require.Nil(t, it["duplicate"])
	}
	items, summary := planLines(t, c, "--date", day.String(), "--backfill")
	require.Equal(t, want, customers(items))
	require.EqualValues(t, 0, summary["planned"], "planned again: nothing new")
}
