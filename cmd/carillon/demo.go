package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/url"

	"carillon/contacts"
	"carillon/examples"
	"carillon/migrations"
	"carillon/server"
)

// cmdDemo finds or starts Postgres, migrates, loads the example managers and
// contacts, and serves.
func cmdDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlags("demo", e.stderr)
	addr := fs.String("addr", cmp.Or(e.getenv("CARILLON_ADDR"), server.DefaultAddr), "listen address")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	pool, srv, err := e.openDB(ctx, 40)
	if err != nil {
		return err
	}
	defer pool.Close()
	fmt.Fprintf(e.stdout, "database: %s (%s)\n", redactURL(srv.URL), srv.Source)
	if _, err := migrations.Up(ctx, pool, e.logger); err != nil {
		return err
	}
	store, err := contacts.NewStore(pool, contacts.Config{Logger: e.logger})
	if err != nil {
		return err
	}
	for _, f := range []struct {
		kind string
		data []byte
	}{{"managers", examples.ManagersCSV}, {"contacts", examples.ContactsCSV}} {
		rep, err := importFile(ctx, store, f.kind, bytes.NewReader(f.data), contacts.ImportOptions{Actor: "demo", SourceName: "examples/" + f.kind + ".csv"})
		if err != nil {
			return fmt.Errorf("demo: load example %s: %w", f.kind, err)
		}
		fmt.Fprintf(e.stdout, "example %s: %d rows, %d inserted, %d updated, %d unchanged, %d failed\n", f.kind, rep.Rows, rep.Inserted, rep.Updated, rep.Unchanged, rep.Failed)
	}
	return serve(ctx, e, pool, serveOptions{addr: *addr, ready: func(a string) {
		fmt.Fprintf(e.stdout, "\nCarillon is running.\n  API:       http://%[1]s/api/contacts\n  River UI:  http://%[1]s/riverui/\n  Readiness: http://%[1]s/readyz\n  Metrics:   http://%[1]s/metrics\nPress Ctrl-C to stop.\n", a)
	}})
}

// redactURL hides a password in a database URL.
func redactURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	return "(unparsable URL)"
}
