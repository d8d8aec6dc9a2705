package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/contacts"
	"carillon/delivery"
)

// demoCheck waits for every message of the played day (and its fallbacks) to
// reach a final state, has one customer unsubscribe through the link in their
// message, then checks that each contact's timeline agrees with the outbox, and
// prints a one-screen summary. It fails when a message is still open after
// wait or a timeline disagrees.
func demoCheck(ctx context.Context, e *env, pool *pgxpool.Pool, base string, played []int64, wait time.Duration) error {
	start := time.Now()
	if len(played) == 0 {
		return fmt.Errorf("demo --check: the day planned no message")
	}
	// What the check reads, it reads through the outbox's and the timeline's owners.
	svc, err := delivery.New(pool, delivery.Config{}, delivery.Deps{})
	if err != nil {
		return err
	}
	store, err := contacts.NewStore(pool, contacts.Config{})
	if err != nil {
		return err
	}
	unsubscribed := false
	deadline := time.Now().Add(wait)
	for {
		sum, err := svc.Summary(ctx, false)
		if err != nil {
			return err
		}
		if !unsubscribed {
			if unsubscribed, err = demoUnsubscribe(ctx, svc, store, base); err != nil {
				return err
			}
		}
		if sum.Open == 0 && unsubscribed {
			break
		}
		if time.Now().After(deadline) {
			var states []string
			if d, err := svc.Summary(ctx, true); err == nil {
				states = d.OpenStates
			}
			return fmt.Errorf("demo --check: %d of %d messages not in a final state after %s (%s; unsubscribe played: %v)",
				sum.Open, sum.Total, wait, strings.Join(states, ", "), unsubscribed)
		}
		fmt.Fprintf(e.stderr, "demo --check: %d of %d messages still on their way\n", sum.Open, sum.Total)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	// Every message to a customer has its outcome in the customer's timeline.
	msgs, err := svc.ContactMessages(ctx)
	if err != nil {
		return err
	}
	ids, cids, sts := make([]int64, len(msgs)), make([]int64, len(msgs)), make([]string, len(msgs))
	for i, m := range msgs {
		ids[i], cids[i], sts[i] = m.ID, m.ContactID, m.Status
	}
	missing, example, err := store.MissingMessageEvents(ctx, ids, cids, sts)
	if err != nil {
		return err
	}
	if err := demoSummary(ctx, e, svc, store, len(played), time.Since(start)); err != nil {
		return err
	}
	if missing > 0 {
		return fmt.Errorf("demo --check: %d messages' outcomes are missing from their contact's timeline, first %s", missing, example)
	}
	unsub, _, err := store.TimelineCounts(ctx)
	if err != nil {
		return err
	}
	if unsub == 0 {
		return fmt.Errorf("demo --check: the unsubscribe link was followed but no consent change is in the timeline")
	}
	fmt.Fprintln(e.stdout, "demo --check: passed — every message reached a final state and every timeline agrees with the outbox")
	return nil
}

// demoUnsubscribe plays a customer clicking the unsubscribe link of a delivered
// email: the link's page is fetched, then the form posted, as a browser would.
// It reports false while no email has been delivered yet.
func demoUnsubscribe(ctx context.Context, svc *delivery.Service, store *contacts.Store, base string) (bool, error) {
	msgs, err := svc.ContactMessages(ctx)
	if err != nil {
		return false, err
	}
	var emails []delivery.ContactMessage
	var cids []int64
	for _, m := range msgs {
		if m.Channel == contacts.ChannelEmail && m.Status == string(delivery.StatusDelivered) {
			emails, cids = append(emails, m), append(cids, m.ContactID)
		}
	}
	if len(emails) == 0 {
		return false, nil
	}
	cons, err := store.ConsentsOf(ctx, cids)
	if err != nil {
		return false, err
	}
	var id int64
	for _, m := range emails {
		// A customer who still takes marketing email, so the click changes something.
		if cons[contacts.ConsentKey{ContactID: m.ContactID, Channel: contacts.ChannelEmail, Purpose: contacts.PurposeMarketing}] {
			id = m.ID
			break
		}
	}
	if id == 0 {
		return false, nil
	}
	url := base + "/u/" + svc.Links().Token(delivery.LinkUnsubscribe, id)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, err := http.NewRequestWithContext(ctx, method, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, fmt.Errorf("demo: unsubscribe link: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("demo: unsubscribe link: %s answered %d", method, resp.StatusCode)
		}
	}
	return true, nil
}

// demoSummary prints the played day on one screen.
func demoSummary(ctx context.Context, e *env, svc *delivery.Service, store *contacts.Store, played int, took time.Duration) error {
	sum, err := svc.Summary(ctx, true)
	if err != nil {
		return err
	}
	unsub, events, err := store.TimelineCounts(ctx)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nThe day, played: %d care messages planned at once, then the campaign; by source: %s; settled in %s\n",
		played, sum.BySource, took.Round(time.Second))
	fmt.Fprintf(&b, "  %-8s %-11s %8s\n", "channel", "status", "messages")
	for _, c := range sum.ByChannel {
		fmt.Fprintf(&b, "  %-8s %-11s %8d\n", c.Channel, c.Status, c.N)
	}
	fmt.Fprintf(&b, "  fallbacks to a later channel: %d; managers' digests: %d; unsubscribes by link: %d; message events in timelines: %d\n",
		sum.Fallbacks, sum.Digests, unsub, events)
	for _, r := range sum.NotSent {
		fmt.Fprintf(&b, "  not delivered: %-40s %6d\n", r.Reason, r.N)
	}
	fmt.Fprint(e.stdout, b.String())
	return nil
}
