package drill

import (
	"context"
	"fmt"
	"time"

	"carillon/campaigns"
	"carillon/delivery"
)

// throttled returns a progress callback that prints at most every 5 seconds.
func throttled(opts Options, name string) func(runCounts) {
	var last time.Time
	return func(c runCounts) {
		if time.Since(last) < 5*time.Second {
			return
		}
		last = time.Now()
		opts.Progress("%s: %d of %d recipients' messages written, %d final (%d delivered)", name, c.written, c.recipients, c.final, c.delivered)
	}
}

// drillCrash: a campaign to every contact; the server is SIGKILLed while it
// sends and started again. Every recipient ends with one message in a final
// state, the provider got every one, and the duplicates are no more than the
// messages in doubt at the kill, each flagged in the timeline.
func drillCrash(ctx context.Context, opts Options, res *Result) (*rig, error) {
	size := 100_000
	if opts.Quick {
		size = 3_000
	}
	if opts.Size > 0 {
		size = opts.Size
	}
	res.Load = fmt.Sprintf("an approved SMS campaign to %d contacts (one number each, with marketing consent), Aliyun sandbox with 10 ms latency", size)
	rg, err := newRig(ctx, opts, "crash")
	if err != nil {
		return nil, err
	}
	if err := rg.openSharedDB(ctx); err != nil {
		return rg, err
	}
	opts.Progress("crash: loading %d contacts", size)
	n, rec, run, started, err := rg.oneNodeRun(ctx, size, "drill: crash")
	if err != nil {
		return rg, err
	}
	killAfter := max(1, size*2/5)
	if err := waitAccepted(ctx, rec, killAfter, 10*time.Minute); err != nil {
		return rg, err
	}
	n.kill()
	killedAt := time.Now()
	acceptedAtKill := rec.Count()
	// What the dead process left in doubt: claimed (status sending), outcome
	// never recorded. The provider may or may not have them.
	sending, err := rg.svc.Delivery.SourceMessages(ctx, campaigns.SourceRun, runKey(run), delivery.StatusSending)
	if err != nil {
		return rg, err
	}
	inDoubt := make([]int64, 0, len(sending))
	for _, m := range sending {
		inDoubt = append(inDoubt, m.ID)
	}
	acceptedInDoubt := 0
	for _, id := range inDoubt {
		if rec.SendsOf(fmt.Sprint(id)) > 0 {
			acceptedInDoubt++
		}
	}
	before, _ := readRun(ctx, rg.svc, run)
	opts.Progress("crash: SIGKILL after %d messages accepted; %d in doubt (claimed, not recorded), %d of them accepted by the provider", acceptedAtKill, len(inDoubt), acceptedInDoubt)

	if err := rg.start(ctx, n); err != nil {
		return rg, err
	}
	ready := time.Since(killedAt)
	timeout := 20 * time.Minute
	if opts.Quick {
		timeout = 3 * time.Minute
	}
	after, err := waitRun(ctx, rg.svc, run, timeout, throttled(opts, "crash"))
	recovered := time.Since(killedAt)
	res.count("recipients", after.recipients)
	res.count("messages accepted by the provider before the kill", acceptedAtKill)
	res.count("messages final at the kill", before.final)
	res.count("messages in doubt at the kill (sending)", len(inDoubt))
	res.count("  of which the provider had accepted", acceptedInDoubt)
	res.count("kill to restarted and ready (s)", seconds(ready))
	res.count("kill to every message final (s)", seconds(recovered))
	res.count("whole run (s)", seconds(time.Since(started)))
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
	flaggedAll, err := rg.svc.Contacts.MaybeDuplicateSends(ctx)
	if err != nil {
		return rg, err
	}
	wrongEvents, err := finalEventsPerMessage(ctx, rg.svc, run)
	if err != nil {
		return rg, err
	}
	res.count("messages delivered", after.delivered)
	res.count("provider: messages accepted", rec.Count())
	res.count("provider: duplicate sends", cmp.duplicates)
	res.count("timeline: sends flagged maybe_duplicate", flaggedAll)
	res.check("one final message per recipient", after.recipients == size && after.written == size && after.open == 0,
		"%d recipients, %d messages, %d not final", after.recipients, after.written, after.open)
	res.check("none missing at the provider", cmp.missing == 0, "%d messages never reached the provider (first: %d)", cmp.missing, cmp.missingExample)
	res.check("duplicates bounded by the sends in doubt at the kill", cmp.duplicates <= len(inDoubt),
		"%d duplicate sends, %d messages in doubt at the kill", cmp.duplicates, len(inDoubt))
	res.check("every duplicate visible in its timeline", flagged == cmp.duplicated,
		"%d of %d duplicated messages flagged maybe_duplicate", flagged, cmp.duplicated)
	res.check("one final event per message in the timelines", wrongEvents == 0, "%d messages with other than one final event", wrongEvents)
	return rg, nil
}
