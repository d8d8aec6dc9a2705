package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"carillon/care"
	"carillon/channels"
	"carillon/internal/audit"
)

// drillTwoNode: two `carillon serve` processes on one database share a
// campaign's sends with no duplicate; then the River leader is SIGKILLed and
// the other node takes over the care planner's tick, and no day is planned
// twice. The birthday rule is set to fire every minute so that the tick has a
// day to plan.
func drillTwoNode(ctx context.Context, opts Options, res *Result) (*rig, error) {
	size := 20_000
	if opts.Quick {
		// Enough deliver jobs (50 messages each) that both nodes' 50 workers get some.
		size = 4_000
	}
	if opts.Size > 0 {
		size = opts.Size
	}
	res.Load = fmt.Sprintf("an approved SMS campaign to %d contacts sent by two nodes (each through a counting proxy to one Aliyun sandbox); "+
		"the birthday rule set to fire every minute (CRON_TZ=Asia/Shanghai * * * * *, lead 0 days), %d contacts born today", size, (size+99)/100)
	rg, err := newRig(ctx, opts, "two-node")
	if err != nil {
		return nil, err
	}
	if err := rg.openSharedDB(ctx); err != nil {
		return rg, err
	}
	today := Today()
	if err := rg.loadContacts(ctx, size, today); err != nil {
		return rg, err
	}
	load, err := rg.prepareCampaign(ctx, "drill: two nodes")
	if err != nil {
		return rg, err
	}
	planner := rg.svc.Planner
	// River's own tables are read through River's client (insert-only: no
	// queues, it runs no job).
	rv, err := river.NewClient(riverpgxv5.New(rg.pool), &river.Config{})
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
	leaderA, err := waitLeader(ctx, rv, "", time.Minute)
	if err != nil {
		return rg, err
	}
	if err := rg.start(ctx, nodes[1]); err != nil {
		return rg, err
	}
	rg.relay.setTargets(nodes[0].base(), nodes[1].base())
	day := today.String()
	if opts.Quick {
		// The quick version does not wait a minute for A's first tick: it
		// plans the day the way a tick does, with the same unique job.
		if _, err := rv.Insert(ctx, care.PlanDayArgs{Date: day, Rule: care.RuleBirthday}, nil); err != nil {
			return rg, err
		}
	}

	run, err := load.start(ctx)
	if err != nil {
		return rg, err
	}
	timeout := 15 * time.Minute
	if opts.Quick {
		timeout = 3 * time.Minute
	}
	after, err := waitRun(ctx, rg.svc, run, timeout, throttled(opts, "two-node"))
	res.count("recipients", after.recipients)
	res.count("node A: sends", proxies[0].passed.Load())
	res.count("node B: sends", proxies[1].passed.Load())
	if err != nil {
		return rg, err
	}
	cmp, err := compareWithProviders(ctx, rg.svc, run, rec)
	if err != nil {
		return rg, err
	}
	res.count("messages delivered", after.delivered)
	res.count("provider: duplicate sends", cmp.duplicates)
	res.check("the campaign's sends shared, every recipient once", after.delivered == size && cmp.missing == 0 && cmp.duplicates == 0 && rec.Duplicates() == 0,
		"%d delivered of %d, %d missing, %d duplicate sends", after.delivered, size, cmp.missing, cmp.duplicates)
	flagged, err := flaggedInTimeline(ctx, rg.svc, cmp.dupIDs)
	if err != nil {
		return rg, err
	}
	res.check("every duplicate visible in its timeline", flagged == cmp.duplicated, "%d of %d duplicated messages flagged maybe_duplicate", flagged, cmp.duplicated)
	res.check("both nodes sent", proxies[0].passed.Load() > 0 && proxies[1].passed.Load() > 0,
		"node A %d, node B %d", proxies[0].passed.Load(), proxies[1].passed.Load())

	if !opts.Quick {
		// The day is planned by A's own tick before A dies.
		opts.Progress("two-node: waiting for node A's first tick to plan %s", day)
		if err := waitPlanned(ctx, rv, day, 3*time.Minute); err != nil {
			return rg, err
		}
	}
	ticks, err := listJobs(ctx, rv, care.TickArgs{}.Kind())
	if err != nil {
		return rg, err
	}
	ticksBefore := len(ticks)
	leader, err := waitLeader(ctx, rv, "", time.Minute)
	if err != nil {
		return rg, err
	}
	victim, survivor := nodes[0], nodes[1]
	if leader != leaderA {
		victim, survivor = nodes[1], nodes[0]
	}
	victim.kill()
	killedAt := time.Now()
	opts.Progress("two-node: SIGKILL the leader (%s); waiting for %s to lead and tick", victim.name, survivor.name)
	newLeader, err := waitLeader(ctx, rv, leader, 3*time.Minute)
	if err != nil {
		return rg, err
	}
	leaderTakeover := time.Since(killedAt)
	tickAt, err := waitTick(ctx, rv, killedAt, 4*time.Minute)
	if err != nil {
		return rg, err
	}
	tickTakeover := tickAt.Sub(killedAt)
	dayPlans, err := planJobs(ctx, rv, day)
	if err != nil {
		return rg, err
	}
	plans := 0
	for _, a := range dayPlans {
		if a.Rule == care.RuleBirthday {
			plans++
		}
	}
	birthdays, birthdayContacts, err := rg.svc.Delivery.CountDedupePrefix(ctx, "birthday:")
	if err != nil {
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

// listJobs lists River's jobs of kind in the given states (none: every
// state), in id order, through River's client.
func listJobs(ctx context.Context, rv *river.Client[pgx.Tx], kind string, states ...rivertype.JobState) ([]*rivertype.JobRow, error) {
	const page = 1000
	params := river.NewJobListParams().Kinds(kind).First(page)
	if len(states) > 0 {
		params = params.States(states...)
	}
	var out []*rivertype.JobRow
	for {
		res, err := rv.JobList(ctx, params)
		if err != nil {
			return nil, err
		}
		out = append(out, res.Jobs...)
		if len(res.Jobs) < page {
			return out, nil
		}
		params = params.After(res.LastCursor)
	}
}

// planJobs returns the arguments of the care planner's plan jobs of day, in
// the given states (none: every state).
func planJobs(ctx context.Context, rv *river.Client[pgx.Tx], day string, states ...rivertype.JobState) ([]care.PlanDayArgs, error) {
	jobs, err := listJobs(ctx, rv, care.PlanDayArgs{}.Kind(), states...)
	if err != nil {
		return nil, err
	}
	var out []care.PlanDayArgs
	for _, j := range jobs {
		var a care.PlanDayArgs
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			return nil, fmt.Errorf("plan job %d: %w", j.ID, err)
		}
		if a.Date == day {
			out = append(out, a)
		}
	}
	return out, nil
}

// waitLeader waits for a River leader other than not, and returns its id.
func waitLeader(ctx context.Context, rv *river.Client[pgx.Tx], not string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		var id string
		l, err := rv.Driver().GetExecutor().LeaderGetElectedLeader(ctx, &riverdriver.LeaderGetElectedLeaderParams{})
		if err == nil && l.ExpiresAt.After(time.Now()) {
			id = l.LeaderID
		}
		if id != "" && id != not {
			return id, nil
		}
		if err != nil && !errors.Is(err, rivertype.ErrNotFound) {
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
func waitPlanned(ctx context.Context, rv *river.Client[pgx.Tx], day string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		done, err := planJobs(ctx, rv, day, rivertype.JobStateCompleted)
		if err != nil {
			return err
		}
		if len(done) > 0 {
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
func waitTick(ctx context.Context, rv *river.Client[pgx.Tx], since time.Time, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		ticks, err := listJobs(ctx, rv, care.TickArgs{}.Kind(), rivertype.JobStateCompleted)
		if err != nil {
			return time.Time{}, err
		}
		for _, j := range ticks {
			if j.CreatedAt.After(since) {
				return j.CreatedAt, nil
			}
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("no care tick completed within %s of the kill", timeout)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
