package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"carillon/channels"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/app"
	"carillon/internal/audit"
	"carillon/internal/pgdev"
	"carillon/internal/synth"
	"carillon/templates"
)

// dispatchWorkers is the River worker count of the dispatch benchmark, for
// Carillon's deliver jobs and River's no-op baseline alike.
const dispatchWorkers = 1000

// benchDispatch measures messages per second from the outbox to the sandbox SMS
// provider and back through its receipt into the timeline, beside River's own
// no-op job throughput with the same workers and fetch settings on the same
// database.
func benchDispatch(ctx context.Context, e *env, srv pgdev.Server, size, runs int) (*Figure, error) {
	f := &Figure{Unit: "msgs/s", BaselineName: "river no-op jobs/s", Size: size, Goal: ">= 0.25 of River's no-op rate"}
	resetPeakRSS()
	for i := range runs {
		fmt.Fprintf(e.stderr, "bench dispatch: run %d/%d, %d messages\n", i+1, runs, size)
		pool, cleanup, err := benchDB(ctx, srv)
		if err != nil {
			return nil, err
		}
		rate, mb, err := dispatchOnce(ctx, e, pool, size)
		if err != nil {
			cleanup()
			return nil, err
		}
		f.Runs = append(f.Runs, rate)
		f.DBMBPerMillion = mb
		base, err := riverNoop(ctx, pool, size)
		cleanup()
		if err != nil {
			return nil, err
		}
		f.BaselineRuns = append(f.BaselineRuns, base)
	}
	f.PeakRSSMB = peakRSSMB()
	f.finish()
	return f, nil
}

// dispatchOnce returns the messages per second and the database's size per
// million messages as sent: outbox, receipts, timeline events, River's jobs.
func dispatchOnce(ctx context.Context, e *env, pool *pgxpool.Pool, size int) (float64, float64, error) {
	// The provider's receipts come back through the real webhook handler.
	var svcp atomic.Pointer[delivery.Service]
	var regp atomic.Pointer[channels.Registry]
	var receipts atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/hooks/{name}/receipts", func(w http.ResponseWriter, r *http.Request) {
		p, _ := regp.Load().Provider(r.PathValue("name"))
		channels.ReceiptHandler(p.Receipts, func(ctx context.Context, rs []channels.Receipt) error {
			_, err := svcp.Load().ApplyReceipts(ctx, rs)
			receipts.Add(int64(len(rs)))
			return err
		}, e.logger).ServeHTTP(w, r)
	})
	hooks := httptest.NewServer(mux)
	defer hooks.Close()
	built, err := startProviders(ctx, pool, channels.ProviderConfig{Name: "ali", Provider: channels.KindAliyun, Endpoint: channels.EndpointSandbox,
		WebhookSecretEnv: benchHookEnv, Rate: 100000, Sandbox: channels.SandboxConfig{ReceiptURL: hooks.URL + "/hooks/ali/receipts?token=" + benchHook}})
	if err != nil {
		return 0, 0, err
	}
	defer built.Stop(context.WithoutCancel(ctx))
	built.Sandboxes["ali"].Recorder().KeepContent(false)
	regp.Store(built.Registry)
	world, err := app.NewServices(pool, app.ServicesConfig{Bank: templates.Bank{Name: "Carillon Bank", Hotline: "95000"}, Registry: built.Registry,
		Delivery: delivery.Config{MarketingWindow: delivery.Always, ServiceWindow: delivery.Always, JobBatch: 50, SendConcurrency: 1}})
	if err != nil {
		return 0, 0, err
	}
	if _, err := app.SandboxCodes(ctx, world.Templates, audit.Actor{Name: "bench"}); err != nil {
		return 0, 0, err
	}
	// Contacts to send to: a thousand synthetic customers, messages round robin.
	dir, err := os.MkdirTemp("", "carillon-bench-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	cpath := filepath.Join(dir, "contacts.csv")
	if err := writeFile(cpath, func(w io.Writer) error { return synth.WriteContacts(w, 1000, 0, 0, 7) }); err != nil {
		return 0, 0, err
	}
	_, err = importFrom(cpath, func(r io.Reader) (*contacts.ImportReport, error) {
		return world.Contacts.ImportContacts(ctx, r, contacts.ImportOptions{Actor: audit.Actor{Name: "bench"}})
	})
	if err != nil {
		return 0, 0, err
	}
	ids, err := contactIDs(ctx, world.Contacts)
	if err != nil {
		return 0, 0, err
	}

	svc := world.Delivery
	svcp.Store(svc)
	workers := river.NewWorkers()
	river.AddWorker(workers, svc.Worker(world.Contacts))
	rc, err := river.NewClient(riverpgxv5.New(pool), riverBenchConfig(delivery.DefaultQueue, workers))
	if err != nil {
		return 0, 0, err
	}
	planned := make([]delivery.Planned, size)
	for i := range planned {
		planned[i] = delivery.Planned{DedupeKey: fmt.Sprintf("bench:%d", i), ContactID: ids[i%len(ids)], Source: "bench",
			Purpose: channels.PurposeService, TemplateKey: "birthday", Channels: []channels.Channel{channels.SMS},
			Vars: map[string]any{}}
	}
	start := time.Now()
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := svc.Enqueue(ctx, tx, planned)
		return err
	}); err != nil {
		return 0, 0, err
	}
	if err := rc.Start(ctx); err != nil {
		return 0, 0, err
	}
	defer rc.Stop(context.WithoutCancel(ctx))
	deadline := time.Now().Add(10 * time.Minute)
	var allSent time.Duration
	progress, done := e.progress("messages", int64(size))
	defer done()
	for {
		p, err := svc.Progress(ctx)
		if err != nil {
			return 0, 0, err
		}
		open, unsent := p.Open, p.Unsent
		if unsent == 0 && allSent == 0 {
			allSent = time.Since(start)
		}
		progress(int64(size - open))
		if open == 0 {
			fmt.Fprintf(e.stderr, "bench dispatch: every message handed to the provider after %s, every receipt applied after %s\n",
				allSent.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("dispatch: %d messages still open after 10 minutes", open)
		}
		// Polling often would itself load the database the benchmark measures.
		time.Sleep(200 * time.Millisecond)
	}
	took := time.Since(start)
	delivered, err := svc.CountStatus(ctx, delivery.StatusDelivered)
	if err != nil {
		return 0, 0, err
	}
	events, err := world.Contacts.CountEvents(ctx, "message.delivered", "message.failed")
	if err != nil {
		return 0, 0, err
	}
	if delivered < size*9/10 || events < delivered {
		var summary []string
		if sum, err := svc.Summary(ctx, true); err == nil {
			for _, c := range sum.ByChannel {
				summary = append(summary, fmt.Sprintf("%s %s: %d", c.Channel, c.Status, c.N))
			}
			for _, r := range sum.NotSent {
				summary = append(summary, fmt.Sprintf("%s: %d", r.Reason, r.N))
			}
		}
		return 0, 0, fmt.Errorf("dispatch: only %d of %d delivered, %d receipt events in timelines; outcomes: %s", delivered, size, events, strings.Join(summary, "; "))
	}
	bytes, err := storageBytes(ctx, pool, svc, world.Contacts)
	if err != nil {
		return 0, 0, err
	}
	return float64(size) / took.Seconds(), float64(bytes) / float64(size) * 1e6 / (1 << 20), nil
}

// contactIDs lists every contact's id in order, a page at a time.
func contactIDs(ctx context.Context, store *contacts.Store) ([]int64, error) {
	var ids []int64
	f := contacts.ListFilter{Limit: 500}
	for {
		page, err := store.List(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, c := range page.Items {
			ids = append(ids, c.ID)
		}
		if page.Next == "" {
			return ids, nil
		}
		f.After = page.Items[len(page.Items)-1].ID
	}
}

// storageBytes is the database's size of what sending wrote: the outbox and
// the receipts, the timelines' events, and River's jobs. River has no API
// for its table's size: the catalog's is read.
func storageBytes(ctx context.Context, pool *pgxpool.Pool, svc *delivery.Service, store *contacts.Store) (int64, error) {
	outbox, err := svc.OutboxBytes(ctx)
	if err != nil {
		return 0, err
	}
	timelines, err := store.TimelineBytes(ctx)
	if err != nil {
		return 0, err
	}
	var jobs int64
	if err := pool.QueryRow(ctx, `SELECT pg_total_relation_size('river_job')`).Scan(&jobs); err != nil {
		return 0, fmt.Errorf("river's jobs' size: %w", err)
	}
	return outbox + timelines + jobs, nil
}

// riverBenchConfig is the River configuration both sides of the comparison use.
func riverBenchConfig(queue string, workers *river.Workers) *river.Config {
	return &river.Config{
		Queues:            map[string]river.QueueConfig{queue: {MaxWorkers: dispatchWorkers}},
		Workers:           workers,
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
	}
}

type noopArgs struct{}

func (noopArgs) Kind() string { return "bench.noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
	done *atomic.Int64
}

func (w *noopWorker) Work(context.Context, *river.Job[noopArgs]) error {
	w.done.Add(1)
	return nil
}

// riverNoop is River's own throughput for jobs that do nothing.
func riverNoop(ctx context.Context, pool *pgxpool.Pool, size int) (float64, error) {
	var done atomic.Int64
	workers := river.NewWorkers()
	river.AddWorker(workers, &noopWorker{done: &done})
	rc, err := river.NewClient(riverpgxv5.New(pool), riverBenchConfig("noop", workers))
	if err != nil {
		return 0, err
	}
	params := make([]river.InsertManyParams, size)
	for i := range params {
		params[i] = river.InsertManyParams{Args: noopArgs{}, InsertOpts: &river.InsertOpts{Queue: "noop"}}
	}
	start := time.Now()
	for i := 0; i < size; i += 10000 {
		if _, err := rc.InsertManyFast(ctx, params[i:min(i+10000, size)]); err != nil {
			return 0, err
		}
	}
	if err := rc.Start(ctx); err != nil {
		return 0, err
	}
	defer rc.Stop(context.WithoutCancel(ctx))
	for done.Load() < int64(size) {
		if time.Since(start) > 10*time.Minute {
			return 0, fmt.Errorf("river no-op: %d of %d done after 10 minutes", done.Load(), size)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return float64(size) / time.Since(start).Seconds(), nil
}
