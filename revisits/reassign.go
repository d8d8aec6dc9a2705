package revisits

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/calendar"
	"carillon/contacts"
	"carillon/internal/audit"
)

// MaxReassign bounds one reassignment.
const MaxReassign = 100_000

// ReassignInput moves customers to another manager: the listed contacts, or
// every customer of From (a manager leaving).
type ReassignInput struct {
	Contacts []int64 `json:"contacts,omitempty"`
	From     string  `json:"from,omitempty"`
	To       string  `json:"to"`
	Reason   string  `json:"reason,omitempty"`
}

// ReassignResult says what a reassignment did.
type ReassignResult struct {
	To string `json:"to"`
	// Moved counts the customers now with To; Unchanged those who had To already.
	Moved     int `json:"moved"`
	Unchanged int `json:"unchanged"`
}

// Reassign moves customers to another manager, keeping their history (the
// timeline, revisits and feedback stay with the customer) and their cadence
// (counted from the last revisit as before; a customer who had no manager
// counts from today, the assignment). The move goes through the contacts
// package's merge by contact id (contact.updated events naming the managers),
// in one transaction with the revisit.reassigned events and the audit row: a
// failing request changes nothing. Scope lists the managers the caller may move customers of (nil: any).
func (s *Service) Reassign(ctx context.Context, actor audit.Actor, scope *FeedbackScope, in ReassignInput) (ReassignResult, error) {
	var f fieldErrors
	if in.To == "" {
		f.add("to", "is required")
	}
	if (in.From == "") == (len(in.Contacts) == 0) {
		f.add("contacts", "give either contacts or from")
	}
	if len(in.Contacts) > MaxReassign {
		f.add("contacts", "more than %d contacts", MaxReassign)
	}
	checkText(&f, "reason", in.Reason, false)
	if err := f.err(); err != nil {
		return ReassignResult{}, err
	}
	to, err := s.contacts.GetManager(ctx, in.To)
	if errors.Is(err, contacts.ErrNotFound) {
		return ReassignResult{}, invalid("to", "no manager has code %q", in.To)
	}
	if err != nil {
		return ReassignResult{}, err
	}
	if !to.Active {
		return ReassignResult{}, invalid("to", "manager %s is not active", in.To)
	}
	var fromID int64
	if in.From != "" {
		from, err := s.contacts.GetManager(ctx, in.From)
		if errors.Is(err, contacts.ErrNotFound) {
			return ReassignResult{}, invalid("from", "no manager has code %q", in.From)
		}
		if err != nil {
			return ReassignResult{}, err
		}
		if scope != nil && scope.Restricted && !containsID(scope.ManagerIDs, from.ID) {
			return ReassignResult{}, ErrNotFound
		}
		fromID = from.ID
	}
	type cust struct {
		id      int64
		manager int64
		code    string
	}
	res := ReassignResult{To: to.Code}
	now := s.cfg.Now()
	today := s.Today()
	// One transaction: the customers are read, checked against the caller's
	// scope, moved (the contacts package's merge, by id: no file is written) and
	// their cadence, events and the audit row written, or nothing is.
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var rows pgx.Rows
		var err error
		if in.From != "" {
			rows, err = tx.Query(ctx, `SELECT c.id, COALESCE(c.manager_id, 0), COALESCE(m.code, '') FROM contact_cards c
			LEFT JOIN manager_refs m ON m.id = c.manager_id WHERE c.manager_id = $1 AND c.erased_at IS NULL ORDER BY c.id LIMIT $2`, fromID, MaxReassign+1)
		} else {
			rows, err = tx.Query(ctx, `SELECT c.id, COALESCE(c.manager_id, 0), COALESCE(m.code, '') FROM contact_cards c
			LEFT JOIN manager_refs m ON m.id = c.manager_id WHERE c.id = ANY($1) AND c.erased_at IS NULL ORDER BY c.id`, in.Contacts)
		}
		if err != nil {
			return fmt.Errorf("reassign: read customers: %w", err)
		}
		list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (cust, error) {
			var c cust
			return c, r.Scan(&c.id, &c.manager, &c.code)
		})
		if err != nil {
			return fmt.Errorf("reassign: read customers: %w", err)
		}
		if len(list) > MaxReassign {
			return invalid("from", "%s has more than %d customers: move them in parts", in.From, MaxReassign)
		}
		if in.From == "" && len(list) != len(uniqueIDs(in.Contacts)) {
			return ErrNotFound // a contact that does not exist or is erased
		}
		var moved []cust
		var ids []int64
		for _, c := range list {
			if scope != nil && scope.Restricted && !containsID(scope.ManagerIDs, c.manager) {
				return ErrNotFound
			}
			if c.manager == to.ID {
				res.Unchanged++
				continue
			}
			moved = append(moved, c)
			ids = append(ids, c.id)
		}
		if len(moved) == 0 {
			return nil
		}
		n, err := s.contacts.AssignManager(ctx, tx, actor, ids, to.Code)
		if err != nil {
			return fmt.Errorf("reassign: %w", err)
		}
		if n != len(moved) {
			return fmt.Errorf("reassign: %d of %d customers moved", n, len(moved))
		}
		res.Moved = len(moved)
		events := make([]contacts.Event, 0, len(moved))
		var fresh []int64
		for _, c := range moved {
			data := map[string]any{"from": c.code, "to": to.Code}
			if c.manager == 0 {
				fresh = append(fresh, c.id)
			}
			events = append(events, contacts.Event{ContactID: c.id, At: now, Kind: EventReassigned, Actor: actor.String(),
				Summary: "reassigned " + cmpOr(c.code, "(none)") + " → " + to.Code, Data: mustJSON(data)})
		}
		// A customer assigned for the first time counts from today.
		if _, err := tx.Exec(ctx, `INSERT INTO revisit_state (contact_id, anchor, anchor_kind, updated_at)
			SELECT unnest($1::bigint[]), $2::date, 'assigned', $3 ON CONFLICT (contact_id) DO NOTHING`, fresh, today.String(), now); err != nil {
			return fmt.Errorf("reassign: cadence of new assignments: %w", err)
		}
		if err := contacts.AppendEvents(ctx, tx, events); err != nil {
			return err
		}
		ch := map[string]any{"to": to.Code, "moved": len(moved), "reason": in.Reason}
		if in.From != "" {
			ch["from"] = in.From
		}
		return audit.Append(ctx, tx, actor, now, audit.Entry{Action: "revisit.reassign", ObjectType: "manager", ObjectID: to.Code, Changes: ch})
	})
	if err != nil {
		return ReassignResult{To: to.Code}, err
	}
	if res.Moved == 0 {
		return res, nil
	}
	s.cfg.Logger.InfoContext(ctx, "customers reassigned", "to", to.Code, "moved", res.Moved, "unchanged", res.Unchanged)
	return res, nil
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func uniqueIDs(ids []int64) map[int64]bool {
	m := make(map[int64]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// CoverInput puts a manager on leave from From to To (both included),
// covered by Cover.
type CoverInput struct {
	Manager string        `json:"manager"`
	Cover   string        `json:"cover"`
	From    calendar.Date `json:"from"`
	To      calendar.Date `json:"to"`
	Reason  string        `json:"reason,omitempty"`
}

// Cover is a manager's leave covered by a colleague: their customers are in
// the cover's digest, marked, and the cover may log their revisits.
type Cover struct {
	ID          int64         `json:"id"`
	Manager     string        `json:"manager"`
	Cover       string        `json:"cover"`
	From        calendar.Date `json:"from"`
	To          calendar.Date `json:"to"`
	Reason      string        `json:"reason"`
	Actor       string        `json:"actor"`
	CreatedAt   time.Time     `json:"created_at"`
	CancelledAt *time.Time    `json:"cancelled_at,omitempty"`
}

// coverLockClass serialises covers ("covr").
const coverLockClass = 0x636f7672

// MaxCoverDays bounds one cover.
const MaxCoverDays = 366

// CreateCover records a cover. Covers of one manager may not overlap
// (ErrConflict), and a cover may not itself be on leave then.
func (s *Service) CreateCover(ctx context.Context, actor audit.Actor, in CoverInput) (Cover, error) {
	var f fieldErrors
	if in.Manager == "" {
		f.add("manager", "is required")
	}
	if in.Cover == "" {
		f.add("cover", "is required")
	}
	if in.Manager != "" && in.Manager == in.Cover {
		f.add("cover", "a manager cannot cover themself")
	}
	if in.From.IsZero() || in.To.IsZero() {
		f.add("from", "from and to are required (YYYY-MM-DD)")
	} else if in.To.Before(in.From) {
		f.add("to", "%s is before from %s", in.To, in.From)
	} else if in.From.DaysUntil(in.To) >= MaxCoverDays {
		f.add("to", "a cover lasts at most %d days", MaxCoverDays)
	}
	checkText(&f, "reason", in.Reason, false)
	if err := f.err(); err != nil {
		return Cover{}, err
	}
	ids := map[string]int64{}
	for field, code := range map[string]string{"manager": in.Manager, "cover": in.Cover} {
		m, err := s.contacts.GetManager(ctx, code)
		if errors.Is(err, contacts.ErrNotFound) {
			return Cover{}, invalid(field, "no manager has code %q", code)
		}
		if err != nil {
			return Cover{}, err
		}
		if field == "cover" && !m.Active {
			return Cover{}, invalid("cover", "manager %s is not active", code)
		}
		ids[field] = m.ID
	}
	cv := Cover{Manager: in.Manager, Cover: in.Cover, From: in.From, To: in.To, Reason: in.Reason, Actor: actor.String(), CreatedAt: s.cfg.Now()}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1::int, 0)`, coverLockClass); err != nil {
			return err
		}
		var clash string
		err := tx.QueryRow(ctx, `SELECT m.code || ' ' || c.starts_on || '..' || c.ends_on FROM manager_covers c JOIN manager_refs m ON m.id = c.manager_id
			WHERE c.cancelled_at IS NULL AND c.starts_on <= $3::date AND c.ends_on >= $2::date
			  AND (c.manager_id = $1 OR c.manager_id = $4 OR c.cover_id = $1) LIMIT 1`,
			ids["manager"], in.From.String(), in.To.String(), ids["cover"]).Scan(&clash)
		if err == nil {
			return fmt.Errorf("%w: the cover overlaps the leave of %s", ErrConflict, clash)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO manager_covers (manager_id, cover_id, starts_on, ends_on, reason, actor, created_at)
			VALUES (@manager, @cover, @from::date, @to::date, @reason, @actor, @at) RETURNING id`,
			pgx.NamedArgs{"manager": ids["manager"], "cover": ids["cover"], "from": in.From.String(), "to": in.To.String(),
				"reason": in.Reason, "actor": cv.Actor, "at": cv.CreatedAt}).Scan(&cv.ID); err != nil {
			return fmt.Errorf("insert cover: %w", err)
		}
		return audit.Append(ctx, tx, actor, cv.CreatedAt, audit.Entry{Action: "revisit.cover", ObjectType: "manager", ObjectID: in.Manager,
			Changes: map[string]any{"cover_id": cv.ID, "cover": in.Cover, "from": in.From, "to": in.To}})
	})
	if err != nil {
		return Cover{}, err
	}
	return cv, nil
}

// CancelCover ends a cover (it no longer applies from now on). Audited.
func (s *Service) CancelCover(ctx context.Context, actor audit.Actor, id int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE manager_covers SET cancelled_at = $2 WHERE id = $1 AND cancelled_at IS NULL`, id, s.cfg.Now())
		if err != nil {
			return fmt.Errorf("cancel cover %d: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		return audit.Append(ctx, tx, actor, s.cfg.Now(), audit.Entry{Action: "revisit.cover_cancel", ObjectType: "manager_cover", ObjectID: strconv.FormatInt(id, 10)})
	})
}

// Covers lists the covers not cancelled that end on or after day, by start.
// A restricted scope sees only the covers whose manager on leave, or whose
// covering manager, is one of its managers (a manager's own; a team lead's
// team's): a colleague's leave and its reason are not theirs to read.
func (s *Service) Covers(ctx context.Context, day calendar.Date, scope FeedbackScope) ([]Cover, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.id, m.code, v.code, c.starts_on, c.ends_on, c.reason, c.actor, c.created_at, c.cancelled_at
		FROM manager_covers c JOIN manager_refs m ON m.id = c.manager_id JOIN manager_refs v ON v.id = c.cover_id
		WHERE c.cancelled_at IS NULL AND c.ends_on >= $1::date
		  AND (NOT $2 OR c.manager_id = ANY($3) OR c.cover_id = ANY($3))
		ORDER BY c.starts_on, c.id`, day.String(), scope.Restricted, scope.ManagerIDs)
	if err != nil {
		return nil, fmt.Errorf("list covers: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Cover, error) {
		var c Cover
		var from, to time.Time
		err := r.Scan(&c.ID, &c.Manager, &c.Cover, &from, &to, &c.Reason, &c.Actor, &c.CreatedAt, &c.CancelledAt)
		c.From, c.To = dateOf(from), dateOf(to)
		return c, err
	})
}

// CoveredBy returns the managers whose customers managers cover on day.
func (s *Service) CoveredBy(ctx context.Context, managers []int64, day calendar.Date) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT manager_id FROM manager_covers
		WHERE cancelled_at IS NULL AND cover_id = ANY($1) AND starts_on <= $2::date AND ends_on >= $2::date`, managers, day.String())
	if err != nil {
		return nil, fmt.Errorf("read covers: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}
