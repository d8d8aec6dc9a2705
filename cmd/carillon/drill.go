package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"carillon/internal/drill"
)

// carillon drill [crash|provider-outage|db-restart|two-node|all] [--quick] [--json]
//
// The drills are in internal/drill; this parses the flags, runs them, prints
// what they counted and exits 1 when an invariant broke. See docs/reliability.md.
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
		todo = drill.Names
	case slices.Contains(drill.Names, which):
		todo = []string{which}
	default:
		return &exitError{code: 2, err: fmt.Errorf("drill: unknown drill %q (have: %s, all)", which, strings.Join(drill.Names, ", "))}
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
	if err := drill.CheckBinary(ctx, *bin); err != nil {
		return err
	}
	results := drill.Run(ctx, drill.Options{Quick: *quick, Bin: *bin, Size: *size, Outage: *outage, Getenv: e.getenv,
		Progress: func(format string, args ...any) { fmt.Fprintf(e.stderr, "drill: "+format+"\n", args...) }}, todo)
	if *asJSON {
		if err := drill.WriteJSON(e.stdout, results); err != nil {
			return err
		}
	} else {
		drill.Print(e.stdout, results)
	}
	if failed := drill.Failed(results); len(failed) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("drill: %s: %w", strings.Join(failed, ", "), drill.ErrFailed)}
	}
	return nil
}
