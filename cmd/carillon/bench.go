package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"carillon/internal/bench"
)

// carillon bench [import|dispatch|plan|receipts|fanout|email|console|all] [--quick] [--json]
//
// The benchmarks are in internal/bench; this parses the flags, runs them with
// the profiles asked for, and prints their figures. See docs/benchmarks.md.
func cmdBench(ctx context.Context, e *env, args []string) error {
	fs := newFlags("bench", e.stderr)
	asJSON := fs.Bool("json", false, "print one JSON document")
	quick := fs.Bool("quick", false, "a tenth of the size")
	runs := fs.Int("runs", 3, "runs per figure (median reported)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the benchmarks to this file")
	memProfile := fs.String("memprofile", "", "write a heap profile (allocations in use at the end) to this file")
	messages := fs.Int("messages", 0, "bench email: messages per run (default 20000, --quick 2000)")
	connections := fs.Int("connections", bench.DefaultEmailConnections, "bench email: SMTP connections, of Carillon and of the bare loop")
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
		todo = bench.Names
	case slices.Contains(bench.Names, which):
		todo = []string{which}
	default:
		return fmt.Errorf("bench: unknown benchmark %q (have: %s, all)", which, strings.Join(bench.Names, ", "))
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
	results, err := bench.Run(ctx, bench.Options{Quick: *quick, Runs: *runs, Messages: *messages, Connections: *connections,
		Getenv: e.getenv, Logger: e.logger, Stderr: e.stderr, Bar: func(unit string, total int64) (func(int64), func()) {
			return benchProgress(e, total)
		}}, todo)
	if err != nil {
		return err
	}
	if *asJSON {
		return bench.WriteJSON(e.stdout, results)
	}
	bench.Print(e.stdout, todo, results)
	return nil
}

// benchProgress draws a benchmark's progress on a terminal ("[====>   ] 45%
// 4,500/10,000 messages"); elsewhere it draws nothing. done() ends the line.
func benchProgress(e *env, total int64) (update func(n int64), done func()) {
	if !isTerminal(e.stderr) || total <= 0 {
		return func(int64) {}, func() {}
	}
	start := time.Now()
	bar := progressBar(e.stderr, total, start)
	return func(n int64) { bar(int(n), n) }, func() { fmt.Fprintf(e.stderr, "\r%-80s\r", "") }
}
