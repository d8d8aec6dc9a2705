// Command carillon is Carillon's one binary: serve, migrate, import, demo, bench.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `carillon — customer care on schedule: birthdays, festivals, campaigns, revisit reminders.

Usage:
  carillon serve    [--addr 127.0.0.1:8080]       API, metrics, River UI and workers
  carillon migrate  [up|status] [--json]          apply River's and Carillon's migrations
  carillon import   contacts|managers FILE [--json]
  carillon demo     [--addr 127.0.0.1:8080]       local Postgres, example data, serve
  carillon calendar [--year YYYY] [--json]        festivals and business days of a year
  carillon plan     --date YYYY-MM-DD [--dry-run] [--json]   care planning (birthdays, festivals) for one day
  carillon stop|resume [--channel C | --provider P] [--reason TEXT]   emergency stop of sending
  carillon retry    --since TIME [--until TIME] [--channel C] [--provider P] [--dry-run] [--json]
  carillon bench    [import|dispatch|plan|receipts|fanout|email|console|all] [--quick] [--json] [--messages N] [--connections N]
  carillon drill    [crash|provider-outage|db-restart|two-node|all] [--quick] [--json] [--bin PATH]   fault drills
  carillon user     create|list|disable|enable|set-password|grant|revoke
  carillon token    create|list|revoke            API tokens (printed once)
  carillon template list|show KEY|preview KEY [--contact ID] [--channel C] [--locale L]
  carillon campaign create|list|show|submit|approve|reject|start|pause|resume|cancel|stats   (carillon campaign for details)
  carillon version

The database is DATABASE_URL; without it, a server on 127.0.0.1:5432 or a private
cluster under .carillon/pg (started on demand). See the README for configuration.
`

// exitError carries an exit code other than 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	// The first SIGINT or SIGTERM asks for a clean stop; a second one ends the
	// process at once.
	ctx, stop := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		stop(fmt.Errorf("%s signal received", s))
		<-sigs
		fmt.Fprintln(os.Stderr, "carillon: second signal: exiting now")
		os.Exit(130)
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop(nil)
	if err != nil {
		code := 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "carillon:", err)
		}
		os.Exit(code)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &exitError{code: 2, err: errUsage}
	}
	env := newEnv(stdout, stderr, getenv)
	switch args[0] {
	case "serve":
		return cmdServe(ctx, env, args[1:])
	case "migrate":
		return cmdMigrate(ctx, env, args[1:])
	case "import":
		return cmdImport(ctx, env, args[1:])
	case "demo":
		return cmdDemo(ctx, env, args[1:])
	case "bench":
		return cmdBench(ctx, env, args[1:])
	case "drill":
		return cmdDrill(ctx, env, args[1:])
	case "calendar":
		return cmdCalendar(ctx, env, args[1:])
	case "plan":
		return cmdPlan(ctx, env, args[1:])
	case "stop":
		return cmdStop(ctx, env, args[1:], false)
	case "resume":
		return cmdStop(ctx, env, args[1:], true)
	case "retry":
		return cmdRetry(ctx, env, args[1:])
	case "user":
		return cmdUser(ctx, env, args[1:])
	case "token":
		return cmdToken(ctx, env, args[1:])
	case "template":
		return cmdTemplate(ctx, env, args[1:])
	case "campaign":
		return cmdCampaign(ctx, env, args[1:])
	case "version":
		fmt.Fprintln(stdout, version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "carillon: unknown command %q\n\n%s", args[0], usage)
	return &exitError{code: 2, err: errUsage}
}
