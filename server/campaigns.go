package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"

	"carillon/campaigns"
	"carillon/internal/identity"
)

// campaignRoutes mounts segments and campaigns when the server has the
// campaigns service.
func (s *Server) campaignRoutes() {
	if s.deps.Campaigns == nil {
		return
	}
	s.segmentRoutes()
	s.handle("GET /api/campaigns", identity.PermCampaignsRead, s.listCampaigns)
	s.handle("POST /api/campaigns", identity.PermCampaignsWrite, s.createCampaign)
	s.handle("GET /api/campaigns/{id}", identity.PermCampaignsRead, s.getCampaign)
	s.handle("PATCH /api/campaigns/{id}", identity.PermCampaignsWrite, s.updateCampaign)
	s.handle("GET /api/campaigns/{id}/history", identity.PermCampaignsRead, s.campaignHistory)
	s.handle("POST /api/campaigns/{id}/submit", identity.PermCampaignsWrite, s.campaignAction("submit"))
	s.handle("POST /api/campaigns/{id}/approve", identity.PermCampaignsApprove, s.campaignAction("approve"))
	s.handle("POST /api/campaigns/{id}/reject", identity.PermCampaignsApprove, s.campaignAction("reject"))
	s.handle("POST /api/campaigns/{id}/cancel", identity.PermCampaignsWrite, s.campaignAction("cancel"))
	s.handle("POST /api/campaigns/{id}/start", identity.PermCampaignsWrite, s.campaignAction("start"))
	s.handle("POST /api/campaigns/{id}/schedule", identity.PermCampaignsWrite, s.campaignAction("start"))
	s.handle("POST /api/campaigns/{id}/pause", identity.PermCampaignsOperate, s.campaignAction("pause"))
	s.handle("POST /api/campaigns/{id}/resume", identity.PermCampaignsOperate, s.campaignAction("resume"))
	s.handle("POST /api/campaigns/{id}/test-send", identity.PermCampaignsOperate, s.testSendCampaign)
	s.handle("GET /api/campaigns/{id}/stats", identity.PermCampaignsRead, s.campaignStats)
	s.handle("GET /api/campaigns/{id}/stats.csv", identity.PermCampaignsRead, s.campaignStats)
}

// by is who acts on a campaign through the API.
func by(r *http.Request) campaigns.By {
	return campaigns.By{Actor: who(r), Roles: principalOf(r).User.Roles}
}

func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request) error {
	limit, after, err := queryPage(r)
	if err != nil {
		return err
	}
	list, next, err := s.deps.Campaigns.List(r.Context(), campaigns.ListFilter{Status: campaigns.Status(r.URL.Query().Get("status")), After: after, Limit: limit})
	if err != nil {
		return err
	}
	if list == nil {
		list = []campaigns.Campaign{}
	}
	writePage(w, list, next)
	return nil
}

func (s *Server) createCampaign(w http.ResponseWriter, r *http.Request) error {
	var in campaigns.Input
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	c, err := s.deps.Campaigns.Create(r.Context(), by(r), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (s *Server) getCampaign(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := s.deps.Campaigns.Get(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) updateCampaign(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in campaigns.Input
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	c, err := s.deps.Campaigns.Update(r.Context(), by(r), id, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) campaignHistory(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	h, err := s.deps.Campaigns.History(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": h})
	return nil
}

// actionRequest is the optional body of a transition.
type actionRequest struct {
	Version int    `json:"version,omitempty"` // approve: the version reviewed
	Reason  string `json:"reason,omitempty"`  // reject, cancel
}

// campaignAction runs one lifecycle transition.
func (s *Server) campaignAction(action string) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var in actionRequest
		if err := s.decodeOptional(w, r, &in); err != nil {
			return err
		}
		svc, b, ctx := s.deps.Campaigns, by(r), r.Context()
		var c campaigns.Campaign
		switch action {
		case "submit":
			c, err = svc.Submit(ctx, b, id)
		case "approve":
			c, err = svc.Approve(ctx, b, id, in.Version)
		case "reject":
			c, err = svc.Reject(ctx, b, id, in.Reason)
		case "cancel", "pause":
			var res campaigns.PauseResult
			if action == "cancel" {
				res, err = svc.Cancel(ctx, b, id, in.Reason)
			} else {
				res, err = svc.Pause(ctx, b, id)
			}
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, res)
			return nil
		case "start":
			c, err = svc.Start(ctx, b, id)
		case "resume":
			c, err = svc.Resume(ctx, b, id)
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, c)
		return nil
	}
}

type testSendRequest struct {
	Contact string `json:"contact"` // the contact's external id
	Channel string `json:"channel,omitempty"`
}

func (s *Server) testSendCampaign(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in testSendRequest
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	if in.Contact == "" {
		return badRequest("contact (an external id) is required")
	}
	res, err := s.deps.Campaigns.TestSend(r.Context(), by(r), id, in.Contact, in.Channel)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, res)
	return nil
}

// campaignStats returns the funnel as JSON, or as CSV for stats.csv or
// ?format=csv.
func (s *Server) campaignStats(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	st, err := s.deps.Campaigns.Stats(r.Context(), id)
	if err != nil {
		return err
	}
	if strings.HasSuffix(r.URL.Path, ".csv") || r.URL.Query().Get("format") == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="campaign-%d-stats.csv"`, id))
		return st.WriteCSV(w)
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// decodeOptional is decode for a body that may be left out (or empty).
func (s *Server) decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	if r.Body == nil || r.ContentLength == 0 {
		return nil
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.ContentLength = int64(len(data))
	return s.decode(w, r, v)
}
