package revisits

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/calendar"
	"carillon/contacts"
	"carillon/internal/audit"
)

// Feedback categories.
const (
	Suggestion = "suggestion"
	Need       = "need"
	Complaint  = "complaint"
)

// Categories are the feedback categories.
var Categories = []string{Suggestion, Need, Complaint}

// FeedbackState is where a feedback record is in its follow-up.
type FeedbackState string

// Feedback states, in the only order they move (CanBecome); the SQL CHECK on
// feedback.state holds the same set (TestFeedbackStatesAreTheSQLCheck).
const (
	StateOpen       FeedbackState = "open"
	StateInProgress FeedbackState = "in_progress"
	StateResolved   FeedbackState = "resolved"
)

// States are the feedback states in order.
var States = []FeedbackState{StateOpen, StateInProgress, StateResolved}

// FilterUnresolved is the FeedbackFilter state that selects every record not
// resolved.
const FilterUnresolved = "unresolved"

// Final reports whether a record in state s never changes again.
func (s FeedbackState) Final() bool { return s == StateResolved }

// CanBecome reports whether a record in state s may move to state to: only
// forward (open → in_progress → resolved; staying is no move), never from a
// final state. It is the one rule of a record's moves.
func (s FeedbackState) CanBecome(to FeedbackState) bool {
	from, next := slices.Index(States, s), slices.Index(States, to)
	return !s.Final() && from >= 0 && next >= from
}

// FeedbackInput is a suggestion, need or complaint to record.
type FeedbackInput struct {
	// ContactID is the customer (the path's, with a revisit).
	ContactID int64  `json:"contact_id,omitempty"`
	Category  string `json:"category"`
	Summary   string `json:"summary"`
	// Solution is the proposed solution, if one is known yet.
	Solution string `json:"solution,omitempty"`
	// Owner is the code of the manager who follows it up. Default: the
	// customer's manager.
	Owner     string `json:"owner,omitempty"`
	RevisitID int64  `json:"-"`
}

func (in *FeedbackInput) check(f *fieldErrors, prefix string, withRevisit bool) {
	if !withRevisit && in.ContactID <= 0 {
		f.add(prefix+"contact_id", "is required")
	}
	if !slices.Contains(Categories, in.Category) {
		f.add(prefix+"category", "%q is not a category (suggestion, need, complaint)", in.Category)
	}
	checkText(f, prefix+"summary", in.Summary, true)
	checkText(f, prefix+"solution", in.Solution, false)
}

// Feedback is a recorded suggestion, need or complaint.
type Feedback struct {
	ID         int64          `json:"id"`
	ContactID  int64          `json:"contact_id"`
	RevisitID  *int64         `json:"revisit_id,omitempty"`
	Category   string         `json:"category"`
	Summary    string         `json:"summary"`
	Solution   string         `json:"solution"`
	Owner      string         `json:"owner"`
	OwnerID    int64          `json:"-"`
	State      FeedbackState  `json:"state"`
	OpenedOn   calendar.Date  `json:"opened_on"`
	SLADue     *calendar.Date `json:"sla_due,omitempty"`
	ResolvedOn *calendar.Date `json:"resolved_on,omitempty"`
	Actor      string         `json:"actor"`
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
}

// insertFeedback records one feedback item about contact c in tx and returns
// it with its timeline event. A complaint gets its SLA day and an alert for
// its owner.
func (s *Service) insertFeedback(ctx context.Context, tx pgx.Tx, actor audit.Actor, c contacts.Contact, in FeedbackInput, today calendar.Date, now time.Time) (Feedback, contacts.Event, error) {
	fb := Feedback{ContactID: c.ID, Category: in.Category, Summary: in.Summary, Solution: in.Solution, State: StateOpen,
		OpenedOn: today, Actor: actor.String(), CreatedAt: now, UpdatedAt: now}
	if in.RevisitID != 0 {
		id := in.RevisitID
		fb.RevisitID = &id
	}
	if in.Owner != "" {
		if err := tx.QueryRow(ctx, `SELECT id, code FROM manager_refs WHERE code = $1`, in.Owner).Scan(&fb.OwnerID, &fb.Owner); err != nil {
			if notFound(err) == ErrNotFound {
				return fb, contacts.Event{}, invalid("owner", "no manager has code %q", in.Owner)
			}
			return fb, contacts.Event{}, err
		}
	} else {
		if c.ManagerID == 0 {
			return fb, contacts.Event{}, invalid("owner", "is required: the customer has no manager")
		}
		fb.OwnerID, fb.Owner = c.ManagerID, c.Manager
	}
	if in.Category == Complaint {
		d, _ := s.cfg.Festivals.AddBusinessDays(today, s.cfg.ComplaintSLA)
		fb.SLADue = &d
	}
	err := tx.QueryRow(ctx, `INSERT INTO feedback (contact_id, revisit_id, category, summary, solution, owner_id, state, opened_on, sla_due, actor, created_at, updated_at)
		VALUES (@contact_id, @revisit_id, @category, @summary, @solution, @owner_id, @state, @opened_on::date, @sla_due::date, @actor, @now, @now) RETURNING id`,
		pgx.NamedArgs{"contact_id": c.ID, "revisit_id": fb.RevisitID, "category": fb.Category, "summary": fb.Summary, "solution": fb.Solution,
			"owner_id": fb.OwnerID, "state": string(fb.State), "opened_on": today.String(), "sla_due": dateArg(fb.SLADue), "actor": fb.Actor, "now": now}).Scan(&fb.ID)
	if err != nil {
		return fb, contacts.Event{}, fmt.Errorf("insert feedback: %w", err)
	}
	if in.Category == Complaint {
		if _, err := tx.Exec(ctx, `INSERT INTO revisit_alerts (contact_id, manager_id, rule, data, at) VALUES ($1, $2, 'complaint', $3, $4)`,
			c.ID, fb.OwnerID, mustJSON(map[string]any{"feedback_id": fb.ID, "sla_due": fb.SLADue}), now); err != nil {
			return fb, contacts.Event{}, fmt.Errorf("complaint alert: %w", err)
		}
		if err := s.pushComplaint(ctx, tx, c, fb, today); err != nil {
			return fb, contacts.Event{}, err
		}
	}
	data := map[string]any{"feedback_id": fb.ID, "category": fb.Category, "owner": fb.Owner}
	if fb.RevisitID != nil {
		data["revisit_id"] = *fb.RevisitID
	}
	if fb.SLADue != nil {
		data["sla_due"] = fb.SLADue
	}
	ev := contacts.Event{ContactID: c.ID, At: now, Kind: EventFeedbackLogged, Actor: fb.Actor,
		Summary: fb.Category + " recorded, owner " + fb.Owner, Data: mustJSON(data)}
	return fb, ev, nil
}

// CreateFeedback records a suggestion, need or complaint on its own (not with
// a revisit), with its timeline event and audit row.
func (s *Service) CreateFeedback(ctx context.Context, actor audit.Actor, in FeedbackInput) (Feedback, error) {
	var f fieldErrors
	in.check(&f, "", false)
	if err := f.err(); err != nil {
		return Feedback{}, err
	}
	c, err := s.contacts.Get(ctx, in.ContactID)
	if err != nil {
		return Feedback{}, err
	}
	if c.ErasedAt != nil {
		return Feedback{}, contacts.ErrErased
	}
	now := s.cfg.Now()
	var fb Feedback
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var ev contacts.Event
		var err error
		if fb, ev, err = s.insertFeedback(ctx, tx, actor, c, in, s.Today(), now); err != nil {
			return err
		}
		if err := contacts.AppendEvents(ctx, tx, []contacts.Event{ev}); err != nil {
			return err
		}
		return audit.Append(ctx, tx, actor, now, audit.Entry{Action: "feedback.create", ObjectType: "feedback", ObjectID: strconv.FormatInt(fb.ID, 10),
			Changes: map[string]any{"contact_id": fb.ContactID, "category": fb.Category, "owner": fb.Owner}})
	})
	if err != nil {
		return Feedback{}, err
	}
	return fb, nil
}

const feedbackColumns = `f.id, f.contact_id, f.revisit_id, f.category, f.summary, f.solution, m.code, f.owner_id, f.state, f.opened_on,
  f.sla_due, f.resolved_on, f.actor, f.created_at, f.updated_at`

const feedbackFrom = ` FROM feedback f JOIN manager_refs m ON m.id = f.owner_id `

func scanFeedback(row pgx.Row) (Feedback, error) {
	var fb Feedback
	var opened time.Time
	var sla, resolved *time.Time
	err := row.Scan(&fb.ID, &fb.ContactID, &fb.RevisitID, &fb.Category, &fb.Summary, &fb.Solution, &fb.Owner, &fb.OwnerID, &fb.State,
		&opened, &sla, &resolved, &fb.Actor, &fb.CreatedAt, &fb.UpdatedAt)
	if err != nil {
		return fb, notFound(err)
	}
	fb.OpenedOn = dateOf(opened)
	if sla != nil {
		d := dateOf(*sla)
		fb.SLADue = &d
	}
	if resolved != nil {
		d := dateOf(*resolved)
		fb.ResolvedOn = &d
	}
	return fb, nil
}

// FeedbackScope limits which feedback a caller sees: with Restricted, only
// records owned by ManagerIDs or about their customers.
type FeedbackScope struct {
	Restricted bool
	ManagerIDs []int64
}

const feedbackScopeSQL = ` AND (NOT $%d OR f.owner_id = ANY($%d) OR EXISTS (SELECT 1 FROM contact_cards c WHERE c.id = f.contact_id AND c.manager_id = ANY($%d)))`

// feedbackScopeNamed is feedbackScopeSQL with named arguments (@restricted, @managers).
var feedbackScopeNamed = strings.NewReplacer("$%d", "@restricted", "ANY($%d)", "ANY(@managers)").Replace(feedbackScopeSQL)

// GetFeedback returns one record within scope (ErrNotFound outside it).
func (s *Service) GetFeedback(ctx context.Context, scope FeedbackScope, id int64) (Feedback, error) {
	return scanFeedback(s.pool.QueryRow(ctx, `SELECT `+feedbackColumns+feedbackFrom+`WHERE f.id = $1`+fmt.Sprintf(feedbackScopeSQL, 2, 3, 3),
		id, scope.Restricted, scope.ManagerIDs))
}

// FeedbackFilter selects feedback. Empty fields do not filter.
type FeedbackFilter struct {
	Scope     FeedbackScope
	ContactID int64
	Owner     string
	Category  string
	State     string // a FeedbackState, or FilterUnresolved
	// After is an id cursor: records with smaller ids (latest first).
	After int64
	Limit int
}

// ListFeedback lists feedback, latest first.
func (s *Service) ListFeedback(ctx context.Context, f FeedbackFilter) ([]Feedback, error) {
	var fe fieldErrors
	if f.Category != "" && !slices.Contains(Categories, f.Category) {
		fe.add("category", "%q is not a category (suggestion, need, complaint)", f.Category)
	}
	if f.State != "" && f.State != FilterUnresolved && !slices.Contains(States, FeedbackState(f.State)) {
		fe.add("state", "%q is not a state (open, in_progress, resolved, unresolved)", f.State)
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Limit < 0 || f.Limit > MaxListed {
		fe.add("limit", "%d is out of range 1..%d", f.Limit, MaxListed)
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+feedbackColumns+feedbackFrom+`WHERE (@contact = 0 OR f.contact_id = @contact) AND (@owner = '' OR m.code = @owner)
		AND (@category = '' OR f.category = @category) AND (@state = '' OR f.state = @state OR (@state = @unresolved AND f.state <> @resolved))
		AND (@after = 0 OR f.id < @after)`+feedbackScopeNamed+` ORDER BY f.id DESC LIMIT @limit`,
		pgx.NamedArgs{"contact": f.ContactID, "owner": f.Owner, "category": f.Category, "state": f.State, "unresolved": FilterUnresolved,
			"resolved": string(StateResolved), "after": f.After, "restricted": f.Scope.Restricted, "managers": f.Scope.ManagerIDs, "limit": f.Limit})
	if err != nil {
		return nil, fmt.Errorf("list feedback: %w", err)
	}
	out := []Feedback{}
	for rows.Next() {
		fb, err := scanFeedback(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, fb)
	}
	return out, rows.Err()
}

// FeedbackChange follows a record up: its state moves forward only (open →
// in_progress → resolved), its solution and owner may change until resolved.
type FeedbackChange struct {
	State    *FeedbackState `json:"state,omitempty"`
	Solution *string        `json:"solution,omitempty"`
	Owner    *string        `json:"owner,omitempty"`
}

// UpdateFeedback applies a change to a record within scope, with a timeline
// event and an audit row.
func (s *Service) UpdateFeedback(ctx context.Context, actor audit.Actor, scope FeedbackScope, id int64, ch FeedbackChange) (Feedback, error) {
	var fe fieldErrors
	if ch.State != nil && !slices.Contains(States, *ch.State) {
		fe.add("state", "%q is not a state (open, in_progress, resolved)", *ch.State)
	}
	if ch.Solution != nil {
		checkText(&fe, "solution", *ch.Solution, false)
	}
	if ch.State == nil && ch.Solution == nil && ch.Owner == nil {
		fe.add("state", "nothing to change: give state, solution or owner")
	}
	if err := fe.err(); err != nil {
		return Feedback{}, err
	}
	now := s.cfg.Now()
	today := s.Today()
	var fb Feedback
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		fb, err = scanFeedback(tx.QueryRow(ctx, `SELECT `+feedbackColumns+feedbackFrom+`WHERE f.id = $1`+fmt.Sprintf(feedbackScopeSQL, 2, 3, 3)+` FOR UPDATE OF f`,
			id, scope.Restricted, scope.ManagerIDs))
		if err != nil {
			return err
		}
		changes := map[string]any{}
		if fb.State.Final() {
			return fmt.Errorf("%w: feedback %d is resolved; it cannot change any more", ErrConflict, id)
		}
		if ch.State != nil && *ch.State != fb.State {
			if !fb.State.CanBecome(*ch.State) {
				return fmt.Errorf("%w: feedback %d is %s; its state moves forward only (open → in_progress → resolved)", ErrConflict, id, fb.State)
			}
			changes["state"] = map[string]string{"from": string(fb.State), "to": string(*ch.State)}
			fb.State = *ch.State
			if fb.State == StateResolved {
				fb.ResolvedOn = &today
			}
		}
		if ch.Solution != nil && *ch.Solution != fb.Solution {
			changes["solution"] = true
			fb.Solution = *ch.Solution
		}
		if ch.Owner != nil && *ch.Owner != fb.Owner {
			var oid int64
			if err := tx.QueryRow(ctx, `SELECT id FROM manager_refs WHERE code = $1`, *ch.Owner).Scan(&oid); err != nil {
				if notFound(err) == ErrNotFound {
					return invalid("owner", "no manager has code %q", *ch.Owner)
				}
				return err
			}
			changes["owner"] = map[string]string{"from": fb.Owner, "to": *ch.Owner}
			fb.Owner, fb.OwnerID = *ch.Owner, oid
		}
		if len(changes) == 0 {
			return nil
		}
		fb.UpdatedAt = now
		if _, err := tx.Exec(ctx, `UPDATE feedback SET state = @state, solution = @solution, owner_id = @owner_id, resolved_on = @resolved_on::date, updated_at = @now
			WHERE id = @id`, pgx.NamedArgs{"id": id, "state": string(fb.State), "solution": fb.Solution, "owner_id": fb.OwnerID,
			"resolved_on": dateArg(fb.ResolvedOn), "now": now}); err != nil {
			return fmt.Errorf("update feedback %d: %w", id, err)
		}
		data := map[string]any{"feedback_id": id, "category": fb.Category, "state": fb.State}
		if o, ok := changes["owner"]; ok {
			data["owner"] = o
		}
		if err := contacts.AppendEvents(ctx, tx, []contacts.Event{{ContactID: fb.ContactID, At: now, Kind: EventFeedbackState, Actor: actor.String(),
			Summary: fmt.Sprintf("%s %d: %s", fb.Category, id, fb.State), Data: mustJSON(data)}}); err != nil {
			return err
		}
		return audit.Append(ctx, tx, actor, now, audit.Entry{Action: "feedback.update", ObjectType: "feedback", ObjectID: strconv.FormatInt(id, 10), Changes: changes})
	})
	if err != nil {
		return Feedback{}, err
	}
	return fb, nil
}
