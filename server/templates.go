package server

import (
	"net/http"
	"strconv"

	"carillon/contacts"
	"carillon/internal/identity"
	"carillon/templates"
)

// templateRoutes mounts the template API.
func (s *Server) templateRoutes() {
	if s.deps.Templates == nil && s.deps.Pool != nil {
		// A server built without a template store still serves templates from its pool.
		if ts, err := templates.NewStore(s.deps.Pool, templates.Config{Logger: s.cfg.Logger}); err == nil {
			s.deps.Templates = ts
		}
	}
	s.handle("GET /api/templates", identity.PermTemplatesRead, s.listTemplates)
	s.handle("POST /api/templates", identity.PermTemplatesWrite, s.saveTemplate)
	s.handle("GET /api/templates/{key}", identity.PermTemplatesRead, s.getTemplate)
	s.handle("POST /api/templates/{key}/preview", identity.PermTemplatesRead, s.previewTemplate)
	s.handle("POST /api/templates/{key}/versions/{v}/activate", identity.PermTemplatesWrite, s.activateTemplate)
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request) error {
	list, err := s.deps.Templates.List(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list})
	return nil
}

// saveRequest is a definition plus how to save it.
type saveRequest struct {
	templates.Definition
	Activate bool   `json:"activate,omitempty"`
	Note     string `json:"note,omitempty"`
}

func (s *Server) saveTemplate(w http.ResponseWriter, r *http.Request) error {
	var in saveRequest
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	v, rep, err := s.deps.Templates.Save(r.Context(), who(r), in.Definition, templates.SaveOptions{Activate: in.Activate, Note: in.Note})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"version": v, "report": rep})
	return nil
}

// getTemplate returns the template, its versions and the content of the active
// version (or of ?version=N).
func (s *Server) getTemplate(w http.ResponseWriter, r *http.Request) error {
	key := r.PathValue("key")
	n := 0
	if q := r.URL.Query().Get("version"); q != "" {
		var err error
		if n, err = strconv.Atoi(q); err != nil || n < 1 {
			return badRequest("version must be a positive number")
		}
	}
	t, err := s.deps.Templates.Get(r.Context(), key)
	if err != nil {
		return err
	}
	v, err := s.deps.Templates.Version(r.Context(), key, n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"template": t, "version": v})
	return nil
}

// previewRequest picks the contact (by id or external id; none: the sample), the
// version (0: active), the channel ("" every channel) and the locale.
type previewRequest struct {
	Version    int    `json:"version,omitempty"`
	ContactID  int64  `json:"contact_id,omitempty"`
	ExternalID string `json:"external_id,omitempty"`
	Channel    string `json:"channel,omitempty"`
	Locale     string `json:"locale,omitempty"`
}

func (s *Server) previewTemplate(w http.ResponseWriter, r *http.Request) error {
	var in previewRequest
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	req := templates.PreviewRequest{Version: in.Version, Channel: templates.Channel(in.Channel), Locale: in.Locale}
	if in.ContactID != 0 || in.ExternalID != "" {
		var c contacts.Contact
		var err error
		if in.ContactID != 0 {
			c, err = s.deps.Contacts.Get(r.Context(), in.ContactID)
		} else {
			c, err = s.deps.Contacts.GetByExternalID(r.Context(), in.ExternalID)
		}
		if err != nil {
			return err
		}
		if err := s.deps.Contacts.CheckScope(r.Context(), scope(principalOf(r)), c.ID); err != nil {
			return err
		}
		tc := c.ForTemplate()
		req.Contact = &tc
	}
	p, err := s.deps.Templates.Preview(r.Context(), r.PathValue("key"), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) activateTemplate(w http.ResponseWriter, r *http.Request) error {
	n, err := strconv.Atoi(r.PathValue("v"))
	if err != nil || n < 1 {
		return &apiError{status: http.StatusNotFound, code: "not_found", msg: "no such template or version"}
	}
	key := r.PathValue("key")
	if err := s.deps.Templates.Activate(r.Context(), who(r), key, n); err != nil {
		return err
	}
	t, err := s.deps.Templates.Get(r.Context(), key)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}
