package revisits_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/pgtest"
	"carillon/revisits"
)

// BenchmarkPlanDigests plans one business day's digests (Tuesday 16 March
// 2027) for one manager per 500 customers — 2,000 managers over 1,000,000
// customers by default; CARILLON_BENCH_CONTACTS sets the size — for real:
// the due query over every customer, escalations and team summaries, the
// upcoming birthdays by index, the maturities, and every digest enqueued with
// its deliver job. Goal: under 30 s at 1,000,000.
//
//	go test -run '^$' -bench PlanDigests -benchtime 1x ./revisits/
func BenchmarkPlanDigests(b *testing.B) {
	size := 1_000_000
	if v := os.Getenv("CARILLON_BENCH_CONTACTS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(b, err)
		size = n
	}
	managers := max(size/500, 1)
	ctx := context.Background()
	db := pgtest.New(b)
	start := time.Now()
	_, err := db.Pool.Exec(ctx, `INSERT INTO managers (code, name, team, lead_code, email, wecom_userid)
		SELECT 'M' || lpad(i::text, 5, '0'), 'Manager ' || i, 'team' || ((i - 1) / 10),
		       'M' || lpad((((i - 1) / 10) * 10 + 1)::text, 5, '0'), 'm' || i || '@bank.example', 'm' || i
		FROM generate_series(1, $1::int) i`, managers)
	require.NoError(b, err)
	_, err = db.Pool.Exec(ctx, `INSERT INTO contacts (external_id, name, phone, tier, manager_id, birth_calendar, birth_month, birth_day,
		  lunar_month, lunar_day, attrs, created_at)
		SELECT 'C' || i, '客户' || i, '+86138' || lpad(i::text, 8, '0'), (ARRAY['A', 'B', 'C', 'D'])[1 + (i / 7) % 4],
		       m.first + i % $2::int,
		       CASE WHEN i % 5 = 0 THEN 'lunar' ELSE 'solar' END, 1 + i % 12, 1 + i % 28, 1 + i % 12, 1 + i % 29,
		       jsonb_build_object('assets', 1000 * (i % 5000), 'deposit_maturity', to_char(date '2027-03-01' + i % 90, 'YYYY-MM-DD')),
		       timestamptz '2027-03-16 10:00+08' - (i % 60) * interval '1 day'
		FROM generate_series(1, $1::int) i, (SELECT min(id) AS first FROM managers) m`, size, managers)
	require.NoError(b, err)
	_, err = db.Pool.Exec(ctx, `INSERT INTO revisit_state (contact_id, anchor, anchor_kind)
		SELECT id, date '2027-03-16' - (id % 37)::int, 'revisit' FROM contacts WHERE id % 3 <> 0`)
	require.NoError(b, err)
	_, err = db.Pool.Exec(ctx, `ANALYZE`)
	require.NoError(b, err)
	b.Logf("loaded %d managers and %d customers in %s", managers, size, time.Since(start).Round(time.Second))

	store, err := contacts.NewStore(db.Pool, contacts.Config{})
	require.NoError(b, err)
	dlv, err := delivery.New(db.Pool, delivery.Config{}, delivery.Deps{})
	require.NoError(b, err)
	svc, err := revisits.New(db.Pool, store, dlv, revisits.Config{})
	require.NoError(b, err)
	day := day(2027, time.March, 16)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		_, err := db.Pool.Exec(ctx, `TRUNCATE messages CASCADE; DELETE FROM river_job`)
		require.NoError(b, err)
		b.StartTimer()
		t0 := time.Now()
		res, err := svc.PlanDigests(ctx, day, revisits.DigestOptions{})
		require.NoError(b, err)
		require.Equal(b, res.Messages, res.Planned)
		b.ReportMetric(time.Since(t0).Seconds(), "s/day")
		b.ReportMetric(float64(res.Planned), "digests")
	}
}
