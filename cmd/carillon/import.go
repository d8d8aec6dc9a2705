package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"carillon/contacts"
)

func cmdImport(ctx context.Context, e *env, args []string) error {
	fs := newFlags("import", e.stderr)
	asJSON := fs.Bool("json", false, "print the summary as one JSON document")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || (pos[0] != "contacts" && pos[0] != "managers") {
		fmt.Fprintln(e.stderr, "usage: carillon import contacts|managers FILE [--json]")
		return &exitError{code: 2, err: errUsage}
	}
	kind, path := pos[0], pos[1]
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import %s: %w", kind, err)
	}
	defer f.Close()
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	pool, _, err := e.openDB(ctx, 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	store, err := contacts.NewStore(pool, contacts.Config{Logger: e.logger})
	if err != nil {
		return err
	}
	opts := contacts.ImportOptions{Actor: osActor(), SourceName: filepath.Base(path)}
	start := time.Now()
	if isTerminal(e.stderr) {
		opts.Progress = progressBar(e.stderr, size, start)
	}
	rep, err := importFile(ctx, store, kind, f, opts)
	if isTerminal(e.stderr) {
		fmt.Fprintln(e.stderr)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONTo(e.stdout, rep)
	}
	printReport(e.stdout, kind, rep, time.Since(start))
	return nil
}

func importFile(ctx context.Context, store *contacts.Store, kind string, r io.Reader, opts contacts.ImportOptions) (*contacts.ImportReport, error) {
	if kind == "managers" {
		return store.ImportManagers(ctx, r, opts)
	}
	return store.ImportContacts(ctx, r, opts)
}

// progressBar draws "[=====>    ] 45% 123,456 rows 18,230 rows/s" on a terminal.
func progressBar(w io.Writer, size int64, start time.Time) func(rows int, read int64) {
	return func(rows int, read int64) {
		frac := 0.0
		if size > 0 {
			frac = min(float64(read)/float64(size), 1)
		}
		const width = 30
		n := int(frac * width)
		bar := make([]byte, width)
		for i := range bar {
			switch {
			case i < n:
				bar[i] = '='
			case i == n:
				bar[i] = '>'
			default:
				bar[i] = ' '
			}
		}
		rate := float64(rows) / max(time.Since(start).Seconds(), 0.001)
		fmt.Fprintf(w, "\r[%s] %3.0f%% %d rows %.0f rows/s", bar, frac*100, rows, rate)
	}
}

func printReport(w io.Writer, kind string, rep *contacts.ImportReport, took time.Duration) {
	fmt.Fprintf(w, "imported %s (%s): %d rows: %d inserted, %d updated, %d unchanged, %d failed in %s\n",
		kind, rep.Encoding, rep.Rows, rep.Inserted, rep.Updated, rep.Unchanged, rep.Failed, took.Round(time.Millisecond))
	for _, e := range rep.Errors {
		col := e.Column
		if col == "" {
			col = "-"
		}
		fmt.Fprintf(w, "  line %d, column %s: %s\n", e.Line, col, e.Message)
	}
	if rep.ErrorsTruncated {
		fmt.Fprintln(w, "  (more errors not listed)")
	}
	for _, e := range rep.Warnings {
		fmt.Fprintf(w, "  warning: line %d, column %s: %s\n", e.Line, e.Field, e.Message)
	}
}
