package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"carillon/calendar"
	"carillon/campaigns"
	"carillon/care"
	"carillon/channels/registry"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/identity"
	"carillon/migrations"
	"carillon/revisits"
	"carillon/server"
)

// DefaultRescueStuckJobsAfter is how long River waits before rescuing a job left
// running by a killed process (River's own default is an hour).
const DefaultRescueStuckJobsAfter = 10 * time.Minute

type serveOptions struct {
	cfg         fileConfig
	getenv      func(string) string // for provider secrets; default the process environment
	addr        string
	opsAddr     string            // health and metrics only; "" serves them on addr
	ready       func(addr string) // called once listening
	listener    net.Listener      // already listening (the demo); nil: listen on addr
	rescueAfter time.Duration
	workers     int
	// grace is how long running requests and jobs may take to finish once a stop
	// is asked for; then running jobs are cancelled (their sends are recorded).
	// Default defaultGrace; the demo's is shorter.
	grace time.Duration
}

// Stopping: the time requests and jobs get to finish, and the deadline of each
// later step (cancelling jobs, closing provider connections and sandboxes).
const (
	defaultGrace = 30 * time.Second
	stepDeadline = 500 * time.Millisecond
)

func cmdServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags("serve", e.stderr)
	cfgPath := fs.String("config", e.getenv("CARILLON_CONFIG"), "configuration file (TOML)")
	addr := fs.String("addr", "", "listen address (default $CARILLON_ADDR, the file's server.addr, or "+server.DefaultAddr+")")
	opsAddr := fs.String("ops-addr", "", "address for /healthz, /readyz and /metrics only (default $CARILLON_OPS_ADDR, the file's server.ops_addr, or the listen address)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	fc, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	*addr = cmp.Or(*addr, e.getenv("CARILLON_ADDR"), fc.Server.Addr, server.DefaultAddr)
	*opsAddr = cmp.Or(*opsAddr, e.getenv("CARILLON_OPS_ADDR"), fc.Server.OpsAddr)
	pool, srv, err := e.openDB(ctx, 40)
	if err != nil {
		return err
	}
	defer pool.Close()
	e.logger.Info("database", "source", string(srv.Source))
	return serve(ctx, e, pool, serveOptions{cfg: fc, addr: *addr, opsAddr: *opsAddr, ready: func(a string) {
		e.logger.Info("carillon is serving", "api", "http://"+a+"/api/", "river_ui", "http://"+a+"/riverui/", "metrics", "http://"+a+"/metrics")
	}})
}

func rescueAfter(e *env) (time.Duration, error) {
	v := e.getenv("CARILLON_RESCUE_STUCK_JOBS_AFTER")
	if v == "" {
		return DefaultRescueStuckJobsAfter, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("CARILLON_RESCUE_STUCK_JOBS_AFTER=%q: want a duration of at least 1s such as 10m", v)
	}
	return d, nil
}

// serve runs the API, River and its workers until ctx ends, then stops cleanly:
// the listener first, then River, letting running jobs finish.
func serve(ctx context.Context, e *env, pool *pgxpool.Pool, opts serveOptions) error {
	if err := migrations.Check(ctx, pool); err != nil {
		if errors.Is(err, migrations.ErrPending) {
			return fmt.Errorf("refusing to serve: %w", err)
		}
		return err
	}
	if owner, err := migrations.OwnsAuditLog(ctx, pool); err != nil {
		return err
	} else if owner {
		e.logger.Warn("serving as the owner of the tables (or a superuser): this role can disable the audit log's triggers; run serve as a runtime role granted by `carillon migrate grant ROLE` (docs/security.md)")
	}
	store, err := contacts.NewStore(pool, contacts.Config{Logger: e.logger})
	if err != nil {
		return err
	}
	if _, err := store.EnsureEventPartitions(ctx, time.Now(), contacts.EventPartitionsAhead); err != nil {
		return err
	}
	if opts.rescueAfter == 0 {
		if opts.rescueAfter, err = rescueAfter(e); err != nil {
			return err
		}
	}
	getenv := opts.getenv
	if getenv == nil {
		getenv = e.getenv
	}
	built, err := registry.Build(ctx, opts.cfg.Channels, registry.Deps{Pool: pool, Logger: e.logger, Getenv: getenv})
	if err != nil {
		return fmt.Errorf("providers: %w", err)
	}
	defer func() {
		// Idle provider connections first, then the sandboxes, each within a deadline.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stepDeadline)
		defer cancel()
		built.Stop(sctx)
	}()
	if len(opts.cfg.Channels.Providers) == 0 {
		e.logger.Warn("no providers configured: messages will be suppressed with reason no_channel (see docs/providers.md)")
	}
	dcfg, err := opts.cfg.deliveryConfig()
	if err != nil {
		return err
	}
	dcfg.Logger = e.logger
	if opts.rescueAfter == 0 {
		if opts.rescueAfter, err = rescueAfter(e); err != nil {
			return err
		}
	}
	// A deliver job must end well before River would rescue it as stuck.
	dcfg.JobTimeout = min(delivery.DefaultJobTimeout, opts.rescueAfter/2)
	renderer, tstore, err := newRenderer(pool, opts.cfg.bank())
	if err != nil {
		return err
	}
	svc, err := delivery.New(pool, dcfg, delivery.Deps{Registry: built.Registry, Renderer: renderer})
	if err != nil {
		return err
	}
	planner, revisitSvc, err := newPlannerWithRevisits(pool, store, svc, e, opts.cfg.Calendar)
	if err != nil {
		return err
	}
	if err := revisits.InstallTemplates(ctx, tstore); err != nil {
		return err
	}
	ccfg, err := campaignConfigFrom(opts.cfg, getenv)
	if err != nil {
		return err
	}
	ccfg.Logger, ccfg.Bank = e.logger, opts.cfg.bank()
	campaignSvc, err := campaigns.New(pool, campaigns.Deps{Contacts: store, Templates: tstore, Delivery: svc, Registry: built.Registry}, ccfg)
	if err != nil {
		return err
	}
	// Recurring campaigns start from the care scheduler's tick (schedules read
	// from Postgres on the leader; nothing registered at runtime).
	planner.OnTick(campaignSvc.Tick)
	wirePrivacy(store, svc, revisitSvc, campaignSvc)
	if err := planner.EnsureFestivalRules(ctx); err != nil {
		return err
	}
	// Say at start when business days will count weekends only (logged, and
	// carillon_calendar_holiday_data_missing set).
	today := calendar.DateOf(time.Now().In(planZone()))
	planner.CheckHolidayData(ctx, today, today.AddDays(calendar.LookAhead))
	workers := river.NewWorkers()
	river.AddWorker(workers, planner.TickWorker())
	river.AddWorker(workers, planner.PlanDayWorker())
	river.AddWorker(workers, &contacts.PartitionWorker{Store: store})
	river.AddWorker(workers, svc.Worker(store))
	river.AddWorker(workers, svc.RetentionWorker(store, delivery.RetentionConfig{}))
	campaignSvc.AddWorkers(workers)
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Logger: e.logger,
		Queues: map[string]river.QueueConfig{
			river.QueueDefault:    {MaxWorkers: cmp.Or(opts.workers, 20)},
			delivery.DefaultQueue: {MaxWorkers: cmp.Or(opts.cfg.Delivery.Workers, 50)},
		},
		Workers:              workers,
		RescueStuckJobsAfter: opts.rescueAfter,
		// River requires a job's timeout to end before it may be rescued.
		JobTimeout: min(time.Minute, opts.rescueAfter),
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
		return fmt.Errorf("river client: %w", err)
	}
	ids, err := identity.NewStore(pool, identity.Config{Logger: e.logger})
	if err != nil {
		return err
	}
	ccons, err := opts.cfg.consoleConfig()
	if err != nil {
		return err
	}
	acfg, err := opts.cfg.signInConfig(getenv, nil, e.logger)
	if err != nil {
		return err
	}
	signIn, err := identity.NewSignIn(ids, acfg)
	if err != nil {
		return err
	}
	m := signIn.SignInMethods()
	e.logger.Info("staff sign-in", "local_passwords", signIn.LocalPasswords(), "break_glass", len(acfg.BreakGlass),
		"oidc", m.OIDC != "", "ldap", m.LDAP)
	if v := e.getenv("CARILLON_TRUSTED_PROXIES"); v != "" { // overrides the file's
		opts.cfg.Server.TrustedProxies = strings.Split(v, ",")
	}
	proxies, err := opts.cfg.trustedProxies()
	if err != nil {
		return err
	}
	timeouts, err := opts.cfg.timeouts()
	if err != nil {
		return err
	}
	api, err := server.New(server.Config{Addr: opts.addr, OpsAddr: opts.opsAddr, Logger: e.logger, Console: ccons, TrustedProxies: proxies, Timeouts: timeouts},
		server.Deps{Pool: pool, Contacts: store, River: rc, Auth: signIn, Delivery: svc, Registry: built.Registry, Templates: tstore, Care: planner, Revisits: revisitSvc, Campaigns: campaignSvc})
	if err != nil {
		return err
	}
	if err := rc.Start(ctx); err != nil {
		return fmt.Errorf("start river: %w", err)
	}
	if err := api.Start(ctx); err != nil {
		return err
	}
	hs := api.HTTPServer()
	ln := opts.listener
	if ln == nil {
		if ln, err = net.Listen("tcp", opts.addr); err != nil {
			stopRiver(context.Background(), e, rc, cmp.Or(opts.grace, defaultGrace))
			return fmt.Errorf("listen on %s: %w", opts.addr, err)
		}
	}
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	var ops *http.Server
	if opts.opsAddr != "" {
		oln, err := net.Listen("tcp", opts.opsAddr)
		if err != nil {
			ln.Close()
			stopRiver(context.Background(), e, rc, cmp.Or(opts.grace, defaultGrace))
			return fmt.Errorf("listen on %s: %w", opts.opsAddr, err)
		}
		ops = &http.Server{Handler: api.OpsHandler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
		go func() { errc <- ops.Serve(oln) }()
	}
	if opts.ready != nil {
		opts.ready(ln.Addr().String())
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		stopRiver(context.Background(), e, rc, cmp.Or(opts.grace, defaultGrace))
		return fmt.Errorf("http server: %w", err)
	}
	e.logger.Info("stopping: no new requests; running jobs may finish")
	// One grace for requests and jobs together, from the signal.
	graceCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cmp.Or(opts.grace, defaultGrace))
	defer cancel()
	if err := hs.Shutdown(graceCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		e.logger.Warn("http shutdown", "error", err.Error())
		_ = hs.Close()
	}
	if ops != nil {
		if ops.Shutdown(graceCtx) != nil {
			_ = ops.Close()
		}
	}
	stopRiver(graceCtx, e, rc, 0)
	e.logger.Info("stopped")
	return nil
}

// stopRiver lets running jobs finish until ctx ends or grace (when not 0) has
// passed, then cancels them, waiting stepDeadline at most.
func stopRiver(ctx context.Context, e *env, rc *river.Client[pgx.Tx], grace time.Duration) {
	if grace > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, grace)
		defer cancel()
	}
	if err := rc.Stop(ctx); err != nil {
		e.logger.Warn("river did not stop in time; cancelling running jobs", "error", err.Error())
		cctx, ccancel := context.WithTimeout(context.Background(), stepDeadline)
		defer ccancel()
		_ = rc.StopAndCancel(cctx)
	}
}
