package campaigns

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"carillon/campaigns/segment"
	"carillon/channels"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/clock"
	"carillon/templates"
)

// Defaults.
const (
	DefaultSamples    = 3                // rendered samples per channel shown to the approver
	DefaultBatch      = 5000             // recipients written to the outbox per transaction
	DefaultHorizon    = time.Minute      // how far ahead of its send time a throttled message is written
	DefaultRunBudget  = 50 * time.Second // how long one fan-out job works before it continues as a new one
	DefaultPauseWait  = 20 * time.Second // how long a pause waits for messages already handed to a provider
	DefaultCurrency   = "CNY"
	DefaultRunTimeout = 5 * time.Minute
	DefaultSlices     = 3                // jobs writing an unthrottled run's messages at once
	DefaultDrainPoll  = 15 * time.Second // how often a run whose messages are all written checks they are handed on
)

// Pricing is what the approver's cost estimate is made of.
type Pricing struct {
	// SMS is the price of one SMS part by provider name.
	SMS map[string]float64
	// Email and WeChat are the prices of one message.
	Email, WeChat float64
	// Currency names the unit of the prices. Default DefaultCurrency.
	Currency string
	// MonthlyBudget, when positive, is what campaigns approved in a calendar month
	// may cost together; a review says how much of it is left.
	MonthlyBudget float64
}

// SMSProvider names an SMS provider and its kind (aliyun, tencent, twilio).
type SMSProvider struct{ Name, Kind string }

// Config configures campaigns.
type Config struct {
	// Segments configures previews (time box, sample size, the zone ages are
	// counted in).
	Segments segment.Config
	// Pricing makes the cost estimate.
	Pricing Pricing
	// SMSProviders are the SMS providers marketing goes through, in order, when
	// Deps.Registry is not given (the CLI); the estimate prices the first.
	SMSProviders []SMSProvider
	// Samples is how many contacts' messages a review renders per channel.
	// Default DefaultSamples.
	Samples int
	// Batch is how many recipients one fan-out transaction writes. Default
	// DefaultBatch.
	Batch int
	// Slices is how many jobs write an unthrottled run's messages at once, each
	// a range of its recipients; 1 writes them in one job. Default DefaultSlices.
	Slices int
	// Horizon is how far ahead of its send time a throttled message is written
	// to the outbox. Default DefaultHorizon.
	Horizon time.Duration
	// RunBudget is how long one fan-out job works before it continues itself.
	// Default DefaultRunBudget.
	RunBudget time.Duration
	// DrainPoll is how often a run whose messages are all written looks whether
	// they have all been handed on (then the run is completed). Default
	// DefaultDrainPoll.
	DrainPoll time.Duration
	// PauseWait is how long a pause waits for messages a provider is being
	// handed at that moment. Default DefaultPauseWait.
	PauseWait time.Duration
	// SecondApprovalAbove, when positive, is the audience size above which a
	// run's snapshot needs a second approval when it grew past the approved
	// review's count.
	SecondApprovalAbove int64
	// AfterBatch, when set, is called after each fan-out batch is written, in its
	// transaction; an error fails the job as a crash would (the batch is not
	// committed). For fault drills and tests; leave nil in production.
	AfterBatch func(runID, cursor int64) error
	// Bank is the sender's identity, the templates' .Bank.
	Bank templates.Bank
	// ConsoleURL is the console's base URL, for the link in the notice that
	// tells an author of a decision. Default: the delivery service's
	// PublicURL + "/console".
	ConsoleURL string
	// Logger. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now. When set (tests), the River jobs the
	// service inserts are timed by it too: give the same clock to River's workers
	// (river.Config.Test.Time).
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
	c.Samples = cmp.Or(c.Samples, DefaultSamples)
	c.Batch = cmp.Or(c.Batch, DefaultBatch)
	c.Slices = cmp.Or(c.Slices, DefaultSlices)
	c.Horizon = cmp.Or(c.Horizon, DefaultHorizon)
	c.RunBudget = cmp.Or(c.RunBudget, DefaultRunBudget)
	c.PauseWait = cmp.Or(c.PauseWait, DefaultPauseWait)
	c.DrainPoll = cmp.Or(c.DrainPoll, DefaultDrainPoll)
	c.Pricing.Currency = cmp.Or(c.Pricing.Currency, DefaultCurrency)
	return c
}

func (c Config) validate() error {
	switch {
	case c.Samples < 1 || c.Samples > 20:
		return fmt.Errorf("campaigns: Samples %d out of range 1..20", c.Samples)
	case c.Batch < 1 || c.Batch > 50000:
		return fmt.Errorf("campaigns: Batch %d out of range 1..50000", c.Batch)
	case c.Slices < 1 || c.Slices > 64:
		return fmt.Errorf("campaigns: Slices %d out of range 1..64", c.Slices)
	case c.Horizon < time.Second:
		return fmt.Errorf("campaigns: Horizon %s is under a second", c.Horizon)
	case c.RunBudget < time.Second:
		return fmt.Errorf("campaigns: RunBudget %s is under a second", c.RunBudget)
	}
	for name, p := range c.Pricing.SMS {
		if p < 0 {
			return fmt.Errorf("campaigns: SMS price of %s is negative", name)
		}
	}
	return nil
}

// Deps are the packages campaigns work through.
type Deps struct {
	Contacts  *contacts.Store
	Templates *templates.Store   // required for campaigns (segments work without it)
	Delivery  *delivery.Service  // required to run campaigns and send tests
	Registry  *channels.Registry // optional: which SMS provider the estimate prices
}

// Service is the campaigns entry point: segments, the campaign lifecycle, runs.
type Service struct {
	cfg      Config
	pool     *pgxpool.Pool
	deps     Deps
	segments *segment.Store
	inserter *river.Client[pgx.Tx]
}

// New returns the campaigns service.
func New(pool *pgxpool.Pool, deps Deps, cfg Config) (*Service, error) {
	riverTime := clock.River(cfg.Now)
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if deps.Contacts == nil {
		return nil, fmt.Errorf("campaigns: a contacts store is required")
	}
	segs, err := segment.NewStore(pool, deps.Contacts, cfg.Segments)
	if err != nil {
		return nil, err
	}
	ins, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: cfg.Logger, Test: river.TestConfig{Time: riverTime}})
	if err != nil {
		return nil, fmt.Errorf("campaigns: river inserter: %w", err)
	}
	return &Service{cfg: cfg, pool: pool, deps: deps, segments: segs, inserter: ins}, nil
}

// Segments returns the saved segments and previews.
func (s *Service) Segments() *segment.Store { return s.segments }

func (s *Service) needs() error {
	if s.deps.Templates == nil || s.deps.Delivery == nil {
		return fmt.Errorf("campaigns: templates and delivery are required for campaigns")
	}
	return nil
}

func (s *Service) now() time.Time { return s.cfg.Now() }

// tx runs f in a transaction.
func (s *Service) tx(ctx context.Context, f func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, f)
}
