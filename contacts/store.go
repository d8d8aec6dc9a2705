package contacts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultImportChunk is how many rows an import stages and merges per transaction.
const DefaultImportChunk = 5000

// DefaultImportWorkers is how many connections merge import chunks at once.
const DefaultImportWorkers = 3

// DefaultMaxListedErrors is how many row errors an import report lists; the counts
// always cover every row.
const DefaultMaxListedErrors = 10000

// Config configures a Store.
type Config struct {
	// Logger receives operational logs. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// ImportChunk is the number of rows per import transaction. Default DefaultImportChunk.
	ImportChunk int
	// ImportWorkers is how many connections merge import chunks at once. Default
	// DefaultImportWorkers.
	ImportWorkers int
	// MaxListedErrors caps the errors listed in an import report. Default DefaultMaxListedErrors.
	MaxListedErrors int
	// BulkMax is how many contacts one bulk tag change or list export may
	// touch. Default DefaultBulkMax.
	BulkMax int
}

// WithDefaults returns c with defaults applied.
func (c Config) WithDefaults() Config {
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	if c.Now == nil {
		c.Now = time.Now
	}
	c.ImportChunk = cmp.Or(c.ImportChunk, DefaultImportChunk)
	c.MaxListedErrors = cmp.Or(c.MaxListedErrors, DefaultMaxListedErrors)
	c.ImportWorkers = cmp.Or(c.ImportWorkers, DefaultImportWorkers)
	c.BulkMax = cmp.Or(c.BulkMax, DefaultBulkMax)
	return c
}

func (c Config) validate() error {
	if c.ImportChunk < 1 || c.ImportChunk > 1_000_000 {
		return fmt.Errorf("contacts: ImportChunk %d out of range 1..1000000", c.ImportChunk)
	}
	if c.ImportWorkers < 1 || c.ImportWorkers > 16 {
		return fmt.Errorf("contacts: ImportWorkers %d out of range 1..16", c.ImportWorkers)
	}
	return nil
}

// Store reads and writes contacts, managers, consents and the timeline.
type Store struct {
	pool      *pgxpool.Pool
	cfg       Config
	erasers   []Eraser
	exporters []Exporter
}

// NewStore returns a store on pool.
func NewStore(pool *pgxpool.Pool, cfg Config) (*Store, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Store{pool: pool, cfg: cfg}, nil
}

// Pool returns the store's pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// importLockKey serialises imports of contacts with each other, so two imports of
// overlapping files cannot race on new external ids.
const importLockKey int64 = 0x636f6e7461637473

func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

func isIntegrity(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code[:2] == "23" || pe.Code[:2] == "22")
}

// EnsureEventPartitions creates the timeline's monthly partitions from the month of
// from for months months. Serve calls it at start and daily.
func (s *Store) EnsureEventPartitions(ctx context.Context, from time.Time, months int) (int, error) {
	var made int
	err := s.pool.QueryRow(ctx, `SELECT carillon_ensure_event_partitions($1::date, $2)`, from.UTC().Format("2006-01-02"), months).Scan(&made)
	if err != nil {
		return 0, fmt.Errorf("ensure timeline partitions: %w", err)
	}
	return made, nil
}

// EnsurePartitionsArgs is the daily River job that keeps a year of timeline
// partitions ahead of today.
type EnsurePartitionsArgs struct{}

// Kind implements river.JobArgs.
func (EnsurePartitionsArgs) Kind() string { return "contacts.ensure_partitions" }

// EventPartitionsAhead is how many months of timeline partitions exist ahead.
const EventPartitionsAhead = 13

// AttrTypes counts the JSON types (number, string, boolean, …) that attribute
// key has among up to sample contacts holding it, erased ones left out: what a
// filter over attrs is checked against (attrs have no declared type).
func (s *Store) AttrTypes(ctx context.Context, key string, sample int) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT jsonb_typeof(attrs -> $1), count(*) FROM (
		SELECT attrs FROM contacts WHERE attrs ? $1 AND erased_at IS NULL LIMIT $2) s GROUP BY 1`, key, sample)
	if err != nil {
		return nil, fmt.Errorf("attribute types of %s: %w", key, err)
	}
	defer rows.Close()
	m := map[string]int{}
	for rows.Next() {
		var t string
		var n int
		if err := rows.Scan(&t, &n); err != nil {
			return nil, fmt.Errorf("attribute types of %s: %w", key, err)
		}
		m[t] = n
	}
	return m, rows.Err()
}

// AttrKeys lists the attribute keys up to sample contacts hold, sorted.
func (s *Store) AttrKeys(ctx context.Context, sample int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT k FROM (SELECT attrs FROM contacts WHERE erased_at IS NULL AND attrs <> '{}' LIMIT $1) s,
		LATERAL jsonb_object_keys(s.attrs) AS k ORDER BY k`, sample)
	if err != nil {
		return nil, fmt.Errorf("read attribute keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("read attribute keys: %w", err)
	}
	return keys, nil
}

// TagsInUse lists the tags up to sample contacts hold, the most held first
// (then by name), at most limit of them: the choices a filter's tag picker offers.
func (s *Store) TagsInUse(ctx context.Context, sample, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT t FROM (SELECT tags FROM contacts WHERE erased_at IS NULL AND tags <> '{}' LIMIT $1) s,
		LATERAL unnest(s.tags) AS t GROUP BY t ORDER BY count(*) DESC, t LIMIT $2`, sample, limit)
	if err != nil {
		return nil, fmt.Errorf("read tags in use: %w", err)
	}
	tags, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("read tags in use: %w", err)
	}
	return tags, nil
}
