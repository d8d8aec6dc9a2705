package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"carillon/contacts"
	"carillon/internal/identity"
	"carillon/internal/pii"
	"carillon/server/edge"
)

func (s *Server) createContact(w http.ResponseWriter, r *http.Request) error {
	var in contacts.Input
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	c, err := s.deps.Contacts.Create(r.Context(), who(r), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.view(r, c))
	return nil
}

// contactID reads the path's contact id and checks the caller's scope: a contact
// outside it is 404, as if it did not exist.
func (s *Server) contactID(r *http.Request) (int64, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, err
	}
	if err := s.deps.Contacts.CheckScope(r.Context(), scope(principalOf(r)), id); err != nil {
		return 0, err
	}
	return id, nil
}

func (s *Server) getContact(w http.ResponseWriter, r *http.Request) error {
	id, err := s.contactID(r)
	if err != nil {
		return err
	}
	c, err := s.deps.Contacts.Get(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.view(r, c))
	return nil
}

// exportContact answers an access request: everything held about the
// contact, as JSON (?format=json, the default) or a ZIP of CSV files, one per
// section (?format=zip). The export is audited by the store.
func (s *Server) exportContact(w http.ResponseWriter, r *http.Request) error {
	id, err := s.contactID(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "zip" {
		return &apiError{status: http.StatusBadRequest, code: "invalid_format", msg: "导出格式只能是 json 或 zip / format must be json or zip"}
	}
	doc, err := s.deps.Contacts.Export(r.Context(), who(r), id)
	if err != nil {
		return err
	}
	if format == "zip" {
		var buf bytes.Buffer
		if err := doc.WriteZIP(&buf); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="contact-%d.zip"`, id))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(buf.Bytes())
		return nil
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="contact-%d.json"`, id))
	writeJSON(w, http.StatusOK, doc)
	return nil
}

func (s *Server) updateContact(w http.ResponseWriter, r *http.Request) error {
	id, err := s.contactID(r)
	if err != nil {
		return err
	}
	var in contacts.Input
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	if p := principalOf(r); !p.Can(identity.PermContactsWrite) && !onlyTier(in) {
		return &apiError{status: http.StatusForbidden, code: "forbidden", msg: "a customer manager may change only the tier"}
	}
	c, err := s.deps.Contacts.Update(r.Context(), who(r), id, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.view(r, c))
	return nil
}

// onlyTier reports whether an update changes nothing but the tier.
func onlyTier(in contacts.Input) bool {
	in.Tier = nil
	return reflect.ValueOf(in).IsZero()
}

func (s *Server) eraseContact(w http.ResponseWriter, r *http.Request) error {
	id, err := s.contactID(r)
	if err != nil {
		return err
	}
	if err := s.deps.Contacts.Erase(r.Context(), who(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// queryCursor reads an id cursor (0 when absent).
func queryCursor(r *http.Request) (int64, error) {
	n, ok := edge.QueryNumber(r.URL.Query(), "cursor")
	if !ok {
		return 0, contacts.ErrBadCursor
	}
	return n, nil
}

// queryPage reads a list's limit and id cursor (each 0 when absent).
func queryPage(r *http.Request) (limit int, cursor int64, err error) {
	if limit, err = queryInt(r, "limit"); err != nil {
		return 0, 0, err
	}
	if cursor, err = queryCursor(r); err != nil {
		return 0, 0, err
	}
	return limit, cursor, nil
}

// writePage writes {"items": [...], "next": "<cursor>"}; next is left out at the end.
func writePage[T any](w http.ResponseWriter, items []T, next int64) {
	page := map[string]any{"items": items}
	if next > 0 {
		page["next"] = strconv.FormatInt(next, 10)
	}
	writeJSON(w, http.StatusOK, page)
}

func queryInt(r *http.Request, name string) (int, error) {
	n, ok := edge.QueryNumber(r.URL.Query(), name)
	if !ok {
		return 0, badRequest("%s must be a non-negative number", name)
	}
	return int(n), nil
}

func (s *Server) listContacts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	f := contacts.ListFilter{Scope: scope(principalOf(r)), Tier: q.Get("tier"), Manager: q.Get("manager"), Tag: q.Get("tag"), Status: q.Get("status"), Limit: limit}
	if ext := q.Get("external_id"); ext != "" {
		c, err := s.deps.Contacts.GetByExternalID(r.Context(), ext)
		if err == nil {
			err = s.deps.Contacts.CheckScope(r.Context(), f.Scope, c.ID)
		}
		if errors.Is(err, contacts.ErrNotFound) {
			writeJSON(w, http.StatusOK, contacts.Page[contacts.Contact]{Items: []contacts.Contact{}})
			return nil
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, contacts.Page[contacts.Contact]{Items: []contacts.Contact{s.view(r, c)}})
		return nil
	}
	if f.After, err = queryCursor(r); err != nil {
		return err
	}
	page, err := s.deps.Contacts.List(r.Context(), f)
	if err != nil {
		return err
	}
	for i := range page.Items {
		page.Items[i] = s.view(r, page.Items[i])
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) timeline(w http.ResponseWriter, r *http.Request) error {
	id, err := s.contactID(r)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	page, err := s.deps.Contacts.Timeline(r.Context(), id, contacts.TimelineFilter{Kind: r.URL.Query().Get("kind"), Cursor: r.URL.Query().Get("cursor"), Limit: limit})
	if err != nil {
		return err
	}
	if !principalOf(r).SeesPersonalData() {
		for i := range page.Items {
			page.Items[i] = page.Items[i].Masked()
		}
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) getConsents(w http.ResponseWriter, r *http.Request) error {
	id, err := s.contactID(r)
	if err != nil {
		return err
	}
	cons, err := s.deps.Contacts.Consents(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": cons})
	return nil
}

func (s *Server) putConsent(w http.ResponseWriter, r *http.Request) error {
	id, err := s.contactID(r)
	if err != nil {
		return err
	}
	var ch contacts.ConsentChange
	if err := s.decode(w, r, &ch); err != nil {
		return err
	}
	if ch.Source == "" {
		ch.Source = "api"
	}
	changed, err := s.deps.Contacts.SetConsent(r.Context(), nil, who(r), id, ch)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"changed": changed})
	return nil
}

// importBody returns the CSV stream of an import request: the body itself
// (text/csv) or the first file part of a multipart form.
func (s *Server) importBody(w http.ResponseWriter, r *http.Request) (io.Reader, string, error) {
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxImportBytes)
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mt == "multipart/form-data":
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err != nil {
				return nil, "", badRequest("multipart body has no file part")
			}
			if part.FileName() != "" {
				return part, part.FileName(), nil
			}
		}
	case mt == "text/csv" || mt == "application/csv" || mt == "text/plain" || mt == "" || mt == "application/octet-stream":
		return body, r.URL.Query().Get("filename"), nil
	}
	return nil, "", &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", msg: "send text/csv or multipart/form-data with a file part"}
}

func (s *Server) runImport(w http.ResponseWriter, r *http.Request, do func(io.Reader, contacts.ImportOptions) (*contacts.ImportReport, error)) error {
	body, name, err := s.importBody(w, r)
	if err != nil {
		return err
	}
	rep, err := do(body, contacts.ImportOptions{Actor: who(r), SourceName: name})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) importContacts(w http.ResponseWriter, r *http.Request) error {
	return s.runImport(w, r, func(body io.Reader, opts contacts.ImportOptions) (*contacts.ImportReport, error) {
		return s.deps.Contacts.ImportContacts(r.Context(), body, opts)
	})
}

func (s *Server) importManagers(w http.ResponseWriter, r *http.Request) error {
	return s.runImport(w, r, func(body io.Reader, opts contacts.ImportOptions) (*contacts.ImportReport, error) {
		return s.deps.Contacts.ImportManagers(r.Context(), body, opts)
	})
}

func (s *Server) listManagers(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.deps.Contacts.ListManagers(r.Context(), r.URL.Query().Get("team"))
	if err != nil {
		return err
	}
	if !principalOf(r).SeesPersonalData() {
		for i := range ms {
			ms[i].Email = pii.Email(ms[i].Email)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ms})
	return nil
}

func (s *Server) getManager(w http.ResponseWriter, r *http.Request) error {
	m, err := s.deps.Contacts.GetManager(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	if !principalOf(r).SeesPersonalData() {
		m.Email = pii.Email(m.Email)
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) createManager(w http.ResponseWriter, r *http.Request) error {
	var in contacts.ManagerInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	m, err := s.deps.Contacts.SaveManager(r.Context(), who(r), in, true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, m)
	return nil
}

func (s *Server) updateManager(w http.ResponseWriter, r *http.Request) error {
	var in contacts.ManagerInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	code := r.PathValue("code")
	if in.Code != nil && strings.TrimSpace(*in.Code) != code {
		return badRequest("code cannot be changed")
	}
	in.Code = &code
	m, err := s.deps.Contacts.SaveManager(r.Context(), who(r), in, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}
