package main

import (
	"context"
	"errors"
	"fmt"

	"carillon/migrations"
	"carillon/templates"
)

func cmdMigrate(ctx context.Context, e *env, args []string) error {
	fs := newFlags("migrate", e.stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	grant := fs.String("grant", e.getenv("CARILLON_RUNTIME_ROLE"), "after migrating, grant this runtime role what serve needs (default $CARILLON_RUNTIME_ROLE)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	sub := "up"
	if len(pos) > 0 {
		sub = pos[0]
	}
	pool, _, err := e.openDB(ctx, 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	switch sub {
	case "up":
		applied, err := migrations.Up(ctx, pool, e.logger)
		if err != nil {
			return err
		}
		// Later releases' changes to the built-in templates reach a migrated
		// database here (a key someone edited is left alone).
		updated, err := templates.InstallBuiltins(ctx, pool)
		if err != nil {
			return fmt.Errorf("install built-in templates: %w", err)
		}
		if *asJSON {
			return writeJSONTo(e.stdout, map[string]any{"applied": applied, "templates_updated": updated})
		}
		for _, k := range updated {
			fmt.Fprintf(e.stdout, "built-in template %s updated\n", k)
		}
		if len(applied) == 0 {
			fmt.Fprintln(e.stdout, "database is up to date")
		}
		for _, a := range applied {
			fmt.Fprintf(e.stdout, "applied %s %03d %s\n", a.Line, a.Version, a.Name)
		}
		if *grant != "" {
			if err := migrations.GrantRuntime(ctx, pool, *grant); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "runtime role %s granted\n", *grant)
		}
		return nil
	case "grant":
		if len(pos) != 2 {
			return &exitError{code: 2, err: errors.New("usage: carillon migrate grant ROLE")}
		}
		if err := migrations.GrantRuntime(ctx, pool, pos[1]); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "runtime role %s granted\n", pos[1])
		return nil
	case "status":
		st, err := migrations.GetStatus(ctx, pool)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSONTo(e.stdout, st)
		}
		fmt.Fprintf(e.stdout, "%d applied, %d pending\n", len(st.Applied), len(st.Pending))
		for _, p := range st.Pending {
			fmt.Fprintf(e.stdout, "pending %s %03d %s\n", p.Line, p.Version, p.Name)
		}
		return nil
	}
	return fmt.Errorf("migrate: unknown subcommand %q (up, status, grant)", sub)
}
