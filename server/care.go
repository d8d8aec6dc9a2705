package server

import (
	"errors"
	"net/http"

	"carillon/care"
)

// careRoutes mounts the care rules API when the server has a planner.
func (s *Server) careRoutes() {
	if s.deps.Care == nil {
		return
	}
	s.handle("GET /api/care-rules", anyRole, s.listCareRules)
	s.handle("PATCH /api/care-rules/{key}", adminOnly, s.updateCareRule)
}

func (s *Server) listCareRules(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.deps.Care.Rules(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": rules})
	return nil
}

// updateCareRule switches a rule on or off or changes its schedule; the change is
// audited, and the audit log filtered by object_type=care_rule is its history.
func (s *Server) updateCareRule(w http.ResponseWriter, r *http.Request) error {
	var ch care.RuleChange
	if err := s.decode(w, r, &ch); err != nil {
		return err
	}
	rule, err := s.deps.Care.UpdateRule(r.Context(), who(r), r.PathValue("key"), ch)
	switch {
	case errors.Is(err, care.ErrRuleNotFound):
		return &apiError{status: http.StatusNotFound, code: "not_found", msg: "no such care rule"}
	case errors.Is(err, care.ErrBadSchedule):
		return badRequest("%s", err.Error())
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusOK, rule)
	return nil
}
