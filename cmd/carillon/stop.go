package main

import (
	"context"
	"fmt"

	"carillon/delivery"
)

// cmdStop holds every send (or a channel's, or a provider's) at once, without
// losing anything; cmdResume lifts it.
func cmdStop(ctx context.Context, e *env, args []string, resume bool) error {
	name := map[bool]string{false: "stop", true: "resume"}[resume]
	fs := newFlags(name, e.stderr)
	channel := fs.String("channel", "", "only this channel (sms, email, wechat, wecom)")
	provider := fs.String("provider", "", "only this provider (its configured name)")
	reason := fs.String("reason", "", "why (kept with the stop and in the audit log)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		fmt.Fprintf(e.stderr, "usage: carillon %s [--channel C | --provider P] [--reason TEXT]\n", name)
		return &exitError{code: 2, err: errUsage}
	}
	scope, err := delivery.StopScope(*channel, *provider)
	if err != nil {
		return err
	}
	pool, _, err := e.openDB(ctx, 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	svc, err := delivery.New(pool, delivery.Config{Logger: e.logger}, delivery.Deps{})
	if err != nil {
		return err
	}
	actor := osActor()
	if resume {
		found, err := svc.ResumeSending(ctx, actor, scope)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("resume: no stop on %s", scope)
		}
	} else if err := svc.StopSending(ctx, actor, scope, *reason); err != nil {
		return err
	}
	stops, err := svc.Stops(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONTo(e.stdout, map[string]any{"stops": stops})
	}
	fmt.Fprintf(e.stdout, "%s %s\n", map[bool]string{false: "stopped", true: "resumed"}[resume], scope)
	if len(stops) == 0 {
		fmt.Fprintln(e.stdout, "sending is not stopped anywhere")
	}
	for _, s := range stops {
		fmt.Fprintf(e.stdout, "stopped: %s since %s by %s: %s\n", s.Scope, s.CreatedAt.Format("2006-01-02 15:04:05"), s.Actor, s.Reason)
	}
	return nil
}
