package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"carillon/care"
	"carillon/channels"
	"carillon/delivery"
	"carillon/internal/audit"
)

// drillTwoNode: two `carillon serve` processes on one database share a
// campaign's sends with no duplicate; then the River leader is SIGKILLed and
// the other node takes over the care planner's tick, and no day is planned
// twice. The birthday rule is set to fire every minute so that the tick has a
// day to plan.
func drillTwoNode(ctx context.Context, e *env, opts drillOptions, res *drillResult) (*rig, error) {
	size := 20_000
	if opts.quick {
		// Enough deliver jobs (50 messages each) that both nodes' 50 workers get some.
		size = 4_000
	}
	if opts.size > 0 {
		size = opts.size
	}
	res.Load = fmt.Sprintf("an approved SMS campaign to %d contacts sent by two nodes (each through a counting proxy to one Aliyun sandbox); "+
		"the birthday rule set to fire every minute (CRON_TZ=Asia/Shanghai * * * * *, lead 0 days), %d contacts born today", size, (size+99)/100)
	rg, err := newRig(ctx, e, opts.bin, "two-node")
	if err != nil {
		return nil, err
	}
	if err := rg.openSharedDB(ctx); err != nil {
		return rg, err
	}
	today := shanghaiToday()
	if err := rg.loadContacts(ctx, size, today); err != nil {
		return rg, err
	}
	load, err := rg.prepareCampaign(ctx, "drill: two nodes")
	if err != nil {
		return rg, err
	}
	ds, err := delivery.New(rg.pool, delivery.Config{}, delivery.Deps{})
	if err != nil {
		return rg, err
	}
	planner, err := care.New(rg.pool, ds, care.Config{})
	if err != nil {
		return rg, err
	}
	every, lead := "CRON_TZ=Asia/Shanghai * * * * *", 0
	if _, err := planner.UpdateRule(ctx, audit.Actor{Name: "drill"}, care.RuleBirthday, care.RuleChange{Schedule: &every, LeadDays: &lead}); err != nil {
		return rg, fmt.Errorf("set the birthday rule to fire every minute: %w", err)
	}
	ali, err := rg.startAliyun(ctx, "ali", channels.SandboxConfig{Latency: channels.Duration(10 * time.Millisecond)})
	if err != nil {
		return rg, err
	}
	rec := ali.Recorder()
	rec.KeepContent(false)
	var nodes [2]*node
	var proxies [2]*proxy
	for i, name := range []string{"node-a", "node-b"} {
		if proxies[i], err = rg.startProxy(ali.URL()); err != nil {
			return rg, err
		}
		addr, err := freeAddr()
		if err != nil {
			return rg, err
		}
		if nodes[i], err = rg.newNode(name, serverConfig(addr, "", aliyunProvider("ali", proxies[i].url(), 1)), addr); err != nil {
			return rg, err
		}
	}
	// Node A starts alone and is elected leader; B starts once A leads, so the
	// leader's River client id is A's.
	if err := rg.start(ctx, nodes[0]); err != nil {
		return rg, err
	}
	leaderA, err := waitLeader(ctx, rg, "", time.Minute)
	if err != nil {
		return rg, err
	}
	if err := rg.start(ctx, nodes[1]); err != nil {
		return rg, err
	}
	rg.relay.setTargets(nodes[0].base(), nodes[1].base())
	day := today.String()
	if opts.quick {
		// The quick version does not wait a minute for A's first tick: it
		// plans the day the way a tick does, with the same unique job.
		ins, err := river.NewClient(riverpgxv5.New(rg.pool), &river.Config{})
		if err != nil {
			return rg, err
		}
		if _, err := ins.Insert(ctx, care.PlanDayArgs{Date: day, Rule: care.RuleBirthday}, nil); err != nil {
			return rg, err
		}
	}

	run, err := load.start(ctx, rg.pool)
	if err != nil {
		return rg, err
	}
	timeout := 15 * time.Minute
	if opts.quick {
		timeout = 3 * time.Minute
	}
	after, err := waitRun(ctx, rg.pool, run, timeout, throttled(opts, "two-node"))
	res.count("recipients", after.recipients)
	res.count("node A: sends", proxies[0].passed.Load())
	res.count("node B: sends", proxies[1].passed.Load())
	if err != nil {
		return rg, err
	}
	cmp, err := compareWithProviders(ctx, rg.pool, run, rec)
	if err != nil {
		return rg, err
	}
	res.count("messages delivered", after.delivered)
	res.count("provider: duplicate sends", cmp.duplicates)
	res.check("the campaign's sends shared, every recipient once", after.delivered == size && cmp.missing == 0 && cmp.duplicates == 0 && rec.Duplicates() == 0,
		"%d delivered of %d, %d missing, %d duplicate sends", after.delivered, size, cmp.missing, cmp.duplicates)
	flagged, err := flaggedInTimeline(ctx, rg.pool, cmp.dupIDs)
	if err != nil {
		return rg, err
	}
	res.check("every duplicate visible in its timeline", flagged == cmp.duplicated, "%d of %d duplicated messages flagged maybe_duplicate", flagged, cmp.duplicated)
	res.check("both nodes sent", proxies[0].passed.Load() > 0 && proxies[1].passed.Load() > 0,
		"node A %d, node B %d", proxies[0].passed.Load(), proxies[1].passed.Load())

	if !opts.quick {
		// The day is planned by A's own tick before A dies.
		opts.progress("two-node: waiting for node A's first tick to plan %s", day)
		if err := waitPlanned(ctx, rg, day, 3*time.Minute); err != nil {
			return rg, err
		}
	}
	var ticksBefore int
	if err := rg.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = $1`, care.TickArgs{}.Kind()).Scan(&ticksBefore); err != nil {
		return rg, err
	}
	leader, err := waitLeader(ctx, rg, "", time.Minute)
	if err != nil {
		return rg, err
	}
	victim, survivor := nodes[0], nodes[1]
	if leader != leaderA {
		victim, survivor = nodes[1], nodes[0]
	}
	victim.kill()
	killedAt := time.Now()
	opts.progress("two-node: SIGKILL the leader (%s); waiting for %s to lead and tick", victim.name, survivor.name)
	newLeader, err := waitLeader(ctx, rg, leader, 3*time.Minute)
	if err != nil {
		return rg, err
	}
	leaderTakeover := time.Since(killedAt)
	tickAt, err := waitTick(ctx, rg, killedAt, 4*time.Minute)
	if err != nil {
		return rg, err
	}
	tickTakeover := tickAt.Sub(killedAt)
	var plans, birthdays, birthdayContacts int
	if err := rg.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = $1 AND args ->> 'date' = $2 AND args ->> 'rule' = $3`,
		care.PlanDayArgs{}.Kind(), day, care.RuleBirthday).Scan(&plans); err != nil {
		return rg, err
	}
	if err := rg.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT contact_id) FROM messages WHERE dedupe_key LIKE 'birthday:%'`).Scan(&birthdays, &birthdayContacts); err != nil {
		return rg, err
	}
	res.count("ticks before the kill", ticksBefore)
	res.count("leader killed", victim.name)
	res.count("leadership takeover (s)", seconds(leaderTakeover))
	res.count("care tick takeover: kill to the survivor's first tick (s)", seconds(tickTakeover))
	res.count("plan jobs of "+day+" for the birthday rule", plans)
	res.count("birthday messages planned", birthdays)
	res.check("the other node took over the care planner", newLeader != leader && survivor.running(),
		"leader %s after %s, its first tick after %s", survivor.name, leaderTakeover.Round(100*time.Millisecond), tickTakeover.Round(100*time.Millisecond))
	res.check("no day planned twice", plans == 1 && birthdays == birthdayContacts && birthdays == (size+99)/100,
		"%d plan jobs for %s, %d birthday messages to %d contacts (%d born today)", plans, day, birthdays, birthdayContacts, (size+99)/100)
	return rg, nil
}

// waitLeader waits for a River leader other than not, and returns its id.
func waitLeader(ctx context.Context, rg *rig, not string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		var id string
		err := rg.pool.QueryRow(ctx, `SELECT leader_id FROM river_leader WHERE expires_at > now()`).Scan(&id)
		if err == nil && id != not {
			return id, nil
		}
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return "", err
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no new River leader after %s", timeout)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitPlanned waits until the birthday rule's plan job of day completed.
func waitPlanned(ctx context.Context, rg *rig, day string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var n int
		if err := rg.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = $1 AND args ->> 'date' = $2 AND state = 'completed'`,
			care.PlanDayArgs{}.Kind(), day).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the day %s was not planned within %s", day, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// waitTick waits for a care tick created after since to complete, and returns
// when it was created.
func waitTick(ctx context.Context, rg *rig, since time.Time, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		var at time.Time
		err := rg.pool.QueryRow(ctx, `SELECT created_at FROM river_job WHERE kind = $1 AND created_at > $2 AND state = 'completed' ORDER BY id LIMIT 1`,
			care.TickArgs{}.Kind(), since).Scan(&at)
		if err == nil {
			return at, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return at, err
		}
		if time.Now().After(deadline) {
			return at, fmt.Errorf("no care tick completed within %s of the kill", timeout)
		}
		select {
		case <-ctx.Done():
			return at, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
