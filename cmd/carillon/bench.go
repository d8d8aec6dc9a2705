package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/contacts"
	"carillon/internal/audit"
	"carillon/internal/pgdev"
	"carillon/internal/synth"
	"carillon/migrations"
)

// A benchmark figure with its baseline measured in the same run on the same
// database. The JSON shape is stable: fields are added, never renamed.
type figure struct {
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
	Email *emailDetail `json:"email,omitempty"`
}

// benchPoolConns is the benchmarks' connection pool size, serve's.
const benchPoolConns = 40

// A benchmark: its full size (--quick: a tenth) and what runs it.
type benchmark struct {
	full int
	run  func(ctx context.Context, e *env, srv pgdev.Server, size, runs int) (*figure, error)
}

// benchNames is the order `bench all` runs them in.
var benchNames = []string{"import", "dispatch", "plan", "receipts", "fanout", "email", "console"}

var benchByName = map[string]benchmark{
	"import":   {1_000_000, benchImport},
	"dispatch": {50_000, benchDispatch},
	"plan":     {1_000_000, benchPlan},
	"receipts": {100_000, benchReceipts},
	"fanout":   {1_000_000, benchFanout},
	"email": {DefaultBenchEmailMessages, func(ctx context.Context, e *env, srv pgdev.Server, size, runs int) (*figure, error) {
		return benchEmail(ctx, e, srv, size, runs, DefaultBenchEmailConnections) // cmdBench passes --connections
	}},
	"console": {1_000_000, benchConsole},
}

func cmdBench(ctx context.Context, e *env, args []string) error {
	fs := newFlags("bench", e.stderr)
	asJSON := fs.Bool("json", false, "print one JSON document")
	quick := fs.Bool("quick", false, "a tenth of the size")
	runs := fs.Int("runs", 3, "runs per figure (median reported)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the benchmarks to this file")
	memProfile := fs.String("memprofile", "", "write a heap profile (allocations in use at the end) to this file")
	messages := fs.Int("messages", 0, "bench email: messages per run (default 20000, --quick 2000)")
	connections := fs.Int("connections", DefaultBenchEmailConnections, "bench email: SMTP connections, of Carillon and of the bare loop")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	which := "all"
	if len(pos) > 0 {
		which = pos[0]
	}
	var todo []string
	switch {
	case which == "all":
		todo = benchNames
	case slices.Contains(benchNames, which):
		todo = []string{which}
	default:
		return fmt.Errorf("bench: unknown benchmark %q (have: %s, all)", which, strings.Join(benchNames, ", "))
	}
	if *runs < 1 {
		return fmt.Errorf("bench: --runs must be at least 1")
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		defer func() {
			if f, err := os.Create(*memProfile); err == nil {
				_ = pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	srv, err := pgdev.Find(ctx, pgdev.Config{Env: e.getenv, Database: "postgres"})
	if err != nil {
		return err
	}
	results := map[string]*figure{}
	for _, name := range todo {
		b := benchByName[name]
		size := b.full
		if *quick {
			size = b.full / 10
		}
		var f *figure
		if name == "email" {
			if *messages > 0 {
				size = *messages
			}
			f, err = benchEmail(ctx, e, srv, size, *runs, *connections)
		} else {
			f, err = b.run(ctx, e, srv, size, *runs)
		}
		if err != nil {
			return fmt.Errorf("bench %s: %w", name, err)
		}
		results[name] = f
	}
	if *asJSON {
		return writeJSONTo(e.stdout, results)
	}
	fmt.Fprintf(e.stdout, "%-8s %12s %-8s %12s  %-28s %6s %8s %9s  %s\n", "bench", "value", "unit", "baseline", "baseline name", "ratio", "spread", "peak RSS", "goal")
	for _, name := range todo {
		f := results[name]
		fmt.Fprintf(e.stdout, "%-8s %12.0f %-8s %12.0f  %-28s %6.2f %7.0f%% %6.0f MB  %s\n", name, f.Value, f.Unit, f.Baseline, f.BaselineName, f.Ratio, f.Spread*100, f.PeakRSSMB, f.Goal)
	}
	if f := results["email"]; f != nil && f.Email != nil {
		writeEmailDetail(e.stdout, f)
	}
	return nil
}

// benchDB creates a fresh migrated database for one run and returns a pool and a
// cleanup that drops it.
func benchDB(ctx context.Context, srv pgdev.Server) (*pgxpool.Pool, func(), error) {
	// The pool `carillon serve` opens (40 connections), not pgxpool's default of
	// one per core: both sides of every comparison use it.
	pool, _, cleanup, err := scratchPool(ctx, srv, "carillon_bench", benchPoolConns)
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
func benchImport(ctx context.Context, e *env, srv pgdev.Server, size, runs int) (*figure, error) {
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
	f := &figure{Unit: "rows/s", BaselineName: "bare COPY rows/s", Size: size, Goal: ">= 20000 rows/s"}
	resetPeakRSS()
	for i := range runs {
		fmt.Fprintf(e.stderr, "bench import: run %d/%d, %d rows\n", i+1, runs, size)
		pool, cleanup, err := benchDB(ctx, srv)
		if err != nil {
			return nil, err
		}
		store, err := contacts.NewStore(pool, contacts.Config{})
		if err != nil {
			cleanup()
			return nil, err
		}
		mf, _ := os.Open(mpath)
		_, err = store.ImportManagers(ctx, mf, contacts.ImportOptions{Actor: audit.Actor{Name: "bench"}})
		mf.Close()
		if err != nil {
			cleanup()
			return nil, err
		}
		cf, _ := os.Open(cpath)
		start := time.Now()
		rep, err := store.ImportContacts(ctx, cf, contacts.ImportOptions{Actor: audit.Actor{Name: "bench"}})
		took := time.Since(start)
		cf.Close()
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
// columns with pg's own CSV parser.
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

func (f *figure) finish() {
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

// benchProgress draws a benchmark's progress on a terminal ("[====>   ] 45%
// 4,500/10,000 messages"); elsewhere it draws nothing. done() ends the line.
func benchProgress(e *env, unit string, total int64) (update func(n int64), done func()) {
	if !isTerminal(e.stderr) || total <= 0 {
		return func(int64) {}, func() {}
	}
	start := time.Now()
	bar := progressBar(e.stderr, total, start)
	return func(n int64) { bar(int(n), n) }, func() { fmt.Fprintf(e.stderr, "\r%-80s\r", "") }
}

// eachRun measures runs runs of once, each on a fresh database, into f (the
// value and the baseline of each run), with the peak RSS of them all.
func eachRun(ctx context.Context, e *env, srv pgdev.Server, f *figure, name string, runs int,
	once func(pool *pgxpool.Pool) (value, baseline float64, err error)) (*figure, error) {
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
