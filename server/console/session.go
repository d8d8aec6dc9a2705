package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/server/edge"
)

// Cookie names.
const (
	sessionCookie = "carillon_session"
	loginCookie   = "carillon_login" // the sign-in form's CSRF token, before a session exists
	langCookie    = "carillon_lang"
)

// session is a signed-in browser.
type session struct {
	ID     int64
	UserID int64
	CSRF   string
}

var errNoSession = errors.New("no session")

// newToken returns a random token (URL-safe base64 of 32 bytes).
func newToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// secure reports whether cookies get the Secure attribute: over TLS, behind a
// proxy that says it ended TLS (X-Forwarded-Proto: https; a cookie marked
// Secure by mistake is merely not sent over plain HTTP), or when configured.
func (c *Console) secure(r *http.Request) bool {
	return r.TLS != nil || c.cfg.SecureCookies || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	path := Prefix + "/"
	if name == sessionCookie {
		// The session also signs an administrator in to River UI (/riverui/),
		// which the server mounts beside the console. SameSite=Lax keeps it off
		// cross-site POSTs.
		path = "/"
	}
	ck := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, Secure: c.secure(r), SameSite: http.SameSiteLaxMode}
	switch {
	case maxAge < 0:
		ck.MaxAge = -1
	case maxAge > 0:
		ck.MaxAge = int(maxAge.Seconds())
	}
	http.SetCookie(w, ck)
}

const sqlSessionLookup = `SELECT id, user_id, csrf_token, last_seen_at, expires_at
	FROM console_sessions WHERE token_hash = $1 AND ended_at IS NULL`

// Principal returns the user signed in to the console on this request, if
// any: the server lets an administrator's console session open River UI.
func (c *Console) Principal(r *http.Request) (identity.Principal, bool) {
	_, p, err := c.authenticate(r)
	return p, err == nil
}

// authenticate returns the request's session and its user. errNoSession when
// there is no live session; a session found expired, idle or of a disabled
// user is ended on the spot.
func (c *Console) authenticate(r *http.Request) (session, identity.Principal, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		return session{}, identity.Principal{}, errNoSession
	}
	ctx := r.Context()
	var s session
	var lastSeen, expires time.Time
	err = c.deps.SessionsPool.QueryRow(ctx, sqlSessionLookup, tokenHash(ck.Value)).Scan(&s.ID, &s.UserID, &s.CSRF, &lastSeen, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return session{}, identity.Principal{}, errNoSession
	}
	if err != nil {
		return session{}, identity.Principal{}, fmt.Errorf("look up session: %w", err)
	}
	u, err := c.deps.Users.UserByID(ctx, s.UserID)
	if errors.Is(err, identity.ErrNotFound) {
		return session{}, identity.Principal{}, errNoSession
	}
	if err != nil {
		return session{}, identity.Principal{}, err
	}
	now := c.cfg.Now()
	reason := ""
	switch {
	case u.Disabled:
		reason = "user_disabled"
	case !now.Before(expires):
		reason = "expired"
	case now.Sub(lastSeen) >= c.cfg.IdleTimeout:
		reason = "idle"
	}
	if reason != "" {
		if err := c.endSession(ctx, s.ID, reason); err != nil {
			return session{}, identity.Principal{}, err
		}
		return session{}, identity.Principal{}, errNoSession
	}
	p := identity.Principal{User: u}
	if p.ManagerIDs, err = c.deps.Users.ManagerScope(ctx, u); err != nil {
		return session{}, identity.Principal{}, err
	}
	if now.Sub(lastSeen) >= time.Minute {
		if _, err := c.deps.SessionsPool.Exec(ctx, `UPDATE console_sessions SET last_seen_at = $2 WHERE id = $1`, s.ID, now); err != nil {
			return session{}, identity.Principal{}, fmt.Errorf("touch session: %w", err)
		}
	}
	return s, p, nil
}

func (c *Console) endSession(ctx context.Context, id int64, reason string) error {
	_, err := c.deps.SessionsPool.Exec(ctx, `UPDATE console_sessions SET ended_at = $2, ended_reason = $3 WHERE id = $1 AND ended_at IS NULL`,
		id, c.cfg.Now(), reason)
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// checkCSRF refuses a state-changing request without the session's token, or
// whose Origin names another host.
func (c *Console) checkCSRF(r *http.Request, s session) error {
	if err := checkOrigin(r); err != nil {
		return err
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) != 1 {
		return &httpError{status: http.StatusForbidden, key: "err.csrf"}
	}
	return nil
}

func checkOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	// Behind a proxy the browser's host may be in X-Forwarded-Host: a form
	// posted from another site cannot set that header. "null" (a sandboxed
	// frame, a data: URL, a redirect across sites) names no host and is refused.
	u, err := url.Parse(origin)
	fwd := r.Header.Get("X-Forwarded-Host")
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) && (fwd == "" || !strings.EqualFold(u.Host, fwd)) {
		return &httpError{status: http.StatusForbidden, key: "err.csrf", detail: "the form came from another site"}
	}
	return nil
}

// loginPage shows the sign-in form, with a fresh form token in a cookie.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	q := &req{Lang: c.lang(r)}
	if _, _, err := c.authenticate(r); err == nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next"), Prefix+"/"), http.StatusSeeOther)
		return
	}
	c.showLogin(w, r, q, http.StatusOK, "", "")
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, q *req, status int, login, errKey string) {
	tok, err := newToken()
	if err != nil {
		c.fail(w, r, q, err)
		return
	}
	c.setCookie(w, r, loginCookie, tok, time.Hour)
	c.render(w, r, q, status, "login", "login.title", map[string]any{
		"Token": tok, "Login": login, "Next": safeNext(r.FormValue("next"), ""), "Error": errKey})
}

// safeNext keeps a redirect target inside the console.
func safeNext(next, def string) string {
	if strings.HasPrefix(next, Prefix+"/") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return def
}

// login checks the password and starts a session.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	q := &req{Lang: c.lang(r)}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := checkOrigin(r); err != nil {
		c.fail(w, r, q, err)
		return
	}
	ck, err := r.Cookie(loginCookie)
	form := r.PostFormValue("csrf")
	if err != nil || form == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(form)) != 1 {
		c.fail(w, r, q, &httpError{status: http.StatusForbidden, key: "err.csrf"})
		return
	}
	login := strings.TrimSpace(r.PostFormValue("login"))
	addr := remoteHost(r)
	locked, delay := c.throttle.Check(login, addr, c.cfg.Now())
	if locked > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(locked.Seconds())+1))
		c.showLogin(w, r, q, http.StatusTooManyRequests, login, "login.throttled")
		return
	}
	if err := edge.Wait(r.Context(), delay); err != nil {
		c.throttle.Done(login, addr)
		return // the browser gave up
	}
	p, err := c.deps.Users.CheckPassword(r.Context(), login, r.PostFormValue("password"))
	switch {
	case err == nil:
		c.throttle.Succeed(login, addr) // the password is proven, whatever follows
	case !errors.Is(err, identity.ErrUnauthenticated):
		c.throttle.Done(login, addr)
	}
	if errors.Is(err, identity.ErrUnauthenticated) {
		ev := c.throttle.Fail(login, addr, c.cfg.Now())
		c.cfg.Logger.InfoContext(r.Context(), "console sign-in refused", slog.String("addr", addr), slog.Int("failures", ev.Failures))
		if ev.Locked() {
			c.auditLockout(r, login, addr, ev)
		}
		c.showLogin(w, r, q, http.StatusUnauthorized, login, "login.failed")
		return
	}
	if err != nil {
		c.fail(w, r, q, err)
		return
	}
	// The password form: a local password, or the directory's (LDAP).
	if err := c.startSession(w, r, p, "password"); err != nil {
		c.fail(w, r, q, err)
		return
	}
	http.Redirect(w, r, safeNext(r.PostFormValue("next"), c.home(p)), http.StatusSeeOther)
}

// logout ends the session.
func (c *Console) logout(w http.ResponseWriter, r *http.Request, q *req) error {
	err := pgx.BeginFunc(r.Context(), c.deps.SessionsPool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(r.Context(), `UPDATE console_sessions SET ended_at = $2, ended_reason = 'signed_out' WHERE id = $1 AND ended_at IS NULL`,
			q.Sess.ID, c.cfg.Now()); err != nil {
			return fmt.Errorf("end session: %w", err)
		}
		return audit.Append(r.Context(), tx, q.actor(r), c.cfg.Now(), audit.Entry{Action: "console.sign_out", ObjectType: "user",
			ObjectID: q.P.User.Login, Changes: map[string]any{"session": q.Sess.ID}})
	})
	if err != nil {
		return err
	}
	c.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
	return nil
}

// lang is the request's language: the cookie's, else the browser's first
// Chinese or English preference, else Chinese.
func (c *Console) lang(r *http.Request) string {
	if ck, err := r.Cookie(langCookie); err == nil && (ck.Value == "zh" || ck.Value == "en") {
		return ck.Value
	}
	return fromAcceptLanguage(r.Header.Get("Accept-Language"))
}

// fromAcceptLanguage picks zh or en from an Accept-Language header by quality.
func fromAcceptLanguage(h string) string {
	best, bestQ := "", -1.0
	for part := range strings.SplitSeq(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		qv := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if _, err := fmt.Sscanf(v, "%g", &qv); err != nil {
				continue
			}
		}
		lang := strings.ToLower(strings.SplitN(tag, "-", 2)[0])
		if (lang == "zh" || lang == "en") && qv > bestQ {
			best, bestQ = lang, qv
		}
	}
	if best == "" {
		return "zh"
	}
	return best
}

// switchLang remembers a language choice for a year and goes back.
func (c *Console) switchLang(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("to")
	if to != "zh" && to != "en" {
		http.Error(w, "unknown language (zh or en)", http.StatusBadRequest)
		return
	}
	c.setCookie(w, r, langCookie, to, 365*24*time.Hour)
	http.Redirect(w, r, safeNext(r.URL.Query().Get("next"), Prefix+"/"), http.StatusSeeOther)
}

// auditLockout records that failures locked login out from addr, or started
// delaying it. A failure to write is logged: the sign-in answer stands.
func (c *Console) auditLockout(r *http.Request, login, addr string, ev edge.Event) {
	_, err := c.deps.Users.GetUser(r.Context(), login)
	known := err == nil
	if err := audit.Append(r.Context(), c.deps.SessionsPool, edge.Anonymous(addr), c.cfg.Now(),
		edge.LockoutEntry("console.sign_in_locked", login, known, ev)); err != nil {
		c.cfg.Logger.ErrorContext(r.Context(), "audit sign-in lockout", slog.String("addr", addr), slog.String("err", err.Error()))
	}
}
