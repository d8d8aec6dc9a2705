package contacts_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/testclock"
)

// The benchmarks' books, each on a database of its own: each seed writes its
// contacts (and managers and consents) in bulk, and the same book every time.
func TestBenchSeeds(t *testing.T) {
	t.Parallel()
	var b *bundle
	count := func(sql string, args ...any) int {
		var n int
		require.NoError(t, b.db.Pool.QueryRow(b.ctx, sql, args...).Scan(&n))
		return n
	}

	b = setup(t)
	require.NoError(t, b.store.SeedBenchAudience(b.ctx, 6))
	require.Equal(t, 6, count(`SELECT count(*) FROM contacts WHERE starts_with(external_id, 'B') AND tags @> '{wealth}' AND email IS NOT NULL`))
	require.Equal(t, 12, count(`SELECT count(*) FROM consents WHERE purpose = 'marketing' AND granted`), "sms and email for each")
	c, err := b.store.GetByExternalID(b.ctx, "B00000003")
	require.NoError(t, err)
	require.Equal(t, "+8613800000003", c.Phone)

	b = setup(t)
	ids, err := b.store.SeedBenchBook(b.ctx, 40)
	require.NoError(t, err)
	require.Len(t, ids, 40)
	first, err := b.store.GetByExternalID(b.ctx, "K00000001")
	require.NoError(t, err)
	require.Equal(t, first.ID, ids[0])
	last, err := b.store.GetByExternalID(b.ctx, "K00000040")
	require.NoError(t, err)
	require.Equal(t, last.ID, ids[39])
	require.NotNil(t, first.Manager)
	require.Equal(t, 10, count(`SELECT count(*) FROM managers WHERE starts_with(code, 'M')`), "at least ten managers")
	require.Equal(t, 4, count(`SELECT count(*) FROM contacts WHERE starts_with(external_id, 'K') AND attrs ? 'deposit_maturity'`))
	birthdays := func() []string {
		rows, err := b.db.Pool.Query(b.ctx, `SELECT birth_month || '-' || birth_day FROM contacts WHERE starts_with(external_id, 'K') ORDER BY external_id`)
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			out = append(out, s)
		}
		return out
	}
	book := birthdays()

	b = setup(t)
	require.NoError(t, b.store.SeedBenchPlanBook(b.ctx, 200, "2027-09-15"))
	require.Equal(t, 200, count(`SELECT count(*) FROM contacts WHERE starts_with(external_id, 'P')`))
	require.Equal(t, 2, count(`SELECT count(*) FROM contacts WHERE starts_with(external_id, 'P') AND status = 'closed'`))
	require.Equal(t, 10, count(`SELECT count(*) FROM contacts WHERE starts_with(external_id, 'P') AND time_zone = 'America/New_York'`))
	require.Equal(t, 20, count(`SELECT count(*) FROM contacts WHERE starts_with(external_id, 'P')
		AND (attrs ->> 'deposit_maturity')::date BETWEEN '2027-09-15' AND '2027-11-14'`))

	b = setup(t)
	phones, err := b.store.SeedBenchPhones(b.ctx, 3)
	require.NoError(t, err)
	require.Len(t, phones, 3)
	require.Less(t, phones[0], phones[1])
	r1, err := b.store.GetByExternalID(b.ctx, "R1")
	require.NoError(t, err)
	require.Equal(t, r1.ID, phones[0])

	// The same book on another database: a fixed seed.
	b = setup(t)
	_, err = b.store.SeedBenchBook(b.ctx, 40)
	require.NoError(t, err)
	require.Equal(t, book, birthdays())
}

// The benchmarks' reads of the timelines: events of some kinds counted, and
// the timelines' size.
func TestBenchTimelineReads(t *testing.T) {
	t.Parallel()
	b := setup(t)
	at := testclock.Base()
	_, err := b.store.EnsureEventPartitions(b.ctx, at, 1)
	require.NoError(t, err)
	event := func(kind string) {
		_, err := b.db.Pool.Exec(b.ctx, `INSERT INTO contact_events (contact_id, at, kind, actor, data) VALUES (1, $1, $2, 'test', '{}')`, at, kind)
		require.NoError(t, err)
	}
	event("message.sent")
	event("message.delivered")
	event("message.delivered")
	event("message.failed")

	n, err := b.store.CountEvents(b.ctx, "message.delivered", "message.failed")
	require.NoError(t, err)
	require.Equal(t, 3, n)
	n, err = b.store.CountEvents(b.ctx, "message.sent")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = b.store.CountEvents(b.ctx, "consent.changed")
	require.NoError(t, err)
	require.Zero(t, n)

	size, err := b.store.TimelineBytes(b.ctx)
	require.NoError(t, err)
	require.Positive(t, size)
}
