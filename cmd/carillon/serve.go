package main

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/internal/app"
	"carillon/server"
)

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
	// Default app.DefaultGrace; the demo's is shorter.
	grace time.Duration
}

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
		return app.DefaultRescueStuckJobsAfter, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("CARILLON_RESCUE_STUCK_JOBS_AFTER=%q: want a duration of at least 1s such as 10m", v)
	}
	return d, nil
}

// serve layers the configuration into app.Config and runs the world until ctx
// ends (see app.Serve).
func serve(ctx context.Context, e *env, pool *pgxpool.Pool, opts serveOptions) error {
	cfg, err := appConfig(e, opts)
	if err != nil {
		return err
	}
	return app.Serve(ctx, pool, cfg)
}

// appConfig is serve's typed configuration: the file's sections, the
// environment's overrides and the command's options.
func appConfig(e *env, opts serveOptions) (app.Config, error) {
	var err error
	if opts.rescueAfter == 0 {
		if opts.rescueAfter, err = rescueAfter(e); err != nil {
			return app.Config{}, err
		}
	}
	getenv := opts.getenv
	if getenv == nil {
		getenv = e.getenv
	}
	cfg := app.Config{Logger: e.logger, Getenv: getenv, Channels: opts.cfg.Channels, Bank: opts.cfg.bank(),
		RescueStuckJobsAfter: opts.rescueAfter, Workers: opts.workers, DeliveryWorkers: opts.cfg.Delivery.Workers,
		Listener: opts.listener, Ready: opts.ready, Grace: opts.grace}
	if cfg.Delivery, err = opts.cfg.deliveryConfig(); err != nil {
		return cfg, err
	}
	if cfg.Campaigns, err = campaignConfigFrom(opts.cfg, getenv); err != nil {
		return cfg, err
	}
	if cfg.Server.Console, err = opts.cfg.consoleConfig(); err != nil {
		return cfg, err
	}
	if cfg.SignIn, err = opts.cfg.signInConfig(getenv, nil, e.logger); err != nil {
		return cfg, err
	}
	if v := e.getenv("CARILLON_TRUSTED_PROXIES"); v != "" { // overrides the file's
		opts.cfg.Server.TrustedProxies = strings.Split(v, ",")
	}
	if cfg.Server.TrustedProxies, err = opts.cfg.trustedProxies(); err != nil {
		return cfg, err
	}
	if cfg.Server.Timeouts, err = opts.cfg.timeouts(); err != nil {
		return cfg, err
	}
	cfg.Server.Addr, cfg.Server.OpsAddr = opts.addr, opts.opsAddr
	cfg.Calendar = opts.cfg.Calendar
	return cfg, nil
}
