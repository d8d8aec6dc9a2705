package calendar_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
)

func TestYear2027JSON(t *testing.T) {
	t.Parallel()
	y, err := calendar.Year(2027, calendar.Config{})
	require.NoError(t, err)
	b, err := json.Marshal(y)
	require.NoError(t, err)

	var doc struct {
		Year      int `json:"year"`
		Festivals []struct {
			Key, Name, NameEN, Date, Lunar string
			LunarBased                     bool `json:"lunar_based"`
		} `json:"festivals"`
		Holidays    []map[string]string `json:"holidays"`
		Workdays    []map[string]string `json:"workdays"`
		HolidayData *bool               `json:"holiday_data"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	require.Equal(t, 2027, doc.Year)
	require.NotNil(t, doc.HolidayData)
	require.True(t, *doc.HolidayData)
	require.Contains(t, string(b), `{"key":"spring_festival","name":"春节","name_en":"Spring Festival","date":"2027-02-06","lunar":"正月初一","lunar_based":true}`)
	require.Len(t, doc.Festivals, 10)
	require.Equal(t, map[string]string{"date": "2027-01-31", "name": "春节", "name_en": "Spring Festival", "festival": "2027-02-06"}, doc.Workdays[0])
	var worked []string
	for _, w := range doc.Workdays {
		worked = append(worked, w["date"])
	}
	// 2027's 调休 Saturdays and Sundays as lunar-go v1.4.7 carries them.
	require.Equal(t, []string{"2027-01-31", "2027-02-14", "2027-05-08", "2027-09-26", "2027-10-09"}, worked)
	require.Equal(t, "2027-01-01", doc.Holidays[0]["date"])
	require.Equal(t, "元旦节", doc.Holidays[0]["name"])
}

func TestYearWithoutHolidayData(t *testing.T) {
	t.Parallel()
	y, err := calendar.Year(2031, calendar.Config{})
	require.NoError(t, err)
	require.False(t, y.HolidayData)
	require.NotEmpty(t, y.Warning)
	require.Len(t, y.Festivals, 10)
	b, err := json.Marshal(y)
	require.NoError(t, err)
	require.Contains(t, string(b), `"holidays":[],"workdays":[],"holiday_data":false,"warning":"no public-holiday data for 2031`)

	var buf bytes.Buffer
	require.NoError(t, calendar.WriteText(&buf, y))
	require.Contains(t, buf.String(), "Warning: no public-holiday data for 2031")
}

func TestYearErrors(t *testing.T) {
	t.Parallel()
	_, err := calendar.Year(1800, calendar.Config{})
	require.ErrorIs(t, err, calendar.ErrOutOfRange)
	_, err = calendar.Year(2026, calendar.Config{Add: []string{"halloween"}})
	require.Error(t, err)
}

func TestWriteText(t *testing.T) {
	t.Parallel()
	y, err := calendar.Year(2026, calendar.Config{})
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, calendar.WriteText(&buf, y))
	out := buf.String()
	require.True(t, strings.HasPrefix(out, "Calendar 2026\n"))
	for _, want := range []string{"2026-02-17", "Spring Festival", "春节", "正月初一", "Make-up workdays (调休)", "2026-10-10"} {
		require.Contains(t, out, want)
	}
	for _, line := range strings.Split(out, "\n") {
		require.Equal(t, strings.TrimRight(line, " "), line, "no trailing spaces")
	}
}
