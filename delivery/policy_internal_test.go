package delivery

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/channels"
	"carillon/contacts"
)

// The frequency cap is checked once, before the quiet hours and the channels:
// a message over it is suppressed even outside its hours, and the place taken
// by one that does not go after all (deferred, no channel) is given back.
func TestFrequencyCapIsTakenOnceAndGivenBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := &Worker{svc: &Service{cfg: Config{FrequencyCap: 1}.WithDefaults()}}
	c := contacts.Contact{ID: 7, Status: contacts.StatusActive, TimeZone: "Asia/Shanghai", Locale: "zh-CN"} // no phone: no channel
	env := &sendEnv{contacts: map[int64]contacts.Contact{c.ID: c}, capCount: map[int64]int{}}
	m := &message{id: 1, contactID: c.ID, purpose: channels.PurposeMarketing, channels: []channels.Channel{channels.SMS}}
	night := time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC) // 22:00 in Shanghai
	day := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)    // 10:00 in Shanghai

	o := &outcome{m: m}
	require.Nil(t, w.policy(ctx, m, env, nil, night, o))
	require.Equal(t, StatusQueued, o.status)
	require.Equal(t, "quiet_hours", o.reason)
	require.Zero(t, env.capCount[c.ID], "a deferred message gives its place back")

	o = &outcome{m: m}
	require.Nil(t, w.policy(ctx, m, env, nil, day, o))
	require.Equal(t, StatusSuppressed, o.status)
	require.Equal(t, "no_channel", o.reason)
	require.Zero(t, env.capCount[c.ID], "a message with no channel gives its place back")

	env.capCount[c.ID] = 1
	o = &outcome{m: m}
	require.Nil(t, w.policy(ctx, m, env, nil, night, o))
	require.Equal(t, StatusSuppressed, o.status)
	require.Equal(t, "frequency_cap", o.reason, "over the cap: suppressed, not deferred to the morning")
	require.Equal(t, 1, env.capCount[c.ID])
}

// An adapter's word that the provider may have accepted a message (an SMTP
// connection lost after DATA's final dot) is taken like a timeout: the message
// waits for a receipt, it is not resent at once nor handed to another provider.
func TestMaybeAcceptedIsAmbiguous(t *testing.T) {
	t.Parallel()
	require.True(t, ambiguous(channels.NewTemporary("mail", "data_unanswered", "", channels.ErrMaybeAccepted)))
	require.True(t, ambiguous(channels.NewTemporary("mail", "timeout", "", context.DeadlineExceeded)))
	require.False(t, ambiguous(channels.NewTemporary("mail", "network", "", nil)), "refused before anything went out")
}
