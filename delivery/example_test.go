package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"carillon/channels"
	"carillon/channels/registry"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/audit"
	"carillon/internal/pgtest"
	"carillon/internal/testclock"
	"carillon/templates"
)

// exampleTB lends pgtest what it needs outside a test: cleanups and a way to fail.
type exampleTB struct {
	testing.TB
	cleanups []func()
}

func (e *exampleTB) Helper()                           {}
func (e *exampleTB) Cleanup(f func())                  { e.cleanups = append(e.cleanups, f) }
func (e *exampleTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (e *exampleTB) Logf(format string, args ...any)   {}
func (e *exampleTB) done() {
	for _, f := range slices.Backward(e.cleanups) {
		f()
	}
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}

// The path of one message, against a real database, a real River client and the
// Aliyun adapter talking to its sandbox: a planned message goes into the outbox
// in the caller's transaction with its River job, the worker sends it by SMS,
// the provider's delivery receipt comes back through the receipt hook, and
// the customer's timeline tells the story.
func Example_enqueueSendReceipt() {
	ctx := context.Background()
	tb := &exampleTB{}
	defer tb.done()
	db := pgtest.New(tb)

	store, err := contacts.NewStore(db.Pool, contacts.Config{})
	check(err)
	_, err = store.ImportContacts(ctx, strings.NewReader("external_id,name,gender,phone\nC1,张伟,male,13812345678\n"),
		contacts.ImportOptions{Actor: audit.Actor{Name: "example"}})
	check(err)
	c1, err := store.GetByExternalID(ctx, "C1")
	check(err)

	// Receipts come back over HTTP to the adapter's own parser.
	var svc *delivery.Service
	var built *registry.Built
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := built.Registry.Provider("ali")
		channels.ReceiptHandler(p.Receipts, func(ctx context.Context, rs []channels.Receipt) error {
			_, err := svc.ApplyReceipts(ctx, rs)
			return err
		}, nil).ServeHTTP(w, r)
	}))
	defer hooks.Close()
	cfg, err := channels.DecodeTOML(fmt.Sprintf(`
[[provider]]
name = "ali"
provider = "aliyun"
endpoint = "sandbox"
key_id = "example"
sign_name = "示例银行"
webhook_secret_env = "HOOK"
  [provider.sandbox]
  receipt_url = "%s/hooks/ali/receipts?token=t0ken"
`, hooks.URL))
	check(err)
	built, err = registry.Build(ctx, cfg, registry.Deps{Pool: db.Pool, Getenv: func(string) string { return "t0ken" }})
	check(err)
	defer built.Stop(ctx)

	// A service notice with its Aliyun-approved template code and parameter.
	tstore, err := templates.NewStore(db.Pool, templates.Config{})
	check(err)
	_, _, err = tstore.Save(ctx, audit.Actor{Name: "example"}, templates.Definition{Key: "example.notice", Purpose: templates.Service,
		Source: templates.SourceDeposit, DefaultLocale: "zh-CN", Variants: []templates.Variant{{Channel: templates.SMS, Locale: "zh-CN",
			SMS: &templates.SMSVariant{SignName: "示例银行", Text: "{{.Contact.Salutation}}，您的存款将于下周到期。",
				Providers: map[string]templates.ProviderTemplate{"aliyun": {Code: "SMS_100", Params: map[string]string{"name": "{{.Contact.Salutation}}"}}}}}}},
		templates.SaveOptions{Activate: true})
	check(err)
	clock := testclock.New(testclock.Base()) // one clock for the services and River: 10:00 in Shanghai
	svc, err = delivery.New(db.Pool, delivery.Config{Now: clock.Now}, delivery.Deps{Registry: built.Registry, Renderer: delivery.TemplateRendererFor(tstore, templates.Bank{Name: "示例银行"})})
	check(err)
	workers := river.NewWorkers()
	river.AddWorker(workers, svc.Worker(store))
	rc, err := river.NewClient(riverpgxv5.New(db.Pool), &river.Config{
		Queues:            map[string]river.QueueConfig{delivery.DefaultQueue: {MaxWorkers: 2}},
		Workers:           workers,
		FetchCooldown:     20 * time.Millisecond,
		Test:              river.TestConfig{Time: clock},
		FetchPollInterval: 50 * time.Millisecond,
	})
	check(err)
	check(rc.Start(ctx))
	defer func() { _ = rc.Stop(ctx) }()

	// Plan: the message and its job, in one transaction.
	var res delivery.EnqueueResult
	check(pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		res, err = svc.Enqueue(ctx, tx, []delivery.Planned{{DedupeKey: "example:notice:C1", ContactID: c1.ID, Source: "example",
			Purpose: channels.PurposeService, TemplateKey: "example.notice", Channels: []channels.Channel{channels.SMS}}})
		return err
	}))
	id := res.IDs[0]

	// Wait until the receipt has made it delivered and the worker's record of
	// the send is in (a receipt can come back before the send is recorded).
	var m delivery.MessageView
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m, err = svc.Get(ctx, id); err == nil && m.Status == "delivered" && m.Channel != "" {
			break
		}
	}
	fmt.Println("status:", m.Status, "by", m.Channel, "to", m.To)
	page, err := store.Timeline(ctx, c1.ID, contacts.TimelineFilter{Kind: "message."})
	check(err)
	var kinds []string
	for _, e := range page.Items {
		kinds = append(kinds, e.Kind)
	}
	slices.Sort(kinds) // the receipt may be recorded before the send: same instant
	fmt.Println("timeline:", strings.Join(kinds, ", "))
	// Output:
	// status: delivered by sms to 138****5678
	// timeline: message.delivered, message.sent
}
