package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"net/url"

	"carillon/contacts"
	"carillon/examples"
	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/migrations"
	"carillon/server"
	"carillon/templates"
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
	if _, err := templates.InstallBuiltins(ctx, pool); err != nil {
		return fmt.Errorf("install built-in templates: %w", err)
	}
	store, err := contacts.NewStore(pool, contacts.Config{Logger: e.logger})
	if err != nil {
		return err
	}
	for _, f := range []struct {
		kind string
		data []byte
	}{{"managers", examples.ManagersCSV}, {"contacts", examples.ContactsCSV}} {
		rep, err := importFile(ctx, store, f.kind, bytes.NewReader(f.data), contacts.ImportOptions{Actor: audit.Actor{Name: "demo"}, SourceName: "examples/" + f.kind + ".csv"})
		if err != nil {
			return fmt.Errorf("demo: load example %s: %w", f.kind, err)
		}
		fmt.Fprintf(e.stdout, "example %s: %d rows, %d inserted, %d updated, %d unchanged, %d failed\n", f.kind, rep.Rows, rep.Inserted, rep.Updated, rep.Unchanged, rep.Failed)
	}
	if _, tstore, err := newRenderer(pool, templates.Bank{}); err != nil {
		return err
	} else if _, err := sandboxCodes(ctx, tstore, audit.Actor{Name: "demo"}); err != nil {
		return err
	}
	token, password, err := demoAdmin(ctx, pool, e)
	if err != nil {
		return err
	}
	hook := make([]byte, 16)
	if _, err := rand.Read(hook); err != nil {
		return err
	}
	hookToken := hex.EncodeToString(hook)
	fc, err := parseConfig(demoConfig(*addr, hookToken), "demo configuration")
	if err != nil {
		return err
	}
	getenv := func(k string) string {
		if k == "CARILLON_DEMO_HOOK" {
			return hookToken
		}
		return e.getenv(k)
	}
	return serve(ctx, e, pool, serveOptions{cfg: fc, getenv: getenv, addr: *addr, ready: func(a string) {
		fmt.Fprintf(e.stdout, "\nCarillon is running.\n"+
			"  API:       curl -H 'Authorization: Bearer %[2]s' http://%[1]s/api/contacts\n"+
			"  River UI:  http://%[1]s/riverui/  (user demo-admin, password %[3]s)\n"+
			"  Readiness: http://%[1]s/readyz\n  Metrics:   http://%[1]s/metrics\n"+
			"The demo's administrator token and password are new on every run. Press Ctrl-C to stop.\n", a, token, password)
	}})
}

// redactURL hides a password in a database URL.
func redactURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	return "(unparsable URL)"
}

// demoAdmin makes sure the demo's administrator exists and gives it a fresh token and
// password for this run.
func demoAdmin(ctx context.Context, pool *pgxpool.Pool, e *env) (token, password string, err error) {
	ids, err := identity.NewStore(pool, identity.Config{Logger: e.logger})
	if err != nil {
		return "", "", err
	}
	actor := audit.Actor{Name: "demo"}
	const login = "demo-admin"
	if _, err := ids.GetUser(ctx, login); errors.Is(err, identity.ErrNotFound) {
		if _, err := ids.CreateUser(ctx, actor, identity.NewUser{Login: login, DisplayName: "Demo administrator", Roles: []identity.Role{identity.RoleAdmin}}); err != nil {
			return "", "", fmt.Errorf("demo: create administrator: %w", err)
		}
	} else if err != nil {
		return "", "", err
	}
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	password = hex.EncodeToString(b)
	if err := ids.SetPassword(ctx, actor, login, password); err != nil {
		return "", "", fmt.Errorf("demo: set password: %w", err)
	}
	expires := time.Now().Add(7 * 24 * time.Hour)
	token, _, err = ids.CreateToken(ctx, actor, login, "demo", &expires)
	if err != nil {
		return "", "", fmt.Errorf("demo: create token: %w", err)
	}
	return token, password, nil
}

// demoConfig declares every provider kind against its loopback sandbox, with a
// little latency and a small failure rate, pushing receipts back to this server.
func demoConfig(addr, hookToken string) string {
	hooks := "http://" + addr + "/hooks"
	return fmt.Sprintf(`
[server]
public_url = "http://%[1]s"

[bank]
name = "Carillon银行"
hotline = "95000"
url = "http://%[1]s"

[[channels.provider]]
name = "ali"
provider = "aliyun"
endpoint = "sandbox"
sign_name = "Carillon银行"
webhook_secret_env = "CARILLON_DEMO_HOOK"
priority = 1
rate = 500
  [channels.provider.sandbox]
  latency = "20ms"
  temp_fail_rate = 0.02
  undelivered_rate = 0.03
  receipt_delay = "1s"
  receipt_url = "%[2]s/aliyun/ali/receipts?token=%[3]s"

[[channels.provider]]
name = "tx"
provider = "tencent"
endpoint = "sandbox"
sign_name = "Carillon银行"
webhook_secret_env = "CARILLON_DEMO_HOOK"
priority = 2
  [channels.provider.sandbox]
  latency = "30ms"
  receipt_url = "%[2]s/tencent/tx/receipts?token=%[3]s"

[[channels.provider]]
name = "mail"
provider = "smtp"
endpoint = "sandbox"
from = "care@bank.example"
from_name = "Carillon Bank"
webhook_secret_env = "CARILLON_DEMO_HOOK"
  [channels.provider.sandbox]
  latency = "5ms"
  undelivered_rate = 0.02
  receipt_url = "%[2]s/smtp/mail/receipts?token=%[3]s"

[[channels.provider]]
name = "oa"
provider = "wechat_oa"
endpoint = "sandbox"
webhook_secret_env = "CARILLON_DEMO_HOOK"
  [channels.provider.sandbox]
  latency = "20ms"
  undelivered_rate = 0.02
  receipt_url = "%[2]s/wechat/oa?token=%[3]s"

[[channels.provider]]
name = "wecom"
provider = "wecom"
endpoint = "sandbox"
app_id = "1000002"
`, addr, hooks, hookToken)
}
