package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/calendar"
	"carillon/campaigns"
	"carillon/care"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/examples"
	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/internal/pgdev"
	"carillon/internal/synth"
	"carillon/migrations"
	"carillon/server"
	"carillon/templates"
)

// DefaultDemoContacts is how many synthetic contacts the demo loads.
const DefaultDemoContacts = 20000

// cmdDemo finds or starts Postgres, migrates, loads the example managers and
// contacts and N synthetic ones made for today, serves with every provider's
// sandbox, and plays today's care at once. --check runs the same loop
// headless on a database of its own and verifies it.
func cmdDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlags("demo", e.stderr)
	addr := fs.String("addr", cmp.Or(e.getenv("CARILLON_ADDR"), server.DefaultAddr), "listen address")
	n := fs.Int("contacts", DefaultDemoContacts, "synthetic contacts to load (0: the 200 examples only)")
	check := fs.Bool("check", false, "run the loop headless on a database of its own, verify it and exit")
	wait := fs.Duration("wait", 3*time.Minute, "with --check: how long the messages may take to reach a final state")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 0 || *n > 10_000_000 {
		return &exitError{code: 2, err: fmt.Errorf("demo --contacts %d: want 0 to 10,000,000", *n)}
	}
	var pool *pgxpool.Pool
	if *check {
		p, drop, err := demoCheckDB(ctx, e)
		if err != nil {
			return err
		}
		defer drop()
		pool = p
		*addr = "127.0.0.1:0"
	} else {
		p, srv, err := e.openDB(ctx, 40)
		if err != nil {
			return err
		}
		defer p.Close()
		fmt.Fprintf(e.stdout, "database: %s (%s)\n", redactURL(srv.URL), srv.Source)
		pool = p
	}
	if _, err := migrations.Up(ctx, pool, e.logger); err != nil {
		return err
	}
	if _, err := templates.InstallBuiltins(ctx, pool); err != nil {
		return fmt.Errorf("install built-in templates: %w", err)
	}
	today := calendar.DateOf(time.Now().In(demoZone()))
	if err := demoLoad(ctx, e, pool, *n, today); err != nil {
		return err
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
	getenv := func(k string) string {
		if k == "CARILLON_DEMO_HOOK" {
			return hookToken
		}
		return e.getenv(k)
	}

	// The server needs its own address in the configuration (receipt URLs,
	// links), so the listener is opened first.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("demo: listen on %s: %w", *addr, err)
	}
	fc, err := parseConfig(demoConfig(ln.Addr().String(), hookToken), "demo configuration")
	if err != nil {
		ln.Close()
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	ready := make(chan string, 1)
	served := make(chan error, 1)
	go func() {
		served <- serve(sctx, e, pool, serveOptions{cfg: fc, getenv: getenv, listener: ln, ready: func(a string) { ready <- a },
			grace: demoGrace})
	}()
	var at string
	select {
	case at = <-ready:
	case err := <-served:
		return err
	}
	fmt.Fprintln(e.stdout, "demo policy: quiet hours and frequency caps are off, so the day plays at any hour")
	played, err := demoPlay(ctx, e, pool, today)
	if err != nil {
		stop()
		<-served
		return err
	}
	if *check {
		err := demoCheck(ctx, e, pool, "http://"+at, played, *wait)
		stop()
		if serr := <-served; err == nil && serr != nil {
			err = serr
		}
		return err
	}
	var example int64 // a customer greeted today, whose timeline shows the loop
	_ = pool.QueryRow(ctx, `SELECT contact_id FROM messages WHERE contact_id IS NOT NULL AND created_at > now() - interval '1 hour' ORDER BY id LIMIT 1`).Scan(&example)
	fmt.Fprintf(e.stdout, "\nCarillon is running.\n"+
		"  API:       curl -H 'Authorization: Bearer %[2]s' http://%[1]s/api/contacts\n"+
		"  Timeline:  curl -H 'Authorization: Bearer %[2]s' http://%[1]s/api/contacts/%[4]d/timeline\n"+
		"  Messages:  curl -H 'Authorization: Bearer %[2]s' http://%[1]s/api/contacts/%[4]d/messages\n"+
		"  Console:   http://%[1]s/console/  (user demo-admin, password %[3]s)\n"+
		"  River UI:  http://%[1]s/riverui/  (user demo-admin, password %[3]s)\n"+
		"  Readiness: http://%[1]s/readyz\n  Metrics:   http://%[1]s/metrics\n"+
		"The demo's administrator token and password are new on every run. Press Ctrl-C to stop.\n", at, token, password, example)
	return <-served
}

// demoGrace is the demo's time for running requests and jobs at Ctrl-C: the whole
// stop stays under 2 s.
const demoGrace = 800 * time.Millisecond

// demoZone is the zone whose "today" the demo plays.
func demoZone() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.UTC
	}
	return loc
}

// demoCheckDB creates a database of its own for --check and returns a pool and
// the function that drops it.
func demoCheckDB(ctx context.Context, e *env) (*pgxpool.Pool, func(), error) {
	srv, err := pgdev.Find(ctx, pgdev.Config{Env: e.getenv, Database: "postgres"})
	if err != nil {
		return nil, nil, err
	}
	pool, name, cleanup, err := scratchPool(ctx, srv, "carillon_demo_check", 40)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(e.stdout, "database: %s (a database of its own, dropped at the end)\n", name)
	return pool, cleanup, nil
}

// demoLoad loads the example managers and contacts, then n synthetic contacts
// made for today over managers of their own.
func demoLoad(ctx context.Context, e *env, pool *pgxpool.Pool, n int, today calendar.Date) error {
	store, err := contacts.NewStore(pool, contacts.Config{Logger: e.logger})
	if err != nil {
		return err
	}
	opts := func(src string) contacts.ImportOptions {
		return contacts.ImportOptions{Actor: audit.Actor{Name: "demo"}, SourceName: src}
	}
	load := func(kind, src string, r io.Reader) error {
		rep, err := importFile(ctx, store, kind, r, opts(src))
		if err != nil {
			return fmt.Errorf("demo: load %s: %w", src, err)
		}
		fmt.Fprintf(e.stdout, "%s: %d rows, %d inserted, %d updated, %d unchanged, %d failed\n", src, rep.Rows, rep.Inserted, rep.Updated, rep.Unchanged, rep.Failed)
		return nil
	}
	if err := load("managers", "examples/managers.csv", bytes.NewReader(examples.ManagersCSV)); err != nil {
		return err
	}
	if err := load("contacts", "examples/contacts.csv", bytes.NewReader(examples.ContactsCSV)); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	managers := max(10, n/500)
	var mb, cb bytes.Buffer
	if err := synth.WriteManagers(&mb, managers); err != nil {
		return err
	}
	if err := synth.WriteDemoContacts(&cb, n, managers, 1, today); err != nil {
		return err
	}
	if err := load("managers", fmt.Sprintf("%d synthetic managers", managers), &mb); err != nil {
		return err
	}
	return load("contacts", fmt.Sprintf("%d synthetic contacts for %s", n, today), &cb)
}

const demoOfferTemplate = "demo_offer"

// demoCampaign saves a marketing template (once), then has the demo's
// marketer create and submit a campaign to wealth customers of tiers A and B
// (SMS, then email), the demo's approver approve it, and the marketer start
// it, throttled to 50 messages a second. The server's workers fan it out.
func demoCampaign(ctx context.Context, e *env, pool *pgxpool.Pool, svc *delivery.Service) error {
	store, err := contacts.NewStore(pool, contacts.Config{Logger: e.logger})
	if err != nil {
		return err
	}
	tstore, err := templates.NewStore(pool, templates.Config{Logger: e.logger})
	if err != nil {
		return err
	}
	actor := audit.Actor{Name: "demo"}
	if _, err := tstore.Active(ctx, demoOfferTemplate); err != nil {
		if _, _, err := tstore.Save(ctx, actor, templates.Definition{Key: demoOfferTemplate, Purpose: templates.Marketing,
			Source: templates.SourceCampaign, DefaultLocale: "zh-CN", Description: "The demo's product offer",
			Variables: []templates.Variable{
				{Name: "product", Type: templates.String, Required: true, Label: "产品名称", LabelEN: "Product", Sample: "稳健理财 2027Q1"},
				{Name: "rate", Type: templates.String, Required: true, Label: "年化收益率", LabelEN: "Annual rate", Sample: "3.10%"},
			},
			Variants: []templates.Variant{
				{Channel: templates.SMS, Locale: "zh-CN", SMS: &templates.SMSVariant{SignName: "Carillon银行",
					Text: "{{.Contact.Salutation}}，{{.Campaign.product}}年化{{.Campaign.rate}}，详询客户经理。拒收请回复R"}},
				{Channel: templates.SMS, Locale: "en", SMS: &templates.SMSVariant{SignName: "Carillon银行",
					Text: "Dear {{.Contact.Salutation}}, {{.Campaign.product}} now pays {{.Campaign.rate}} a year. Reply STOP to opt out."}},
				{Channel: templates.Email, Locale: "zh-CN", Email: &templates.EmailVariant{Subject: "{{.Campaign.product}}上线",
					HTML: "<p>尊敬的{{.Contact.Salutation}}：</p><p>{{.Campaign.product}}年化{{.Campaign.rate}}。</p><p><a href=\"https://bank.example/wealth\">了解详情</a></p>"}},
				{Channel: templates.Email, Locale: "en", Email: &templates.EmailVariant{Subject: "{{.Campaign.product}} is here",
					HTML: "<p>Dear {{.Contact.Salutation}},</p><p>{{.Campaign.product}} now pays {{.Campaign.rate}} a year.</p><p><a href=\"https://bank.example/wealth\">Read more</a></p>"}},
			}}, templates.SaveOptions{Activate: true}); err != nil {
			return fmt.Errorf("demo: campaign template: %w", err)
		}
		if _, err := sandboxCodes(ctx, tstore, actor); err != nil {
			return err
		}
	}
	camps, err := campaigns.New(pool, campaigns.Deps{Contacts: store, Templates: tstore, Delivery: svc}, campaigns.Config{Logger: e.logger})
	if err != nil {
		return err
	}
	ids, err := identity.NewStore(pool, identity.Config{Logger: e.logger})
	if err != nil {
		return err
	}
	by := map[string]campaigns.By{}
	for _, u := range demoUsers {
		user, err := ids.GetUser(ctx, u.login)
		if err != nil {
			return err
		}
		id := user.ID
		by[u.login] = campaigns.By{Actor: audit.Actor{Name: "demo:" + u.login, UserID: &id}, Roles: []identity.Role{u.role}}
	}
	name := "稳健理财 2027 · " + time.Now().In(demoZone()).Format("2006-01-02 15:04")
	expr, tmpl, chans, throttle := `"wealth" in tags && tier in ["A", "B"]`, demoOfferTemplate, []string{"sms", "email"}, 50
	c, err := camps.Create(ctx, by["demo-marketer"], campaigns.Input{Name: &name, Expression: &expr, Template: &tmpl, Channels: &chans,
		Throttle: &throttle, Vars: map[string]any{"product": "稳健理财 2027", "rate": "3.10%"}})
	if err != nil {
		return fmt.Errorf("demo: create the campaign: %w", err)
	}
	if c, err = camps.Submit(ctx, by["demo-marketer"], c.ID); err != nil {
		return fmt.Errorf("demo: submit the campaign: %w", err)
	}
	if c, err = camps.Approve(ctx, by["demo-approver"], c.ID, c.Version); err != nil {
		return fmt.Errorf("demo: approve the campaign: %w", err)
	}
	if c, err = camps.Start(ctx, by["demo-marketer"], c.ID); err != nil {
		return fmt.Errorf("demo: start the campaign: %w", err)
	}
	audience := int64(0)
	if c.Review != nil {
		audience = c.Review.Recipients
	}
	fmt.Fprintf(e.stdout, "campaign %q: created by demo-marketer, approved by demo-approver, started (%d recipients, 50 a second)\n", name, audience)
	return nil
}

// demoPlay plans today's care at once — birthdays on both calendars, any
// festival, deposit notices, the managers' digests — and returns the ids of the
// messages it planned.
func demoPlay(ctx context.Context, e *env, pool *pgxpool.Pool, today calendar.Date) ([]int64, error) {
	svc, err := delivery.New(pool, delivery.Config{Logger: e.logger}, delivery.Deps{})
	if err != nil {
		return nil, err
	}
	planner, err := newPlanner(pool, svc, e, calendar.Config{})
	if err != nil {
		return nil, err
	}
	started := time.Now()
	res, err := planner.Plan(ctx, today, care.PlanOptions{SendAt: started})
	if err != nil {
		return nil, fmt.Errorf("demo: plan %s: %w", today, err)
	}
	fmt.Fprintf(e.stdout, "today (%s) played at once: %d messages planned (%d birthdays, %d with a festival, %d milestones, %d deposit notices; festivals: %v)\n",
		today, res.Planned, res.Birthdays, res.Combined, res.Milestones, res.Notices, res.Festivals)
	if err := demoCampaign(ctx, e, pool, svc); err != nil {
		return nil, err
	}
	rows, err := pool.Query(ctx, `SELECT id FROM messages WHERE parent_id IS NULL AND created_at >= $1 ORDER BY id`, started.Add(-time.Second))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// redactURL hides a password in a database URL.
func redactURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	return "(unparsable URL)"
}

// demoUsers are the demo's marketer and approver.
var demoUsers = []struct {
	login, name string
	role        identity.Role
}{{"demo-marketer", "Demo marketer", identity.RoleMarketer}, {"demo-approver", "Demo approver", identity.RoleApprover}}

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
	// A marketer and an approver for the campaign's maker-checker, with the
	// same password for this run.
	for _, u := range demoUsers {
		if _, err := ids.GetUser(ctx, u.login); errors.Is(err, identity.ErrNotFound) {
			if _, err := ids.CreateUser(ctx, actor, identity.NewUser{Login: u.login, DisplayName: u.name, Roles: []identity.Role{u.role}}); err != nil {
				return "", "", fmt.Errorf("demo: create %s: %w", u.login, err)
			}
		} else if err != nil {
			return "", "", err
		}
		if err := ids.SetPassword(ctx, actor, u.login, password); err != nil {
			return "", "", fmt.Errorf("demo: set password: %w", err)
		}
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

[delivery]
marketing_hours = "always"
service_hours = "always"
frequency_cap = -1

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
  perm_fail_rate = 0.05            # some followers refuse template messages: SMS takes over
  receipt_url = "%[2]s/wechat/oa?token=%[3]s"

[[channels.provider]]
name = "wecom"
provider = "wecom"
endpoint = "sandbox"
app_id = "1000002"
`, addr, hooks, hookToken)
}
