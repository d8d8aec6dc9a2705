package server

import (
	"net/http"
	"strconv"
	"time"

	"carillon/campaigns/segment"
	"carillon/internal/identity"
)

// maxPreviewTimeBox caps the time box a caller may ask a preview for.
const maxPreviewTimeBox = 20 * time.Second

func (s *Server) segmentRoutes() {
	s.handle("GET /api/segments", identity.PermCampaignsRead, s.listSegments)
	s.handle("POST /api/segments", identity.PermCampaignsWrite, s.createSegment)
	s.handle("GET /api/segments/fields", identity.PermCampaignsRead, s.segmentFields)
	s.handle("POST /api/segments/preview", identity.PermSegmentsPreview, s.previewSegment)
	s.handle("GET /api/segments/{id}", identity.PermCampaignsRead, s.getSegment)
	s.handle("PATCH /api/segments/{id}", identity.PermCampaignsWrite, s.updateSegment)
	s.handle("DELETE /api/segments/{id}", identity.PermCampaignsWrite, s.deleteSegment)
}

func segmentProblem(p segment.Problem) string {
	return strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Column) + ": " + p.Message
}

func (s *Server) listSegments(w http.ResponseWriter, r *http.Request) error {
	list, err := s.deps.Campaigns.Segments().List(r.Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []segment.Saved{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list})
	return nil
}

func (s *Server) segmentFields(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]any{"items": segment.Fields()})
	return nil
}

func (s *Server) createSegment(w http.ResponseWriter, r *http.Request) error {
	var in segment.Input
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	v, err := s.deps.Campaigns.Segments().Create(r.Context(), who(r), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) getSegment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := s.deps.Campaigns.Segments().Get(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) updateSegment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in segment.Input
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	v, err := s.deps.Campaigns.Segments().Update(r.Context(), who(r), id, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) deleteSegment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.deps.Campaigns.Segments().Delete(r.Context(), who(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// segmentPreviewRequest names a filter by its text or a saved segment's name.
type segmentPreviewRequest struct {
	Expression string `json:"expression,omitempty"`
	Segment    string `json:"segment,omitempty"`
	TimeoutMS  int    `json:"timeout_ms,omitempty"` // the time box; default the configured one (2 s)
}

// previewSegment counts a filter's audience and shows a sample, personal data
// masked unless the caller's role may see it.
func (s *Server) previewSegment(w http.ResponseWriter, r *http.Request) error {
	var in segmentPreviewRequest
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	store := s.deps.Campaigns.Segments()
	expr := in.Expression
	switch {
	case expr != "" && in.Segment != "":
		return badRequest("give an expression or a segment, not both")
	case in.Segment != "":
		v, err := store.GetByName(r.Context(), in.Segment)
		if err != nil {
			return err
		}
		expr = v.Expression
	case expr == "":
		return badRequest("expression or segment is required")
	}
	if in.TimeoutMS < 0 || time.Duration(in.TimeoutMS)*time.Millisecond > maxPreviewTimeBox {
		return badRequest("timeout_ms must be between 0 and %d", maxPreviewTimeBox.Milliseconds())
	}
	seg, err := segment.Compile(expr)
	if err != nil {
		return err
	}
	p, err := store.Preview(r.Context(), seg, time.Duration(in.TimeoutMS)*time.Millisecond)
	if err != nil {
		return err
	}
	for i := range p.Sample {
		p.Sample[i] = s.view(r, p.Sample[i])
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}
