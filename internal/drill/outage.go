package drill

import (
	"context"
	"fmt"
	"time"

	"carillon/channels"
	"carillon/channels/sandbox"
	"carillon/delivery"
)

// drillOutage: the SMS provider answers 503 for a while, then recovers. Run
// twice: with one SMS provider (messages wait and are retried, a bounded
// number of times) and with a second one configured (failover). Nothing is
// lost either way, and nothing is sent twice.
func drillOutage(ctx context.Context, opts Options, res *Result) (*rig, error) {
	size := 10_000
	outage := time.Minute
	if opts.Quick {
		size, outage = 600, 5*time.Second
	}
	if opts.Size > 0 {
		size = opts.Size
	}
	if opts.Outage > 0 {
		outage = opts.Outage
	}
	// The quick version retries after a second, the full one after the default 30 s.
	backoff := delivery.DefaultBackoff
	deliveryCfg := ""
	if opts.Quick {
		backoff = time.Second
		deliveryCfg = `backoff = "1s"`
	}
	res.Load = fmt.Sprintf("an approved SMS campaign to %d contacts, twice (Aliyun alone; Aliyun then Tencent); Aliyun answers 503 for %s; retries after %s, doubling, at most %d attempts",
		size, outage, backoff, delivery.DefaultMaxAttempts)
	res.count("outage (s)", seconds(outage))
	var last *rig
	for _, failover := range []bool{false, true} {
		if last != nil {
			last.close(false)
		}
		rg, err := outageOnce(ctx, opts, res, size, outage, deliveryCfg, failover)
		last = rg
		if err != nil {
			return rg, err
		}
	}
	return last, nil
}

func outageOnce(ctx context.Context, opts Options, res *Result, size int, outage time.Duration, deliveryCfg string, failover bool) (*rig, error) {
	way := "single provider"
	if failover {
		way = "with failover"
	}
	rg, err := newRig(ctx, opts, "outage")
	if err != nil {
		return nil, err
	}
	if err := rg.openSharedDB(ctx); err != nil {
		return rg, err
	}
	if err := rg.loadContacts(ctx, size, Today()); err != nil {
		return rg, err
	}
	load, err := rg.prepareCampaign(ctx, "drill: provider outage, "+way)
	if err != nil {
		return rg, err
	}
	ali, err := rg.startAliyun(ctx, "ali", channels.SandboxConfig{Latency: channels.Duration(10 * time.Millisecond)})
	if err != nil {
		return rg, err
	}
	px, err := rg.startProxy(ali.URL())
	if err != nil {
		return rg, err
	}
	recs := []*sandbox.Recorder{ali.Recorder()}
	providers := aliyunProvider("ali", px.url(), 1)
	var tx *sandbox.Tencent
	if failover {
		if tx, err = rg.startTencent(ctx, "tx", channels.SandboxConfig{Latency: channels.Duration(10 * time.Millisecond)}); err != nil {
			return rg, err
		}
		providers += tencentProvider("tx", tx.URL(), 2)
		recs = append(recs, tx.Recorder())
	}
	for _, r := range recs {
		r.KeepContent(false)
	}
	addr, err := freeAddr()
	if err != nil {
		return rg, err
	}
	n, err := rg.newNode("node", serverConfig(addr, deliveryCfg, providers), addr)
	if err != nil {
		return rg, err
	}
	if err := rg.start(ctx, n); err != nil {
		return rg, err
	}
	rg.relay.setTargets(n.base())
	run, err := load.start(ctx)
	if err != nil {
		return rg, err
	}
	started := time.Now()
	// The outage begins once a tenth has gone out, and lasts its time.
	if err := waitAccepted(ctx, ali.Recorder(), max(1, size/10), 5*time.Minute); err != nil {
		return rg, err
	}
	px.outage.Store(true)
	opts.Progress("provider-outage (%s): Aliyun answers 503 from now for %s", way, outage)
	select {
	case <-ctx.Done():
		return rg, ctx.Err()
	case <-time.After(outage):
	}
	px.outage.Store(false)
	recoveredAt := time.Now()
	opts.Progress("provider-outage (%s): Aliyun answers again", way)
	timeout := 15 * time.Minute
	if opts.Quick {
		timeout = 3 * time.Minute
	}
	after, err := waitRun(ctx, rg.svc, run, timeout, throttled(opts, "provider-outage ("+way+")"))
	settled := time.Since(recoveredAt)
	prefix := way + ": "
	res.count(prefix+"recipients", after.recipients)
	res.count(prefix+"requests answered 503", px.refused.Load())
	res.count(prefix+"recovery to every message final (s)", seconds(settled))
	res.count(prefix+"whole run (s)", seconds(time.Since(started)))
	if err != nil {
		return rg, err
	}
	maxAtt, retried, mean, err := attempts(ctx, rg.svc, run)
	if err != nil {
		return rg, err
	}
	provs, err := byProvider(ctx, rg.svc, run)
	if err != nil {
		return rg, err
	}
	cmp, err := compareWithProviders(ctx, rg.svc, run, recs...)
	if err != nil {
		return rg, err
	}
	res.count(prefix+"messages delivered", after.delivered)
	res.count(prefix+"messages retried (attempts > 1)", retried)
	res.count(prefix+"attempts per message, mean", mean)
	res.count(prefix+"attempts per message, max", maxAtt)
	res.count(prefix+"carried by ali", provs["ali"])
	if failover {
		res.count(prefix+"carried by tx (failover)", provs["tx"])
	}
	res.count(prefix+"provider: duplicate sends", cmp.duplicates)
	res.check(prefix+"nothing lost", after.recipients == size && after.written == size && after.delivered == size && cmp.missing == 0,
		"%d recipients, %d messages, %d delivered, %d never reached a provider", after.recipients, after.written, after.delivered, cmp.missing)
	res.check(prefix+"nothing sent twice", cmp.duplicates == 0, "%d duplicate sends", cmp.duplicates)
	res.check(prefix+"the outage was felt", px.refused.Load() > 0, "%d requests answered 503", px.refused.Load())
	res.check(prefix+"retries bounded", maxAtt <= delivery.DefaultMaxAttempts, "at most %d attempts per message (limit %d)", maxAtt, delivery.DefaultMaxAttempts)
	if failover {
		res.check(prefix+"failover to the second provider", provs["tx"] > 0, "%d messages carried by tx while ali answered 503", provs["tx"])
	} else {
		res.check(prefix+"messages waited and were retried", retried > 0, "%d messages took more than one attempt", retried)
	}
	return rg, nil
}
