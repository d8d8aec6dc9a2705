package campaigns

import (
	"cmp"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/campaigns/segment"
	"carillon/contacts"
)

// Config configures campaigns.
type Config struct {
	// Segments configures previews (time box, sample size, the zone ages are
	// counted in).
	Segments segment.Config
	// Logger. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// WithDefaults returns c with defaults applied.
func (c Config) WithDefaults() Config {
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Segments.Logger = cmp.Or(c.Segments.Logger, c.Logger)
	if c.Segments.Now == nil {
		c.Segments.Now = c.Now
	}
	return c
}

// Deps are the packages campaigns work through.
type Deps struct {
	Contacts *contacts.Store
}

// Service is the campaigns entry point: segments, the campaign lifecycle, runs.
type Service struct {
	cfg      Config
	pool     *pgxpool.Pool
	deps     Deps
	segments *segment.Store
}

// New returns the campaigns service.
func New(pool *pgxpool.Pool, deps Deps, cfg Config) (*Service, error) {
	cfg = cfg.WithDefaults()
	if deps.Contacts == nil {
		return nil, fmt.Errorf("campaigns: a contacts store is required")
	}
	segs, err := segment.NewStore(pool, deps.Contacts, cfg.Segments)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, pool: pool, deps: deps, segments: segs}, nil
}

// Segments returns the saved segments and previews.
func (s *Service) Segments() *segment.Store { return s.segments }
