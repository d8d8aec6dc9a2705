package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"carillon/campaigns"
	"carillon/channels"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/app"
	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/internal/pgdev"
	"carillon/templates"
)

// benchCampaign is what both campaign benchmarks set up: contacts written in
// bulk by their owner, a marketing template, a marketer and an approver, the
// campaigns service.
type benchCampaign struct {
	pool     *pgxpool.Pool
	store    *contacts.Store
	tstore   *templates.Store
	svc      *delivery.Service
	camps    *campaigns.Service
	marketer campaigns.By
	approver campaigns.By
	workers  *river.Workers
}

const benchCampaignTemplate = "bench_offer"

// benchTemplate is the campaigns' marketing template: an SMS, and with email
// the product mail.
func benchTemplate(email bool) templates.Definition {
	def := templates.Definition{Key: benchCampaignTemplate, Purpose: templates.Marketing,
		Source: templates.SourceCampaign, DefaultLocale: "zh-CN", Variables: []templates.Variable{{Name: "product", Type: templates.String, Required: true, Label: "产品", LabelEN: "Product", Sample: "稳健理财"}},
		Variants: []templates.Variant{
			{Channel: templates.SMS, Locale: "zh-CN", SMS: &templates.SMSVariant{SignName: "示例银行",
				Text: "{{.Contact.Salutation}}，{{.Campaign.product}}上线。拒收请回复R",
				Providers: map[string]templates.ProviderTemplate{
					templates.ProviderAliyun: {Code: "SMS_100", Params: map[string]string{"name": "{{.Contact.Salutation}}", "product": "{{.Campaign.product}}"}}}}},
		}}
	if email {
		def.Variants = append(def.Variants, templates.Variant{Channel: templates.Email, Locale: "zh-CN", Email: &templates.EmailVariant{Subject: "{{.Campaign.product}}",
			HTML: benchEmailHTML}})
	}
	return def
}

func newBenchCampaign(ctx context.Context, e *env, pool *pgxpool.Pool, size int, registry *channels.Registry, dcfg delivery.Config) (*benchCampaign, error) {
	b := &benchCampaign{pool: pool}
	world, err := app.NewServices(pool, app.ServicesConfig{Logger: e.logger, Delivery: dcfg, Registry: registry,
		Campaigns: campaigns.Config{Batch: 5000, Now: dcfg.Now}, Bank: templates.Bank{Name: "Carillon Bank", Hotline: "95000"}})
	if err != nil {
		return nil, err
	}
	b.store, b.tstore, b.svc, b.camps = world.Contacts, world.Templates, world.Delivery, world.Campaigns
	if err := b.store.SeedBenchAudience(ctx, size); err != nil {
		return nil, err
	}
	actor := audit.Actor{Name: "bench"}
	if _, _, err = b.tstore.Save(ctx, actor, benchTemplate(true), templates.SaveOptions{Activate: true}); err != nil {
		return nil, err
	}
	for _, u := range []struct {
		login string
		role  identity.Role
		by    *campaigns.By
	}{{"bench-marketer", identity.RoleMarketer, &b.marketer}, {"bench-approver", identity.RoleApprover, &b.approver}} {
		user, err := world.Identity.CreateUser(ctx, actor, identity.NewUser{Login: u.login, DisplayName: u.login, Roles: []identity.Role{u.role}})
		if err != nil {
			return nil, err
		}
		id := user.ID
		*u.by = campaigns.By{Actor: audit.Actor{Name: "bench:" + u.login, UserID: &id}, Roles: []identity.Role{u.role}}
	}
	b.workers = river.NewWorkers()
	b.camps.AddWorkers(b.workers)
	return b, nil
}

// approved creates, submits and approves a campaign to every contact on one
// channel, as two different users; window, when set, is the campaign's own
// send window (HH:MM-HH:MM).
func (b *benchCampaign) approved(ctx context.Context, channel string, window *string) (campaigns.Campaign, error) {
	name, expr, tmpl := "bench "+channel, `"wealth" in tags`, benchCampaignTemplate
	chans := []string{channel}
	c, err := b.camps.Create(ctx, b.marketer, campaigns.Input{Name: &name, Expression: &expr, Template: &tmpl, Channels: &chans,
		Vars: map[string]any{"product": "稳健理财 2027"}, Window: window})
	if err != nil {
		return c, err
	}
	if c, err = b.camps.Submit(ctx, b.marketer, c.ID); err != nil {
		return c, err
	}
	return b.camps.Approve(ctx, b.approver, c.ID, c.Version)
}

// benchFanout measures a campaign's fan-out: from the start call until every
// recipient's message is in the outbox with its deliver job (audience
// snapshot, one recipient per address, batches through delivery.Enqueue),
// nothing sent. The baseline is a bare COPY of the same number of message
// rows into a table of the outbox's columns without indexes. Goal: ratio
// >= 0.3.
func benchFanout(ctx context.Context, e *env, srv pgdev.Server, size, runs int) (*Figure, error) {
	f := &Figure{Unit: "recipients/s", BaselineName: "bare COPY rows/s", Size: size, Goal: ">= 0.3 of a bare COPY"}
	return eachRun(ctx, e, srv, f, "fanout", runs, func(pool *pgxpool.Pool) (float64, float64, error) {
		return fanoutOnce(ctx, e, pool, size)
	})
}

func fanoutOnce(ctx context.Context, e *env, pool *pgxpool.Pool, size int) (float64, float64, error) {
	b, err := newBenchCampaign(ctx, e, pool, size, nil, delivery.Config{})
	if err != nil {
		return 0, 0, err
	}
	c, err := b.approved(ctx, "sms", nil)
	if err != nil {
		return 0, 0, err
	}
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: e.logger,
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}}, Workers: b.workers, JobTimeout: 10 * time.Minute})
	if err != nil {
		return 0, 0, err
	}
	if err := rc.Start(ctx); err != nil {
		return 0, 0, err
	}
	defer rc.Stop(context.WithoutCancel(ctx))
	start := time.Now()
	if _, err := b.camps.Start(ctx, b.marketer, c.ID); err != nil {
		return 0, 0, err
	}
	deadline := start.Add(20 * time.Minute)
	progress, done := e.progress("recipients", int64(size))
	defer done()
	for {
		rcp, enq, err := b.camps.RunProgress(ctx, c.ID)
		if err != nil {
			return 0, 0, err
		}
		progress(enq)
		if rcp >= 0 && enq >= rcp {
			if rcp != int64(size) {
				return 0, 0, fmt.Errorf("fanout: %d recipients for %d contacts", rcp, size)
			}
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("fanout: %d of %d messages written after 20 minutes", enq, rcp)
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(start)
	run, err := b.camps.LatestRun(ctx, c.ID)
	if err != nil {
		return 0, 0, err
	}
	tally, err := b.svc.SourceTally(ctx, campaigns.SourceRun, strconv.FormatInt(run, 10))
	if err != nil {
		return 0, 0, err
	}
	if n := tally.Written; n != size {
		return 0, 0, fmt.Errorf("fanout: %d messages in the outbox for %d recipients", n, size)
	}
	base, err := bareMessageCopy(ctx, pool, size)
	if err != nil {
		return 0, 0, err
	}
	return float64(size) / took.Seconds(), float64(size) / base.Seconds(), nil
}

// bareMessageCopy copies size message-like rows (dedupe key, contact, source,
// template, vars, channels, send time) into an unindexed table with COPY.
func bareMessageCopy(ctx context.Context, pool *pgxpool.Pool, size int) (time.Duration, error) {
	if _, err := pool.Exec(ctx, `CREATE TABLE bench_copy_messages (dedupe_key text, contact_id bigint, source text, source_id text,
		purpose text, template_key text, vars jsonb, channels text[], send_at timestamptz)`); err != nil {
		return 0, err
	}
	now := time.Now()
	vars := []byte(`{"Campaign":{"product":"稳健理财 2027"}}`)
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == size {
			return nil, nil
		}
		i++
		return []any{fmt.Sprintf("campaign:1:sms:%d", i), int64(i), "campaign_run", "1", "marketing", benchCampaignTemplate, vars, []string{"sms"}, now}, nil
	})
	start := time.Now()
	_, err := pool.CopyFrom(ctx, pgx.Identifier{"bench_copy_messages"},
		[]string{"dedupe_key", "contact_id", "source", "source_id", "purpose", "template_key", "vars", "channels", "send_at"}, src)
	return time.Since(start), err
}
