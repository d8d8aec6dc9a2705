package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// carillon drill [crash|provider-outage|db-restart|two-node|all] [--quick] [--json]
//
// Each drill runs real `carillon serve` processes (the binary given by --bin,
// by default this one) against a database of its own, with the providers'
// sandboxes in the drill's process, breaks something on purpose — a SIGKILL,
// a provider answering 503, a Postgres restart, the River leader killed — and
// counts what became of every message. It prints what it counted and exits 1
// when an invariant broke. See docs/reliability.md.

var drillNames = []string{"crash", "provider-outage", "db-restart", "two-node"}

// drillResult is what one drill counted. The JSON shape is stable: fields are
// added, never renamed.
type drillResult struct {
	Drill  string         `json:"drill"`
	Quick  bool           `json:"quick"`
	Load   string         `json:"load"`
	Passed bool           `json:"passed"`
	TookS  float64        `json:"took_s"`
	Counts map[string]any `json:"counts"`
	Checks []drillCheck   `json:"checks"`
	Error  string         `json:"error,omitempty"`
	Logs   string         `json:"logs,omitempty"` // the directory of the servers' logs, kept when the drill failed

	order []string
}

// drillCheck is one invariant and whether it held.
type drillCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

func (r *drillResult) count(name string, v any) {
	if r.Counts == nil {
		r.Counts = map[string]any{}
	}
	if _, ok := r.Counts[name]; !ok {
		r.order = append(r.order, name)
	}
	r.Counts[name] = v
}

func (r *drillResult) check(name string, ok bool, format string, args ...any) {
	r.Checks = append(r.Checks, drillCheck{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

func (r *drillResult) ok() bool {
	if r.Error != "" || len(r.Checks) == 0 {
		return false
	}
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// drillOptions are the flags every drill reads.
type drillOptions struct {
	quick    bool
	bin      string
	size     int           // recipients; 0: the drill's default
	outage   time.Duration // provider-outage: how long the provider answers 503
	progress func(format string, args ...any)
}

func cmdDrill(ctx context.Context, e *env, args []string) error {
	fs := newFlags("drill", e.stderr)
	asJSON := fs.Bool("json", false, "print one JSON document")
	quick := fs.Bool("quick", false, "the short version (a few thousand recipients, outages of seconds), as make test runs it")
	bin := fs.String("bin", e.getenv("CARILLON_BIN"), "the carillon binary to run as the servers (default $CARILLON_BIN, else this program)")
	size := fs.Int("recipients", 0, "recipients of the drill's campaign (default: 100,000 for crash, less for the others; --quick a few thousand)")
	outage := fs.Duration("outage", 0, "provider-outage: how long the SMS provider answers 503 (default 1m, --quick 5s)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	which := "all"
	if len(pos) > 0 {
		which = pos[0]
	}
	if len(pos) > 1 {
		return &exitError{code: 2, err: fmt.Errorf("drill: one drill at a time (got %s)", strings.Join(pos, " "))}
	}
	var todo []string
	switch {
	case which == "all":
		todo = drillNames
	case slices.Contains(drillNames, which):
		todo = []string{which}
	default:
		return &exitError{code: 2, err: fmt.Errorf("drill: unknown drill %q (have: %s, all)", which, strings.Join(drillNames, ", "))}
	}
	if *size < 0 || *size > 2_000_000 {
		return &exitError{code: 2, err: fmt.Errorf("drill --recipients %d: want 1 to 2,000,000", *size)}
	}
	if *outage < 0 {
		return &exitError{code: 2, err: fmt.Errorf("drill --outage %s: want a positive duration", *outage)}
	}
	if *bin == "" {
		if *bin, err = os.Executable(); err != nil {
			return fmt.Errorf("drill: find this program: %w (pass --bin)", err)
		}
	}
	if err := binaryIsCarillon(ctx, *bin); err != nil {
		return err
	}
	opts := drillOptions{quick: *quick, bin: *bin, size: *size, outage: *outage, progress: func(format string, args ...any) {
		fmt.Fprintf(e.stderr, "drill: "+format+"\n", args...)
	}}
	var results []*drillResult
	for _, name := range todo {
		start := time.Now()
		res := &drillResult{Drill: name, Quick: *quick}
		opts.progress("%s: starting", name)
		var rg *rig
		switch name {
		case "crash":
			rg, err = drillCrash(ctx, e, opts, res)
		case "provider-outage":
			rg, err = drillOutage(ctx, e, opts, res)
		case "db-restart":
			rg, err = drillDBRestart(ctx, e, opts, res)
		case "two-node":
			rg, err = drillTwoNode(ctx, e, opts, res)
		}
		if err != nil {
			res.Error = err.Error()
		}
		res.Passed = res.ok()
		res.TookS = time.Since(start).Round(100 * time.Millisecond).Seconds()
		if rg != nil {
			if !res.Passed {
				res.Logs = rg.dir
			}
			rg.close(!res.Passed)
		}
		opts.progress("%s: %s in %.1f s", name, map[bool]string{true: "passed", false: "FAILED"}[res.Passed], res.TookS)
		results = append(results, res)
		if ctx.Err() != nil {
			break
		}
	}
	if *asJSON {
		doc := map[string]*drillResult{}
		for _, r := range results {
			doc[r.Drill] = r
		}
		if err := writeJSONTo(e.stdout, doc); err != nil {
			return err
		}
	} else {
		printDrills(e, results)
	}
	var failed []string
	for _, r := range results {
		if !r.Passed {
			failed = append(failed, r.Drill)
		}
	}
	if len(failed) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("drill: %s: %w", strings.Join(failed, ", "), errDrillFailed)}
	}
	return nil
}

func printDrills(e *env, results []*drillResult) {
	for _, r := range results {
		mode := "full"
		if r.Quick {
			mode = "quick"
		}
		verdict := "PASSED"
		if !r.Passed {
			verdict = "FAILED"
		}
		fmt.Fprintf(e.stdout, "\n== drill %s (%s): %s in %.1f s\n", r.Drill, mode, verdict, r.TookS)
		if r.Load != "" {
			fmt.Fprintf(e.stdout, "   load: %s\n", r.Load)
		}
		for _, k := range r.order {
			fmt.Fprintf(e.stdout, "   %-46s %v\n", k, formatCount(r.Counts[k]))
		}
		for _, c := range r.Checks {
			mark := "ok  "
			if !c.OK {
				mark = "FAIL"
			}
			fmt.Fprintf(e.stdout, "   [%s] %s: %s\n", mark, c.Name, c.Detail)
		}
		if r.Error != "" {
			fmt.Fprintf(e.stdout, "   error: %s\n", r.Error)
		}
		if r.Logs != "" {
			fmt.Fprintf(e.stdout, "   servers' logs kept in %s\n", r.Logs)
		}
	}
}

func formatCount(v any) string {
	switch x := v.(type) {
	case float64:
		return fmt.Sprintf("%.2f", x)
	case time.Duration:
		return x.Round(10 * time.Millisecond).String()
	}
	return fmt.Sprint(v)
}

// seconds is a duration as JSON seconds.
func seconds(d time.Duration) float64 { return d.Round(10 * time.Millisecond).Seconds() }
