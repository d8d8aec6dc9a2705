// Package bench holds Carillon's benchmarks, run by
// `carillon bench [import|dispatch|plan|receipts|fanout|email|console|all] [--quick] [--json]`.
//
// Each benchmark builds the world through internal/app on a database of its
// own (dropped at the end), measures one path of Carillon beside a baseline
// measured in the same run on the same database (a bare COPY, River's no-op
// jobs, a bare go-mail loop), and checks what it measured through the owners'
// APIs. The figures are ratios: these machines are noisy. See docs/benchmarks.md.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/channels"
	"carillon/channels/registry"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/app"
	"carillon/internal/audit"
	"carillon/internal/pgdev"
	"carillon/internal/synth"
	"carillon/migrations"
)

// Figure is a benchmark figure with its baseline measured in the same run on
// the same database. The JSON shape is stable: fields are added, never renamed.
type Figure struct {
	Value        float64   `json:"value"`
	Unit         string    `json:"unit"`
	Baseline     float64   `json:"baseline"`
	BaselineName string    `json:"baseline_name"`
	Ratio        float64   `json:"ratio"`
	Runs         []float64 `json:"runs"`
	BaselineRuns []float64 `json:"baseline_runs"`
	Spread       float64   `json:"spread"` // (max-min)/median of the runs
	PeakRSSMB    float64   `json:"peak_rss_mb"`
	Size         int       `json:"size"`
	// DBMBPerMillion is the database's size per million messages as sent
	// (outbox, receipts, timeline events, River's jobs), from the last run.
	DBMBPerMillion float64 `json:"db_mb_per_million_messages,omitempty"`
	Goal           string  `json:"goal,omitempty"`
	// Email is `bench email`'s detail: CPU and bytes per message, Postgres.
	Email *EmailDetail `json:"email,omitempty"`
}

// Options are what every benchmark reads: the command's flags.
type Options struct {
	Quick bool // a tenth of the size
	Runs  int  // runs per figure (median reported); at least 1
	// Messages is bench email's messages per run; 0: its size (20,000, --quick 2,000).
	Messages int
	// Connections is bench email's SMTP connections, of Carillon and of the
	// bare loop (the flag's default is DefaultEmailConnections); at least 1.
	Connections int
	Getenv      func(string) string // finds the database server (DATABASE_URL)
	Logger      *slog.Logger        // the services' logs
	Stderr      io.Writer           // progress lines
	// Bar draws a progress bar of total units and returns its update and the
	// function that ends it; nil: none.
	Bar func(unit string, total int64) (update func(n int64), done func())
}

// env is what a benchmark writes to: the progress lines, the services' logs,
// the progress bar.
type env struct {
	stderr io.Writer
	logger *slog.Logger
	bar    func(unit string, total int64) (func(int64), func())
}

// benchPoolConns is the benchmarks' connection pool size, serve's.
const benchPoolConns = 40

// A benchmark: its full size (--quick: a tenth) and what runs it.
type benchmark struct {
	full int
	run  func(ctx context.Context, e *env, srv pgdev.Server, size, runs int) (*Figure, error)
}

// Names are the benchmarks, in the order "all" runs them.
var Names = []string{"import", "dispatch", "plan", "receipts", "fanout", "email", "console"}

var byName = map[string]benchmark{
	"import":   {1_000_000, benchImport},
	"dispatch": {50_000, benchDispatch},
	"plan":     {1_000_000, benchPlan},
	"receipts": {100_000, benchReceipts},
	"fanout":   {1_000_000, benchFanout},
	"email": {DefaultEmailMessages, func(ctx context.Context, e *env, srv pgdev.Server, size, runs int) (*Figure, error) {
		return benchEmail(ctx, e, srv, size, runs, DefaultEmailConnections) // Run passes Options.Connections
	}},
	"console": {1_000_000, benchConsole},
}

// Run runs the named benchmarks (of Names) one after another on the database
// server Options.Getenv finds, and returns their figures by name; it stops at
// the first that fails.
func Run(ctx context.Context, opts Options, names []string) (map[string]*Figure, error) {
	for _, name := range names {
		if _, ok := byName[name]; !ok {
			return nil, fmt.Errorf("bench: unknown benchmark %q (have: %s, all)", name, strings.Join(Names, ", "))
		}
	}
	if opts.Runs < 1 {
		return nil, fmt.Errorf("bench: --runs must be at least 1")
	}
	e := &env{stderr: opts.Stderr, logger: opts.Logger, bar: opts.Bar}
	if e.stderr == nil {
		e.stderr = io.Discard
	}
	if e.logger == nil {
		e.logger = slog.New(slog.DiscardHandler)
	}
	srv, err := pgdev.Find(ctx, pgdev.Config{Env: opts.Getenv, Database: "postgres"})
	if err != nil {
		return nil, err
	}
	results := map[string]*Figure{}
	for _, name := range names {
		b := byName[name]
		size := b.full
		if opts.Quick {
			size = b.full / 10
		}
		var f *Figure
		if name == "email" {
			if opts.Messages > 0 {
				size = opts.Messages
			}
			f, err = benchEmail(ctx, e, srv, size, opts.Runs, opts.Connections)
		} else {
			f, err = b.run(ctx, e, srv, size, opts.Runs)
		}
		if err != nil {
			return nil, fmt.Errorf("bench %s: %w", name, err)
		}
		results[name] = f
	}
	return results, nil
}

// WriteJSON writes the figures as one JSON document, by benchmark.
func WriteJSON(w io.Writer, results map[string]*Figure) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(results)
}

// Print writes the figures of the named benchmarks for people, one line each,
// and bench email's detail when it ran.
func Print(w io.Writer, names []string, results map[string]*Figure) {
	fmt.Fprintf(w, "%-8s %12s %-8s %12s  %-28s %6s %8s %9s  %s\n", "bench", "value", "unit", "baseline", "baseline name", "ratio", "spread", "peak RSS", "goal")
	for _, name := range names {
		f := results[name]
		fmt.Fprintf(w, "%-8s %12.0f %-8s %12.0f  %-28s %6.2f %7.0f%% %6.0f MB  %s\n", name, f.Value, f.Unit, f.Baseline, f.BaselineName, f.Ratio, f.Spread*100, f.PeakRSSMB, f.Goal)
	}
	if f := results["email"]; f != nil && f.Email != nil {
		writeEmailDetail(w, f)
	}
}

// benchDB creates a fresh migrated database for one run and returns a pool and a
// cleanup that drops it.
func benchDB(ctx context.Context, srv pgdev.Server) (*pgxpool.Pool, func(), error) {
	// The pool `carillon serve` opens (40 connections), not pgxpool's default of
	// one per core: both sides of every comparison use it.
	pool, _, cleanup, err := app.ScratchPool(ctx, srv, "carillon_bench", benchPoolConns)
	if err != nil {
		return nil, nil, err
	}
	if _, err := migrations.Up(ctx, pool, nil); err != nil {
		cleanup()
		return nil, nil, err
	}
	return pool, cleanup, nil
}

// benchImport measures `import contacts` of a synthetic file of size rows into an
// empty database, beside a bare COPY of the same file's cells into an unindexed
// table of text columns (the floor any import that validates and indexes sits on).
func benchImport(ctx context.Context, e *env, srv pgdev.Server, size, runs int) (*Figure, error) {
	dir, err := os.MkdirTemp("", "carillon-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	mpath, cpath := filepath.Join(dir, "managers.csv"), filepath.Join(dir, "contacts.csv")
	if err := writeFile(mpath, func(w io.Writer) error { return synth.WriteManagers(w, 200) }); err != nil {
		return nil, err
	}
	if err := writeFile(cpath, func(w io.Writer) error { return synth.WriteContacts(w, size, 0, 200, 1) }); err != nil {
		return nil, err
	}
	f := &Figure{Unit: "rows/s", BaselineName: "bare COPY rows/s", Size: size, Goal: ">= 20000 rows/s"}
	resetPeakRSS()
	for i := range runs {
		fmt.Fprintf(e.stderr, "bench import: run %d/%d, %d rows\n", i+1, runs, size)
		pool, cleanup, err := benchDB(ctx, srv)
		if err != nil {
			return nil, err
		}
		svc, err := app.NewServices(pool, app.ServicesConfig{})
		if err != nil {
			cleanup()
			return nil, err
		}
		store := svc.Contacts
		_, err = importFrom(mpath, func(r io.Reader) (*contacts.ImportReport, error) {
			return store.ImportManagers(ctx, r, contacts.ImportOptions{Actor: audit.Actor{Name: "bench"}})
		})
		if err != nil {
			cleanup()
			return nil, err
		}
		start := time.Now()
		rep, err := importFrom(cpath, func(r io.Reader) (*contacts.ImportReport, error) {
			return store.ImportContacts(ctx, r, contacts.ImportOptions{Actor: audit.Actor{Name: "bench"}})
		})
		took := time.Since(start)
		if err == nil && (rep.Inserted != size || rep.Failed != 0) {
			err = fmt.Errorf("import inserted %d of %d rows, %d failed (first error: %v)", rep.Inserted, size, rep.Failed, firstErr(rep))
		}
		if err != nil {
			cleanup()
			return nil, err
		}
		f.Runs = append(f.Runs, float64(size)/took.Seconds())

		base, err := bareCopy(ctx, pool, cpath)
		cleanup()
		if err != nil {
			return nil, err
		}
		f.BaselineRuns = append(f.BaselineRuns, float64(size)/base.Seconds())
	}
	f.PeakRSSMB = peakRSSMB()
	f.finish()
	return f, nil
}

func firstErr(rep *contacts.ImportReport) any {
	if len(rep.Errors) > 0 {
		return rep.Errors[0]
	}
	return nil
}

// bareCopy copies the file's cells, unparsed, into an unlogged table of text
// columns (the benchmark's own) with pg's own CSV parser.
func bareCopy(ctx context.Context, pool *pgxpool.Pool, path string) (time.Duration, error) {
	cols := strings.Split(synth.ContactsHeader, ",")
	defs := make([]string, len(cols))
	for i, c := range cols {
		defs[i] = pgx.Identifier{c}.Sanitize() + " text"
	}
	if _, err := pool.Exec(ctx, `CREATE UNLOGGED TABLE bench_copy (`+strings.Join(defs, ", ")+`)`); err != nil {
		return 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	start := time.Now()
	if _, err := conn.Conn().PgConn().CopyFrom(ctx, f, `COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)`); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func writeFile(path string, fill func(w io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (f *Figure) finish() {
	f.Value = median(f.Runs)
	f.Baseline = median(f.BaselineRuns)
	if f.Baseline > 0 {
		f.Ratio = f.Value / f.Baseline
	}
	if f.Value > 0 {
		f.Spread = (slices.Max(f.Runs) - slices.Min(f.Runs)) / f.Value
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// resetPeakRSS resets the kernel's high-water mark of this process's resident set
// (Linux: writing 5 to clear_refs), so each benchmark reports its own peak.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			fields := strings.Fields(line)
			if len(fields) >= 2 {
				kb, _ := strconv.ParseFloat(fields[1], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// progress draws a benchmark's progress with Options.Bar; without one it
// draws nothing. done() ends the line.
func (e *env) progress(unit string, total int64) (update func(n int64), done func()) {
	if e.bar == nil || total <= 0 {
		return func(int64) {}, func() {}
	}
	return e.bar(unit, total)
}

// eachRun measures runs runs of once, each on a fresh database, into f (the
// value and the baseline of each run), with the peak RSS of them all.
func eachRun(ctx context.Context, e *env, srv pgdev.Server, f *Figure, name string, runs int,
	once func(pool *pgxpool.Pool) (value, baseline float64, err error)) (*Figure, error) {
	resetPeakRSS()
	for i := range runs {
		fmt.Fprintf(e.stderr, "bench %s: run %d/%d, %d\n", name, i+1, runs, f.Size)
		pool, cleanup, err := benchDB(ctx, srv)
		if err != nil {
			return nil, err
		}
		v, b, err := once(pool)
		cleanup()
		if err != nil {
			return nil, err
		}
		f.Runs = append(f.Runs, v)
		f.BaselineRuns = append(f.BaselineRuns, b)
	}
	f.PeakRSSMB = peakRSSMB()
	f.finish()
	return f, nil
}

// The webhook token of the benchmarks' providers, read from benchHookEnv.
const (
	benchHookEnv = "BENCH_HOOK"
	benchHook    = "bench"
)

// benchGetenv is the providers' environment: the webhook token only.
func benchGetenv(k string) string { return map[string]string{benchHookEnv: benchHook}[k] }

// startProviders builds the providers an operator configures (ps, with the
// defaults of each kind applied and checked as a configuration file's are)
// and starts their sandboxes. The caller stops them.
func startProviders(ctx context.Context, pool *pgxpool.Pool, ps ...channels.ProviderConfig) (*registry.Built, error) {
	cfg := channels.Config{Providers: ps}.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("bench providers: %w", err)
	}
	return registry.Build(ctx, cfg, registry.Deps{Pool: pool, Getenv: benchGetenv})
}

// shanghai is the zone of the sandboxes' reports, the mainland providers'.
func shanghai() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.UTC
	}
	return loc
}

// countOutbox counts the summary's messages on channel ("": any) in one of
// the statuses.
func countOutbox(sum delivery.OutboxSummary, channel channels.Channel, statuses ...delivery.Status) int {
	n := 0
	for _, c := range sum.ByChannel {
		if (channel == "" || c.Channel == string(channel)) && slices.Contains(statuses, delivery.Status(c.Status)) {
			n += c.N
		}
	}
	return n
}

// importFrom opens the file at path for an import and closes it after; a file
// that does not open is the run's error, not a nil reader handed on.
func importFrom[T any](path string, imp func(io.Reader) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	return imp(f)
}
