package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"carillon/delivery"
)

const retryUsage = "usage: carillon retry --since TIME [--until TIME] [--channel C] [--provider P] [--dry-run] [--json]   (TIME as 2026-11-28T09:00:00+08:00)\n"

// cmdRetry re-queues the messages that failed on temporary errors in a window,
// such as a provider's outage: carillon retry --since 2026-11-28T09:00:00+08:00.
func cmdRetry(ctx context.Context, e *env, args []string) error {
	fs := newFlags("retry", e.stderr)
	since := fs.String("since", "", "start of the window, RFC 3339 (required)")
	until := fs.String("until", "", "end of the window, RFC 3339 (default now)")
	channel := fs.String("channel", "", "only messages that failed on this channel (sms, email, wechat, wecom)")
	provider := fs.String("provider", "", "only messages that failed at this provider (its configured name)")
	dry := fs.Bool("dry-run", false, "count what would be re-queued; change nothing")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *since == "" {
		fmt.Fprint(e.stderr, retryUsage)
		return &exitError{code: 2, err: errUsage}
	}
	f := delivery.RetryFilter{Channel: strings.ToLower(*channel), Provider: *provider, DryRun: *dry}
	if f.Since, err = time.Parse(time.RFC3339, *since); err != nil {
		return fmt.Errorf("retry: --since %q is not a time such as 2026-11-28T09:00:00+08:00", *since)
	}
	if *until != "" {
		if f.Until, err = time.Parse(time.RFC3339, *until); err != nil {
			return fmt.Errorf("retry: --until %q is not a time such as 2026-11-28T12:00:00+08:00", *until)
		}
	}
	pool, _, err := e.openDB(ctx, 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	svc, err := delivery.New(pool, delivery.Config{Logger: e.logger}, delivery.Deps{})
	if err != nil {
		return err
	}
	res, err := svc.Retry(ctx, osActor(), f)
	if err != nil {
		return fmt.Errorf("retry: %w", err)
	}
	if *asJSON {
		return writeJSONTo(e.stdout, res)
	}
	verb := "re-queued"
	if res.DryRun {
		verb = "would re-queue"
	}
	fmt.Fprintf(e.stdout, "%s %d messages\n", verb, res.Requeued)
	if res.SkippedFallback > 0 {
		fmt.Fprintf(e.stdout, "left alone: %d whose fallback channel already took over\n", res.SkippedFallback)
	}
	if res.SkippedContact > 0 {
		fmt.Fprintf(e.stdout, "left alone: %d whose contact is erased or no longer active\n", res.SkippedContact)
	}
	return nil
}
