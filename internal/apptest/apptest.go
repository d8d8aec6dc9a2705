// Package apptest is the tests' one world: a real Postgres (internal/pgtest),
// one injected clock shared by every service and River's test time stub, the
// stores and services wired as serve wires them, the channel sandboxes built
// from the providers' TOML, a receipt hook server feeding the sandboxes'
// receipts back into delivery, and River's client with the deliver and
// campaign workers. Only tests import it.
package apptest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"carillon/campaigns"
	"carillon/care"
	"carillon/channels"
	"carillon/channels/registry"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/app"
	"carillon/internal/identity"
	"carillon/internal/pgtest"
	"carillon/internal/testclock"
	"carillon/internal/testlog"
	"carillon/revisits"
	"carillon/templates"
)

// Hooks stands, in Options.Providers, for the address of the world's receipt
// hook server: a sandbox's receipt_url is Hooks + "/hooks/NAME/receipts?token=" +
// HookSecret, which ReceiptURL writes.
const Hooks = "{{hooks}}"

// HookSecret is every provider's webhook secret, read from the variable HOOK
// (webhook_secret_env = "HOOK").
const HookSecret = "t0ken"

// NoRescue is River's RescueStuckJobsAfter in a test world: ten years, longer
// than any test clock stands from the real one.
const NoRescue = 10 * 365 * 24 * time.Hour

// ReceiptURL is the receipt_url line of a sandbox whose receipts reach the
// provider name's hook.
func ReceiptURL(name string) string {
	return `receipt_url = "` + Hooks + `/hooks/` + name + `/receipts?token=` + HookSecret + `"`
}

// Options say what a test's world needs; the zero value is a world with no
// providers, an insert-only River client and a clock standing at
// testclock.Base.
type Options struct {
	// Clock is the world's one clock. Default: testclock.New(testclock.Base()).
	Clock *testclock.Clock
	// Providers is the channels' TOML ([[provider]] tables), endpoints
	// "sandbox"; Hooks in it is the receipt hook server's address. Empty: no
	// providers.
	Providers string
	// Delivery configures the delivery service (quiet hours, caps, ...); its
	// Logger is the test's and its Now the clock's unless set.
	Delivery delivery.Config
	// Renderer replaces the template store's renderer.
	Renderer func(db *pgtest.DB, st *templates.Store) delivery.Renderer
	// Bank is .Bank in templates rendered by the template store.
	Bank templates.Bank
	// Campaigns configures the campaigns service; Logger and Now are the
	// world's.
	Campaigns campaigns.Config
	// Revisits configures the revisits service; Logger and Now are the
	// world's, Rules the world's care planner unless set.
	Revisits revisits.Config
	// Run gives River the deliver and campaign workers (and their queues);
	// without it River's client only inserts.
	Run bool
	// NoStart leaves a running River to be started by World.Start.
	NoStart bool
	// DeliverWorkers is the deliver queue's workers when Run. Default 10.
	DeliverWorkers int
}

// World is a test's world. Every service runs on Clock.
type World struct {
	Ctx       context.Context
	DB        *pgtest.DB
	Clock     *testclock.Clock
	Contacts  *contacts.Store
	Templates *templates.Store
	Identity  *identity.Store
	Delivery  *delivery.Service
	Campaigns *campaigns.Service
	Planner   *care.Planner
	Revisits  *revisits.Service
	// Built is the providers and their sandboxes; nil without Providers.
	Built *registry.Built
	// Registry is Built's registry; nil without Providers.
	Registry *channels.Registry
	River    *river.Client[pgx.Tx]
	// Receipts counts the receipts the hooks applied.
	Receipts atomic.Int64
	t        testing.TB
	dlv      atomic.Pointer[delivery.Service] // Delivery, for the hooks
}

// New builds a world on a new database.
func New(t testing.TB, o Options) *World {
	t.Helper()
	clk := o.Clock
	if clk == nil {
		clk = testclock.New(testclock.Base())
	}
	w := &World{Ctx: context.Background(), DB: pgtest.New(t), Clock: clk, t: t}
	log := testlog.New(t)
	var err error
	if o.Providers != "" {
		w.Built = w.providers(t, o.Providers)
		w.Registry = w.Built.Registry
	}
	w.Contacts, err = contacts.NewStore(w.DB.Pool, contacts.Config{Logger: log, Now: clk.Now})
	require.NoError(t, err)
	// A generous render deadline: on a busy machine the default 2 s could stop a
	// render before the limit a test is about.
	w.Templates, err = templates.NewStore(w.DB.Pool, templates.Config{Logger: log, Now: clk.Now, Limits: templates.Limits{Timeout: time.Minute}})
	require.NoError(t, err)
	w.Identity, err = identity.NewStore(w.DB.Pool, identity.Config{Logger: log, Now: clk.Now})
	require.NoError(t, err)
	dcfg := o.Delivery
	dcfg.Logger = log
	if dcfg.Now == nil {
		dcfg.Now = clk.Now
	}
	rd := delivery.TemplateRendererFor(w.Templates, o.Bank)
	if o.Renderer != nil {
		rd = o.Renderer(w.DB, w.Templates)
	}
	w.Delivery, err = delivery.New(w.DB.Pool, dcfg, delivery.Deps{Registry: w.Registry, Renderer: rd})
	require.NoError(t, err)
	w.dlv.Store(w.Delivery)
	ccfg := o.Campaigns
	ccfg.Logger, ccfg.Now = log, clk.Now
	w.Campaigns, err = campaigns.New(w.DB.Pool, campaigns.Deps{Contacts: w.Contacts, Templates: w.Templates, Delivery: w.Delivery, Registry: w.Registry}, ccfg)
	require.NoError(t, err)
	w.Planner, err = care.New(w.DB.Pool, w.Delivery, care.Config{Logger: log})
	require.NoError(t, err)
	rcfg := o.Revisits
	rcfg.Logger, rcfg.Now = log, clk.Now
	if rcfg.Rules == nil {
		rcfg.Rules = w.Planner // the digests follow the care rules, as serve wires them
	}
	w.Revisits, err = revisits.New(w.DB.Pool, w.Contacts, w.Delivery, rcfg)
	require.NoError(t, err)
	w.River = w.newRiver(t, o)
	if o.Run && !o.NoStart {
		w.Start()
	}
	return w
}

// providers builds the providers of toml behind their sandboxes, whose
// receipts come back through the hook server to delivery.ApplyReceipts.
func (w *World) providers(t testing.TB, toml string) *registry.Built {
	t.Helper()
	var reg atomic.Pointer[channels.Registry]
	mux := http.NewServeMux()
	mux.HandleFunc("/hooks/{name}/receipts", func(rw http.ResponseWriter, r *http.Request) {
		p, ok := reg.Load().Provider(r.PathValue("name"))
		if !ok || p.Receipts == nil {
			http.NotFound(rw, r)
			return
		}
		channels.ReceiptHandler(p.Receipts, func(ctx context.Context, rs []channels.Receipt) error {
			_, err := w.dlv.Load().ApplyReceipts(ctx, rs)
			w.Receipts.Add(int64(len(rs)))
			return err
		}, testlog.New(t)).ServeHTTP(rw, r)
	})
	hooks := httptest.NewServer(mux)
	t.Cleanup(hooks.Close)
	ccfg, err := channels.DecodeTOML(strings.ReplaceAll(toml, Hooks, hooks.URL))
	require.NoError(t, err)
	built, err := registry.Build(w.Ctx, ccfg, registry.Deps{Pool: w.DB.Pool, Logger: testlog.New(t), Getenv: func(k string) string {
		return map[string]string{"HOOK": HookSecret}[k]
	}})
	require.NoError(t, err)
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		built.Stop(c)
	})
	reg.Store(built.Registry)
	return built
}

// newRiver is River's client on the world's clock: with o.Run, the deliver
// worker and the campaigns' workers on their queues, polling often.
func (w *World) newRiver(t testing.TB, o Options) *river.Client[pgx.Tx] {
	t.Helper()
	// River's job rescuer reads the real clock (v0.51: time.Now), and a world's
	// clock stands days or a year away from it: left at its default, the rescuer
	// would take every running job for one stuck for hours and rescue it mid-run.
	// A test that wants a rescue does the rescuer's update itself.
	cfg := &river.Config{Logger: testlog.New(t), Test: river.TestConfig{Time: w.Clock}, RescueStuckJobsAfter: NoRescue}
	if o.Run {
		workers := river.NewWorkers()
		river.AddWorker(workers, w.Delivery.Worker(w.Contacts))
		w.Campaigns.AddWorkers(workers)
		n := o.DeliverWorkers
		if n == 0 {
			n = 10
		}
		cfg.Workers, cfg.TestOnly = workers, true
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}, delivery.DefaultQueue: {MaxWorkers: n}}
		cfg.FetchPollInterval, cfg.FetchCooldown = 50*time.Millisecond, 10*time.Millisecond
	}
	rc, err := river.NewClient(riverpgxv5.New(w.DB.Pool), cfg)
	require.NoError(t, err)
	return rc
}

// Start starts River (a world built with NoStart); it stops when the test ends,
// letting running jobs finish for a while.
func (w *World) Start() {
	w.t.Helper()
	require.NoError(w.t, w.River.Start(w.Ctx))
	w.t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		app.StopRiver(c, testlog.New(w.t), w.River, 0)
	})
}
