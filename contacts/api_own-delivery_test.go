package contacts_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/contacts"
	"carillon/internal/audit"
)

// What delivery's send policy reads: stated consents (granted or not), the
// suppressions among addresses (raw or keyed), and which recipients may
// still get a message.
func TestSendStateReadsConsentsSuppressionsAndRecipients(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.importManagers(t)
	rep := b.importContacts(t, "external_id,name,phone,email,status,manager,consent_sms,consent_email\n"+
		"S1,张伟,13812345671,s1@example.com,active,M001,yes,no\n"+
		"S2,李娜,13812345672,,deceased,M001,,\n"+
		"S3,王强,13812345673,,active,M002,,\n")
	require.Empty(t, rep.Errors)
	s1, err := b.store.GetByExternalID(b.ctx, "S1")
	require.NoError(t, err)
	s2, err := b.store.GetByExternalID(b.ctx, "S2")
	require.NoError(t, err)
	s3, err := b.store.GetByExternalID(b.ctx, "S3")
	require.NoError(t, err)

	cs, err := b.store.ConsentsOf(b.ctx, []int64{s1.ID, s3.ID})
	require.NoError(t, err)
	granted, stated := cs[contacts.ConsentKey{ContactID: s1.ID, Channel: "sms", Purpose: "marketing"}]
	require.True(t, stated)
	require.True(t, granted)
	granted, stated = cs[contacts.ConsentKey{ContactID: s1.ID, Channel: "email", Purpose: "marketing"}]
	require.True(t, stated, "a refusal is stated too")
	require.False(t, granted)
	for k := range cs {
		require.Equal(t, s1.ID, k.ContactID, "S3 stated nothing")
	}

	// A bad number suppressed by address; S3's email-less row suppresses nothing on email.
	require.NoError(t, contacts.SuppressAddress(b.ctx, b.db.Pool, "sms", s1.Phone, "invalid", "provider:test"))
	require.NoError(t, contacts.SuppressAddress(b.ctx, b.db.Pool, "sms", s1.Phone, "complaint", "provider:test"), "kept when already there")
	require.NoError(t, contacts.SuppressContactAddress(b.ctx, b.db.Pool, "email", s1.ID, "hard_bounce", "provider:test"))
	require.NoError(t, contacts.SuppressContactAddress(b.ctx, b.db.Pool, "email", s3.ID, "hard_bounce", "provider:test"))
	sup, err := b.store.SuppressedAmong(b.ctx, []string{s1.Phone, contacts.SuppressionKey(s1.Phone), s1.Email, s3.Phone})
	require.NoError(t, err)
	require.ElementsMatch(t, []contacts.SuppressedAddress{{Channel: "sms", Address: s1.Phone}, {Channel: "email", Address: s1.Email}}, sup)

	// S2 is deceased; after erasure S1 is gone as a recipient too.
	mgrs, err := b.store.ManagersByID(b.ctx, []int64{s1.ManagerID, s3.ManagerID})
	require.NoError(t, err)
	require.Len(t, mgrs, 2)
	require.NoError(t, b.store.Erase(b.ctx, audit.Actor{Name: "test"}, s1.ID))
	okC, okM, err := contacts.Sendable(b.ctx, b.db.Pool, []int64{s1.ID, s2.ID, s3.ID, 999999}, []int64{s1.ManagerID, 999999})
	require.NoError(t, err)
	require.Equal(t, map[int64]bool{s3.ID: true}, okC)
	require.Equal(t, map[int64]bool{s1.ManagerID: true}, okM)
}

// HasMessageEvent finds a timeline event of a kind about one message only.
func TestHasMessageEvent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rep := b.importContacts(t, "external_id,name,phone\nE1,张伟,13812345671\n")
	require.Empty(t, rep.Errors)
	c, err := b.store.GetByExternalID(b.ctx, "E1")
	require.NoError(t, err)
	require.NoError(t, contacts.AppendEvents(b.ctx, b.db.Pool, []contacts.Event{{ContactID: c.ID, At: c.CreatedAt, Kind: "message.opened",
		Actor: "customer", Summary: "opened", Data: []byte(`{"message_id": 41}`)}}))
	for _, tc := range []struct {
		kind string
		id   int64
		want bool
	}{{"message.opened", 41, true}, {"message.opened", 42, false}, {"message.clicked", 41, false}} {
		got, err := contacts.HasMessageEvent(b.ctx, b.db.Pool, c.ID, tc.kind, tc.id)
		require.NoError(t, err)
		require.Equal(t, tc.want, got, "%s of %d", tc.kind, tc.id)
	}
}

// A segment compares a manager's code or team only: any other column is a
// programming error, refused before it becomes SQL.
func TestManagerSQLTakesCodeOrTeamOnly(t *testing.T) {
	t.Parallel()
	require.Contains(t, contacts.ManagerMatchSQL("team", "= ANY($1::text[])"), "m.team = ANY($1::text[])")
	require.Contains(t, contacts.ManagerValueSQL("code"), "m.code")
	require.Panics(t, func() { contacts.ManagerMatchSQL("name; DROP TABLE contacts", "= ''") })
	require.Panics(t, func() { contacts.ManagerValueSQL("email") })
}
