package revisits

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/calendar"
	"carillon/internal/audit"
)

// Tiers are the customer tiers, A (key) to D (general).
var Tiers = []string{"A", "B", "C", "D"}

// DefaultCadences are the migration's cadences in days: A and B weekly, C
// twice a month, D monthly.
var DefaultCadences = map[string]int{"A": 7, "B": 7, "C": 14, "D": 30}

// Cadences returns each tier's cadence in days.
func (s *Service) Cadences(ctx context.Context) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT tier, days FROM revisit_cadences ORDER BY tier`)
	if err != nil {
		return nil, fmt.Errorf("read cadences: %w", err)
	}
	out := map[string]int{}
	for rows.Next() {
		var t string
		var d int
		if err := rows.Scan(&t, &d); err != nil {
			rows.Close()
			return nil, err
		}
		out[t] = d
	}
	return out, rows.Err()
}

// SetCadence changes a tier's cadence (1–366 days). It takes effect at once:
// due days are computed from it, not stored. Audited.
func (s *Service) SetCadence(ctx context.Context, actor audit.Actor, tier string, days int) error {
	if !slices.Contains(Tiers, tier) {
		return invalid("tier", "%q is not a tier (A, B, C, D)", tier)
	}
	if days < 1 || days > 366 {
		return invalid("days", "%d is out of range 1..366", days)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var prev int
		if err := tx.QueryRow(ctx, `SELECT days FROM revisit_cadences WHERE tier = $1 FOR UPDATE`, tier).Scan(&prev); err != nil {
			return fmt.Errorf("set cadence of %s: %w", tier, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE revisit_cadences SET days = $2, updated_at = $3 WHERE tier = $1`, tier, days, s.cfg.Now()); err != nil {
			return fmt.Errorf("set cadence of %s: %w", tier, err)
		}
		return audit.Append(ctx, tx, actor, s.cfg.Now(), audit.Entry{Action: "revisit.cadence", ObjectType: "revisit_cadence", ObjectID: tier,
			Changes: map[string]any{"days": map[string]int{"from": prev, "to": days}}})
	})
}

// DueDate returns the day a revisit whose nominal due day is nominal falls
// due: the first business day on or after it, by lunar-go's holiday table
// alone (Service.DueDate adds the configured years).
func DueDate(nominal calendar.Date) calendar.Date { return dueDate(calendar.Config{}, nominal) }

// DueDate is the package's DueDate on the service's business-day calendar
// (Config.Festivals with its configured years).
func (s *Service) DueDate(nominal calendar.Date) calendar.Date {
	return dueDate(s.cfg.Festivals, nominal)
}

// Calendar is the business-day calendar the service counts with (festivals
// and configured holiday years, defaults applied).
func (s *Service) Calendar() calendar.Config { return s.cfg.Festivals }

func dueDate(cal calendar.Config, nominal calendar.Date) calendar.Date {
	d, _ := cal.NextBusinessDay(nominal)
	return d
}

// lastNominal returns the latest nominal day that falls due on or before day:
// day itself when it is a business day, else the business day before it.
// NextBusinessDay is monotonic, so DueDate(n) <= day exactly when n <=
// lastNominal(day).
func lastNominal(cal calendar.Config, day calendar.Date) calendar.Date {
	if cal.IsBusinessDay(day) {
		return day
	}
	d, _ := cal.AddBusinessDays(day, -1)
	return d
}

// LastRevisit is a customer's latest revisit as the due lists show it.
type LastRevisit struct {
	ID      int64         `json:"id"`
	On      calendar.Date `json:"on"`
	Method  string        `json:"method"`
	Outcome string        `json:"outcome"`
}

// DueItem is one customer due (or overdue) for a revisit.
type DueItem struct {
	ContactID  int64  `json:"contact_id"`
	ExternalID string `json:"external_id"`
	Name       string `json:"name"`
	Tier       string `json:"tier"`
	// Manager is the code of the customer's manager.
	Manager   string `json:"manager"`
	ManagerID int64  `json:"-"`
	// DueOn is the business day the revisit falls due; Overdue is true when
	// it is before the day asked about, DaysLate then counts the business days
	// since.
	DueOn    calendar.Date `json:"due_on"`
	Overdue  bool          `json:"overdue"`
	DaysLate int           `json:"days_late,omitempty"`
	// Since is the day the cadence counts from; SinceKind says what it is:
	// revisit, assigned (or created, for a customer never assigned through
	// the revisits package), next_date (the manager set the day).
	Since     calendar.Date `json:"since"`
	SinceKind string        `json:"since_kind"`
	Last      *LastRevisit  `json:"last_revisit,omitempty"`
	// Covered names the manager on leave whose customer this is, when the
	// item reaches a covering manager.
	Covered string `json:"covered_for,omitempty"`

	nominal calendar.Date
	phone   string
}

// dueSQL returns the active customers of the managers in $1 (all managers
// when $1 is NULL) whose nominal due day is on or before $2. $3 is the zone
// that dates a contact's creation. By manager it probes contacts_manager_idx;
// for every manager it is one scan.
const dueSQL = `SELECT c.id, c.external_id, COALESCE(c.name, ''), c.tier, c.manager_id, m.code, COALESCE(c.phone, ''),
  d.since, d.kind, d.nominal, r.id, r.visited_on, r.method, r.outcome
FROM contact_cards c
JOIN manager_refs m ON m.id = c.manager_id
JOIN revisit_cadences k ON k.tier = c.tier
LEFT JOIN revisit_state s ON s.contact_id = c.id
LEFT JOIN revisits r ON r.id = s.last_revisit_id
CROSS JOIN LATERAL (SELECT COALESCE(s.anchor, (c.created_at AT TIME ZONE $3)::date) AS since,
    CASE WHEN s.next_date IS NOT NULL THEN 'next_date' ELSE COALESCE(s.anchor_kind, 'created') END AS kind,
    COALESCE(s.next_date, COALESCE(s.anchor, (c.created_at AT TIME ZONE $3)::date) + k.days) AS nominal) d
WHERE c.status = 'active' AND c.erased_at IS NULL AND d.nominal <= $2::date
  AND ($1::bigint[] IS NULL AND c.manager_id IS NOT NULL OR c.manager_id = ANY($1::bigint[]))
ORDER BY c.manager_id, d.nominal, c.id`

// dueRows reads the customers due on or before until (by nominal day).
func (s *Service) dueRows(ctx context.Context, q pgxQuerier, managerIDs []int64, until calendar.Date) ([]DueItem, error) {
	rows, err := q.Query(ctx, dueSQL, managerIDs, until.String(), s.cfg.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("read due revisits: %w", err)
	}
	var out []DueItem
	for rows.Next() {
		var it DueItem
		var since, nominal time.Time
		var rid *int64
		var ron *time.Time
		var method, outcome *string
		if err := rows.Scan(&it.ContactID, &it.ExternalID, &it.Name, &it.Tier, &it.ManagerID, &it.Manager, &it.phone,
			&since, &it.SinceKind, &nominal, &rid, &ron, &method, &outcome); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read due revisits: %w", err)
		}
		it.Since, it.nominal = dateOf(since), dateOf(nominal)
		if rid != nil {
			it.Last = &LastRevisit{ID: *rid, On: dateOf(*ron), Method: *method, Outcome: *outcome}
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read due revisits: %w", err)
	}
	return out, nil
}

// pgxQuerier is a pool or a transaction.
type pgxQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func dateOf(t time.Time) calendar.Date { return calendar.NewDate(t.Year(), t.Month(), t.Day()) }

// businessClock caches calendar answers for one run: due days and business
// days between dates.
type businessClock struct {
	cal  calendar.Config
	mu   sync.Mutex
	due  map[calendar.Date]calendar.Date
	late map[[2]calendar.Date]int
	add  map[addKey]calendar.Date
}

type addKey struct {
	d calendar.Date
	n int
}

func newBusinessClock(cal calendar.Config) *businessClock {
	return &businessClock{cal: cal, due: map[calendar.Date]calendar.Date{}, late: map[[2]calendar.Date]int{}, add: map[addKey]calendar.Date{}}
}

// addBusinessDays is calendar.AddBusinessDays, remembered.
func (b *businessClock) addBusinessDays(d calendar.Date, n int) calendar.Date {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := addKey{d, n}
	r, ok := b.add[k]
	if !ok {
		r, _ = b.cal.AddBusinessDays(d, n)
		b.add[k] = r
	}
	return r
}

func (b *businessClock) dueDate(nominal calendar.Date) calendar.Date {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.due[nominal]
	if !ok {
		d = dueDate(b.cal, nominal)
		b.due[nominal] = d
	}
	return d
}

func (b *businessClock) between(from, to calendar.Date) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := [2]calendar.Date{from, to}
	n, ok := b.late[k]
	if !ok {
		n, _ = b.cal.BusinessDaysBetween(from, to)
		b.late[k] = n
	}
	return n
}

// classify sets each item's due day, and whether and by how many business
// days it is late on day.
func (b *businessClock) classify(items []DueItem, day calendar.Date) {
	for i := range items {
		it := &items[i]
		it.DueOn = b.dueDate(it.nominal)
		it.Overdue = it.DueOn.Before(day)
		it.DaysLate = 0
		if it.Overdue {
			it.DaysLate = b.between(it.DueOn, day)
		}
	}
}

// DueOptions choose a due list.
type DueOptions struct {
	// ManagerIDs limits the list to these managers' customers; nil lists
	// every manager's.
	ManagerIDs []int64
	// Day is the day asked about. Default: today in the service's zone.
	Day calendar.Date
	// Ahead also lists what falls due in the next Ahead days (0–31).
	Ahead int
}

// Due lists the customers due for a revisit on or before the day (overdue
// first, most overdue first), by manager.
func (s *Service) Due(ctx context.Context, opts DueOptions) ([]DueItem, error) {
	day := opts.Day
	if day.IsZero() {
		day = s.Today()
	}
	if opts.Ahead < 0 || opts.Ahead > 31 {
		return nil, invalid("ahead", "%d is out of range 0..31 days", opts.Ahead)
	}
	if opts.ManagerIDs != nil && len(opts.ManagerIDs) == 0 {
		return []DueItem{}, nil
	}
	items, err := s.dueRows(ctx, s.pool, opts.ManagerIDs, lastNominal(s.cfg.Festivals, day.AddDays(opts.Ahead)))
	if err != nil {
		return nil, err
	}
	newBusinessClock(s.cfg.Festivals).classify(items, day)
	slices.SortStableFunc(items, func(a, b DueItem) int {
		if c := a.DueOn.Compare(b.DueOn); c != 0 {
			return c
		}
		return cmp.Compare(a.ContactID, b.ContactID)
	})
	if items == nil {
		items = []DueItem{}
	}
	return items, nil
}
