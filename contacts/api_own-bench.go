package contacts

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// What the benchmarks (internal/bench) write and read of the customers: books
// of synthetic contacts written in bulk by INSERT … SELECT (each run the same
// book: fixed seeds), the timeline events counted, the timeline's size.

const sqlSeedBenchAudience = `INSERT INTO contacts (external_id, name, gender, phone, email, tier, tags)
	SELECT 'B' || lpad(i::text, 8, '0'), '客户' || i, CASE WHEN i % 2 = 0 THEN 'male' ELSE 'female' END,
	  '+86138' || lpad(i::text, 8, '0'), 'c' || i || '@example.com', (ARRAY['A','B','C','D'])[1 + i % 4], '{wealth}'
	FROM generate_series(1, $1) i`

const sqlSeedBenchAudienceConsents = `INSERT INTO consents (contact_id, channel, purpose, granted, source)
	SELECT id, ch, 'marketing', true, 'bench' FROM contacts, unnest(ARRAY['sms', 'email']) ch`

// SeedBenchAudience writes n contacts B00000001… tagged wealth, with phones
// and emails, and every contact's marketing consent on sms and email: the
// audience of the campaign benchmarks.
func (s *Store) SeedBenchAudience(ctx context.Context, n int) error {
	if _, err := s.pool.Exec(ctx, sqlSeedBenchAudience, n); err != nil {
		return fmt.Errorf("load contacts: %w", err)
	}
	if _, err := s.pool.Exec(ctx, sqlSeedBenchAudienceConsents); err != nil {
		return fmt.Errorf("load consents: %w", err)
	}
	return s.analyze(ctx)
}

const sqlSeedBenchBookManagers = `INSERT INTO managers (code, name, team, lead_code, time_zone)
	SELECT 'M' || lpad(i::text, 5, '0'), '经理' || i, 'team' || ((i - 1) / 10),
	  'M' || lpad((((i - 1) / 10) * 10 + 1)::text, 5, '0'), 'Asia/Shanghai'
	FROM generate_series(1, $1::int) i`

const sqlSeedBenchBookContacts = `INSERT INTO contacts (external_id, status, name, gender, locale, time_zone, birth_calendar, birth_year, birth_month, birth_day,
	  lunar_month, lunar_day, phone, email, tier, manager_id, tags, attrs, created_at)
	SELECT 'K' || lpad(i::text, 8, '0'), CASE WHEN i % 100 = 0 THEN 'dormant' ELSE 'active' END,
	  (ARRAY['王','李','张','刘','陈','杨','黄','赵','吴','周'])[1 + i % 10] || (ARRAY['小明','伟','芳','娜','敏','静','丽','强','磊','军','洋','勇'])[1 + (i / 10) % 12],
	  CASE WHEN i % 2 = 0 THEN 'male' ELSE 'female' END, 'zh-CN', 'Asia/Shanghai',
	  CASE WHEN i % 2 = 0 THEN 'solar' ELSE 'lunar' END, 1940 + i % 60,
	  1 + floor(random() * 12)::int, 1 + floor(random() * 28)::int,
	  CASE WHEN i % 2 = 1 THEN 1 + floor(random() * 12)::int END, CASE WHEN i % 2 = 1 THEN 1 + floor(random() * 29)::int END,
	  '+86139' || lpad(i::text, 8, '0'), CASE WHEN i % 3 = 0 THEN 'k' || i || '@example.com' END,
	  (ARRAY['A','B','C','D'])[1 + i % 4], m.id,
	  CASE WHEN i % 7 = 0 THEN '{vip,retail}'::text[] WHEN i % 2 = 0 THEN '{retail}'::text[] ELSE '{wealth}'::text[] END,
	  CASE WHEN i % 10 = 0 THEN jsonb_build_object('deposit_maturity', to_char(current_date + floor(random() * 60)::int, 'YYYY-MM-DD'), 'assets', i % 1000 * 1000)
	       ELSE jsonb_build_object('assets', i % 1000 * 1000) END,
	  now() - interval '90 days'
	FROM generate_series(1, $2::int) i JOIN managers m ON m.code = 'M' || lpad((1 + i % $1::int)::text, 5, '0')`

const sqlSeedBenchBookConsents = `INSERT INTO consents (contact_id, channel, purpose, granted, source)
	SELECT id, 'sms', 'marketing', true, 'bench' FROM contacts WHERE id % 5 <> 0`

const sqlBenchBookIDs = `SELECT id FROM contacts WHERE starts_with(external_id, 'K') ORDER BY external_id`

// SeedBenchBook writes the console benchmark's book of n contacts
// K00000001… (names with the common surnames, phones, tags, tiers, birthdays
// on both calendars, a tenth with a deposit maturing in the next 60 days)
// under max(n/500, 10) managers M00001… in teams of 10, and the marketing
// consents of four in five. It returns the contacts' ids, K00000001's first.
func (s *Store) SeedBenchBook(ctx context.Context, n int) ([]int64, error) {
	managers := max(n/500, 10)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		steps := []struct {
			sql  string
			args []any
		}{
			{`SELECT setseed(0.11)`, nil},
			{sqlSeedBenchBookManagers, []any{managers}},
			{sqlSeedBenchBookContacts, []any{managers, n}},
			{sqlSeedBenchBookConsents, nil},
		}
		for i, st := range steps {
			if _, err := tx.Exec(ctx, st.sql, st.args...); err != nil {
				return fmt.Errorf("load the console's contacts (step %d): %w", i+1, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, sqlBenchBookIDs)
	if err != nil {
		return nil, fmt.Errorf("load the console's contacts: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

const sqlSeedBenchPlanBook = `INSERT INTO contacts (external_id, status, name, locale, time_zone, birth_calendar, birth_year,
	  birth_month, birth_day, lunar_month, lunar_day, tier, attrs)
	SELECT 'P' || lpad(i::text, 8, '0'),
	  CASE WHEN i % 100 = 0 THEN 'closed' ELSE 'active' END,
	  '客户' || i, 'zh-CN',
	  CASE WHEN i % 20 = 0 THEN 'America/New_York' ELSE 'Asia/Shanghai' END,
	  CASE WHEN i % 2 = 0 THEN 'solar' ELSE 'lunar' END,
	  1940 + i % 60,
	  1 + floor(random() * 12)::int, 1 + floor(random() * 28)::int,
	  CASE WHEN i % 2 = 1 THEN 1 + floor(random() * 12)::int END, CASE WHEN i % 2 = 1 THEN 1 + floor(random() * 29)::int END,
	  (ARRAY['A','B','C','D'])[1 + i % 4],
	  CASE WHEN i % 10 = 0 THEN jsonb_build_object('deposit_maturity', to_char($2::date + floor(random() * 60)::int, 'YYYY-MM-DD'), 'deposit_amount', 50000 + i % 100 * 1000)
	       ELSE '{}'::jsonb END
	FROM generate_series(1, $1) AS i`

// SeedBenchPlanBook writes the planning benchmark's n contacts P00000001…:
// both calendars, birthdays spread over the year (about 1/365 on any day), 5%
// in New York, 1% closed, and for a tenth a deposit maturing within two months
// of day (YYYY-MM-DD).
func (s *Store) SeedBenchPlanBook(ctx context.Context, n int, day string) error {
	// A fixed seed: every run of the benchmark plans the same day.
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT setseed(0.42)`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, sqlSeedBenchPlanBook, n, day)
		return err
	})
	if err != nil {
		return fmt.Errorf("load contacts: %w", err)
	}
	return s.analyze(ctx)
}

const sqlSeedBenchPhones = `INSERT INTO contacts (external_id, name, phone)
	SELECT 'R' || i, '客户' || i, '+86138' || lpad(i::text, 8, '0') FROM generate_series(1, $1) i RETURNING id`

// SeedBenchPhones writes n contacts R1… with a name and a phone and returns
// their ids in order.
func (s *Store) SeedBenchPhones(ctx context.Context, n int) ([]int64, error) {
	rows, err := s.pool.Query(ctx, sqlSeedBenchPhones, n)
	if err != nil {
		return nil, fmt.Errorf("load contacts: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("load contacts: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}

// analyze refreshes the planner's statistics of the contacts after a bulk load.
func (s *Store) analyze(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `VACUUM ANALYZE contacts`)
	return err
}

const sqlCountEvents = `SELECT count(*) FROM contact_events WHERE kind = ANY($1)`

// CountEvents counts the events of the kinds given ("message.delivered") in
// every timeline.
func (s *Store) CountEvents(ctx context.Context, kinds ...string) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, sqlCountEvents, kinds).Scan(&n); err != nil {
		return 0, fmt.Errorf("count timeline events: %w", err)
	}
	return n, nil
}

const sqlTimelineBytes = `SELECT COALESCE((SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits
	WHERE inhparent = 'contact_events'::regclass), 0)::bigint`

// TimelineBytes is the timelines' size on disk: every partition of the
// events, with their indexes.
func (s *Store) TimelineBytes(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, sqlTimelineBytes).Scan(&n); err != nil {
		return 0, fmt.Errorf("timeline size: %w", err)
	}
	return n, nil
}
