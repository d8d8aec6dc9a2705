package channels

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"carillon/internal/pii"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// ReceiptSink takes parsed receipts (delivery applies them to messages).
type ReceiptSink func(ctx context.Context, rs []Receipt) error

// InboundSink takes parsed inbound events.
type InboundSink func(ctx context.Context, in []Inbound) error

// ReceiptHandler serves a provider's receipt push: it calls the parser, hands the
// receipts to sink and answers as the provider expects. A refused push is answered
// 401/403/400/413 with a stable JSON error body and reaches the sink not at all.
// The server may mount it as is or use it as a model.
func ReceiptHandler(p ReceiptParser, sink ReceiptSink, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs, err := p.ParseReceipts(r)
		if err != nil {
			writeRefusal(w, err, log)
			return
		}
		if err := sink(r.Context(), rs); err != nil {
			if log != nil {
				log.ErrorContext(r.Context(), "apply receipts", slog.String("err", pii.Text(err.Error())))
			}
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		ack(w, p)
	})
}

// InboundHandler is ReceiptHandler for replies and events.
func InboundHandler(p InboundParser, sink InboundSink, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := p.ParseInbound(r)
		if err != nil {
			writeRefusal(w, err, log)
			return
		}
		if err := sink(r.Context(), in); err != nil {
			if log != nil {
				log.ErrorContext(r.Context(), "apply inbound", slog.String("err", pii.Text(err.Error())))
			}
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		ack(w, p)
	})
}

func ack(w http.ResponseWriter, p any) {
	if a, ok := p.(Acknowledger); ok {
		a.Ack(w)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func writeRefusal(w http.ResponseWriter, err error, log *slog.Logger) {
	status := StatusOf(err)
	code := "internal"
	switch status {
	case http.StatusUnauthorized:
		code = "unauthorized"
	case http.StatusForbidden:
		code = "forbidden"
	case http.StatusBadRequest:
		code = "malformed"
	case http.StatusRequestEntityTooLarge:
		code = "too_large"
	}
	reason := pii.Text(err.Error()) // a refusal may quote the push
	if log != nil {
		log.Warn("webhook refused", slog.Int("status", status), slog.String("reason", reason))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": reason}})
}
