package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"
	"riverqueue.com/riverui"

	"carillon/campaigns"
	"carillon/campaigns/segment"
	"carillon/care"
	"carillon/channels"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/apperr"
	"carillon/internal/identity"
	"carillon/internal/pii"
	"carillon/migrations"
	"carillon/revisits"
	"carillon/server/console"
	"carillon/server/edge"
	"carillon/templates"
)

// Defaults.
const (
	DefaultAddr           = "127.0.0.1:8080"
	DefaultMaxBodyBytes   = 1 << 20 // JSON bodies
	DefaultMaxImportBytes = 2 << 30 // CSV imports
	DefaultRateLimit      = 50      // API requests per second per token
	DefaultRateBurst      = 100
	DefaultRequestTimeout = 30 * time.Second
)

// Config configures the HTTP server.
type Config struct {
	// Addr to listen on. Default DefaultAddr.
	Addr string
	// MaxBodyBytes caps JSON request bodies. Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxImportBytes caps a CSV import's body. Default DefaultMaxImportBytes.
	MaxImportBytes int64
	// OpsAddr, when set, is the only address that serves /healthz, /readyz and
	// /metrics; Addr then serves none of them. Default: Addr serves them.
	OpsAddr string
	// RateLimit is the API requests per second allowed per token (a token bucket of
	// RateBurst). Default DefaultRateLimit; negative turns limiting off.
	RateLimit float64
	// RateBurst is the bucket's size. Default DefaultRateBurst.
	RateBurst int
	// RequestTimeout bounds an API request's work (imports excepted). Default
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// TrustedProxies are the proxies (CIDRs) whose X-Forwarded-For names the
	// client and whose X-Forwarded-Proto says it came over HTTPS: the sign-in
	// throttle, the audit log and HSTS read them. Default none: every
	// connection's own address is the client's and such headers are ignored.
	TrustedProxies []netip.Prefix
	// Timeouts are the read deadlines per route class (JSON API and console,
	// webhooks, streaming imports) and the cap on concurrent imports.
	// Defaults: edge.Default*.
	Timeouts edge.Timeouts
	// Console configures the web console (time zone, session lengths, Secure
	// cookies); its Logger and RiverUI are the server's.
	Console console.Config
	// Logger. Default: discard.
	Logger *slog.Logger
	// Now is the clock of the API's "today" and its audit entries, and the
	// console's unless Console.Now is set. Default time.Now.
	Now func() time.Time
}

// WithDefaults returns c with defaults applied.
func (c Config) WithDefaults() Config {
	c.Addr = cmp.Or(c.Addr, DefaultAddr)
	c.MaxBodyBytes = cmp.Or(c.MaxBodyBytes, DefaultMaxBodyBytes)
	c.MaxImportBytes = cmp.Or(c.MaxImportBytes, DefaultMaxImportBytes)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	c.RateLimit = cmp.Or(c.RateLimit, DefaultRateLimit)
	c.RateBurst = cmp.Or(c.RateBurst, DefaultRateBurst)
	c.RequestTimeout = cmp.Or(c.RequestTimeout, DefaultRequestTimeout)
	c.Timeouts = c.Timeouts.WithDefaults()
	if c.Now == nil {
		c.Now = time.Now
	}
	if len(c.Console.TrustedProxies) == 0 {
		c.Console.TrustedProxies = c.TrustedProxies
	}
	if c.Console.Now == nil {
		c.Console.Now = c.Now
	}
	return c
}

func (c Config) validate() error {
	if c.MaxBodyBytes < 1024 {
		return fmt.Errorf("server: MaxBodyBytes %d is below 1 KiB", c.MaxBodyBytes)
	}
	if c.MaxImportBytes < c.MaxBodyBytes {
		return fmt.Errorf("server: MaxImportBytes %d is below MaxBodyBytes", c.MaxImportBytes)
	}
	return nil
}

// Deps are what the server serves.
type Deps struct {
	Pool      *pgxpool.Pool
	Contacts  *contacts.Store
	River     *river.Client[pgx.Tx] // optional: readiness and River UI need it
	Auth      Auth                  // tokens and passwords; without it every /api route answers 401
	Templates *templates.Store      // message templates; built from Pool when nil
	Delivery  *delivery.Service     // optional: webhooks, messages, stops
	Registry  *channels.Registry    // the configured providers, for webhooks
	Care      *care.Planner         // optional: the care rules API
	Campaigns *campaigns.Service    // optional: segments and campaigns
	Revisits  *revisits.Service     // optional: the managers' side (revisits, feedback, digests)
}

// Server is the HTTP handler set.
type Server struct {
	cfg     Config
	deps    Deps
	mux     *http.ServeMux
	ops     *http.ServeMux
	limiter *limiter
	reg     *prometheus.Registry
	metrics *httpMetrics
	riverUI *riverui.Handler
	console *console.Console // set when the console is mounted
	// throttle counts failed sign-ins to the console and to River UI together.
	throttle *edge.Throttle
	uploads  *edge.Uploads  // admits streaming imports
	root     http.Handler   // mux behind the edge's middleware
	zone     *time.Location // where the API's "today" is read: the console's zone
}

// New builds the server's routes.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	zone, err := time.LoadLocation(cmp.Or(cfg.Console.TimeZone, console.DefaultTimeZone))
	if err != nil {
		return nil, fmt.Errorf("server: console time zone: %w", err)
	}
	s := &Server{cfg: cfg, deps: deps, mux: http.NewServeMux(), reg: prometheus.NewRegistry(), limiter: newLimiter(cfg.RateLimit, cfg.RateBurst), zone: zone,
		throttle: edge.NewThrottle(cfg.Console.Throttle), uploads: edge.NewUploads(cfg.Timeouts)}
	s.root = edge.Resolve(cfg.TrustedProxies, cfg.Timeouts.Deadlines(edge.Headers(edge.RefuseNUL(cfg.MaxBodyBytes, s.mux))))
	s.ops = s.mux
	if cfg.OpsAddr != "" {
		s.ops = http.NewServeMux()
	}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = newHTTPMetrics(s.reg)
	if deps.Contacts != nil || deps.Delivery != nil || deps.River != nil {
		s.reg.MustRegister(newDBCollector(deps, cfg.Logger))
	}
	if deps.Delivery != nil {
		s.reg.MustRegister(deps.Delivery.Collectors()...)
	}
	if deps.Care != nil {
		s.reg.MustRegister(deps.Care.Collectors()...)
	}
	if deps.River != nil {
		h, err := riverui.NewHandler(&riverui.HandlerOpts{
			Endpoints: riverui.NewEndpoints(deps.River, nil),
			Logger:    cfg.Logger,
			Prefix:    "/riverui",
		})
		if err != nil {
			return nil, fmt.Errorf("server: river ui: %w", err)
		}
		s.riverUI = h
		s.mux.Handle("/riverui/", s.adminUI(h))
	}
	s.routes()
	return s, nil
}

// Start starts background parts (River UI).
func (s *Server) Start(ctx context.Context) error {
	if s.riverUI != nil {
		if err := s.riverUI.Start(ctx); err != nil {
			return fmt.Errorf("server: start river ui: %w", err)
		}
	}
	return nil
}

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.root }

// OpsHandler serves /healthz, /readyz and /metrics when Config.OpsAddr is set
// (nil otherwise: Handler serves them).
func (s *Server) OpsHandler() http.Handler {
	if s.cfg.OpsAddr == "" {
		return nil
	}
	return s.ops
}

// HTTPServer returns an *http.Server with timeouts on every phase.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Addr:              s.cfg.Addr,
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.Timeouts.ReadHeader,
		IdleTimeout:       120 * time.Second,
		// Reads and writes are not bounded as a whole: an import of a large file
		// streams for minutes. Bodies get a read deadline per route class
		// (edge.Timeouts.Deadlines); each handler bounds its own work.
		ErrorLog: slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
	}
}

// handle mounts an API route for the given roles. Its work is bounded by
// RequestTimeout unless streaming (imports) says otherwise.
func (s *Server) handle(pattern string, perm identity.Perm, h func(w http.ResponseWriter, r *http.Request) error) {
	s.handleOpts(pattern, perm, false, h)
}

func (s *Server) handleOpts(pattern string, perm identity.Perm, streaming bool, h func(w http.ResponseWriter, r *http.Request) error) {
	s.mux.Handle(pattern, s.metrics.wrap(s.cfg.Logger, pattern, s.authenticate(perm, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !streaming {
			ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
			defer cancel()
			r = r.WithContext(ctx)
		} else {
			release, err := s.uploads.Stream(w, r)
			if err != nil {
				w.Header().Set("Retry-After", "30")
				s.writeErr(w, r, &apiError{status: http.StatusServiceUnavailable, code: "busy",
					msg: "同时进行的导入过多，请稍后再试。Too many imports are running at once; try again in a moment."})
				return
			}
			defer release()
		}
		if err := h(w, r); err != nil {
			s.writeErr(w, r, err)
		}
	}))))
}

func (s *Server) routes() {
	s.ops.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.ops.HandleFunc("GET /readyz", s.readyz)
	s.ops.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))

	s.handle("POST /api/contacts", identity.PermContactsWrite, s.createContact)
	s.handle("GET /api/contacts", identity.PermContactsRead, s.listContacts)
	s.handle("GET /api/contacts/{id}", identity.PermContactsRead, s.getContact)
	s.handle("PATCH /api/contacts/{id}", identity.PermContactsTier, s.updateContact)
	s.handle("DELETE /api/contacts/{id}", identity.PermContactsWrite, s.eraseContact)
	s.handle("GET /api/contacts/{id}/export", identity.PermContactsExport, s.exportContact)
	s.handle("GET /api/contacts/{id}/timeline", identity.PermContactsRead, s.timeline)
	s.handle("GET /api/contacts/{id}/consents", identity.PermContactsRead, s.getConsents)
	s.handle("PUT /api/contacts/{id}/consents", identity.PermContactsWrite, s.putConsent)
	s.handleOpts("POST /api/contacts/import", identity.PermContactsWrite, true, s.importContacts)
	s.handle("GET /api/managers", identity.PermSignedIn, s.listManagers)
	s.handle("POST /api/managers", identity.PermManagersWrite, s.createManager)
	s.handle("GET /api/managers/{code}", identity.PermSignedIn, s.getManager)
	s.handle("PATCH /api/managers/{code}", identity.PermManagersWrite, s.updateManager)
	s.handleOpts("POST /api/managers/import", identity.PermManagersWrite, true, s.importManagers)
	s.handle("GET /api/audit", identity.PermAuditRead, s.listAudit)
	s.handle("GET /api/me", identity.PermSignedIn, s.me)
	s.deliveryRoutes()
	s.careRoutes()
	s.campaignRoutes()
	s.revisitRoutes()
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeErr(w, r, &apiError{status: http.StatusNotFound, code: "not_found", msg: "no such API route: " + r.Method + " " + r.URL.Path})
	})
	s.templateRoutes()
	s.consoleRoutes()
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{}
	status := http.StatusOK
	if err := s.deps.Pool.Ping(ctx); err != nil {
		checks["database"] = "unreachable: " + err.Error()
		status = http.StatusServiceUnavailable
	} else if err := migrations.Check(ctx, s.deps.Pool); err != nil {
		checks["database"] = err.Error()
		status = http.StatusServiceUnavailable
	} else {
		checks["database"] = "ok"
	}
	if s.deps.River == nil {
		checks["river"] = "not running"
		status = http.StatusServiceUnavailable
	} else if _, err := s.deps.River.JobList(ctx, river.NewJobListParams().First(1)); err != nil {
		checks["river"] = "unreachable: " + err.Error()
		status = http.StatusServiceUnavailable
	} else {
		checks["river"] = "ok"
	}
	writeJSON(w, status, map[string]any{"status": map[bool]string{true: "ready", false: "not ready"}[status == http.StatusOK], "checks": checks})
}

// apiError is an error with an HTTP status and a stable code.
type apiError struct {
	status int
	code   string
	msg    string
	fields []contacts.FieldError
	// problems are a template's, answered as its fields.
	problems []templates.Problem
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, code: "bad_request", msg: fmt.Sprintf(format, args...)}
}

// writeErr maps domain errors to statuses, in this one place; unexpected ones
// are logged once here. A domain's not found, conflict, invalid input and
// refusal are apperr kinds, mapped whichever domain said them.
func (s *Server) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var ve *contacts.ValidationError
	var tve *templates.ValidationError
	var se *segment.Error
	var mbe *http.MaxBytesError
	fe, family := apperr.As(err)
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &mbe):
		ae = &apiError{status: http.StatusRequestEntityTooLarge, code: "too_large", msg: fmt.Sprintf("request body is larger than %d bytes", mbe.Limit)}
	case edge.IsTimeout(err):
		w.Header().Set("Connection", "close")
		ae = &apiError{status: http.StatusRequestTimeout, code: "request_timeout",
			msg: edge.TimeoutMessage}
	case errors.As(err, &ve):
		ae = &apiError{status: http.StatusBadRequest, code: "invalid", msg: ve.Error(), fields: ve.Fields}
	case errors.As(err, &tve):
		ae = &apiError{status: http.StatusBadRequest, code: "invalid", msg: tve.Error(), problems: tve.Problems}
	case errors.As(err, &se):
		ae = &apiError{status: http.StatusBadRequest, code: "invalid_segment", msg: se.Error()}
		for _, p := range se.Problems {
			ae.fields = append(ae.fields, contacts.FieldError{Field: "expression", Message: segmentProblem(p)})
		}
	case errors.Is(err, templates.ErrNoVariant):
		ae = &apiError{status: http.StatusUnprocessableEntity, code: "no_variant", msg: err.Error()}
	case errors.Is(err, templates.ErrRenderLimit):
		// The error names the template, version, channel, locale, field and limit;
		// never any of the output.
		ae = &apiError{status: http.StatusUnprocessableEntity, code: "render_limit", msg: err.Error()}
	case family && fe.Kind() == apperr.KindNotFound:
		ae = &apiError{status: http.StatusNotFound, code: fe.Code(), msg: fe.Said()}
	case family && fe.Kind() == apperr.KindConflict:
		ae = &apiError{status: http.StatusConflict, code: fe.Code(), msg: err.Error()}
	case family && fe.Kind() == apperr.KindForbidden:
		ae = &apiError{status: http.StatusForbidden, code: fe.Code(), msg: err.Error()}
	case family && fe.Kind() == apperr.KindInvalid:
		ae = &apiError{status: http.StatusBadRequest, code: "bad_request", msg: err.Error()}
	case errors.Is(err, contacts.ErrErased):
		ae = &apiError{status: http.StatusGone, code: "erased", msg: "the contact was erased"}
	case errors.Is(err, contacts.ErrBadCursor):
		ae = &apiError{status: http.StatusBadRequest, code: "bad_cursor", msg: "the cursor is not one this API produced"}
	case errors.Is(err, contacts.ErrUnreadable):
		ae = &apiError{status: http.StatusBadRequest, code: "unreadable", msg: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		ae = &apiError{status: http.StatusServiceUnavailable, code: "timeout", msg: "the request took too long"}
	case errors.Is(err, context.Canceled):
		return
	default:
		s.cfg.Logger.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("err", pii.Text(err.Error())))
		ae = &apiError{status: http.StatusInternalServerError, code: "internal", msg: "internal error"}
	}
	body := map[string]any{"code": ae.code, "message": ae.msg}
	if ae.fields != nil {
		body["fields"] = ae.fields
	}
	if ae.problems != nil {
		body["fields"] = ae.problems
	}
	writeJSON(w, ae.status, map[string]any{"error": body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decode reads a capped JSON body into v, refusing unknown fields and trailing data.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", msg: "send application/json"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || edge.IsTimeout(err) {
			return err
		}
		return badRequest("request body: %s", err.Error())
	}
	if dec.More() {
		return badRequest("request body: more than one JSON value")
	}
	return nil
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &apiError{status: http.StatusNotFound, code: "not_found", msg: "not found"}
	}
	return id, nil
}
