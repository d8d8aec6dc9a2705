package server

import (
	"net/http"
	"time"

	"carillon/internal/audit"
)

// listAudit serves GET /api/audit?actor=&action=&object_type=&object_id=&since=&until=&cursor=&limit=.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := audit.Filter{Actor: q.Get("actor"), Action: q.Get("action"), ObjectType: q.Get("object_type"), ObjectID: q.Get("object_id")}
	var err error
	if f.Limit, err = queryInt(r, "limit"); err != nil {
		return err
	}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return badRequest("%s must be an RFC 3339 time such as 2026-11-28T09:00:00+08:00", name)
			}
			*dst = t
		}
	}
	if f.Before, err = queryCursor(r); err != nil {
		return err
	}
	recs, next, err := audit.List(r.Context(), s.deps.Pool, f)
	if err != nil {
		return err
	}
	writePage(w, recs, next)
	return nil
}

// me serves GET /api/me: who the token belongs to.
func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, principalOf(r))
	return nil
}
