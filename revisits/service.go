package revisits

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/calendar"
	"carillon/contacts"
	"carillon/delivery"
)

// Enqueuer writes planned messages in the caller's transaction; delivery's
// Service implements it.
type Enqueuer interface {
	Enqueue(ctx context.Context, tx pgx.Tx, planned []delivery.Planned) (delivery.EnqueueResult, error)
}

// Errors. Not found is contacts.ErrNotFound and bad input a
// *contacts.ValidationError, so the server maps them as it does the contacts'.
var (
	ErrNotFound = contacts.ErrNotFound
	// ErrConflict: the request contradicts the stored state (a feedback record
	// moved backwards, overlapping covers).
	ErrConflict = contacts.ErrConflict
)

var attrKeyRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// Service is the revisits package's entry point.
type Service struct {
	cfg       Config
	pool      *pgxpool.Pool
	contacts  *contacts.Store
	enq       Enqueuer
	loc       *time.Location
	hour, min int
}

// New returns the service. enq may be nil for a service that only records
// (no digests are planned then).
func New(pool *pgxpool.Pool, store *contacts.Store, enq Enqueuer, cfg Config) (*Service, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if pool == nil || store == nil {
		return nil, fmt.Errorf("%w: a pool and a contacts store are required", ErrConfig)
	}
	loc, _ := time.LoadLocation(cfg.TimeZone)
	h, m, _ := parseClock(cfg.DigestTime)
	return &Service{cfg: cfg, pool: pool, contacts: store, enq: enq, loc: loc, hour: h, min: m}, nil
}

// Config returns the service's configuration, defaults applied.
func (s *Service) Config() Config { return s.cfg }

// Today is the current day in the service's zone.
func (s *Service) Today() calendar.Date { return calendar.DateOf(s.cfg.Now().In(s.loc)) }

// invalid is a validation error naming one field.
func invalid(field, format string, args ...any) error {
	return &contacts.ValidationError{Fields: []contacts.FieldError{{Field: field, Message: fmt.Sprintf(format, args...)}}}
}

// fieldErrors collects the bad fields of one input.
type fieldErrors []contacts.FieldError

func (f *fieldErrors) add(field, format string, args ...any) {
	*f = append(*f, contacts.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return &contacts.ValidationError{Fields: f}
}

func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
