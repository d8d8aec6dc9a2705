package contacts

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Recipient is what a planner reads of a contact it greets.
type Recipient struct {
	ID         int64
	ExternalID string
	TimeZone   string
	Locale     string
}

// BirthdayRecipient is a recipient with their birthday.
type BirthdayRecipient struct {
	Recipient
	Birthday Birthday
}

const birthdayColumns = `id, external_id, time_zone, locale, birth_calendar, COALESCE(birth_year, 0)::int,
  COALESCE(birth_month, 0)::int, COALESCE(birth_day, 0)::int, COALESCE(lunar_month, 0)::int, COALESCE(lunar_day, 0)::int, lunar_leap`

// The lookups imply the predicates of the partial indexes
// contacts_solar_birthday_idx and contacts_lunar_birthday_idx (a test checks the
// plans): a birthday is found by index, never by scanning.
const (
	solarBirthdaysSQL = `SELECT ` + birthdayColumns + ` FROM contacts
		WHERE birth_calendar = 'solar' AND status = 'active' AND erased_at IS NULL AND birth_month = $1 AND birth_day = $2`
	lunarBirthdaysSQL = `SELECT ` + birthdayColumns + ` FROM contacts
		WHERE birth_calendar = 'lunar' AND status = 'active' AND erased_at IS NULL AND lunar_month = $1 AND lunar_day = $2 AND lunar_leap = $3`
)

// SolarBirthdays returns the active, unerased contacts who celebrate on the solar
// calendar and were born on month/day.
func (s *Store) SolarBirthdays(ctx context.Context, month, day int) ([]BirthdayRecipient, error) {
	return s.birthdays(ctx, solarBirthdaysSQL, month, day)
}

// LunarBirthdays is SolarBirthdays for lunar month/day (leap: born in a leap month).
func (s *Store) LunarBirthdays(ctx context.Context, month, day int, leap bool) ([]BirthdayRecipient, error) {
	return s.birthdays(ctx, lunarBirthdaysSQL, month, day, leap)
}

func (s *Store) birthdays(ctx context.Context, sql string, args ...any) ([]BirthdayRecipient, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("birthdays: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (BirthdayRecipient, error) {
		var b BirthdayRecipient
		err := r.Scan(&b.ID, &b.ExternalID, &b.TimeZone, &b.Locale, &b.Birthday.Calendar, &b.Birthday.Year,
			&b.Birthday.Month, &b.Birthday.Day, &b.Birthday.LunarMonth, &b.Birthday.LunarDay, &b.Birthday.LunarLeap)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("birthdays: %w", err)
	}
	return out, nil
}

// ActiveRecipients pages through active, unerased contacts by id: up to limit
// with ids after after.
func (s *Store) ActiveRecipients(ctx context.Context, after int64, limit int) ([]Recipient, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, external_id, time_zone, locale FROM contacts
		WHERE status = 'active' AND erased_at IS NULL AND id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("active contacts after %d: %w", after, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Recipient, error) {
		var c Recipient
		err := r.Scan(&c.ID, &c.ExternalID, &c.TimeZone, &c.Locale)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("active contacts after %d: %w", after, err)
	}
	return out, nil
}
