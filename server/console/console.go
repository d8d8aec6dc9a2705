package console

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/calendar"
	"carillon/campaigns"
	"carillon/care"
	"carillon/channels"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/apperr"
	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/revisits"
	"carillon/server/edge"
	"carillon/templates"
)

// Prefix is where the console is mounted.
const Prefix = "/console"

// Defaults.
const (
	DefaultSessionTTL     = 12 * time.Hour
	DefaultIdleTimeout    = 2 * time.Hour
	DefaultRequestTimeout = 30 * time.Second
	DefaultTimeZone       = "Asia/Shanghai"
	DefaultPageSize       = 50
)

// Config configures the console.
type Config struct {
	// SessionTTL is how long a session lives at most. Default DefaultSessionTTL.
	SessionTTL time.Duration
	// IdleTimeout ends a session unused for this long. Default DefaultIdleTimeout.
	IdleTimeout time.Duration
	// RequestTimeout bounds a page's work. Default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// TimeZone is the zone times are shown in and "today" is read in. Default
	// DefaultTimeZone.
	TimeZone string
	// SecureCookies marks cookies Secure even over plain HTTP (behind a proxy
	// that ends TLS). Default: Secure only when the request came over TLS.
	SecureCookies bool
	// TrustedProxies are the proxies whose X-Forwarded-For names the client
	// (for the sign-in throttle and the audit log). Default none: the
	// connection's address is the client's.
	TrustedProxies []netip.Prefix
	// Throttle configures the sign-in throttle (when Deps.Throttle is nil).
	Throttle edge.ThrottleConfig
	// RiverUI says whether /riverui/ is served (administrators get a link).
	RiverUI bool
	// Logger. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// WithDefaults returns c with defaults applied.
func (c Config) WithDefaults() Config {
	c.SessionTTL = cmp.Or(c.SessionTTL, DefaultSessionTTL)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, DefaultIdleTimeout)
	c.RequestTimeout = cmp.Or(c.RequestTimeout, DefaultRequestTimeout)
	c.TimeZone = cmp.Or(c.TimeZone, DefaultTimeZone)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c Config) validate() error {
	if c.IdleTimeout > c.SessionTTL {
		return fmt.Errorf("console: IdleTimeout %s is longer than SessionTTL %s", c.IdleTimeout, c.SessionTTL)
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		return fmt.Errorf("console: time zone %q: %w", c.TimeZone, err)
	}
	return nil
}

// Users is what the console needs of the identity store.
type Users interface {
	CheckPassword(ctx context.Context, login, password string) (identity.Principal, error)
	GetUser(ctx context.Context, login string) (identity.User, error)
	UserByID(ctx context.Context, id int64) (identity.User, error)
	// ManagerScope is the managers whose customers a manager sees: their own
	// and those of the managers they lead.
	ManagerScope(ctx context.Context, u identity.User) ([]int64, error)
}

// Deps are what the console shows and changes. SessionsPool, Users and
// Contacts are required; a page whose dependency is nil is left out of the
// navigation and answers 404. The console reads and changes every other
// package's tables through that package's service.
type Deps struct {
	// SessionsPool reaches the console's own tables, console_sessions and
	// console_oidc_logins, and the audit log through internal/audit's Append
	// (in the same transaction as a session's start or end). Nothing else.
	SessionsPool *pgxpool.Pool
	Users        Users
	Contacts     *contacts.Store
	Templates    *templates.Store
	Care         *care.Planner
	Delivery     *delivery.Service
	Campaigns    *campaigns.Service
	Revisits     *revisits.Service
	SSO          SSO // optional: OIDC and LDAP sign-in (sso.go)
	// Registry names the providers (their kinds, for display names); optional.
	Registry *channels.Registry
	// Throttle counts failed sign-ins; the server shares its own with River
	// UI's. Default: the console's own, of Config.Throttle.
	Throttle *edge.Throttle
}

// Console serves the web console under Prefix.
type Console struct {
	cfg      Config
	deps     Deps
	loc      *time.Location
	mux      *http.ServeMux
	pages    map[string]*template.Template
	dash     dashCache
	ranks    rankCache
	throttle *edge.Throttle
}

//go:embed web
var webFS embed.FS

// New builds the console.
func New(cfg Config, deps Deps) (*Console, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if deps.SessionsPool == nil || deps.Users == nil || deps.Contacts == nil {
		return nil, errors.New("console: SessionsPool, Users and Contacts are required")
	}
	loc, _ := time.LoadLocation(cfg.TimeZone)
	c := &Console{cfg: cfg, deps: deps, loc: loc, mux: http.NewServeMux(), throttle: deps.Throttle}
	if c.throttle == nil {
		c.throttle = edge.NewThrottle(cfg.Throttle)
	}
	if err := c.parse(); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

// Handler serves every path under Prefix.
func (c *Console) Handler() http.Handler { return edge.Resolve(c.cfg.TrustedProxies, c.mux) }

// parse reads every page template with the layout.
func (c *Console) parse() error {
	funcs := template.FuncMap{
		"fmtTime":  c.fmtTime,
		"pct":      pct,
		"join":     strings.Join,
		"dict":     dict,
		"num":      num,
		"tel":      tel,
		"contains": contains,
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(webFS, "web/layout.html", "web/partials/*.html")
	if err != nil {
		return fmt.Errorf("console: layout: %w", err)
	}
	names, err := fs.Glob(webFS, "web/pages/*.html")
	if err != nil {
		return err
	}
	c.pages = map[string]*template.Template{}
	for _, n := range names {
		t, err := template.Must(layout.Clone()).ParseFS(webFS, n)
		if err != nil {
			return fmt.Errorf("console: page %s: %w", n, err)
		}
		c.pages[strings.TrimSuffix(strings.TrimPrefix(n, "web/pages/"), ".html")] = t
	}
	return nil
}

// dict makes a map of key-value pairs, to hand several values to a template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, errors.New("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func pct(num, den int) string {
	if den == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", float64(num)*100/float64(den))
}

func (c *Console) fmtTime(t any) string {
	switch v := t.(type) {
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return v.In(c.loc).Format("2006-01-02 15:04")
	case *time.Time:
		if v == nil {
			return ""
		}
		return v.In(c.loc).Format("2006-01-02 15:04")
	}
	return fmt.Sprint(t)
}

// now is the console's clock in its zone.
func (c *Console) now() time.Time { return c.cfg.Now().In(c.loc) }

// req is what a page handler gets besides the request.
type req struct {
	P    identity.Principal
	Sess session
	Lang string
}

// actor is the audit actor of a console request: "console:<login>".
func (q *req) actor(r *http.Request) audit.Actor {
	id := q.P.User.ID
	return audit.Actor{Name: "console:" + q.P.User.Login, UserID: &id, Addr: remoteHost(r), Auth: audit.AuthConsole}
}

// remoteHost is the client's address (through trusted proxies).
func remoteHost(r *http.Request) string { return edge.ClientAddr(r) }

// handlerFunc is a page handler; an error becomes an error page.
type handlerFunc func(w http.ResponseWriter, r *http.Request, q *req) error

// page mounts a signed-in page for those whose roles grant perm. Every
// method but GET and HEAD must carry the session's CSRF token.
func (c *Console) page(pattern string, perm identity.Perm, h handlerFunc) {
	c.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), c.cfg.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
		setSecurityHeaders(w)
		q := &req{Lang: c.lang(r)}
		sess, p, err := c.authenticate(r)
		if errors.Is(err, errNoSession) {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, Prefix+"/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.fail(w, r, q, &httpError{status: http.StatusUnauthorized, key: "err.signed_out"})
			return
		}
		if err != nil {
			c.fail(w, r, q, err)
			return
		}
		q.P, q.Sess = p, sess
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := c.checkCSRF(r, sess); err != nil {
				c.fail(w, r, q, err)
				return
			}
		}
		if !p.Can(perm) {
			c.fail(w, r, q, &httpError{status: http.StatusForbidden, key: "err.forbidden"})
			return
		}
		if err := h(w, r, q); err != nil {
			c.fail(w, r, q, err)
		}
	}))
}

func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// httpError is an error page: a status and a message key, with detail shown
// as it is (it must hold no personal data).
type httpError struct {
	status int
	key    string
	detail string
}

func (e *httpError) Error() string { return e.key + ": " + e.detail }

// afterParam reads a list's "after" cursor (0 when absent); bad says what it must be.
func afterParam(q url.Values, bad string) (int64, error) {
	n, ok := edge.QueryNumber(q, "after")
	if !ok {
		return 0, badRequest(bad)
	}
	return n, nil
}

// nextPage is the query of a list's next page: base and the "after" cursor.
func nextPage(base url.Values, after int64) template.URL {
	return template.URL(edge.NextQuery(base, "after", after).Encode()) //nolint:gosec // encoded by url.Values
}

func notFound() error { return &httpError{status: http.StatusNotFound, key: "err.not_found"} }

func badRequest(detail string) error {
	return &httpError{status: http.StatusBadRequest, key: "err.bad_request", detail: detail}
}

// fail writes an error page, mapping domain errors in this one place;
// unexpected errors are logged once here. A domain's not found, conflict,
// refusal and invalid input are apperr kinds, mapped whichever domain said them.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, q *req, err error) {
	var he *httpError
	var ve *contacts.ValidationError
	fe, family := apperr.As(err)
	switch {
	case errors.As(err, &he):
	case errors.As(err, &ve):
		he = &httpError{status: http.StatusBadRequest, key: "err.bad_request", detail: ve.Error()}
	case family && fe.Kind() == apperr.KindNotFound:
		he = &httpError{status: http.StatusNotFound, key: "err.not_found"}
	case family && fe.Kind() == apperr.KindForbidden:
		he = &httpError{status: http.StatusForbidden, key: "err.forbidden", detail: err.Error()}
	case family && fe.Kind() == apperr.KindConflict:
		he = &httpError{status: http.StatusConflict, key: "err.conflict", detail: err.Error()}
	case family && fe.Kind() == apperr.KindInvalid:
		he = &httpError{status: http.StatusBadRequest, key: "err.bad_request", detail: err.Error()}
	case errors.Is(err, contacts.ErrErased):
		he = &httpError{status: http.StatusGone, key: "err.erased"}
	case errors.Is(err, contacts.ErrBadCursor):
		he = &httpError{status: http.StatusBadRequest, key: "err.bad_request", detail: "the page cursor is not one the console made"}
	case errors.Is(err, context.DeadlineExceeded):
		he = &httpError{status: http.StatusServiceUnavailable, key: "err.timeout"}
	case errors.Is(err, identity.ErrDirectoryUnavailable):
		c.cfg.Logger.ErrorContext(r.Context(), "directory unavailable", slog.String("err", err.Error()))
		he = &httpError{status: http.StatusServiceUnavailable, key: "err.directory_unavailable"}
	case errors.Is(err, context.Canceled):
		return
	default:
		c.cfg.Logger.ErrorContext(r.Context(), "console page failed", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("err", err.Error()))
		he = &httpError{status: http.StatusInternalServerError, key: "err.internal"}
	}
	c.render(w, r, q, he.status, "error", "err.title", map[string]any{"Key": he.key, "Detail": trDetail(q.Lang, he.detail), "Status": he.status})
}

// view is the data every page template gets.
type view struct {
	Lang   string
	Title  string
	Nav    []navItem
	User   *identity.Principal
	CSRF   string
	Path   string
	Notice string
	// HolidayBanner warns every signed-in page that business days past the
	// holiday data count Monday to Friday only; "" when the data is there.
	HolidayBanner string
	// Decisions are approvals and rejections of the user's campaigns not yet shown (campaign_notice.go).
	Decisions []decisionNotice
	D         any
	c         *Console
	ctx       context.Context // the request's, for names looked up while rendering
}

// T translates a message key into the page's language.
func (v *view) T(key string) string { return tr(v.Lang, key) }

// Tf translates a key and formats it with args.
func (v *view) Tf(key string, args ...any) string { return fmt.Sprintf(tr(v.Lang, key), args...) }

// Can reports whether the signed-in user's roles grant perm (an identity.Perm).
func (v *view) Can(perm string) bool { return v.User != nil && v.User.Can(identity.Perm(perm)) }

// render executes page name in the layout and writes it with status.
func (c *Console) render(w http.ResponseWriter, r *http.Request, q *req, status int, name, titleKey string, data any) {
	t, ok := c.pages[name]
	if !ok {
		c.cfg.Logger.ErrorContext(r.Context(), "console page template missing", slog.String("page", name))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	v := c.view(r, q, titleKey, data)
	if v.User != nil {
		v.Decisions = c.decisionNotices(w, r, q)
	}
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		c.cfg.Logger.ErrorContext(r.Context(), "console page render failed", slog.String("page", name), slog.String("err", err.Error()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", q.Lang)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// view is the data a page's templates get.
func (c *Console) view(r *http.Request, q *req, titleKey string, data any) *view {
	v := &view{Lang: q.Lang, Title: tr(q.Lang, titleKey), Path: r.URL.RequestURI(), D: data, c: c, ctx: r.Context(),
		Notice: noticeOf(q.Lang, r.URL.Query().Get("ok"))}
	if q.P.User.ID != 0 {
		v.User = &q.P
		v.CSRF = q.Sess.CSRF
		v.Nav = c.nav(q.P, r.URL.Path)
		v.HolidayBanner = c.holidayBanner(q.Lang)
	}
	return v
}

// holidayBanner is the banner's text when the care calendar lacks holiday data
// for today or the next calendar.LookAhead days.
func (c *Console) holidayBanner(lang string) string {
	cal := calendar.Config{}.WithDefaults()
	if c.deps.Care != nil {
		cal = c.deps.Care.Config().Festivals
	}
	today := calendar.DateOf(c.now())
	chk := cal.CheckHolidayData(today, today.AddDays(calendar.LookAhead))
	if chk.HolidayData {
		return ""
	}
	years := make([]string, len(chk.Missing))
	for i, y := range chk.Missing {
		years[i] = strconv.Itoa(y)
	}
	return fmt.Sprintf(tr(lang, "banner.holiday_missing"), strings.Join(years, ", "))
}

// noticeOf is the message of a ?ok= key set by a redirect after a form.
func noticeOf(lang, key string) string {
	if key == "" || !strings.HasPrefix(key, "ok.") {
		return ""
	}
	if _, ok := messages["notice."+strings.TrimPrefix(key, "ok.")]; !ok {
		return ""
	}
	return tr(lang, "notice."+strings.TrimPrefix(key, "ok."))
}

// seeOther redirects after a successful form with a notice key.
func seeOther(w http.ResponseWriter, r *http.Request, path, notice string) {
	if notice != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "ok=ok." + notice
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// navItem is one entry of the navigation bar.
type navItem struct {
	Href   string
	Key    string
	Active bool
}

// nav lists the pages p may open, in order.
func (c *Console) nav(p identity.Principal, path string) []navItem {
	var items []navItem
	add := func(href, key string, ok bool) {
		if !ok {
			return
		}
		active := path == href || (href != Prefix+"/" && strings.HasPrefix(path, href))
		items = append(items, navItem{Href: href, Key: key, Active: active})
	}
	add(Prefix+"/", "nav.dashboard", p.Can(identity.PermDashboard))
	add(Prefix+"/my", "nav.my", c.deps.Revisits != nil && p.Can(identity.PermMyCustomers))
	add(Prefix+"/campaigns", "nav.campaigns", c.deps.Campaigns != nil && p.Can(identity.PermCampaignsRead))
	add(Prefix+"/segments", "seg.nav", c.deps.Campaigns != nil && p.Can(identity.PermCampaignsRead))
	add(Prefix+"/contacts", "nav.contacts", true)
	add(Prefix+"/templates", "nav.templates", c.deps.Templates != nil && p.Can(identity.PermTemplatesRead))
	add(Prefix+"/calendar", "nav.calendar", true)
	return items
}

// home is where p lands after signing in.
func (c *Console) home(p identity.Principal) string {
	if !p.Can(identity.PermDashboard) && p.Can(identity.PermMyCustomers) && c.deps.Revisits != nil {
		return Prefix + "/my"
	}
	if !p.Can(identity.PermDashboard) {
		return Prefix + "/contacts"
	}
	return Prefix + "/"
}

// scope is the contacts p may see: all for administrators, marketers,
// approvers and auditors (masked); a manager's own (a team lead's team's).
func scope(p identity.Principal) contacts.Scope {
	if p.SeesAllContacts() {
		return contacts.Scope{}
	}
	return contacts.Scope{Restricted: true, ManagerIDs: p.ManagerIDs}
}

// show is contact c as p may see it.
func show(p identity.Principal, ct contacts.Contact) contacts.Contact {
	if p.SeesPersonalData() {
		return ct
	}
	return ct.Masked()
}

func (c *Console) routes() {
	static, _ := fs.Sub(webFS, "web/static")
	c.mux.Handle("GET "+Prefix+"/static/", http.StripPrefix(Prefix+"/static/", cacheStatic(http.FileServerFS(static))))
	c.mux.HandleFunc("GET "+Prefix+"/login", c.loginPage)
	c.mux.HandleFunc("POST "+Prefix+"/login", c.login)
	c.mux.HandleFunc("GET "+Prefix+"/lang", c.switchLang)
	c.ssoRoutes()
	c.page("POST "+Prefix+"/logout", identity.PermSignedIn, c.logout)
	c.page("GET "+Prefix+"/{$}", identity.PermSignedIn, c.dashboard)
	c.contactRoutes()
	c.templateRoutes()
	c.calendarRoutes()
	c.campaignRoutes()
	c.segmentRoutes()
	c.campaignActionRoutes()
	c.myRoutes()
	c.homeRoutes()
	c.page(Prefix+"/", identity.PermSignedIn, func(w http.ResponseWriter, r *http.Request, q *req) error { return notFound() })
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}
