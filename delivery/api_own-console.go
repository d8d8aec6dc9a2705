package delivery

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// The outbox's figures for the console's dashboard and pages and for the
// metrics. Each is one set-based query over the outbox's own tables.

// SourceStatusCount is how many of a source's top-level messages (not
// fallbacks) have a status.
type SourceStatusCount struct {
	SourceID string
	Status   Status
	N        int64
}

const sqlSourceStatusCounts = `SELECT source_id, status, count(*) FROM messages
	WHERE source = $1 AND source_id = ANY($2) AND parent_id IS NULL GROUP BY 1, 2`

// SourceStatusCounts counts the top-level messages of source whose source id
// is one of ids, by source id and status.
func (s *Service) SourceStatusCounts(ctx context.Context, source string, ids []string) ([]SourceStatusCount, error) {
	rows, err := s.pool.Query(ctx, sqlSourceStatusCounts, source, ids)
	if err != nil {
		return nil, fmt.Errorf("count %s messages: %w", source, err)
	}
	var out []SourceStatusCount
	var c SourceStatusCount
	if _, err := pgx.ForEachRow(rows, []any{&c.SourceID, &c.Status, &c.N}, func() error {
		out = append(out, c)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("count %s messages: %w", source, err)
	}
	return out, nil
}

// SourceEngagement is how many of a source id's email messages were opened
// and clicked at least once.
type SourceEngagement struct {
	SourceID        string
	Opened, Clicked int64
}

// sqlSourceEngagement reads the opens and clicks from contact_message_events,
// the view the contacts package declares over its timeline (migration 060).
const sqlSourceEngagement = `SELECT m.source_id,
		count(DISTINCT m.id) FILTER (WHERE e.kind = 'message.opened'), count(DISTINCT m.id) FILTER (WHERE e.kind = 'message.clicked')
	FROM messages m JOIN contact_message_events e ON e.contact_id = m.contact_id AND e.kind IN ('message.opened', 'message.clicked')
	  AND e.at >= m.created_at AND e.message_id = m.id::text
	WHERE m.source = $1 AND m.source_id = ANY($2) AND m.channel = 'email'
	GROUP BY 1`

// SourceEngagement counts the opened and clicked email messages of source
// whose source id is one of ids.
func (s *Service) SourceEngagement(ctx context.Context, source string, ids []string) ([]SourceEngagement, error) {
	rows, err := s.pool.Query(ctx, sqlSourceEngagement, source, ids)
	if err != nil {
		return nil, fmt.Errorf("count %s opens: %w", source, err)
	}
	var out []SourceEngagement
	var e SourceEngagement
	if _, err := pgx.ForEachRow(rows, []any{&e.SourceID, &e.Opened, &e.Clicked}, func() error {
		out = append(out, e)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("count %s opens: %w", source, err)
	}
	return out, nil
}

// DailyCount is how many messages were created on a day (in a time zone)
// through a channel and provider ("" for none yet) and have a status.
type DailyCount struct {
	Day, Channel, Provider, Status string
	N                              int
}

const sqlDailyCounts = `SELECT to_char(date_trunc('day', created_at, $3) AT TIME ZONE $3, 'YYYY-MM-DD'), coalesce(channel, ''), coalesce(provider, ''), status, count(*)
	FROM messages WHERE created_at >= $1 AND ($2::timestamptz IS NULL OR created_at < $2)
	GROUP BY date_trunc('day', created_at, $3), 2, 3, 4`

// DailyCounts counts the messages created in [from, to) (to zero: no end) by
// day in time zone tz (YYYY-MM-DD), channel, provider and status.
func (s *Service) DailyCounts(ctx context.Context, from, to time.Time, tz string) ([]DailyCount, error) {
	var end *time.Time
	if !to.IsZero() {
		end = &to
	}
	rows, err := s.pool.Query(ctx, sqlDailyCounts, from, end, tz)
	if err != nil {
		return nil, fmt.Errorf("count messages by day: %w", err)
	}
	var out []DailyCount
	var a DailyCount
	if _, err := pgx.ForEachRow(rows, []any{&a.Day, &a.Channel, &a.Provider, &a.Status, &a.N}, func() error {
		out = append(out, a)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("count messages by day: %w", err)
	}
	return out, nil
}

// PlannedCount is how many top-level messages a care rule planned for a day
// of a week, and whether that day is today.
type PlannedCount struct {
	SourceID string
	Today    bool
	N        int
}

// sqlCarePlanned reads the care plan by the day the care planner gives its
// messages (vars.Care.Date), with the index the care statistics use.
const sqlCarePlanned = `SELECT source_id, vars -> 'Care' ->> 'Date' = $2 AS today, count(*)
	FROM messages WHERE source_id = ANY($1) AND (vars -> 'Care' ->> 'Date') BETWEEN $3 AND $4
	  AND source = $5 AND parent_id IS NULL
	GROUP BY 1, 2`

// CarePlanned counts the top-level messages of source (the care planner's)
// for the rules keys planned for a day in [from, to] (YYYY-MM-DD), by rule and
// whether the day is today.
func (s *Service) CarePlanned(ctx context.Context, source string, keys []string, today, from, to string) ([]PlannedCount, error) {
	rows, err := s.pool.Query(ctx, sqlCarePlanned, keys, today, from, to, source)
	if err != nil {
		return nil, fmt.Errorf("count care plan: %w", err)
	}
	var out []PlannedCount
	var p PlannedCount
	if _, err := pgx.ForEachRow(rows, []any{&p.SourceID, &p.Today, &p.N}, func() error {
		out = append(out, p)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("count care plan: %w", err)
	}
	return out, nil
}

const sqlSendsBetween = `SELECT count(*) FILTER (WHERE send_at >= @day_from AND send_at < @day_to), count(*)
	FROM messages WHERE source = @source AND source_id = @source_id AND send_at >= @from AND send_at < @to`

// SendsBetween counts the messages of source and sourceID to be sent in
// [from, to), and of those in [dayFrom, dayTo).
func (s *Service) SendsBetween(ctx context.Context, source, sourceID string, dayFrom, dayTo, from, to time.Time) (day, all int, err error) {
	err = s.pool.QueryRow(ctx, sqlSendsBetween, pgx.NamedArgs{"day_from": dayFrom, "day_to": dayTo, "from": from, "to": to,
		"source": source, "source_id": sourceID}).Scan(&day, &all)
	if err != nil {
		return 0, 0, fmt.Errorf("count %s messages to send: %w", source, err)
	}
	return day, all, nil
}

// UnmatchedReceipts is a provider's receipts kept that matched no message
// (yet), and when the oldest came.
type UnmatchedReceipts struct {
	Provider string
	Count    int
	Oldest   time.Time
}

// Unmatched returns the unmatched receipts by provider.
func (s *Service) Unmatched(ctx context.Context) ([]UnmatchedReceipts, error) {
	rows, err := s.pool.Query(ctx, `SELECT provider, count(*), min(received_at) FROM receipts WHERE NOT applied GROUP BY provider ORDER BY provider`)
	if err != nil {
		return nil, fmt.Errorf("count unmatched receipts: %w", err)
	}
	var out []UnmatchedReceipts
	var u UnmatchedReceipts
	if _, err := pgx.ForEachRow(rows, []any{&u.Provider, &u.Count, &u.Oldest}, func() error {
		out = append(out, u)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("count unmatched receipts: %w", err)
	}
	return out, nil
}

// StopCount counts the sending stops in force.
func (s *Service) StopCount(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM send_stops`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count stops: %w", err)
	}
	return n, nil
}

// OpenCounts counts the messages waiting or being sent, by status (queued,
// sending): the partial index answers it.
func (s *Service) OpenCounts(ctx context.Context) (map[Status]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT status, count(*) FROM messages WHERE status IN ('queued', 'sending') GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("count open messages: %w", err)
	}
	out := map[Status]int64{}
	var st Status
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&st, &n}, func() error {
		out[st] = n
		return nil
	}); err != nil {
		return nil, fmt.Errorf("count open messages: %w", err)
	}
	return out, nil
}

// QueueCountCap bounds the scheduled, retryable and discarded jobs Queues
// counts per queue: River counts only available and running jobs by queue,
// the others are read through its job list, which stops here. A count at the
// cap means "this many or more".
const QueueCountCap = 1000

// QueueJobs is one River queue's jobs by state.
type QueueJobs struct {
	Queue     string
	Available int
	Running   int
	Scheduled int // up to QueueCountCap
	Retryable int // up to QueueCountCap
	Discarded int // in the 24 hours before now, up to QueueCountCap
	// OldestAvailable is how long the oldest available job has waited (zero: none).
	OldestAvailable time.Duration
}

// Queues reads River's queues (the outbox's own, River's default one and
// those River lists: a client ran them lately) and their jobs by state, through River's own API: River's driver counts the
// available and running jobs by queue; the job list gives the others and the
// oldest available job. Queues without such jobs are left out.
func (s *Service) Queues(ctx context.Context, now time.Time) ([]QueueJobs, error) {
	ql, err := s.inserter.QueueList(ctx, river.NewQueueListParams().First(10000))
	if err != nil {
		return nil, fmt.Errorf("list river queues: %w", err)
	}
	// The outbox's own queue and River's default one are always looked at,
	// whether or not a client runs them here.
	names := []string{s.cfg.Queue, river.QueueDefault}
	for _, q := range ql.Queues {
		if !slices.Contains(names, q.Name) {
			names = append(names, q.Name)
		}
	}
	counts, err := s.inserter.Driver().GetExecutor().JobCountByQueueAndState(ctx, &riverdriver.JobCountByQueueAndStateParams{QueueNames: names})
	if err != nil {
		return nil, fmt.Errorf("count river jobs by queue: %w", err)
	}
	list := func(q string, state rivertype.JobState, order river.JobListOrderByField, dir river.SortOrder, n int) ([]*rivertype.JobRow, error) {
		res, err := s.inserter.JobList(ctx, river.NewJobListParams().Queues(q).States(state).OrderBy(order, dir).First(n))
		if err != nil {
			return nil, fmt.Errorf("list %s river jobs of queue %s: %w", state, q, err)
		}
		return res.Jobs, nil
	}
	var out []QueueJobs
	for _, c := range counts {
		r := QueueJobs{Queue: c.Queue, Available: int(c.CountAvailable), Running: int(c.CountRunning)}
		if r.Available > 0 {
			oldest, err := list(c.Queue, rivertype.JobStateAvailable, river.JobListOrderByScheduledAt, river.SortOrderAsc, 1)
			if err != nil {
				return nil, err
			}
			if len(oldest) == 1 {
				if secs := math.Round(now.Sub(oldest[0].ScheduledAt).Seconds()); secs > 0 {
					r.OldestAvailable = time.Duration(secs) * time.Second
				}
			}
		}
		for _, st := range []struct {
			state rivertype.JobState
			n     *int
		}{{rivertype.JobStateScheduled, &r.Scheduled}, {rivertype.JobStateRetryable, &r.Retryable}} {
			jobs, err := list(c.Queue, st.state, river.JobListOrderByID, river.SortOrderAsc, QueueCountCap)
			if err != nil {
				return nil, err
			}
			*st.n = len(jobs)
		}
		// Discarded in the last day: newest first, counted until the day before.
		jobs, err := list(c.Queue, rivertype.JobStateDiscarded, river.JobListOrderByFinalizedAt, river.SortOrderDesc, QueueCountCap)
		if err != nil {
			return nil, err
		}
		since := now.Add(-24 * time.Hour)
		for _, j := range jobs {
			if j.FinalizedAt == nil || !j.FinalizedAt.After(since) {
				break
			}
			r.Discarded++
		}
		if r == (QueueJobs{Queue: c.Queue}) {
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Queue < out[j].Queue })
	return out, nil
}
