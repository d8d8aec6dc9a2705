package console

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/internal/audit"
	"carillon/internal/identity"
)

// SSO is what the console needs of the directory sign-in methods
// (identity.SignIn implements it). Without it the console offers the password
// form alone.
type SSO interface {
	SignInMethods() identity.Methods
	OIDCAuthURL(ctx context.Context, state, nonce, verifier string) (string, error)
	OIDCSignIn(ctx context.Context, code, verifier, nonce string) (identity.Principal, error)
}

// OIDCLoginTTL is how long an OIDC sign-in may take from /console/oidc/start
// to the callback.
const OIDCLoginTTL = 10 * time.Minute

// MaxOIDCLoginsPerAddr bounds the OIDC sign-ins one address may have under way
// (started, not yet back): /console/oidc/start needs no session, and each start
// keeps a row.
const MaxOIDCLoginsPerAddr = 20

// oidcCookie binds an OIDC sign-in under way to the browser that started it.
const oidcCookie = "carillon_oidc"

func (c *Console) ssoRoutes() {
	c.mux.HandleFunc("GET "+Prefix+"/oidc/start", c.oidcStart)
	c.mux.HandleFunc("GET "+Prefix+"/oidc/callback", c.oidcCallback)
}

// signInView is what the sign-in page offers.
type signInView struct {
	Password, LDAP, BreakGlass bool
	OIDC                       string // the provider's name in the page's language; "" when off
}

// SignIn returns the methods the sign-in page shows.
func (v *view) SignIn() signInView {
	if v.c == nil || v.c.deps.SSO == nil {
		return signInView{Password: true}
	}
	m := v.c.deps.SSO.SignInMethods()
	out := signInView{Password: m.Password, LDAP: m.LDAP, BreakGlass: m.LocalOnlyBreakGlass, OIDC: m.OIDC}
	if v.Lang == "zh" && m.OIDCZh != "" {
		out.OIDC = m.OIDCZh
	}
	return out
}

func (c *Console) oidcEnabled() bool {
	return c.deps.SSO != nil && c.deps.SSO.SignInMethods().OIDC != ""
}

// oidcStart begins an OIDC sign-in: a random state, nonce and PKCE verifier are
// kept server-side (console_oidc_logins, by the state's hash), bound to this
// browser by a short-lived cookie, and the browser goes to the provider.
func (c *Console) oidcStart(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	q := &req{Lang: c.lang(r)}
	if !c.oidcEnabled() {
		c.fail(w, r, q, notFound())
		return
	}
	var vals [4]string // state, nonce, verifier, browser binding
	for i := range vals {
		v, err := newToken()
		if err != nil {
			c.fail(w, r, q, err)
			return
		}
		vals[i] = v
	}
	state, nonce, verifier, browser := vals[0], vals[1], vals[2], vals[3]
	to, err := c.deps.SSO.OIDCAuthURL(r.Context(), state, nonce, verifier)
	if errors.Is(err, identity.ErrDirectoryUnavailable) {
		c.cfg.Logger.ErrorContext(r.Context(), "oidc provider unavailable", slog.String("err", err.Error()))
		c.showSSOError(w, r, q, http.StatusServiceUnavailable, "login.sso_unavailable")
		return
	}
	if err != nil {
		c.fail(w, r, q, err)
		return
	}
	now := c.cfg.Now()
	busy := false
	err = pgx.BeginFunc(r.Context(), c.deps.SessionsPool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(r.Context(), `DELETE FROM console_oidc_logins WHERE expires_at <= $1`, now); err != nil {
			return fmt.Errorf("forget expired oidc sign-ins: %w", err)
		}
		var pending int
		if err := tx.QueryRow(r.Context(), `SELECT count(*) FROM console_oidc_logins WHERE addr = $1 AND expires_at > $2`,
			remoteHost(r), now).Scan(&pending); err != nil {
			return fmt.Errorf("count oidc sign-ins: %w", err)
		}
		if pending >= MaxOIDCLoginsPerAddr {
			busy = true
			return nil
		}
		_, err := tx.Exec(r.Context(), `INSERT INTO console_oidc_logins (state_hash, browser_hash, nonce, verifier, next, addr, created_at, expires_at)
			VALUES (@state, @browser, @nonce, @verifier, @next, @addr, @at, @expires)`,
			pgx.NamedArgs{"state": tokenHash(state), "browser": tokenHash(browser), "nonce": nonce, "verifier": verifier,
				"next": safeNext(r.URL.Query().Get("next"), ""), "addr": remoteHost(r), "at": now, "expires": now.Add(OIDCLoginTTL)})
		if err != nil {
			return fmt.Errorf("keep oidc sign-in: %w", err)
		}
		return nil
	})
	if busy {
		c.showSSOError(w, r, q, http.StatusTooManyRequests, "login.sso_busy")
		return
	}
	if err != nil {
		c.fail(w, r, q, err)
		return
	}
	// SameSite=Lax: the provider sends the browser back by a top-level GET.
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: browser, Path: Prefix + "/oidc/", MaxAge: int(OIDCLoginTTL.Seconds()),
		HttpOnly: true, Secure: c.secure(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// oidcCallback ends an OIDC sign-in: the state is taken (once: the row is
// deleted whatever follows), must belong to this browser and be fresh; the code
// is exchanged with the verifier, the ID token verified, the user provisioned or
// refreshed, and a session started.
func (c *Console) oidcCallback(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	q := &req{Lang: c.lang(r)}
	if !c.oidcEnabled() {
		c.fail(w, r, q, notFound())
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: Prefix + "/oidc/", MaxAge: -1, HttpOnly: true,
		Secure: c.secure(r), SameSite: http.SameSiteLaxMode})
	qs := r.URL.Query()
	state := qs.Get("state")
	if state == "" || len(state) > 100 {
		c.showSSOError(w, r, q, http.StatusBadRequest, "login.sso_expired")
		return
	}
	var browserHash []byte
	var nonce, verifier, next string
	var expires time.Time
	err := c.deps.SessionsPool.QueryRow(r.Context(), `DELETE FROM console_oidc_logins WHERE state_hash = $1
		RETURNING browser_hash, nonce, verifier, next, expires_at`, tokenHash(state)).Scan(&browserHash, &nonce, &verifier, &next, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		c.cfg.Logger.InfoContext(r.Context(), "oidc callback refused", slog.String("reason", "unknown or used state"), slog.String("addr", remoteHost(r)))
		c.showSSOError(w, r, q, http.StatusBadRequest, "login.sso_expired")
		return
	}
	if err != nil {
		c.fail(w, r, q, fmt.Errorf("take oidc sign-in: %w", err))
		return
	}
	ck, cerr := r.Cookie(oidcCookie)
	switch {
	case cerr != nil || subtle.ConstantTimeCompare(tokenHash(ck.Value), browserHash) != 1:
		c.cfg.Logger.InfoContext(r.Context(), "oidc callback refused", slog.String("reason", "another browser's state"), slog.String("addr", remoteHost(r)))
		c.showSSOError(w, r, q, http.StatusBadRequest, "login.sso_expired")
		return
	case !c.cfg.Now().Before(expires):
		c.showSSOError(w, r, q, http.StatusBadRequest, "login.sso_expired")
		return
	case qs.Get("error") != "":
		// The provider refused or the person cancelled; its words are not shown.
		c.cfg.Logger.InfoContext(r.Context(), "oidc provider returned an error", slog.String("err", truncate(qs.Get("error"), 64)))
		c.showSSOError(w, r, q, http.StatusUnauthorized, "login.sso_failed")
		return
	case qs.Get("code") == "":
		c.showSSOError(w, r, q, http.StatusBadRequest, "login.sso_failed")
		return
	}
	p, err := c.deps.SSO.OIDCSignIn(r.Context(), qs.Get("code"), verifier, nonce)
	switch {
	case errors.Is(err, identity.ErrNoRole):
		c.showSSOError(w, r, q, http.StatusForbidden, "login.sso_no_role")
		return
	case errors.Is(err, identity.ErrLoginTaken):
		c.showSSOError(w, r, q, http.StatusForbidden, "login.sso_taken")
		return
	case errors.Is(err, identity.ErrDirectoryUnavailable):
		c.cfg.Logger.ErrorContext(r.Context(), "oidc provider unavailable", slog.String("err", err.Error()))
		c.showSSOError(w, r, q, http.StatusServiceUnavailable, "login.sso_unavailable")
		return
	case errors.Is(err, identity.ErrUnauthenticated), errors.Is(err, identity.ErrBadIDToken), errors.As(err, new(*identity.ValidationError)):
		c.cfg.Logger.InfoContext(r.Context(), "oidc sign-in refused", slog.String("addr", remoteHost(r)), slog.String("err", err.Error()))
		c.showSSOError(w, r, q, http.StatusUnauthorized, "login.sso_failed")
		return
	case err != nil:
		c.fail(w, r, q, err)
		return
	}
	if err := c.startSession(w, r, p, "oidc"); err != nil {
		c.fail(w, r, q, err)
		return
	}
	http.Redirect(w, r, safeNext(next, c.home(p)), http.StatusSeeOther)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// showSSOError shows the sign-in page with a message.
func (c *Console) showSSOError(w http.ResponseWriter, r *http.Request, q *req, status int, key string) {
	c.showLogin(w, r, q, status, "", key)
}

// startSession opens a console session for p and sets its cookie; method is
// how they signed in (audited with console.sign_in).
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, p identity.Principal, method string) error {
	token, err := newToken()
	if err != nil {
		return err
	}
	csrf, err := newToken()
	if err != nil {
		return err
	}
	now := c.cfg.Now()
	actor := (&req{P: p}).actor(r)
	ua := r.UserAgent()
	if len(ua) > 300 {
		ua = ua[:300]
	}
	err = pgx.BeginFunc(r.Context(), c.deps.SessionsPool, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(r.Context(), `INSERT INTO console_sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, addr, user_agent)
			VALUES (@token, @user, @csrf, @at, @at, @expires, @addr, @agent) RETURNING id`,
			pgx.NamedArgs{"token": tokenHash(token), "user": p.User.ID, "csrf": csrf, "at": now,
				"expires": now.Add(c.cfg.SessionTTL), "addr": remoteHost(r), "agent": ua}).Scan(&id); err != nil {
			return fmt.Errorf("start session: %w", err)
		}
		// As the password sign-in does: sessions that ended a month ago are of no use.
		if _, err := tx.Exec(r.Context(), `DELETE FROM console_sessions WHERE user_id = $1
			AND (ended_at < $2::timestamptz - interval '30 days' OR expires_at < $2::timestamptz - interval '30 days')`, p.User.ID, now); err != nil {
			return fmt.Errorf("forget old sessions: %w", err)
		}
		return audit.Append(r.Context(), tx, actor, now, audit.Entry{Action: "console.sign_in", ObjectType: "user",
			ObjectID: p.User.Login, Changes: map[string]any{"session": id, "method": method}})
	})
	if err != nil {
		return err
	}
	c.setCookie(w, r, loginCookie, "", -1)
	c.setCookie(w, r, sessionCookie, token, 0)
	return nil
}
