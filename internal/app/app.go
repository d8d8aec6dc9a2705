package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"carillon/calendar"
	"carillon/campaigns"
	"carillon/care"
	"carillon/channels"
	"carillon/channels/registry"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/identity"
	"carillon/migrations"
	"carillon/revisits"
	"carillon/server"
	"carillon/templates"
)

// DefaultRescueStuckJobsAfter is how long River waits before rescuing a job left
// running by a killed process (River's own default is an hour).
const DefaultRescueStuckJobsAfter = 10 * time.Minute

// Stopping: the time requests and jobs get to finish, and the deadline of each
// later step (cancelling jobs, closing provider connections and sandboxes).
const (
	DefaultGrace = 30 * time.Second
	stepDeadline = 500 * time.Millisecond
)

// Defaults of the River queues' workers.
const (
	DefaultWorkers         = 20 // River's default queue: care, partitions, retention, campaigns
	DefaultDeliveryWorkers = 50 // the deliver queue
)

// Config is what serve's world is built from: typed, already layered from the
// file, the environment and the flags by cmd.
type Config struct {
	// Logger receives every service's logs. Required.
	Logger *slog.Logger
	// Getenv reads the providers' and sign-in's secrets. Required.
	Getenv func(string) string
	// Channels are the configured providers; none: every message is
	// suppressed with reason no_channel.
	Channels channels.Config
	// Delivery configures the delivery service; its JobTimeout is set from
	// RescueStuckJobsAfter.
	Delivery delivery.Config
	// Campaigns configures the campaigns service.
	Campaigns campaigns.Config
	// Bank is the sending bank's identity, .Bank in templates.
	Bank templates.Bank
	// Calendar is the configuration's [calendar] (ServicesConfig.Calendar).
	Calendar calendar.Config
	// Server configures the HTTP server (address, console, proxies, timeouts).
	Server server.Config
	// SignIn configures the staff's sign-in.
	SignIn identity.SignInConfig
	// RescueStuckJobsAfter is when River rescues a job left running by a killed
	// process. Default DefaultRescueStuckJobsAfter.
	RescueStuckJobsAfter time.Duration
	// Workers is the default queue's workers. Default DefaultWorkers.
	Workers int
	// DeliveryWorkers is the deliver queue's workers. Default DefaultDeliveryWorkers.
	DeliveryWorkers int
	// Listener is already listening (the demo); nil: listen on Server.Addr.
	Listener net.Listener
	// Ready is called once listening, with the address.
	Ready func(addr string)
	// Grace is how long running requests and jobs may take to finish once a
	// stop is asked for; then running jobs are cancelled (their sends are
	// recorded). Default DefaultGrace.
	Grace time.Duration
}

// WithDefaults returns cfg with its defaults applied.
func (cfg Config) WithDefaults() Config {
	cfg.RescueStuckJobsAfter = cmp.Or(cfg.RescueStuckJobsAfter, DefaultRescueStuckJobsAfter)
	cfg.Workers = cmp.Or(cfg.Workers, DefaultWorkers)
	cfg.DeliveryWorkers = cmp.Or(cfg.DeliveryWorkers, DefaultDeliveryWorkers)
	cfg.Grace = cmp.Or(cfg.Grace, DefaultGrace)
	return cfg
}

func (cfg Config) validate() error {
	if cfg.Logger == nil || cfg.Getenv == nil {
		return errors.New("app: Logger and Getenv are required")
	}
	return nil
}

// World is everything serve runs: the services, the providers, River and the
// HTTP server. Close releases what Build started.
type World struct {
	*Services
	cfg      Config
	Built    *registry.Built
	River    *river.Client[pgx.Tx]
	SignIn   *identity.SignIn
	Server   *server.Server
	closeFns []func()
}

// Build checks the schema, then builds the world on pool: the providers (and
// their sandboxes), the services, River's workers and periodic jobs, and the
// HTTP server. Nothing is started but the providers' sandboxes.
func Build(ctx context.Context, pool *pgxpool.Pool, cfg Config) (_ *World, err error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := migrations.Check(ctx, pool); err != nil {
		if errors.Is(err, migrations.ErrPending) {
			return nil, fmt.Errorf("refusing to serve: %w", err)
		}
		return nil, err
	}
	if owner, err := migrations.OwnsAuditLog(ctx, pool); err != nil {
		return nil, err
	} else if owner {
		cfg.Logger.Warn("serving as the owner of the tables (or a superuser): this role can disable the audit log's triggers; run serve as a runtime role granted by `carillon migrate grant ROLE` (docs/security.md)")
	}
	w := &World{cfg: cfg}
	defer func() {
		if err != nil {
			w.Close(ctx)
		}
	}()
	built, err := registry.Build(ctx, cfg.Channels, registry.Deps{Pool: pool, Logger: cfg.Logger, Getenv: cfg.Getenv})
	if err != nil {
		return nil, fmt.Errorf("providers: %w", err)
	}
	w.Built = built
	w.closeFns = append(w.closeFns, func() {
		// Idle provider connections first, then the sandboxes, each within a deadline.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stepDeadline)
		defer cancel()
		built.Stop(sctx)
	})
	if len(cfg.Channels.Providers) == 0 {
		cfg.Logger.Warn("no providers configured: messages will be suppressed with reason no_channel (see docs/providers.md)")
	}
	dcfg := cfg.Delivery
	dcfg.Logger = cfg.Logger
	// A deliver job must end well before River would rescue it as stuck.
	dcfg.JobTimeout = min(delivery.DefaultJobTimeout, cfg.RescueStuckJobsAfter/2)
	ccfg := cfg.Campaigns
	ccfg.Logger, ccfg.Bank = cfg.Logger, cfg.Bank
	svc, err := NewServices(pool, ServicesConfig{Logger: cfg.Logger, Delivery: dcfg, Campaigns: ccfg, Bank: cfg.Bank, Registry: built.Registry, Calendar: cfg.Calendar})
	if err != nil {
		return nil, err
	}
	w.Services = svc
	if _, err := svc.Contacts.EnsureEventPartitions(ctx, time.Now(), contacts.EventPartitionsAhead); err != nil {
		return nil, err
	}
	if err := revisits.InstallTemplates(ctx, svc.Templates); err != nil {
		return nil, err
	}
	// Recurring campaigns start from the care scheduler's tick (schedules read
	// from Postgres on the leader; nothing registered at runtime).
	svc.Planner.OnTick(svc.Campaigns.Tick)
	if err := svc.Planner.EnsureFestivalRules(ctx); err != nil {
		return nil, err
	}
	// Say at start when business days will count weekends only (logged, and
	// carillon_calendar_holiday_data_missing set).
	today := calendar.DateOf(time.Now().In(contactsZone()))
	svc.Planner.CheckHolidayData(ctx, today, today.AddDays(calendar.LookAhead))
	if w.River, err = newRiver(pool, svc, cfg); err != nil {
		return nil, err
	}
	if w.SignIn, err = identity.NewSignIn(svc.Identity, cfg.SignIn); err != nil {
		return nil, err
	}
	m := w.SignIn.SignInMethods()
	cfg.Logger.Info("staff sign-in", "local_passwords", w.SignIn.LocalPasswords(), "break_glass", len(cfg.SignIn.BreakGlass),
		"oidc", m.OIDC != "", "ldap", m.LDAP)
	scfg := cfg.Server
	scfg.Logger = cfg.Logger
	w.Server, err = server.New(scfg, server.Deps{Pool: pool, Contacts: svc.Contacts, River: w.River, Auth: w.SignIn, Delivery: svc.Delivery,
		Registry: built.Registry, Templates: svc.Templates, Care: svc.Planner, Revisits: svc.Revisits, Campaigns: svc.Campaigns})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// newRiver is River's client with every worker and periodic job of serve.
func newRiver(pool *pgxpool.Pool, svc *Services, cfg Config) (*river.Client[pgx.Tx], error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, svc.Planner.TickWorker())
	river.AddWorker(workers, svc.Planner.PlanDayWorker())
	river.AddWorker(workers, &contacts.PartitionWorker{Store: svc.Contacts})
	river.AddWorker(workers, svc.Delivery.Worker(svc.Contacts))
	river.AddWorker(workers, svc.Delivery.RetentionWorker(svc.Contacts, delivery.RetentionConfig{}))
	svc.Campaigns.AddWorkers(workers)
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Logger: cfg.Logger,
		Queues: map[string]river.QueueConfig{
			river.QueueDefault:    {MaxWorkers: cfg.Workers},
			delivery.DefaultQueue: {MaxWorkers: cfg.DeliveryWorkers},
		},
		Workers:              workers,
		RescueStuckJobsAfter: cfg.RescueStuckJobsAfter,
		// River requires a job's timeout to end before it may be rescued.
		JobTimeout: min(time.Minute, cfg.RescueStuckJobsAfter),
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour), func() (river.JobArgs, *river.InsertOpts) {
				return contacts.EnsurePartitionsArgs{}, nil
			}, &river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour), func() (river.JobArgs, *river.InsertOpts) {
				return delivery.RetentionArgs{}, nil
			}, &river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(care.TickInterval), func() (river.JobArgs, *river.InsertOpts) {
				return care.TickArgs{}, nil
			}, nil),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return rc, nil
}

// Close stops the providers' connections and sandboxes.
func (w *World) Close(context.Context) {
	for i := len(w.closeFns) - 1; i >= 0; i-- {
		w.closeFns[i]()
	}
	w.closeFns = nil
}

// Run serves the API and runs River and its workers until ctx ends, then stops
// cleanly: the listener first, then River, letting running jobs finish.
func (w *World) Run(ctx context.Context) error {
	cfg, rc, log := w.cfg, w.River, w.cfg.Logger
	if err := rc.Start(ctx); err != nil {
		return fmt.Errorf("start river: %w", err)
	}
	if err := w.Server.Start(ctx); err != nil {
		return err
	}
	hs := w.Server.HTTPServer()
	ln := cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Server.Addr); err != nil {
			StopRiver(context.Background(), log, rc, cfg.Grace)
			return fmt.Errorf("listen on %s: %w", cfg.Server.Addr, err)
		}
	}
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	var ops *http.Server
	if cfg.Server.OpsAddr != "" {
		oln, err := net.Listen("tcp", cfg.Server.OpsAddr)
		if err != nil {
			ln.Close()
			StopRiver(context.Background(), log, rc, cfg.Grace)
			return fmt.Errorf("listen on %s: %w", cfg.Server.OpsAddr, err)
		}
		ops = &http.Server{Handler: w.Server.OpsHandler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
		go func() { errc <- ops.Serve(oln) }()
	}
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr().String())
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		StopRiver(context.Background(), log, rc, cfg.Grace)
		return fmt.Errorf("http server: %w", err)
	}
	log.Info("stopping: no new requests; running jobs may finish")
	// One grace for requests and jobs together, from the signal.
	graceCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Grace)
	defer cancel()
	if err := hs.Shutdown(graceCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("http shutdown", slog.String("err", err.Error()))
		_ = hs.Close()
	}
	if ops != nil {
		if ops.Shutdown(graceCtx) != nil {
			_ = ops.Close()
		}
	}
	StopRiver(graceCtx, log, rc, 0)
	log.Info("stopped")
	return nil
}

// Serve builds the world on pool and runs it until ctx ends.
func Serve(ctx context.Context, pool *pgxpool.Pool, cfg Config) error {
	w, err := Build(ctx, pool, cfg)
	if err != nil {
		return err
	}
	defer w.Close(ctx)
	return w.Run(ctx)
}

// StopRiver lets running jobs finish until ctx ends or grace (when not 0) has
// passed, then cancels them, waiting stepDeadline at most.
func StopRiver(ctx context.Context, log *slog.Logger, rc *river.Client[pgx.Tx], grace time.Duration) {
	if grace > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, grace)
		defer cancel()
	}
	if err := rc.Stop(ctx); err != nil {
		log.Warn("river did not stop in time; cancelling running jobs", slog.String("err", err.Error()))
		cctx, ccancel := context.WithTimeout(context.Background(), stepDeadline)
		defer ccancel()
		_ = rc.StopAndCancel(cctx)
	}
}

// contactsZone is where "today" is read for the start's checks: the contacts'
// default zone.
func contactsZone() *time.Location {
	loc, err := time.LoadLocation(contacts.DefaultTimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}
