package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/channels"
	"carillon/channels/registry"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/internal/pgtest"
	"carillon/internal/pii"
	"carillon/internal/testlog"
	"carillon/server"
)

// syncBuffer is a log buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// dsn is a Postfix-shaped bounce of message id sent to victim, with statusText as
// its delivery-status part.
func dsn(id int64, statusText string) string {
	return "From: MAILER-DAEMON@mx.example.net\r\n" +
		fmt.Sprintf("To: bounce+%d@bank.example\r\n", id) +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B1\"\r\n\r\n" +
		"--B1\r\nContent-Type: text/plain\r\n\r\nUndeliverable.\r\n" +
		"--B1\r\nContent-Type: message/delivery-status\r\n\r\n" +
		"Reporting-MTA: dns; mx.example.net\r\n\r\n" + statusText +
		"--B1--\r\n"
}

// A bounce whose Diagnostic-Code quotes the customer's address, and a malformed
// bounce whose refused line holds a phone number, go through the real bounce
// hook: neither the logs nor any API answer (to an admin, a marketer, an
// auditor) carries the address or the number unmasked.
func TestBounceTextIsMaskedInLogsAndResponses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	clk := newClock()
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(io.MultiWriter(&logs, testlog.Writer()), &slog.HandlerOptions{Level: slog.LevelDebug}))
	store, err := contacts.NewStore(db.Pool, contacts.Config{Logger: log, Now: clk.Now})
	require.NoError(t, err)
	ids, err := identity.NewStore(db.Pool, identity.Config{Now: clk.Now})
	require.NoError(t, err)
	built, err := registry.Build(ctx, channels.Config{Providers: []channels.ProviderConfig{{Name: "mail", Provider: channels.KindSMTP,
		Endpoint: channels.EndpointSandbox, From: "care@bank.example"}}}, registry.Deps{Pool: db.Pool, Logger: log, Now: clk.Now})
	require.NoError(t, err)
	t.Cleanup(func() { built.Stop(context.Background()) })
	svc, err := delivery.New(db.Pool, delivery.Config{Logger: log, Now: clk.Now}, delivery.Deps{Registry: built.Registry})
	require.NoError(t, err)
	s, err := server.New(server.Config{Logger: log, RateLimit: -1, Now: clk.Now}, server.Deps{Pool: db.Pool, Contacts: store, Auth: ids, Delivery: svc, Registry: built.Registry})
	require.NoError(t, err)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	b := &bundle{ctx: ctx, url: ts.URL, db: db, store: store, ids: ids, clock: clk}
	b.token = b.newUser(t, "admin", "", identity.RoleAdmin)
	const address, phone = "zhang.wei@example.com", "13812345678"
	_, err = store.ImportContacts(ctx, strings.NewReader("external_id,name,email,consent_email\nK1,甲,"+address+",yes\n"),
		contacts.ImportOptions{Actor: audit.Actor{Name: "test"}})
	require.NoError(t, err)
	r := b.jsonReq(t, "POST", "/api/messages", map[string]any{"external_id": "K1", "template": "birthday", "purpose": "service",
		"channels": []string{"email"}, "idempotency_key": "b-1"})
	require.Equal(t, 202, r.status, string(r.body))
	id := int64(r.json(t)["id"].(float64))

	hook := "/hooks/smtp/mail/receipts?token=" + channels.DefaultSandboxSecret
	bounce := dsn(id, "Final-Recipient: rfc822; "+address+"\r\nAction: failed\r\nStatus: 5.1.1\r\n"+
		"Diagnostic-Code: smtp; 550 5.1.1 <"+address+">: Recipient address rejected; owner "+phone+"\r\n\r\n")
	r = b.as("").do(t, "POST", hook, "message/rfc822", strings.NewReader(bounce))
	require.Equal(t, 200, r.status, string(r.body))

	malformed := dsn(id, "Final-Recipient: rfc822; someone@example.com\r\nplease call +86 138-1234-5678 about this\r\n\r\n")
	r = b.as("").do(t, "POST", hook, "message/rfc822", strings.NewReader(malformed))
	require.Equal(t, 400, r.status, string(r.body))
	require.Contains(t, string(r.body), "malformed MIME header", "the refusal still says why")
	require.Contains(t, string(r.body), "138****5678")
	answers := []string{string(r.body)}

	marketer := b.newUser(t, "mk", "", identity.RoleMarketer)
	auditor := b.newUser(t, "au", "", identity.RoleAuditor)
	for _, tok := range []string{b.token, marketer, auditor} {
		r = b.as(tok).do(t, "GET", fmt.Sprintf("/api/messages/%d", id), "", nil)
		require.Equal(t, 200, r.status, string(r.body))
		m := r.json(t)
		rs, _ := m["receipts"].([]any)
		require.Len(t, rs, 1, string(r.body))
		detail := rs[0].(map[string]any)["detail"].(string)
		require.Contains(t, detail, "Recipient address rejected", "the diagnostic is kept, masked")
		require.Contains(t, detail, pii.Email(address))
		answers = append(answers, string(r.body))
		c, err := store.GetByExternalID(ctx, "K1")
		require.NoError(t, err)
		r = b.as(tok).do(t, "GET", fmt.Sprintf("/api/contacts/%d/messages", c.ID), "", nil)
		require.Equal(t, 200, r.status, string(r.body))
		answers = append(answers, string(r.body))
	}
	all := strings.Join(append(answers, logs.String()), "\n")
	require.Contains(t, logs.String(), "webhook refused", "the malformed bounce was logged")
	for _, raw := range []string{address, phone, "138-1234-5678", "someone@example.com"} {
		require.NotContains(t, all, raw)
	}
	found, err := pii.Scan(strings.NewReader(all))
	require.NoError(t, err)
	require.Empty(t, found)
}
