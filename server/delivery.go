package server

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/channels"
	"carillon/delivery"
	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/internal/pii"
)

// deliveryRoutes mounts the provider webhooks, the messages API, emergency stops
// and the unsubscribe page. Nothing is mounted without a delivery service.
func (s *Server) deliveryRoutes() {
	if s.deps.Delivery == nil {
		return
	}
	s.mux.HandleFunc("POST /hooks/{kind}/{name}/receipts", s.receiptHook)
	s.mux.HandleFunc("POST /hooks/{kind}/{name}/inbound", s.inboundHook)
	s.mux.HandleFunc("GET /hooks/wechat/{name}", s.wechatHook)
	s.mux.HandleFunc("POST /hooks/wechat/{name}", s.wechatHook)
	s.mux.HandleFunc("GET /u/{token}", s.unsubscribePage)
	s.mux.HandleFunc("POST /u/{token}", s.unsubscribe)
	s.mux.HandleFunc("GET /o/{token}", s.openPixel)
	s.mux.HandleFunc("GET /c/{token}", s.clickRedirect)

	s.handle("POST /api/messages", identity.PermMessagesSend, s.sendMessage)
	s.handle("GET /api/messages/{id}", identity.PermContactsRead, s.getMessage)
	s.handle("GET /api/contacts/{id}/messages", identity.PermContactsRead, s.contactMessages)
	s.handle("GET /api/stops", identity.PermSignedIn, s.listStops)
	s.handle("POST /api/stops", identity.PermStopsWrite, s.stopSending)
	s.handle("DELETE /api/stops", identity.PermStopsWrite, s.resumeSending)
}

// hookProvider finds the provider a webhook names; its kind must match the path.
func (s *Server) hookProvider(w http.ResponseWriter, r *http.Request) (*channels.Provider, bool) {
	if s.deps.Registry == nil {
		http.NotFound(w, r)
		return nil, false
	}
	p, ok := s.deps.Registry.Provider(r.PathValue("name"))
	if !ok || (r.PathValue("kind") != "" && p.Kind != r.PathValue("kind")) {
		http.NotFound(w, r)
		return nil, false
	}
	return p, true
}

func (s *Server) receiptHook(w http.ResponseWriter, r *http.Request) {
	p, ok := s.hookProvider(w, r)
	if !ok || p.Receipts == nil {
		if ok {
			http.NotFound(w, r)
		}
		return
	}
	channels.ReceiptHandler(p.Receipts, func(ctx context.Context, rs []channels.Receipt) error {
		_, err := s.deps.Delivery.ApplyReceipts(ctx, rs)
		return err
	}, s.cfg.Logger).ServeHTTP(w, r)
}

func (s *Server) inboundHook(w http.ResponseWriter, r *http.Request) {
	p, ok := s.hookProvider(w, r)
	if !ok || p.Inbound == nil {
		if ok {
			http.NotFound(w, r)
		}
		return
	}
	channels.InboundHandler(p.Inbound, func(ctx context.Context, in []channels.Inbound) error {
		return s.deps.Delivery.ApplyInbound(ctx, s.deps.Contacts, in)
	}, s.cfg.Logger).ServeHTTP(w, r)
}

// wechatEndpoint is the Official Account's server endpoint: URL verification on GET,
// template-send results and follow/unfollow events on POST.
type wechatEndpoint interface {
	ParseEvents(r *http.Request) ([]channels.Receipt, []channels.Inbound, error)
	VerifyURL(r *http.Request) (string, error)
	// Forget drops the nonce of a push whose handling failed, so WeChat's retry
	// is not refused as a replay.
	Forget(r *http.Request) error
	Ack(w http.ResponseWriter)
}

func (s *Server) wechatHook(w http.ResponseWriter, r *http.Request) {
	p, ok := s.hookProvider(w, r)
	if !ok {
		return
	}
	ep, ok := p.Sender.(wechatEndpoint)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method == http.MethodGet {
		echo, err := ep.VerifyURL(r)
		if err != nil {
			http.Error(w, err.Error(), channels.StatusOf(err))
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(echo))
		return
	}
	rs, in, err := ep.ParseEvents(r)
	if err != nil {
		http.Error(w, err.Error(), channels.StatusOf(err))
		return
	}
	if err := s.applyWeChat(r, rs, in); err != nil {
		if ferr := ep.Forget(r); ferr != nil {
			s.cfg.Logger.ErrorContext(r.Context(), "wechat push: forget nonce", "provider", p.Name, slog.String("err", pii.Text(ferr.Error())))
		}
		s.writeErr(w, r, err)
		return
	}
	ep.Ack(w)
}

func (s *Server) applyWeChat(r *http.Request, rs []channels.Receipt, in []channels.Inbound) error {
	if len(rs) > 0 {
		if _, err := s.deps.Delivery.ApplyReceipts(r.Context(), rs); err != nil {
			return err
		}
	}
	if len(in) > 0 {
		return s.deps.Delivery.ApplyInbound(r.Context(), s.deps.Contacts, in)
	}
	return nil
}

var unsubscribeTmpl = template.Must(template.New("u").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>退订 / Unsubscribe</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:3em auto">
{{if .Done}}<p>您已退订营销邮件。<br>You will no longer receive marketing email from us.</p>
{{else}}<form method="post"><p>退订营销邮件？<br>Stop receiving marketing email?</p>
<button type="submit" name="List-Unsubscribe" value="One-Click">退订 / Unsubscribe</button></form>{{end}}
</body></html>`))

func (s *Server) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	if _, err := s.deps.Delivery.Links().Check(delivery.LinkUnsubscribe, r.PathValue("token")); err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = unsubscribeTmpl.Execute(w, map[string]bool{"Done": false})
}

// unsubscribe is the RFC 8058 one-click POST (and the page's button).
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	err := s.deps.Delivery.Unsubscribe(r.Context(), s.deps.Contacts, r.PathValue("token"))
	switch {
	case errors.Is(err, delivery.ErrBadLink), errors.Is(err, delivery.ErrNotFound):
		http.NotFound(w, r)
	case err != nil:
		s.writeErr(w, r, err)
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = unsubscribeTmpl.Execute(w, map[string]bool{"Done": true})
	}
}

type sendRequest struct {
	ContactID      int64          `json:"contact_id,omitempty"`
	ExternalID     string         `json:"external_id,omitempty"`
	Template       string         `json:"template"`
	Purpose        string         `json:"purpose"`
	Channels       []string       `json:"channels"`
	Vars           map[string]any `json:"vars,omitempty"`
	IdempotencyKey string         `json:"idempotency_key"`
	// Deadline: past it the message is cancelled as expired, never sent late
	// (RFC 3339; optional).
	Deadline *time.Time `json:"deadline,omitempty"`
}

// requestHash is the SHA-256 of what a send request asks for, in canonical
// JSON (object keys sorted): the contact it resolved to, template, purpose,
// channels in order, variables and deadline. The key itself is not part of it;
// external_id and contact_id naming the same contact are the same request.
func requestHash(req sendRequest) []byte {
	canon := map[string]any{"contact_id": req.ContactID, "template": req.Template, "purpose": req.Purpose,
		"channels": req.Channels, "vars": req.Vars}
	if req.Deadline != nil {
		canon["deadline"] = req.Deadline.UTC().Format(time.RFC3339Nano)
	}
	b, _ := json.Marshal(canon)
	h := sha256.Sum256(b)
	return h[:]
}

// sendMessage is POST /api/messages: one message, deduplicated by the caller's key.
func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request) error {
	var req sendRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if req.IdempotencyKey == "" || len(req.IdempotencyKey) > 200 {
		return badRequest("idempotency_key is required (1–200 characters): the same key never sends twice")
	}
	if req.ContactID == 0 && req.ExternalID != "" {
		c, err := s.deps.Contacts.GetByExternalID(r.Context(), req.ExternalID)
		if err != nil {
			return err
		}
		req.ContactID = c.ID
	}
	if req.ContactID == 0 {
		return badRequest("contact_id or external_id is required")
	}
	var deadline time.Time
	if req.Deadline != nil {
		if !req.Deadline.After(s.cfg.Now()) {
			return badRequest("deadline %s is not in the future / 截止时间不晚于现在", req.Deadline.Format(time.RFC3339))
		}
		deadline = *req.Deadline
	}
	chans := make([]channels.Channel, len(req.Channels))
	for i, c := range req.Channels {
		chans[i] = channels.Channel(c)
	}
	hash := requestHash(req)
	p := delivery.Planned{RequestHash: hash, DedupeKey: "api:" + req.IdempotencyKey, ContactID: req.ContactID, Source: "api", SourceID: principalOf(r).Login(),
		Purpose: channels.Purpose(req.Purpose), TemplateKey: req.Template, Channels: chans, Vars: req.Vars, Deadline: deadline}
	var res delivery.EnqueueResult
	err := pgx.BeginFunc(r.Context(), s.deps.Pool, func(tx pgx.Tx) error {
		var err error
		if res, err = s.deps.Delivery.Enqueue(r.Context(), tx, []delivery.Planned{p}); err != nil || len(res.IDs) == 0 {
			return err
		}
		return audit.Append(r.Context(), tx, who(r), s.cfg.Now(), audit.Entry{Action: "message.send", ObjectType: "message",
			ObjectID: strconv.FormatInt(res.IDs[0], 10), Changes: map[string]any{"contact_id": p.ContactID, "template": p.TemplateKey,
				"purpose": p.Purpose, "channels": p.Channels, "idempotency_key": req.IdempotencyKey}})
	})
	if err != nil {
		return err
	}
	if len(res.IDs) == 0 {
		id, err := s.deps.Delivery.DuplicateOf(r.Context(), p.DedupeKey, hash)
		if errors.Is(err, delivery.ErrKeyReused) {
			return &apiError{status: http.StatusConflict, code: "idempotency_key_reused",
				msg: "idempotency_key was already used for a different request (message " + strconv.FormatInt(id, 10) + "); use a new key / 该幂等键已用于另一请求，请换用新键"}
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "duplicate": true})
		return nil
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"id": res.IDs[0], "duplicate": false})
	return nil
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := s.deps.Delivery.Get(r.Context(), id)
	if err != nil {
		return err
	}
	p := principalOf(r)
	if m.ContactID != nil {
		if err := s.deps.Contacts.CheckScope(r.Context(), scope(p), *m.ContactID); err != nil {
			return err
		}
	} else if !p.Has(identity.RoleAdmin) {
		return &apiError{status: http.StatusNotFound, code: "not_found", msg: "not found"}
	}
	if !p.SeesPersonalData() {
		m = m.Masked()
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) contactMessages(w http.ResponseWriter, r *http.Request) error {
	id, err := s.contactID(r)
	if err != nil {
		return err
	}
	limit, before, err := queryPage(r)
	if err != nil {
		return err
	}
	items, next, err := s.deps.Delivery.ForContact(r.Context(), id, before, limit)
	if err != nil {
		return err
	}
	if !principalOf(r).SeesPersonalData() {
		for i := range items {
			items[i] = items[i].Masked()
		}
	}
	writePage(w, items, next)
	return nil
}

func (s *Server) listStops(w http.ResponseWriter, r *http.Request) error {
	stops, err := s.deps.Delivery.Stops(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": stops})
	return nil
}

type stopRequest struct {
	Channel  string `json:"channel,omitempty"`
	Provider string `json:"provider,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

func (s *Server) stopSending(w http.ResponseWriter, r *http.Request) error {
	var req stopRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	scope, err := delivery.StopScope(req.Channel, req.Provider)
	if err != nil {
		return badRequest("%s", err.Error())
	}
	if err := s.deps.Delivery.StopSending(r.Context(), who(r), scope, strings.TrimSpace(req.Reason)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"stopped": scope})
	return nil
}

func (s *Server) resumeSending(w http.ResponseWriter, r *http.Request) error {
	scope, err := delivery.StopScope(r.URL.Query().Get("channel"), r.URL.Query().Get("provider"))
	if err != nil {
		return badRequest("%s", err.Error())
	}
	found, err := s.deps.Delivery.ResumeSending(r.Context(), who(r), scope)
	if err != nil {
		return err
	}
	if !found {
		return &apiError{status: http.StatusNotFound, code: "not_found", msg: fmt.Sprintf("no stop on %s", scope)}
	}
	writeJSON(w, http.StatusOK, map[string]string{"resumed": scope})
	return nil
}

// transparentGIF is a 1×1 transparent GIF.
var transparentGIF = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// openPixel is an email's open pixel: it records the open and answers a 1×1 GIF.
func (s *Server) openPixel(w http.ResponseWriter, r *http.Request) {
	err := s.deps.Delivery.Opened(r.Context(), r.PathValue("token"))
	switch {
	case errors.Is(err, delivery.ErrBadLink), errors.Is(err, delivery.ErrNotFound):
		http.NotFound(w, r)
		return
	case err != nil: // the reader still gets the pixel
		s.cfg.Logger.WarnContext(r.Context(), "open not recorded", slog.String("err", err.Error()))
	}
	w.Header().Set("Content-Type", "image/gif")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(transparentGIF)
}

// clickRedirect records a click on a tracked link and redirects to its target.
func (s *Server) clickRedirect(w http.ResponseWriter, r *http.Request) {
	target, err := s.deps.Delivery.Clicked(r.Context(), r.PathValue("token"))
	switch {
	case errors.Is(err, delivery.ErrBadLink), errors.Is(err, delivery.ErrNotFound):
		http.NotFound(w, r)
		return
	case err != nil && target == "":
		s.writeErr(w, r, err)
		return
	case err != nil: // the customer still gets where they were going
		s.cfg.Logger.WarnContext(r.Context(), "click not recorded", slog.String("err", err.Error()))
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
}
