package email

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/textproto"
	"strings"

	"carillon/channels"
	"carillon/internal/pii"
)

// ParseReceipts parses a bounce: an RFC 3464 delivery status notification
// (multipart/report; report-type=delivery-status) posted raw to our bounce endpoint,
// whose URL carries our token. Each recipient block becomes a receipt, matched to our
// message by the VERP address the DSN was sent to, else by the original Message-ID.
func (s *Sender) ParseReceipts(r *http.Request) ([]channels.Receipt, error) {
	if err := channels.CheckToken(r, s.cfg.WebhookToken.Reveal()); err != nil {
		return nil, err
	}
	body, err := channels.ReadBody(r, s.cfg.MaxBody)
	if err != nil {
		return nil, err
	}
	return ParseDSN(s.cfg.Name, body)
}

// ParseDSN parses a raw RFC 3464 DSN message into receipts.
func ParseDSN(provider string, raw []byte) ([]channels.Receipt, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, channels.Malformed("DSN: not a mail message: %v", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || !strings.EqualFold(params["report-type"], "delivery-status") {
		return nil, channels.Malformed("DSN: want multipart/report; report-type=delivery-status")
	}
	if params["boundary"] == "" {
		return nil, channels.Malformed("DSN: no boundary")
	}
	// Our message id: the VERP address the bounce was sent to.
	id := ""
	for _, h := range []string{"X-Original-To", "Delivered-To", "To"} {
		if id = verpID(msg.Header.Get(h)); id != "" {
			break
		}
	}
	var blocks []textproto.MIMEHeader
	var origMessageID string
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, channels.Malformed("DSN: %v", err)
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		b, err := io.ReadAll(io.LimitReader(p, 1<<20))
		if err != nil {
			return nil, channels.Malformed("DSN part: %v", err)
		}
		switch pt {
		case "message/delivery-status", "message/global-delivery-status":
			blocks, err = statusBlocks(b)
			if err != nil {
				return nil, channels.Malformed("DSN delivery-status: %v", err)
			}
		case "message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers":
			tr := textproto.NewReader(bufio.NewReader(bytes.NewReader(b)))
			if h, err := tr.ReadMIMEHeader(); err == nil || len(h) > 0 {
				origMessageID = strings.TrimSpace(h.Get("Message-Id"))
			}
		}
	}
	if len(blocks) < 2 {
		return nil, channels.Malformed("DSN: no per-recipient fields")
	}
	if id == "" && origMessageID != "" {
		id = strings.SplitN(strings.Trim(origMessageID, "<>"), "@", 2)[0]
	}
	if id == "" && origMessageID == "" {
		return nil, channels.Malformed("DSN: neither a VERP address nor the original Message-ID")
	}
	var out []channels.Receipt
	for _, b := range blocks[1:] {
		action := strings.ToLower(strings.TrimSpace(b.Get("Action")))
		status := strings.TrimSpace(b.Get("Status"))
		var st channels.Status
		switch action {
		case "delivered", "relayed", "expanded":
			st = channels.StatusDelivered
		case "failed":
			st = channels.StatusFailed
		case "delayed":
			st = channels.StatusSent
		default:
			return nil, channels.Malformed("DSN: unknown Action %q", action)
		}
		out = append(out, channels.Receipt{
			Provider: provider, ProviderMessageID: origMessageID, MessageID: id,
			To:        addrOf(b.Get("Final-Recipient")),
			Status:    st,
			Permanent: st == channels.StatusFailed && (strings.HasPrefix(status, "5.1.") || status == "5.2.1"),
			// The Diagnostic-Code is the remote server's free text, which quotes
			// the address more often than not.
			Code: pii.Text(status), Detail: pii.Text(strings.TrimSpace(b.Get("Diagnostic-Code"))),
		})
	}
	return out, nil
}

// statusBlocks splits a delivery-status body into its header blocks: the
// per-message fields, then one block per recipient.
func statusBlocks(b []byte) ([]textproto.MIMEHeader, error) {
	tr := textproto.NewReader(bufio.NewReader(bytes.NewReader(b)))
	var out []textproto.MIMEHeader
	for {
		h, err := tr.ReadMIMEHeader()
		if len(h) > 0 {
			out = append(out, h)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// verpID extracts <id> from bounce+<id>@domain.
func verpID(h string) string {
	if h == "" {
		return ""
	}
	a, err := mail.ParseAddress(h)
	addr := h
	if err == nil {
		addr = a.Address
	}
	local, _, ok := strings.Cut(addr, "@")
	if !ok || !strings.HasPrefix(local, "bounce+") {
		return ""
	}
	return strings.TrimPrefix(local, "bounce+")
}

// addrOf takes the address of "rfc822; user@example.com".
func addrOf(v string) string {
	if _, a, ok := strings.Cut(v, ";"); ok {
		return strings.TrimSpace(a)
	}
	return strings.TrimSpace(v)
}
