package identity_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/channels"
	"carillon/internal/audit"
	"carillon/internal/identity"
)

func TestNotifyAddressFollowsThePreference(t *testing.T) {
	t.Parallel()
	both := identity.User{DisplayName: "Ann", WorkEmail: "ann@bank.example", WeComUserID: "ann.li"}
	cases := []struct {
		name string
		u    identity.User
		want channels.Address
		ok   bool
	}{
		{"auto prefers WeCom", both, channels.Address{Channel: channels.WeCom, Value: "ann.li"}, true},
		{"auto falls back to email", identity.User{DisplayName: "Ann", WorkEmail: "ann@bank.example"},
			channels.Address{Channel: channels.Email, Value: "ann@bank.example", Name: "Ann"}, true},
		{"email", func() identity.User { u := both; u.Notify = identity.NotifyEmail; return u }(),
			channels.Address{Channel: channels.Email, Value: "ann@bank.example", Name: "Ann"}, true},
		{"wecom without an id", identity.User{WorkEmail: "ann@bank.example", Notify: identity.NotifyWeCom}, channels.Address{Channel: channels.WeCom}, false},
		{"none", func() identity.User { u := both; u.Notify = identity.NotifyNone; return u }(), channels.Address{}, false},
		{"no address", identity.User{Notify: identity.NotifyAuto}, channels.Address{Channel: channels.Email}, false},
	}
	for _, c := range cases {
		got, ok := c.u.NotifyAddress()
		require.Equal(t, c.ok, ok, c.name)
		if ok {
			require.Equal(t, c.want, got, c.name)
		}
	}
}

func TestSetContactChecksMasksAndClears(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := func(v string) *string { return &v }
	n := func(v identity.Notify) *identity.Notify { return &v }
	u, err := b.store.CreateUser(b.ctx, b.actor, identity.NewUser{Login: "mk", DisplayName: "MK", Roles: []identity.Role{identity.RoleMarketer},
		Contact: identity.ContactChange{WorkEmail: s(" Mei.Kai@Bank.Example ")}})
	require.NoError(t, err)
	require.Equal(t, "Mei.Kai@bank.example", u.WorkEmail, "trimmed, the domain lower-cased")
	require.Equal(t, identity.NotifyAuto, u.Notify)

	_, err = b.store.SetContact(b.ctx, b.actor, "mk", identity.ContactChange{WorkEmail: s("not an address"), WeComUserID: s("a|b"), Notify: n("sms")})
	var ve *identity.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Len(t, ve.Fields, 3)

	u, err = b.store.SetContact(b.ctx, b.actor, "mk", identity.ContactChange{WeComUserID: s("meikai"), Notify: n("WeCom")})
	require.NoError(t, err)
	require.Equal(t, "Mei.Kai@bank.example", u.WorkEmail, "a field not given stays")
	require.Equal(t, identity.NotifyWeCom, u.Notify)
	got, err := identity.ReadUser(b.ctx, b.db.Pool, u.ID)
	require.NoError(t, err)
	require.Equal(t, u, got)

	u, err = b.store.SetContact(b.ctx, b.actor, "mk", identity.ContactChange{WorkEmail: s("")})
	require.NoError(t, err)
	require.Empty(t, u.WorkEmail, "an empty value removes the address")
	var null bool
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT work_email IS NULL FROM users WHERE id = $1`, u.ID).Scan(&null))
	require.True(t, null)

	_, err = b.store.SetContact(b.ctx, b.actor, "nobody", identity.ContactChange{WorkEmail: s("x@bank.example")})
	require.ErrorIs(t, err, identity.ErrNotFound)

	recs, _, err := audit.List(b.ctx, b.db.Pool, audit.Filter{Action: "user.set_contact"})
	require.NoError(t, err)
	require.Len(t, recs, 3, "at create, then two changes")
	for _, r := range recs {
		require.NotContains(t, string(r.Changes), "Mei.Kai@", "addresses are masked in the audit log")
		require.NotContains(t, string(r.Changes), `"meikai"`)
	}
	require.Contains(t, string(recs[len(recs)-1].Changes)+string(recs[0].Changes), "M***@bank.example")
}
