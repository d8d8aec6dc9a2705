package drill

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"carillon/delivery"
	"carillon/internal/pgdev"
)

// drillDBRestart: the server runs on a Postgres cluster the drill starts
// itself (a directory of its own, a free port — never the shared server), and
// the cluster is stopped and started again while the campaign sends. The
// server reconnects, the run completes, nothing is lost.
func drillDBRestart(ctx context.Context, opts Options, res *Result) (*rig, error) {
	size := 20_000
	down := 5 * time.Second
	if opts.Quick {
		size, down = 1_500, 2*time.Second
	}
	if opts.Size > 0 {
		size = opts.Size
	}
	res.Load = fmt.Sprintf("an approved SMS campaign to %d contacts on a private Postgres cluster, stopped (pg_ctl -m fast) for %s mid-run and started again", size, down)
	rg, err := newRig(ctx, opts, "db-restart")
	if err != nil {
		return nil, err
	}
	cl := &pgdev.Cluster{Dir: filepath.Join(rg.dir, "pg")}
	if err := os.Chmod(rg.dir, 0o755); err != nil {
		return rg, err
	}
	opts.Progress("db-restart: starting a private Postgres cluster in %s", cl.Dir)
	adminURL, err := cl.Start(ctx)
	if err != nil {
		return rg, fmt.Errorf("start the drill's own cluster: %w", err)
	}
	rg.closers = append(rg.closers, func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = cl.Stop(sctx)
	})
	res.count("cluster port", cl.Port)
	if err := pgdev.EnsureDatabase(ctx, adminURL, "carillon_drill"); err != nil {
		return rg, err
	}
	if err := rg.openPool(ctx, pgdev.WithDatabase(adminURL, "carillon_drill")); err != nil {
		return rg, err
	}
	n, rec, run, started, err := rg.oneNodeRun(ctx, size, "drill: db restart")
	if err != nil {
		return rg, err
	}
	if err := waitAccepted(ctx, rec, max(1, size/3), 10*time.Minute); err != nil {
		return rg, err
	}
	acceptedAtStop := rec.Count()
	stopAt := time.Now()
	if err := cl.Stop(ctx); err != nil {
		return rg, fmt.Errorf("stop the drill's cluster: %w", err)
	}
	stopped := time.Since(stopAt)
	opts.Progress("db-restart: cluster stopped after %d messages accepted; down for %s", acceptedAtStop, down)
	select {
	case <-ctx.Done():
		return rg, ctx.Err()
	case <-time.After(down):
	}
	acceptedWhileDown := rec.Count() - acceptedAtStop
	if _, err := cl.Start(ctx); err != nil {
		return rg, fmt.Errorf("start the drill's cluster again: %w", err)
	}
	upAt := time.Now()
	opts.Progress("db-restart: cluster up again after %s", upAt.Sub(stopAt).Round(100*time.Millisecond))
	readyErr := n.waitReady(ctx, 2*time.Minute)
	ready := time.Since(upAt)
	inDoubt, _ := rg.svc.Delivery.CountStatus(ctx, delivery.StatusSending)
	timeout := 15 * time.Minute
	if opts.Quick {
		timeout = 3 * time.Minute
	}
	after, err := waitRun(ctx, rg.svc, run, timeout, throttled(opts, "db-restart"))
	res.count("recipients", after.recipients)
	res.count("messages accepted before the stop", acceptedAtStop)
	res.count("messages accepted while the database was down", acceptedWhileDown)
	res.count("database down (s)", seconds(upAt.Sub(stopAt)))
	res.count("  of which pg_ctl stop (s)", seconds(stopped))
	res.count("database up to server ready (s)", seconds(ready))
	res.count("messages in doubt just after the restart", inDoubt)
	res.count("database up to every message final (s)", seconds(time.Since(upAt)))
	res.count("whole run (s)", seconds(time.Since(started)))
	res.check("the server kept running and reconnected", n.running() && readyErr == nil, "process running: %v; readiness: %v", n.running(), errOrOK(readyErr))
	if err != nil {
		return rg, err
	}
	cmp, err := compareWithProviders(ctx, rg.svc, run, rec)
	if err != nil {
		return rg, err
	}
	flagged, err := flaggedInTimeline(ctx, rg.svc, cmp.dupIDs)
	if err != nil {
		return rg, err
	}
	res.count("messages delivered", after.delivered)
	res.count("provider: duplicate sends", cmp.duplicates)
	res.check("the run completed, nothing lost", after.recipients == size && after.written == size && after.delivered == size && cmp.missing == 0,
		"%d recipients, %d messages, %d delivered, %d never reached the provider", after.recipients, after.written, after.delivered, cmp.missing)
	res.check("every duplicate visible in its timeline", flagged == cmp.duplicated, "%d of %d duplicated messages flagged maybe_duplicate", flagged, cmp.duplicated)
	return rg, nil
}

func errOrOK(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}
