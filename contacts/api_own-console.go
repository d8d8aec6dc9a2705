package contacts

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// SearchQuery is a staff search for contacts: Q is a customer number, a phone
// number's last digits (4 or more) or any part of a name; Tag and Tier
// filter. TailOnly: the searcher sees phone numbers masked, so a phone search
// uses the last four digits only.
type SearchQuery struct {
	Q        string
	Tag      string
	Tier     string
	TailOnly bool
	After    int64 // ids above this one (keyset paging)
	Offset   int   // rows skipped after After (numbered pages)
	Limit    int
	// IDs, when given, keeps these contacts only (the rows chosen on a page).
	IDs []int64
}

// The fixed fragments a search is put together from; values are parameters.
const (
	sqlSearchByExternalID = `SELECT c.id FROM contacts c WHERE c.external_id = @q AND c.id > @after`
	sqlSearchAll          = `SELECT c.id FROM contacts c WHERE c.id > @after`
	// A phone's last four digits match one contact in ten thousand: the
	// matches are read by that index and then sorted (OFFSET 0 keeps the
	// planner from walking the whole table in id order instead).
	sqlSearchPhoneHead = `SELECT id FROM (SELECT c.id FROM contacts c WHERE right(c.phone, 4) = @tail4 AND c.phone LIKE @tail
			AND c.id > @after`
	sqlSearchPhoneTail = ` OFFSET 0) c`
	// Any part of a name: the rows are read in id order and the walk stops at
	// the page's limit (or the count's cap), so a search typed letter by
	// letter never reads more than the table once and usually far less.
	sqlSearchNamePart = ` AND lower(c.name) LIKE @part`
	sqlSearchOrder    = ` ORDER BY id LIMIT @limit OFFSET @offset`
	sqlFilterManagers = ` AND c.manager_id = ANY(@managers)`
	sqlFilterTag      = ` AND c.tags @> ARRAY[@tag]::text[]`
	sqlFilterTier     = ` AND c.tier = @tier`
	sqlFilterIDs      = ` AND c.id = ANY(@ids)`
	// sqlCountHead and sqlCountTail count a search's matches up to @cap.
	sqlCountHead = `SELECT count(*) FROM (`
	sqlCountTail = `) n`
)

// likePart is a LIKE pattern matching s anywhere, its wildcards escaped.
func likePart(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// searchSQL is a search's statement (without its order and limit) and
// arguments; byExternalID is the statement looking Q up as a customer number
// first, "" when Q is empty.
func searchSQL(sc Scope, q SearchQuery) (stmt, byExternalID string, args pgx.NamedArgs) {
	args = pgx.NamedArgs{"after": q.After, "limit": q.Limit + 1, "offset": max(q.Offset, 0)}
	var filters strings.Builder
	if sc.Restricted {
		filters.WriteString(sqlFilterManagers)
		args["managers"] = sc.ManagerIDs
	}
	if q.Tag != "" {
		filters.WriteString(sqlFilterTag)
		args["tag"] = q.Tag
	}
	if q.Tier != "" {
		filters.WriteString(sqlFilterTier)
		args["tier"] = q.Tier
	}
	if len(q.IDs) > 0 {
		filters.WriteString(sqlFilterIDs)
		args["ids"] = q.IDs
	}
	text := q.Q
	if text != "" {
		args["q"] = text
		byExternalID = sqlSearchByExternalID + filters.String()
	}
	digits := strings.TrimPrefix(text, "+")
	switch {
	case text == "":
		stmt = sqlSearchAll + filters.String()
	case allDigits(digits) && len(digits) >= 4:
		if q.TailOnly && len(digits) != 4 {
			// Who sees numbers masked searches by the last four digits only:
			// more digits would let the results give the hidden ones away.
			digits = digits[len(digits)-4:]
		}
		stmt = sqlSearchPhoneHead + filters.String() + sqlSearchPhoneTail
		args["tail4"], args["tail"] = digits[len(digits)-4:], "%"+digits
	default:
		stmt = sqlSearchAll + filters.String() + sqlSearchNamePart
		args["part"] = likePart(text)
	}
	return stmt, byExternalID, args
}

// SearchIDs returns the ids of one page of the contacts in sc matching s, in
// id order, and whether there are more. A customer number is looked up
// first, by its unique index; otherwise the SQL is put together from fixed
// fragments, one per filter given, so each search uses its own index (the
// phone's last four digits, the tags) rather than one plan for all; values
// are always parameters.
func (s *Store) SearchIDs(ctx context.Context, sc Scope, q SearchQuery) ([]int64, bool, error) {
	stmt, byExternalID, args := searchSQL(sc, q)
	if byExternalID != "" {
		ids, err := s.searchIDs(ctx, byExternalID, args)
		if err != nil || len(ids) > 0 {
			if q.Offset > 0 {
				ids = nil // the one match is on the first page
			}
			return ids, false, err
		}
	}
	ids, err := s.searchIDs(ctx, stmt+sqlSearchOrder, args)
	if err != nil {
		return nil, false, err
	}
	more := len(ids) > q.Limit
	if more {
		ids = ids[:q.Limit]
	}
	return ids, more, nil
}

// CountSearch counts the contacts in sc matching q (its After counts; its
// Offset and Limit do not), up to limit: past it, it returns limit and true.
func (s *Store) CountSearch(ctx context.Context, sc Scope, q SearchQuery, limit int) (int, bool, error) {
	q.Offset, q.Limit = 0, limit
	stmt, byExternalID, args := searchSQL(sc, q)
	if byExternalID != "" {
		ids, err := s.searchIDs(ctx, byExternalID, args)
		if err != nil || len(ids) > 0 {
			return len(ids), false, err
		}
	}
	var n int
	if err := s.pool.QueryRow(ctx, sqlCountHead+stmt+sqlSearchOrder+sqlCountTail, args).Scan(&n); err != nil {
		return 0, false, fmt.Errorf("count contacts: %w", err)
	}
	if n > limit {
		return limit, true, nil
	}
	return n, false, nil
}

func (s *Store) searchIDs(ctx context.Context, stmt string, args pgx.NamedArgs) ([]int64, error) {
	rows, err := s.pool.Query(ctx, stmt, args)
	if err != nil {
		return nil, fmt.Errorf("search contacts: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("search contacts: %w", err)
	}
	return ids, nil
}

// ManagedDate is an active, unerased customer of a manager with one of their
// dates: a birthday (solar or lunar month and day) or an attribute's value.
type ManagedDate struct {
	ContactID   int64
	ExternalID  string
	Name        string
	ManagerCode string
	Month, Day  int    // the birthday's month and day (solar or lunar)
	Leap        bool   // a lunar birthday in a leap month
	Value       string // the attribute's value (AttrDatesOf)
}

const (
	sqlSolarBirthdaysOf = `SELECT c.id, c.external_id, COALESCE(c.name, ''), m.code, c.birth_month::int, c.birth_day::int, false, ''
FROM contacts c JOIN managers m ON m.id = c.manager_id
JOIN unnest($1::int[], $2::int[]) AS k(mo, d) ON c.birth_month = k.mo AND c.birth_day = k.d
WHERE c.birth_calendar = 'solar' AND c.status = 'active' AND c.erased_at IS NULL AND c.manager_id = ANY($3)`
	sqlLunarBirthdaysOf = `SELECT c.id, c.external_id, COALESCE(c.name, ''), m.code, c.lunar_month::int, c.lunar_day::int, c.lunar_leap, ''
FROM contacts c JOIN managers m ON m.id = c.manager_id
JOIN unnest($1::int[], $2::int[], $3::bool[]) AS k(mo, d, l) ON c.lunar_month = k.mo AND c.lunar_day = k.d AND c.lunar_leap = k.l
WHERE c.birth_calendar = 'lunar' AND c.status = 'active' AND c.erased_at IS NULL AND c.manager_id = ANY($4)`
	sqlAttrDatesOf = `SELECT c.id, c.external_id, COALESCE(c.name, ''), m.code, 0, 0, false, c.attrs ->> $1
FROM contacts c JOIN managers m ON m.id = c.manager_id
WHERE c.manager_id = ANY($4) AND c.status = 'active' AND c.erased_at IS NULL AND c.attrs ->> $1 >= $2 AND c.attrs ->> $1 <= $3`
)

func collectManagedDates(rows pgx.Rows, err error) ([]ManagedDate, error) {
	if err != nil {
		return nil, err
	}
	var out []ManagedDate
	var d ManagedDate
	_, err = pgx.ForEachRow(rows, []any{&d.ContactID, &d.ExternalID, &d.Name, &d.ManagerCode, &d.Month, &d.Day, &d.Leap, &d.Value}, func() error {
		out = append(out, d)
		return nil
	})
	return out, err
}

// SolarBirthdaysOf returns the active customers of the managers whose solar
// birthday is one of the month-day pairs (months[i], days[i]).
func (s *Store) SolarBirthdaysOf(ctx context.Context, managerIDs []int64, months, days []int32) ([]ManagedDate, error) {
	out, err := collectManagedDates(s.pool.Query(ctx, sqlSolarBirthdaysOf, months, days, managerIDs))
	if err != nil {
		return nil, fmt.Errorf("solar birthdays of managers: %w", err)
	}
	return out, nil
}

// LunarBirthdaysOf returns the active customers of the managers whose lunar
// birthday is one of (months[i], days[i], leaps[i]).
func (s *Store) LunarBirthdaysOf(ctx context.Context, managerIDs []int64, months, days []int32, leaps []bool) ([]ManagedDate, error) {
	out, err := collectManagedDates(s.pool.Query(ctx, sqlLunarBirthdaysOf, months, days, leaps, managerIDs))
	if err != nil {
		return nil, fmt.Errorf("lunar birthdays of managers: %w", err)
	}
	return out, nil
}

// AttrDatesOf returns the active customers of the managers whose attribute
// attr lies in [from, to] (compared as text: ISO dates), with its value.
func (s *Store) AttrDatesOf(ctx context.Context, managerIDs []int64, attr, from, to string) ([]ManagedDate, error) {
	out, err := collectManagedDates(s.pool.Query(ctx, sqlAttrDatesOf, attr, from, to, managerIDs))
	if err != nil {
		return nil, fmt.Errorf("%s dates of managers: %w", attr, err)
	}
	return out, nil
}

// CountByStatus counts the contacts by status (for the metrics).
func (s *Store) CountByStatus(ctx context.Context) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT status, count(*) FROM contacts GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("count contacts by status: %w", err)
	}
	out := map[string]int64{}
	var status string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&status, &n}, func() error {
		out[status] = n
		return nil
	}); err != nil {
		return nil, fmt.Errorf("count contacts by status: %w", err)
	}
	return out, nil
}
