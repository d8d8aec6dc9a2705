package calendar_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
)

func TestBirthdaysBetween(t *testing.T) {
	// 2027 is a common year: 28 February greets 29 February's birthdays too.
	from, to := calendar.NewDate(2027, time.February, 27), calendar.NewDate(2027, time.March, 1)
	w, err := calendar.BirthdaysBetween(from, to)
	require.NoError(t, err)
	require.Equal(t, []int32{2, 2, 2, 3}, w.SolarMonths)
	require.Equal(t, []int32{27, 28, 29, 1}, w.SolarDays)
	require.Equal(t, calendar.NewDate(2027, time.February, 28), w.SolarOn(2, 29))
	require.Equal(t, to, w.SolarOn(3, 1))
	require.Equal(t, calendar.Date{}, w.SolarOn(3, 2))
	require.Len(t, w.LunarLeaps, len(w.LunarMonths))
	require.Len(t, w.LunarDays, len(w.LunarMonths))
	for i := range w.LunarMonths {
		on := w.LunarOn(int(w.LunarMonths[i]), int(w.LunarDays[i]), w.LunarLeaps[i])
		require.False(t, on.Before(from) || on.After(to))
	}

	none, err := calendar.BirthdaysBetween(to, from)
	require.NoError(t, err)
	require.Empty(t, none.SolarMonths)
	require.Empty(t, none.LunarMonths)
}
