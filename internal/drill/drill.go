// Package drill holds Carillon's fault drills, run by
// `carillon drill [crash|provider-outage|db-restart|two-node|all] [--quick] [--json]`.
//
// Each drill runs real `carillon serve` processes (the binary given by --bin,
// by default this one) against a database of its own, with the providers'
// sandboxes in the drill's process, breaks something on purpose — a SIGKILL,
// a provider answering 503, a Postgres restart, the River leader killed — and
// counts what became of every message. It prints what it counted and exits 1
// when an invariant broke. See docs/reliability.md.
package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Names are the drills, in the order "all" runs them.
var Names = []string{"crash", "provider-outage", "db-restart", "two-node"}

// Result is what one drill counted. The JSON shape is stable: fields are
// added, never renamed.
type Result struct {
	Drill  string         `json:"drill"`
	Quick  bool           `json:"quick"`
	Load   string         `json:"load"`
	Passed bool           `json:"passed"`
	TookS  float64        `json:"took_s"`
	Counts map[string]any `json:"counts"`
	Checks []Check        `json:"checks"`
	Error  string         `json:"error,omitempty"`
	Logs   string         `json:"logs,omitempty"` // the directory of the servers' logs, kept when the drill failed

	order []string
}

// Check is one invariant and whether it held.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

func (r *Result) count(name string, v any) {
	if r.Counts == nil {
		r.Counts = map[string]any{}
	}
	if _, ok := r.Counts[name]; !ok {
		r.order = append(r.order, name)
	}
	r.Counts[name] = v
}

func (r *Result) check(name string, ok bool, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

func (r *Result) ok() bool {
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

// Options are what every drill reads: the command's flags.
type Options struct {
	Quick    bool
	Bin      string              // the carillon binary run as the servers
	Size     int                 // recipients; 0: the drill's default
	Outage   time.Duration       // provider-outage: how long the provider answers 503; 0: the default
	Getenv   func(string) string // finds the shared database (DATABASE_URL)
	Progress func(format string, args ...any)
}

// Run runs the named drills (of Names) one after another and returns what
// each counted; it stops early when ctx ends.
func Run(ctx context.Context, opts Options, names []string) []*Result {
	if opts.Progress == nil {
		opts.Progress = func(string, ...any) {}
	}
	var results []*Result
	for _, name := range names {
		start := time.Now()
		res := &Result{Drill: name, Quick: opts.Quick}
		opts.Progress("%s: starting", name)
		var rg *rig
		var err error
		switch name {
		case "crash":
			rg, err = drillCrash(ctx, opts, res)
		case "provider-outage":
			rg, err = drillOutage(ctx, opts, res)
		case "db-restart":
			rg, err = drillDBRestart(ctx, opts, res)
		case "two-node":
			rg, err = drillTwoNode(ctx, opts, res)
		default:
			err = fmt.Errorf("drill: unknown drill %q (have: %s)", name, strings.Join(Names, ", "))
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
		opts.Progress("%s: %s in %.1f s", name, map[bool]string{true: "passed", false: "FAILED"}[res.Passed], res.TookS)
		results = append(results, res)
		if ctx.Err() != nil {
			break
		}
	}
	return results
}

// WriteJSON writes the results as one JSON document, by drill.
func WriteJSON(w io.Writer, results []*Result) error {
	doc := map[string]*Result{}
	for _, r := range results {
		doc[r.Drill] = r
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

// Failed names the drills that did not pass.
func Failed(results []*Result) []string {
	var failed []string
	for _, r := range results {
		if !r.Passed {
			failed = append(failed, r.Drill)
		}
	}
	return failed
}

// Print writes the results for people.
func Print(w io.Writer, results []*Result) {
	for _, r := range results {
		mode := "full"
		if r.Quick {
			mode = "quick"
		}
		verdict := "PASSED"
		if !r.Passed {
			verdict = "FAILED"
		}
		fmt.Fprintf(w, "\n== drill %s (%s): %s in %.1f s\n", r.Drill, mode, verdict, r.TookS)
		if r.Load != "" {
			fmt.Fprintf(w, "   load: %s\n", r.Load)
		}
		for _, k := range r.order {
			fmt.Fprintf(w, "   %-46s %v\n", k, formatCount(r.Counts[k]))
		}
		for _, c := range r.Checks {
			mark := "ok  "
			if !c.OK {
				mark = "FAIL"
			}
			fmt.Fprintf(w, "   [%s] %s: %s\n", mark, c.Name, c.Detail)
		}
		if r.Error != "" {
			fmt.Fprintf(w, "   error: %s\n", r.Error)
		}
		if r.Logs != "" {
			fmt.Fprintf(w, "   servers' logs kept in %s\n", r.Logs)
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
