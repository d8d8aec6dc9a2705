package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/delivery"
)

// finalStatuses are the message states nothing changes any more.
var finalStatuses = []string{"delivered", "failed", "suppressed", "cancelled"}

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
	unsubscribed := false
	deadline := time.Now().Add(wait)
	for {
		var open, total int
		if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status <> ALL($1)), count(*) FROM messages`, finalStatuses).Scan(&open, &total); err != nil {
			return err
		}
		if !unsubscribed {
			done, err := demoUnsubscribe(ctx, pool, base)
			if err != nil {
				return err
			}
			unsubscribed = done
		}
		if open == 0 && unsubscribed {
			break
		}
		if time.Now().After(deadline) {
			var states []string
			rows, err := pool.Query(ctx, `SELECT status || COALESCE(' ' || NULLIF(reason, ''), '') || ' × ' || count(*) FROM messages
				WHERE status <> ALL($1) GROUP BY status, reason ORDER BY count(*) DESC LIMIT 5`, finalStatuses)
			if err == nil {
				states, _ = pgx.CollectRows(rows, pgx.RowTo[string])
			}
			return fmt.Errorf("demo --check: %d of %d messages not in a final state after %s (%s; unsubscribe played: %v)",
				open, total, wait, strings.Join(states, ", "), unsubscribed)
		}
		fmt.Fprintf(e.stderr, "demo --check: %d of %d messages still on their way\n", open, total)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	// Every message to a customer has its outcome in the customer's timeline.
	var missing int
	var example string
	rows, err := pool.Query(ctx, `SELECT m.id, m.status FROM messages m WHERE m.contact_id IS NOT NULL AND NOT EXISTS (
		SELECT 1 FROM contact_events ev WHERE ev.contact_id = m.contact_id AND ev.kind = 'message.' || m.status
		AND ev.data ->> 'message_id' = m.id::text) ORDER BY m.id`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var status string
		if err := rows.Scan(&id, &status); err != nil {
			rows.Close()
			return err
		}
		if missing == 0 {
			example = fmt.Sprintf("message %d (%s)", id, status)
		}
		missing++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := demoSummary(ctx, e, pool, len(played), time.Since(start)); err != nil {
		return err
	}
	if missing > 0 {
		return fmt.Errorf("demo --check: %d messages' outcomes are missing from their contact's timeline, first %s", missing, example)
	}
	var unsub int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM contact_events WHERE kind LIKE 'consent%' AND data::text LIKE '%unsubscribe_link%'`).Scan(&unsub); err != nil {
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
func demoUnsubscribe(ctx context.Context, pool *pgxpool.Pool, base string) (bool, error) {
	var id int64
	// A customer who still takes marketing email, so the click changes something.
	err := pool.QueryRow(ctx, `SELECT m.id FROM messages m JOIN consents c ON c.contact_id = m.contact_id
		AND c.channel = 'email' AND c.purpose = 'marketing' AND c.granted
		WHERE m.channel = 'email' AND m.status = 'delivered' ORDER BY m.id LIMIT 1`).Scan(&id)
	if err == pgx.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	svc, err := delivery.New(pool, delivery.Config{}, delivery.Deps{})
	if err != nil {
		return false, err
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
func demoSummary(ctx context.Context, e *env, pool *pgxpool.Pool, played int, took time.Duration) error {
	var b strings.Builder
	var bySource string
	if err := pool.QueryRow(ctx, `SELECT COALESCE(string_agg(source || ' ' || n, ', ' ORDER BY source), '') FROM
		(SELECT source, count(*) AS n FROM messages WHERE parent_id IS NULL GROUP BY source) x`).Scan(&bySource); err != nil {
		return err
	}
	fmt.Fprintf(&b, "\nThe day, played: %d care messages planned at once, then the campaign; by source: %s; settled in %s\n",
		played, bySource, took.Round(time.Second))
	rows, err := pool.Query(ctx, `SELECT COALESCE(channel, '-'), status, count(*) FROM messages GROUP BY 1, 2 ORDER BY 1, 2`)
	if err != nil {
		return err
	}
	fmt.Fprintf(&b, "  %-8s %-11s %8s\n", "channel", "status", "messages")
	for rows.Next() {
		var ch, st string
		var n int
		if err := rows.Scan(&ch, &st, &n); err != nil {
			rows.Close()
			return err
		}
		fmt.Fprintf(&b, "  %-8s %-11s %8d\n", ch, st, n)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var fallbacks, digests, unsub, events int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM messages WHERE parent_id IS NOT NULL),
		(SELECT count(*) FROM messages WHERE manager_id IS NOT NULL),
		(SELECT count(*) FROM contact_events WHERE kind LIKE 'consent%' AND data::text LIKE '%unsubscribe_link%'),
		(SELECT count(*) FROM contact_events WHERE kind LIKE 'message.%')`).Scan(&fallbacks, &digests, &unsub, &events); err != nil {
		return err
	}
	fmt.Fprintf(&b, "  fallbacks to a later channel: %d; managers' digests: %d; unsubscribes by link: %d; message events in timelines: %d\n",
		fallbacks, digests, unsub, events)
	rows, err = pool.Query(ctx, `SELECT reason, count(*) FROM messages WHERE status IN ('failed', 'suppressed', 'cancelled') AND reason <> ''
		GROUP BY 1 ORDER BY 2 DESC LIMIT 5`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var reason string
		var n int
		if err := rows.Scan(&reason, &n); err != nil {
			rows.Close()
			return err
		}
		fmt.Fprintf(&b, "  not delivered: %-40s %6d\n", reason, n)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	fmt.Fprint(e.stdout, b.String())
	return nil
}
