package delivery_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The drills' reads of the outbox: one source's messages counted as a set.
func TestDrillSourceReads(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{noStart: true})
	c1, c2 := h.contact(t, "C1"), h.contact(t, "C2")
	now := h.clock.Now()
	insert := func(key string, contact int64, sourceID, status string, attempts int, provider *string) int64 {
		var id int64
		require.NoError(t, h.db.Pool.QueryRow(h.ctx, `INSERT INTO messages (dedupe_key, contact_id, source, source_id, purpose, template_key, channels, status,
			attempts, provider, send_at) VALUES ($1, $2, 'campaign_run', $3, 'marketing', 'offer', '{sms}', $4, $5, $6, $7) RETURNING id`,
			key, contact, sourceID, status, attempts, provider, now).Scan(&id))
		return id
	}
	ali := "ali"
	a := insert("run:7:1", c1.ID, "7", "delivered", 1, &ali)
	b := insert("run:7:2", c2.ID, "7", "sending", 3, &ali)
	c := insert("run:7:3", c1.ID, "7", "suppressed", 0, nil)
	insert("run:8:1", c1.ID, "8", "sending", 2, &ali)
	insert("birthday:2026-11-30:1", c1.ID, "", "queued", 0, nil)
	insert("birthday:2026-11-30:2", c2.ID, "", "queued", 0, nil)
	insert("birthday:2026-11-29:1", c1.ID, "", "delivered", 1, &ali)

	tally, err := h.svc.SourceTally(h.ctx, "campaign_run", "7")
	require.NoError(t, err)
	require.Equal(t, 3, tally.Written)
	require.Equal(t, 2, tally.Final, "delivered and suppressed; sending is not final")
	require.Equal(t, 1, tally.Delivered)
	require.Equal(t, 3, tally.MaxAttempts)
	require.Equal(t, 1, tally.Retried)
	require.InDelta(t, 4.0/3, tally.MeanAttempts, 1e-9)

	all, err := h.svc.SourceMessages(h.ctx, "campaign_run", "7", "")
	require.NoError(t, err)
	require.Len(t, all, 3)
	require.Equal(t, []int64{a, b, c}, []int64{all[0].ID, all[1].ID, all[2].ID})
	require.Equal(t, c2.ID, all[1].ContactID)
	sending, err := h.svc.SourceMessages(h.ctx, "campaign_run", "7", "sending")
	require.NoError(t, err)
	require.Len(t, sending, 1)
	require.Equal(t, b, sending[0].ID)

	by, err := h.svc.SourceByProvider(h.ctx, "campaign_run", "7")
	require.NoError(t, err)
	require.Equal(t, map[string]int{"ali": 2, "-": 1}, by)

	n, err := h.svc.CountStatus(h.ctx, "sending")
	require.NoError(t, err)
	require.Equal(t, 2, n, "of every source")

	msgs, contacts, err := h.svc.CountDedupePrefix(h.ctx, "birthday:")
	require.NoError(t, err)
	require.Equal(t, 3, msgs)
	require.Equal(t, 2, contacts)
}

// The demo's reads: the messages it played since a time, fallbacks left out,
// and a contact greeted since then.
func TestDemoRecentReads(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{noStart: true})
	c1, c2 := h.contact(t, "C1"), h.contact(t, "C2")
	now := h.clock.Now()
	insert := func(key string, contact int64, created time.Time, parent *int64) int64 {
		var id int64
		require.NoError(t, h.db.Pool.QueryRow(h.ctx, `INSERT INTO messages (dedupe_key, contact_id, source, purpose, template_key, channels, status,
			send_at, created_at, parent_id) VALUES ($1, $2, 'care_rule', 'service', 'birthday', '{sms}', 'queued', $3, $3, $4) RETURNING id`,
			key, contact, created, parent).Scan(&id))
		return id
	}
	insert("old", c1.ID, now.Add(-2*time.Hour), nil)
	a := insert("a", c2.ID, now, nil)
	insert("a:fallback", c2.ID, now, &a)
	b := insert("b", c1.ID, now.Add(time.Minute), nil)

	ids, err := h.svc.FirstMessagesSince(h.ctx, now)
	require.NoError(t, err)
	require.Equal(t, []int64{a, b}, ids)
	contact, err := h.svc.FirstContactSince(h.ctx, now.Add(-time.Hour))
	require.NoError(t, err)
	require.Equal(t, c2.ID, contact)
	contact, err = h.svc.FirstContactSince(h.ctx, now.Add(time.Hour))
	require.NoError(t, err)
	require.Zero(t, contact)
}
