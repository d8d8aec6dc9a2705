package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// SMTP is an SMTP server (go-smtp) that accepts mail, answers with SMTP's own
// temporary, permanent and throttling replies at the configured rates, records what
// it accepted and posts an RFC 3464 DSN per message to the receipt URL (delivered,
// or failed for UndeliveredRate), addressed to the message's VERP return path.
type SMTP struct {
	*core
	srv   *smtp.Server
	conns atomic.Int64
	mu    sync.Mutex
	open  map[*smtp.Conn]struct{} // sessions not yet ended, closed at Stop's deadline
}

// Connections is the number of SMTP connections opened to the sandbox.
func (s *SMTP) Connections() int { return int(s.conns.Load()) }

// StartSMTP starts an SMTP sandbox (no TLS, no AUTH required).
func StartSMTP(ctx context.Context, o Options) (*SMTP, error) {
	s := &SMTP{core: newCore("smtp", o), open: map[*smtp.Conn]struct{}{}}
	addr := s.opts.Behavior.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sandbox smtp: listen: %w", err)
	}
	s.ln = ln
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.conns.Add(1)
		s.mu.Lock()
		s.open[c] = struct{}{}
		s.mu.Unlock()
		return &smtpSession{s: s, conn: c}, nil
	}))
	s.srv.Domain = "sandbox.carillon.test"
	s.srv.AllowInsecureAuth = true
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.MaxRecipients = 100
	s.srv.ReadTimeout = time.Minute
	s.srv.WriteTimeout = time.Minute
	s.stopExtra = func(ctx context.Context) {
		if s.srv.Shutdown(ctx) == nil {
			return
		}
		// Past the deadline: close the sessions still open (go-smtp's Close does
		// nothing once Shutdown has begun).
		s.mu.Lock()
		open := make([]*smtp.Conn, 0, len(s.open))
		for c := range s.open {
			open = append(open, c)
		}
		s.mu.Unlock()
		for _, c := range open {
			_ = c.Close() // ends the session: Logout forgets it
		}
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			s.opts.Logger.Error("sandbox smtp serve", slog.String("err", err.Error()))
		}
	}()
	s.startPusher()
	return s, nil
}

// Addr is host:port of the SMTP server.
func (s *SMTP) Addr() string { return s.ln.Addr().String() }

type smtpSession struct {
	s     *SMTP
	conn  *smtp.Conn
	from  string
	rcpts []string
	ids   []string
}

func (ss *smtpSession) Reset() { ss.from, ss.rcpts, ss.ids = "", nil, nil }

func (ss *smtpSession) Logout() error {
	ss.s.mu.Lock()
	delete(ss.s.open, ss.conn)
	ss.s.mu.Unlock()
	return nil
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

func verpLocal(from string) string {
	local, _, _ := strings.Cut(from, "@")
	return strings.TrimPrefix(local, "bounce+")
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	id := verpLocal(ss.from)
	d := Delivery{Provider: ss.s.opts.Name, MessageID: id, To: to, At: time.Now()}
	switch ss.s.decide(context.Background(), d) {
	case throttled:
		return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Rate limit exceeded, try again later"}
	case tempFail:
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary local problem, try again later"}
	case permFail:
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "Mailbox unavailable: user unknown"}
	case recipientLimited:
		return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "Mailbox busy, try again later"}
	}
	ss.rcpts = append(ss.rcpts, to)
	ss.ids = append(ss.ids, id)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Malformed message"}
	}
	mid := msg.Header.Get("Message-Id")
	for _, id := range ss.ids {
		ss.s.rec.attach(id, raw)
	}
	for _, to := range ss.rcpts {
		ok := ss.s.delivered()
		ss.s.enqueue(push{url: ss.s.opts.Behavior.ReceiptURL, ctype: "message/rfc822",
			body: dsn(ss.from, to, mid, ok, headerBlock(raw))})
	}
	return nil
}

func headerBlock(raw []byte) []byte {
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		return raw[:i+2]
	}
	if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		return raw[:i+1]
	}
	return raw
}

// dsn builds an RFC 3464 delivery status notification.
func dsn(returnPath, rcpt, messageID string, delivered bool, headers []byte) []byte {
	action, status, diag, subject := "delivered", "2.0.0", "smtp; 250 2.0.0 OK", "Delivery Status Notification (Success)"
	if !delivered {
		action, status, diag, subject = "failed", "5.1.1", "smtp; 550 5.1.1 user unknown", "Undelivered Mail Returned to Sender"
	}
	boundary := fmt.Sprintf("dsn-%d", time.Now().UnixNano())
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Mail Delivery System <MAILER-DAEMON@sandbox.carillon.test>\r\n")
	fmt.Fprintf(&b, "To: %s\r\n", returnPath)
	fmt.Fprintf(&b, "Subject: %s\r\n", subject)
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n")
	fmt.Fprintf(&b, "Content-Type: multipart/report; report-type=delivery-status; boundary=\"%s\"\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nThis is the mail system at sandbox.carillon.test.\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: message/delivery-status\r\n\r\n", boundary)
	fmt.Fprintf(&b, "Reporting-MTA: dns; sandbox.carillon.test\r\nArrival-Date: %s\r\n\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Final-Recipient: rfc822; %s\r\nOriginal-Recipient: rfc822; %s\r\nAction: %s\r\nStatus: %s\r\nDiagnostic-Code: %s\r\n\r\n",
		rcpt, rcpt, action, status, diag)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary)
	b.Write(headers)
	if messageID != "" && !bytes.Contains(headers, []byte("Message-ID")) && !bytes.Contains(headers, []byte("Message-Id")) {
		fmt.Fprintf(&b, "Message-ID: %s\r\n", messageID)
	}
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return b.Bytes()
}
