package delivery

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/channels"
)

// The next opening of a window is wall-clock time in the recipient's zone, also on
// the night clocks change (America/New_York, 2026-11-01: 02:00 back to 01:00).
func TestNextOpeningAcrossDST(t *testing.T) {
	t.Parallel()
	s := &Service{cfg: Config{}.WithDefaults()}
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	m := &message{purpose: channels.PurposeMarketing}
	late := time.Date(2026, 10, 31, 22, 30, 0, 0, ny) // Saturday evening, EDT
	open, ok := s.nextOpening(m, "America/New_York", late)
	require.False(t, ok)
	require.Equal(t, time.Date(2026, 11, 1, 9, 0, 0, 0, ny), open.In(ny), "09:00 EST on the day the clocks went back")
	require.Equal(t, 9, open.In(ny).Hour())

	inside := time.Date(2026, 11, 1, 10, 0, 0, 0, ny)
	_, ok = s.nextOpening(m, "America/New_York", inside)
	require.True(t, ok)

	m.window = &Window{Start: 10 * 60, End: 12 * 60}                                             // the source's own window narrows it
	open, ok = s.nextOpening(m, "Asia/Shanghai", time.Date(2026, 11, 30, 1, 30, 0, 0, time.UTC)) // 09:30 Shanghai
	require.False(t, ok)
	require.Equal(t, time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC), open.UTC(), "10:00 Shanghai")
}
