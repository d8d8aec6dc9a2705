package server

import (
	"net/http"

	"carillon/calendar"
	"carillon/care"
	"carillon/internal/identity"
)

// careRoutes mounts the care rules API when the server has a planner.
func (s *Server) careRoutes() {
	if s.deps.Care == nil {
		return
	}
	s.handle("GET /api/care-rules", identity.PermSignedIn, s.listCareRules)
	s.handle("POST /api/care-rules", identity.PermSettingsWrite, s.createCareRule)
	s.handle("GET /api/care-rules/{key}", identity.PermSignedIn, s.getCareRule)
	s.handle("PATCH /api/care-rules/{key}", identity.PermSettingsWrite, s.updateCareRule)
	s.handle("GET /api/care-rules/{key}/stats", identity.PermSignedIn, s.careRuleStats)
}

func (s *Server) listCareRules(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.deps.Care.Rules(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": rules})
	return nil
}

func (s *Server) getCareRule(w http.ResponseWriter, r *http.Request) error {
	rule, err := s.deps.Care.Rule(r.Context(), r.PathValue("key"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rule)
	return nil
}

// createCareRule creates a date-field rule (a notice on a date stored in the
// contacts' attrs); birthday and festival rules exist already.
func (s *Server) createCareRule(w http.ResponseWriter, r *http.Request) error {
	var nr care.NewDateRule
	if err := s.decode(w, r, &nr); err != nil {
		return err
	}
	rule, err := s.deps.Care.CreateDateRule(r.Context(), who(r), nr)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, rule)
	return nil
}

// updateCareRule switches a rule on or off or changes its schedule, channels,
// template or send time; the change is audited, and the audit log filtered by
// object_type=care_rule is its history.
func (s *Server) updateCareRule(w http.ResponseWriter, r *http.Request) error {
	var ch care.RuleChange
	if err := s.decode(w, r, &ch); err != nil {
		return err
	}
	rule, err := s.deps.Care.UpdateRule(r.Context(), who(r), r.PathValue("key"), ch)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rule)
	return nil
}

// careRuleStats is a rule's delivery per planned day: ?from=YYYY-MM-DD&to=…,
// by default the last 30 days and the coming 7.
func (s *Server) careRuleStats(w http.ResponseWriter, r *http.Request) error {
	today := calendar.DateOf(s.cfg.Now().In(s.zone))
	from, to := today.AddDays(-30), today.AddDays(7)
	for name, dst := range map[string]*calendar.Date{"from": &from, "to": &to} {
		if v := r.URL.Query().Get(name); v != "" {
			d, err := calendar.ParseDate(v)
			if err != nil {
				return badRequest("query parameter %s: %s", name, err.Error())
			}
			*dst = d
		}
	}
	stats, err := s.deps.Care.RuleStats(r.Context(), r.PathValue("key"), from, to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"rule": r.PathValue("key"), "from": from, "to": to, "days": stats})
	return nil
}
