package segment

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/contacts"
	"carillon/internal/apperr"
	"carillon/internal/audit"
)

// Defaults.
const (
	DefaultTimeBox    = 2 * time.Second
	DefaultSampleSize = 20
	DefaultTimeZone   = contacts.DefaultTimeZone
)

// Config configures the segment store.
type Config struct {
	// TimeBox bounds a preview's count; past it the count is the planner's
	// estimate, marked as such. Default DefaultTimeBox.
	TimeBox time.Duration
	// SampleSize is how many contacts a preview shows. Default DefaultSampleSize.
	SampleSize int
	// TimeZone is the zone whose date ages are counted at. Default DefaultTimeZone.
	TimeZone string
	// Logger. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// WithDefaults returns c with defaults applied.
func (c Config) WithDefaults() Config {
	c.TimeBox = cmp.Or(c.TimeBox, DefaultTimeBox)
	c.SampleSize = cmp.Or(c.SampleSize, DefaultSampleSize)
	c.TimeZone = cmp.Or(c.TimeZone, DefaultTimeZone)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Store keeps saved segments and previews filters.
type Store struct {
	cfg      Config
	pool     *pgxpool.Pool
	contacts *contacts.Store
	loc      *time.Location
}

// NewStore returns the segment store.
func NewStore(pool *pgxpool.Pool, cs *contacts.Store, cfg Config) (*Store, error) {
	cfg = cfg.WithDefaults()
	loc, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("segment: time zone %q: %w", cfg.TimeZone, err)
	}
	if cfg.TimeBox < 10*time.Millisecond || cfg.SampleSize < 0 || cfg.SampleSize > 1000 {
		return nil, fmt.Errorf("segment: TimeBox %s or SampleSize %d out of range", cfg.TimeBox, cfg.SampleSize)
	}
	return &Store{cfg: cfg, pool: pool, contacts: cs, loc: loc}, nil
}

// Today is the date ages are counted at.
func (s *Store) Today() time.Time { return s.cfg.Now().In(s.loc) }

// Errors.
var (
	ErrNotFound = apperr.NotFound("segment not found", "no such segment")
	ErrConflict = apperr.Conflict("a segment of that name exists", "")
	ErrBadInput = apperr.Invalid("invalid segment input")
)

// Saved is a named, saved filter.
type Saved struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Expression  string    `json:"expression"`
	Description string    `json:"description"`
	CreatedBy   string    `json:"created_by"`
	UpdatedBy   string    `json:"updated_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Input creates or changes a saved segment; nil keeps a stored value.
type Input struct {
	Name        *string `json:"name,omitempty"`
	Expression  *string `json:"expression,omitempty"`
	Description *string `json:"description,omitempty"`
}

const savedColumns = `id, name, expression, description, created_by, updated_by, created_at, updated_at`

func scanSaved(row pgx.Row) (Saved, error) {
	var v Saved
	err := row.Scan(&v.ID, &v.Name, &v.Expression, &v.Description, &v.CreatedBy, &v.UpdatedBy, &v.CreatedAt, &v.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, ErrNotFound
	}
	return v, err
}

func checkName(n string) error {
	if strings.TrimSpace(n) == "" || len([]rune(n)) > 100 {
		return fmt.Errorf("%w: name must be 1–100 characters", ErrBadInput)
	}
	return nil
}

// Create saves a new segment; its expression must compile.
func (s *Store) Create(ctx context.Context, actor audit.Actor, in Input) (Saved, error) {
	if in.Name == nil || in.Expression == nil {
		return Saved{}, fmt.Errorf("%w: name and expression are required", ErrBadInput)
	}
	if err := checkName(*in.Name); err != nil {
		return Saved{}, err
	}
	if seg, err := Compile(*in.Expression); err != nil {
		return Saved{}, err
	} else if err := s.Check(ctx, seg); err != nil {
		return Saved{}, err
	}
	var out Saved
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		out, err = scanSaved(tx.QueryRow(ctx, `INSERT INTO segments (name, expression, description, created_by, created_by_user, updated_by, created_at, updated_at)
			VALUES (@name, @expression, @description, @actor, @user, @actor, @at, @at) ON CONFLICT (name) DO NOTHING
			RETURNING `+savedColumns, pgx.NamedArgs{"name": strings.TrimSpace(*in.Name), "expression": *in.Expression,
			"description": deref(in.Description), "actor": actor.String(), "user": actor.UserID, "at": s.cfg.Now()}))
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: %q", ErrConflict, strings.TrimSpace(*in.Name))
		}
		if err != nil {
			return fmt.Errorf("save segment: %w", err)
		}
		return audit.Append(ctx, tx, actor, s.cfg.Now(), audit.Entry{Action: "segment.create", ObjectType: "segment", ObjectID: strconv.FormatInt(out.ID, 10),
			Changes: map[string]any{"name": out.Name, "expression": out.Expression}})
	})
	return out, err
}

// Update changes a saved segment. Campaigns keep the expression they copied; a
// change here reaches a campaign only when it is edited to use the segment again.
func (s *Store) Update(ctx context.Context, actor audit.Actor, id int64, in Input) (Saved, error) {
	if in.Name != nil {
		if err := checkName(*in.Name); err != nil {
			return Saved{}, err
		}
	}
	if in.Expression != nil {
		if seg, err := Compile(*in.Expression); err != nil {
			return Saved{}, err
		} else if err := s.Check(ctx, seg); err != nil {
			return Saved{}, err
		}
	}
	var out Saved
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var name *string
		if in.Name != nil {
			n := strings.TrimSpace(*in.Name)
			name = &n
		}
		var err error
		out, err = scanSaved(tx.QueryRow(ctx, `UPDATE segments SET name = COALESCE(@name, name), expression = COALESCE(@expression, expression),
			description = COALESCE(@description, description), updated_by = @actor, updated_at = @at WHERE id = @id
			RETURNING `+savedColumns, pgx.NamedArgs{"id": id, "name": name, "expression": in.Expression,
			"description": in.Description, "actor": actor.String(), "at": s.cfg.Now()}))
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return fmt.Errorf("%w: %q", ErrConflict, *name)
		}
		if err != nil {
			return err
		}
		ch := map[string]any{}
		if in.Name != nil {
			ch["name"] = out.Name
		}
		if in.Expression != nil {
			ch["expression"] = out.Expression
		}
		if in.Description != nil {
			ch["description"] = out.Description
		}
		return audit.Append(ctx, tx, actor, s.cfg.Now(), audit.Entry{Action: "segment.update", ObjectType: "segment", ObjectID: strconv.FormatInt(id, 10), Changes: ch})
	})
	return out, err
}

// Delete removes a saved segment (campaigns keep their copy of its expression).
func (s *Store) Delete(ctx context.Context, actor audit.Actor, id int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var name string
		if err := tx.QueryRow(ctx, `DELETE FROM segments WHERE id = $1 RETURNING name`, id).Scan(&name); errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("delete segment: %w", err)
		}
		return audit.Append(ctx, tx, actor, s.cfg.Now(), audit.Entry{Action: "segment.delete", ObjectType: "segment", ObjectID: strconv.FormatInt(id, 10), Changes: map[string]any{"name": name}})
	})
}

// Get returns a saved segment by id.
func (s *Store) Get(ctx context.Context, id int64) (Saved, error) {
	return scanSaved(s.pool.QueryRow(ctx, `SELECT `+savedColumns+` FROM segments WHERE id = $1`, id))
}

// GetByName returns a saved segment by name.
func (s *Store) GetByName(ctx context.Context, name string) (Saved, error) {
	return scanSaved(s.pool.QueryRow(ctx, `SELECT `+savedColumns+` FROM segments WHERE name = $1`, strings.TrimSpace(name)))
}

// List returns every saved segment by name.
func (s *Store) List(ctx context.Context) ([]Saved, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+savedColumns+` FROM segments ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Saved, error) { return scanSaved(r) })
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Audience is the predicate of the contacts a segment reaches: active, not
// erased, matching the filter; contacts table alias c; arguments from $start.
func (s *Store) Audience(seg *Segment, start int) (string, []any) {
	where, args := seg.SQL(start, s.Today())
	return `c.status = 'active' AND c.erased_at IS NULL AND ` + where, args
}

// Preview is what a filter reaches now.
type Preview struct {
	Count int64 `json:"count"`
	// Estimated says Count is the query planner's estimate: counting took longer
	// than the time box.
	Estimated bool               `json:"estimated"`
	Sample    []contacts.Contact `json:"sample"` // unmasked: the caller masks by role
	TookMS    int64              `json:"took_ms"`
}

// Preview counts the active, unerased contacts a filter reaches and returns a
// sample, within the time box (timeBox 0: the configured one). When the count
// runs out of time, the planner's estimate is returned, marked estimated.
func (s *Store) Preview(ctx context.Context, seg *Segment, timeBox time.Duration) (Preview, error) {
	if err := s.Check(ctx, seg); err != nil {
		return Preview{}, err
	}
	start := time.Now()
	if timeBox <= 0 {
		timeBox = s.cfg.TimeBox
	}
	deadline := start.Add(timeBox)
	where, args := s.Audience(seg, 1)
	var p Preview
	var ids []int64
	timedOut := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := setTimeout(ctx, tx, time.Until(deadline)); err != nil {
			return err
		}
		// A sample without ORDER BY stops at the first matches it finds.
		rows, err := tx.Query(ctx, contacts.AudienceIDsSQL(where, s.cfg.SampleSize, false), args...)
		if err != nil {
			return err
		}
		if ids, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			return err
		}
		if err := setTimeout(ctx, tx, time.Until(deadline)); err != nil {
			return err
		}
		return tx.QueryRow(ctx, contacts.AudienceCountSQL(where), args...).Scan(&p.Count)
	})
	if isCanceled(err) && ctx.Err() == nil {
		timedOut = true
	} else if err != nil {
		return p, fmt.Errorf("preview segment: %w", err)
	}
	if timedOut {
		p.Estimated = true
		if p.Count, err = s.estimate(ctx, where, args); err != nil {
			return p, err
		}
	}
	if len(ids) > 0 {
		cs, err := s.contacts.GetMany(ctx, ids)
		if err != nil {
			return p, err
		}
		slices.Sort(ids)
		for _, id := range ids {
			if c, ok := cs[id]; ok {
				p.Sample = append(p.Sample, c)
			}
		}
	}
	if p.Sample == nil {
		p.Sample = []contacts.Contact{}
	}
	p.TookMS = time.Since(start).Milliseconds()
	return p, nil
}

// Count counts a filter's audience with no time box (a run's snapshot and a
// campaign's review use it).
func (s *Store) Count(ctx context.Context, seg *Segment) (int64, error) {
	where, args := s.Audience(seg, 1)
	var n int64
	if err := s.pool.QueryRow(ctx, contacts.AudienceCountSQL(where), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count segment: %w", err)
	}
	return n, nil
}

// Sample returns up to n contacts of a filter's audience, in id order.
func (s *Store) Sample(ctx context.Context, seg *Segment, n int) ([]contacts.Contact, error) {
	where, args := s.Audience(seg, 1)
	rows, err := s.pool.Query(ctx, contacts.AudienceIDsSQL(where, n, true), args...)
	if err != nil {
		return nil, fmt.Errorf("sample segment: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("sample segment: %w", err)
	}
	cs, err := s.contacts.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]contacts.Contact, 0, len(ids))
	for _, id := range ids {
		if c, ok := cs[id]; ok {
			out = append(out, c)
		}
	}
	return out, nil
}

func setTimeout(ctx context.Context, tx pgx.Tx, d time.Duration) error {
	ms := max(d.Milliseconds(), 1)
	_, err := tx.Exec(ctx, `SELECT set_config('statement_timeout', $1, true)`, strconv.FormatInt(ms, 10)+"ms")
	return err
}

func isCanceled(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "57014"
}

// estimate is the planner's row estimate for the filter.
func (s *Store) estimate(ctx context.Context, where string, args []any) (int64, error) {
	var plan []byte
	if err := s.pool.QueryRow(ctx, contacts.AudienceExplainSQL(where), args...).Scan(&plan); err != nil {
		return 0, fmt.Errorf("estimate segment: %w", err)
	}
	var doc []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		} `json:"Plan"`
	}
	if err := json.Unmarshal(plan, &doc); err != nil || len(doc) == 0 {
		return 0, fmt.Errorf("estimate segment: unreadable plan: %v", err)
	}
	return int64(doc[0].Plan.Rows), nil
}
