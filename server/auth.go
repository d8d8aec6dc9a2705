package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"carillon/contacts"
	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/server/edge"
)

// Auth is what the server needs of the identity store.
type Auth interface {
	identity.Authenticator
	CheckPassword(ctx context.Context, login, password string) (identity.Principal, error)
}

type principalKey struct{}

func principalOf(r *http.Request) identity.Principal {
	p, _ := r.Context().Value(principalKey{}).(identity.Principal)
	return p
}

// who is the audit actor of a request.
func who(r *http.Request) audit.Actor { return principalOf(r).Actor(remoteHost(r)) }

// remoteHost is the client's address (through trusted proxies).
func remoteHost(r *http.Request) string { return edge.ClientAddr(r) }

// scope is the contacts p may see. An administrator sees all; so do marketers,
// approvers and auditors (masked). A user whose only contact role is manager sees
// their scope.
func scope(p identity.Principal) contacts.Scope {
	if p.SeesAllContacts() {
		return contacts.Scope{}
	}
	return contacts.Scope{Restricted: true, ManagerIDs: p.ManagerIDs}
}

func (s *Server) view(r *http.Request, c contacts.Contact) contacts.Contact {
	if principalOf(r).SeesPersonalData() {
		return c
	}
	return c.Masked()
}

// authenticate requires a valid bearer token granting perm, then applies the
// token's rate limit.
func (s *Server) authenticate(perm identity.Perm, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.principal(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="carillon"`)
			s.writeErr(w, r, err)
			return
		}
		if !p.Can(perm) {
			s.writeErr(w, r, &apiError{status: http.StatusForbidden, code: "forbidden", msg: "your roles do not allow this"})
			return
		}
		if wait := s.limiter.take(p.TokenID, time.Now()); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			s.writeErr(w, r, &apiError{status: http.StatusTooManyRequests, code: "rate_limited", msg: "too many requests for this token"})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

func (s *Server) principal(r *http.Request) (identity.Principal, error) {
	unauth := &apiError{status: http.StatusUnauthorized, code: "unauthenticated", msg: "a valid token is required (Authorization: Bearer <token>)"}
	if s.deps.Auth == nil {
		return identity.Principal{}, unauth
	}
	h := r.Header.Get("Authorization")
	bearer, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || bearer == "" {
		return identity.Principal{}, unauth
	}
	p, err := s.deps.Auth.Authenticate(r.Context(), strings.TrimSpace(bearer))
	if errors.Is(err, identity.ErrUnauthenticated) {
		return identity.Principal{}, unauth
	}
	return p, err
}

// adminUI guards the River UI: an administrator's bearer token, or HTTP Basic with
// an administrator's login and password (what a browser can send until the console
// has its own sign-in).
// consolePrincipal is the user of the request's console session, if the
// console is mounted and the request carries a live session (and no bearer
// token, which takes precedence).
func (s *Server) consolePrincipal(r *http.Request) (identity.Principal, bool) {
	if s.console == nil || r.Header.Get("Authorization") != "" {
		return identity.Principal{}, false
	}
	return s.console.Principal(r)
}

// sameOrigin reports whether a request authenticated by a cookie may act: a
// safe method, or a page of this site (Sec-Fetch-Site: same-origin, else an
// Origin whose host is this request's).
func sameOrigin(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && (u.Host == r.Host || u.Host == r.Header.Get("X-Forwarded-Host"))
}

func (s *Server) adminUI(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p identity.Principal
		var err error
		var actor audit.Actor
		console := false // signed in to the console
		if login, password, ok := r.BasicAuth(); ok && s.deps.Auth != nil {
			if p, err = s.basicAuth(w, r, login, password); errors.Is(err, errAnswered) {
				return
			}
			actor = riverUIActor(p, r, audit.AuthPassword)
		} else if cp, ok := s.consolePrincipal(r); ok {
			p, err, console = cp, nil, true
			if !sameOrigin(r) {
				// A cookie rides along with requests other pages make: River UI's
				// actions (cancel, retry, delete jobs) take it only from its own pages.
				http.Error(w, "cross-origin request refused", http.StatusForbidden)
				return
			}
			actor = riverUIActor(p, r, audit.AuthConsole)
		} else {
			p, err = s.principal(r)
			actor = riverUIActor(p, r, audit.AuthToken)
		}
		if console && !p.Can(identity.PermRiverUI) {
			// A console user without the permission gets a page saying so,
			// not the browser's password prompt.
			riverUIForbidden(w)
			return
		}
		if err != nil || !p.Can(identity.PermRiverUI) {
			w.Header().Set("WWW-Authenticate", `Basic realm="carillon river ui"`)
			http.Error(w, "administrators only", http.StatusUnauthorized)
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
		default:
			s.auditRiverUI(w, r, actor, next)
		}
	})
}

// errAnswered says the answer is written already.
var errAnswered = errors.New("answered")

// basicAuth checks River UI's Basic credentials through the sign-in throttle
// the console uses; errAnswered when it refused them itself (429).
func (s *Server) basicAuth(w http.ResponseWriter, r *http.Request, login, password string) (identity.Principal, error) {
	addr := remoteHost(r)
	locked, delay := s.throttle.Check(login, addr, s.cfg.Now())
	if locked > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(locked.Seconds())+1))
		http.Error(w, "登录失败次数过多，请稍后再试。Too many failed sign-ins for this login from this address; try again later.", http.StatusTooManyRequests)
		return identity.Principal{}, errAnswered
	}
	if err := edge.Wait(r.Context(), delay); err != nil {
		s.throttle.Done(login, addr)
		return identity.Principal{}, errAnswered
	}
	p, err := s.deps.Auth.CheckPassword(r.Context(), login, password)
	switch {
	case errors.Is(err, identity.ErrUnauthenticated):
		ev := s.throttle.Fail(login, addr, s.cfg.Now())
		if ev.Locked() {
			known := false
			if u, ok := s.deps.Auth.(interface {
				GetUser(ctx context.Context, login string) (identity.User, error)
			}); ok {
				_, gerr := u.GetUser(r.Context(), login)
				known = gerr == nil
			}
			if s.deps.Pool != nil {
				if aerr := audit.Append(r.Context(), s.deps.Pool, edge.Anonymous(addr), s.cfg.Now(),
					edge.LockoutEntry("riverui.sign_in_locked", login, known, ev)); aerr != nil {
					s.cfg.Logger.ErrorContext(r.Context(), "audit river ui lockout", slog.String("addr", addr), slog.String("err", aerr.Error()))
				}
			}
		}
	case err == nil:
		s.throttle.Succeed(login, addr)
	default:
		s.throttle.Done(login, addr)
	}
	return p, err
}

// riverUIActor is the audit actor of an administrator's River UI request:
// "riverui:<login>".
func riverUIActor(p identity.Principal, r *http.Request, auth string) audit.Actor {
	id := p.User.ID
	return audit.Actor{Name: "riverui:" + p.User.Login, UserID: &id, Addr: remoteHost(r), Auth: auth}
}

// auditRiverUI serves a River UI write and records it: the method and path,
// the answer's status and the job ids the body names (nothing else of the body,
// which may hold a job's arguments).
func (s *Server) auditRiverUI(w http.ResponseWriter, r *http.Request, actor audit.Actor, next http.Handler) {
	changes := map[string]any{}
	if r.Body != nil {
		head, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
		if ids := jobIDs(head); len(ids) > 0 {
			changes["job_ids"] = ids
		}
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	next.ServeHTTP(rec, r)
	changes["status"] = rec.status
	path := r.URL.Path
	if len(path) > 200 {
		path = path[:200]
	}
	if s.deps.Pool == nil {
		return
	}
	ctx := context.WithoutCancel(r.Context())
	if err := audit.Append(ctx, s.deps.Pool, actor, s.cfg.Now(), audit.Entry{
		Action: "riverui." + r.Method + " " + path, ObjectType: "riverui", ObjectID: path, Changes: changes}); err != nil {
		s.cfg.Logger.ErrorContext(ctx, "audit river ui write", slog.String("method", r.Method), slog.String("path", path), slog.String("err", err.Error()))
	}
}

// jobIDs are the job ids of a River UI request body ({"job_ids": [...]}):
// numbers, or strings of digits; at most 1000.
func jobIDs(body []byte) []int64 {
	var v struct {
		JobIDs []json.RawMessage `json:"job_ids"`
	}
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	var out []int64
	for _, raw := range v.JobIDs {
		txt := strings.Trim(string(raw), `"`)
		if id, err := strconv.ParseInt(txt, 10, 64); err == nil && len(out) < 1000 {
			out = append(out, id)
		}
	}
	return out
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// limiter is a token bucket per API token.
type limiter struct {
	rate  float64 // requests per second
	burst float64
	mu    sync.Mutex
	b     map[int64]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), b: map[int64]*bucket{}}
}

// take spends one request of token id; it returns how long to wait when none is left.
func (l *limiter) take(id int64, now time.Time) time.Duration {
	if l.rate <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.b[id]
	if !ok {
		if len(l.b) > 100_000 { // forget idle buckets rather than grow without bound
			l.b = map[int64]*bucket{}
		}
		b = &bucket{tokens: l.burst, last: now}
		l.b[id] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// riverUIForbiddenPage is what a signed-in console user whose roles do not
// grant River UI sees there, in Chinese and English.
const riverUIForbiddenPage = `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>无权访问 · Not allowed</title>
<link rel="icon" href="/console/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/console/static/console.css">
</head>
<body>
<main class="error-page">
<h1>无权访问任务队列 · River UI is not for your role</h1>
<section class="card">
<p>任务队列（River UI）仅供管理员使用。如需查看，请联系管理员。</p>
<p lang="en">River UI (the job queues) is for administrators only. Ask an administrator if you need it.</p>
<p><a href="/console/">返回控制台 · Back to the console</a></p>
</section>
</main>
</body>
</html>
`

func riverUIForbidden(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusForbidden)
	_, _ = io.WriteString(w, riverUIForbiddenPage)
}
