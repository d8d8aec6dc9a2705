package edge

import (
	"net/http"
	"strings"
)

// Content security policies of pages the console's own headers do not cover.
const (
	// RiverUICSP lets River UI's single-page app load its own scripts, styles
	// (React sets some inline) and API, and nothing else; no framing.
	RiverUICSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
	// UnsubscribeCSP is the unsubscribe page's: one form posting to itself and
	// an inline style; no scripts, no framing.
	UnsubscribeCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
	// HSTS is sent on every answer to a client that came over HTTPS.
	HSTS = "max-age=31536000"
)

// Headers sets security headers before any handler runs (a handler may still
// set its own): nosniff everywhere; HSTS over HTTPS (the connection's TLS, or a
// trusted proxy's X-Forwarded-Proto); no caching of API answers; a content
// security policy and no framing for River UI and the unsubscribe page. The
// console sets its own.
func Headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if HTTPS(r) {
			h.Set("Strict-Transport-Security", HSTS)
		}
		p := r.URL.Path
		switch {
		case strings.HasPrefix(p, "/api/"):
			h.Set("Cache-Control", "no-store")
		case strings.HasPrefix(p, "/riverui/") || p == "/riverui":
			h.Set("Content-Security-Policy", RiverUICSP)
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "same-origin")
			if strings.HasPrefix(p, "/riverui/api/") {
				h.Set("Cache-Control", "no-store")
			}
		case strings.HasPrefix(p, "/u/"):
			h.Set("Content-Security-Policy", UnsubscribeCSP)
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "no-referrer") // the token is in the path
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}
