package server

import (
	"log/slog"
	"net/http"

	"carillon/server/console"
)

// consoleRoutes mounts the web console under /console/ (and sends / there) when
// the server has an identity store that checks passwords.
func (s *Server) consoleRoutes() {
	users, ok := s.deps.Auth.(console.Users)
	if !ok || s.deps.Pool == nil || s.deps.Contacts == nil {
		return
	}
	sso, _ := s.deps.Auth.(console.SSO)
	ccfg := s.cfg.Console
	ccfg.Logger, ccfg.RiverUI = s.cfg.Logger, s.riverUI != nil
	c, err := console.New(ccfg, console.Deps{
		SessionsPool: s.deps.Pool, Users: users, Contacts: s.deps.Contacts, Templates: s.deps.Templates, Care: s.deps.Care,
		Delivery: s.deps.Delivery, Campaigns: s.deps.Campaigns, Revisits: s.deps.Revisits,
		SSO:      sso,
		Throttle: s.throttle,
		Registry: s.deps.Registry,
	})
	if err != nil {
		s.cfg.Logger.Error("web console not mounted", slog.String("err", err.Error()))
		return
	}
	s.console = c
	h := s.metrics.wrap(s.cfg.Logger, console.Prefix+"/", c.Handler())
	s.mux.Handle(console.Prefix+"/", h)
	s.mux.Handle("GET "+console.Prefix, http.RedirectHandler(console.Prefix+"/", http.StatusSeeOther))
	s.mux.Handle("GET /{$}", http.RedirectHandler(console.Prefix+"/", http.StatusSeeOther))
	// The managers' digests link to /revisits and /feedback on the console's
	// base URL: both open the manager's page.
	s.mux.Handle("GET /revisits", http.RedirectHandler(console.Prefix+"/my", http.StatusSeeOther))
	s.mux.Handle("GET /feedback", http.RedirectHandler(console.Prefix+"/my", http.StatusSeeOther))
}
