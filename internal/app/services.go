package app

import (
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/calendar"
	"carillon/campaigns"
	"carillon/care"
	"carillon/channels"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/identity"
	"carillon/revisits"
	"carillon/templates"
)

// ServicesConfig is what Services are built from. Zero values are each
// package's defaults.
type ServicesConfig struct {
	// Logger is handed to every store and service; nil: each package's default
	// (no logs).
	Logger *slog.Logger
	// Delivery configures the delivery service; its Logger defaults to Logger.
	Delivery delivery.Config
	// Campaigns configures the campaigns service; its Logger defaults to Logger.
	Campaigns campaigns.Config
	// Bank is the sending bank's identity, .Bank in templates.
	Bank templates.Bank
	// Registry is the configured providers; nil: none (planning, loading and
	// checking need none).
	Registry *channels.Registry
	// Calendar is the configuration's [calendar]: festivals added or switched
	// on, holiday years supplied; care and revisits count business days by it.
	Calendar calendar.Config
}

// Services are Carillon's stores and services on one pool, wired to each
// other the one way serve, demo, plan, the drills and the benchmarks all use.
// They need a migrated database (delivery reads its link key when built).
type Services struct {
	Pool      *pgxpool.Pool
	Contacts  *contacts.Store
	Templates *templates.Store
	Renderer  delivery.Renderer
	Delivery  *delivery.Service
	Planner   *care.Planner // with the managers' revisit digest as its extension
	Revisits  *revisits.Service
	Campaigns *campaigns.Service
	Identity  *identity.Store
}

// NewServices builds the stores and services on pool, and registers every
// package that holds personal data with the contacts store (RegisterPrivacy).
func NewServices(pool *pgxpool.Pool, cfg ServicesConfig) (*Services, error) {
	s := &Services{Pool: pool}
	var err error
	if s.Contacts, err = contacts.NewStore(pool, contacts.Config{Logger: cfg.Logger}); err != nil {
		return nil, err
	}
	if s.Renderer, s.Templates, err = NewRenderer(pool, cfg.Bank); err != nil {
		return nil, err
	}
	dcfg := cfg.Delivery
	if dcfg.Logger == nil {
		dcfg.Logger = cfg.Logger
	}
	if s.Delivery, err = delivery.New(pool, dcfg, delivery.Deps{Registry: cfg.Registry, Renderer: s.Renderer}); err != nil {
		return nil, err
	}
	if s.Planner, s.Revisits, err = NewPlanner(pool, s.Contacts, s.Delivery, cfg.Logger, cfg.Calendar); err != nil {
		return nil, err
	}
	ccfg := cfg.Campaigns
	if ccfg.Logger == nil {
		ccfg.Logger = cfg.Logger
	}
	if s.Campaigns, err = campaigns.New(pool, campaigns.Deps{Contacts: s.Contacts, Templates: s.Templates, Delivery: s.Delivery, Registry: cfg.Registry}, ccfg); err != nil {
		return nil, err
	}
	if s.Identity, err = identity.NewStore(pool, identity.Config{Logger: cfg.Logger}); err != nil {
		return nil, err
	}
	RegisterPrivacy(s.Contacts, s.Delivery, s.Revisits, s.Campaigns)
	return s, nil
}

// NewRenderer renders with the template store, with the bank's identity as .Bank.
func NewRenderer(pool *pgxpool.Pool, bank templates.Bank) (delivery.Renderer, *templates.Store, error) {
	st, err := templates.NewStore(pool, templates.Config{})
	if err != nil {
		return nil, nil, err
	}
	return delivery.TemplateRendererFor(st, bank), st, nil
}

// NewPlanner builds the care planner with the managers' revisit digest as its
// extension, and returns the revisits service too. Both count business days
// and choose festivals by cal (the file's [calendar]).
func NewPlanner(pool *pgxpool.Pool, store *contacts.Store, svc *delivery.Service, logger *slog.Logger, cal calendar.Config) (*care.Planner, *revisits.Service, error) {
	p, err := care.New(pool, svc, care.Config{Logger: logger, Festivals: cal})
	if err != nil {
		return nil, nil, err
	}
	rv, err := revisits.New(pool, store, svc, revisits.Config{Logger: logger, ConsoleURL: svc.Config().PublicURL, Festivals: cal, Rules: p})
	if err != nil {
		return nil, nil, err
	}
	p.AddExtension(revisitsExtension{rv: rv})
	return p, rv, nil
}

// RegisterPrivacy registers every package that holds personal data with the
// contacts store: its eraser (run by every erasure, in its transaction) and
// its exporter (read by every access request). A test checks that the
// erasers cover every personal column of the schema.
func RegisterPrivacy(store *contacts.Store, dlv *delivery.Service, rv *revisits.Service, camp *campaigns.Service) {
	d := dlv.Eraser(store)
	store.RegisterEraser(d)
	store.RegisterExporter(d)
	store.RegisterEraser(rv)
	store.RegisterExporter(rv)
	store.RegisterEraser(camp)
	store.RegisterExporter(camp)
}
