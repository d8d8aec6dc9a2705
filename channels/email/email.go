// Package email sends Carillon's email over SMTP with go-mail (our Message-ID, a
// VERP return path bounce+<message id>@domain, RFC 8058 one-click unsubscribe on
// marketing mail, text and HTML parts) through a small pool of reused connections,
// and parses RFC 3464 delivery status notifications into receipts.
package email

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	mail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"carillon/channels"
	"carillon/internal/pii"
)

// Config configures an SMTP provider.
type Config struct {
	Name         string
	Host         string
	Port         int    // default 587
	TLS          string // mandatory (default), opportunistic, none, implicit
	Auth         string // plain, login, cram-md5, none (default)
	Username     string
	Password     channels.Secret
	From         string // envelope header From address
	FromName     string
	BounceDomain string // VERP domain; default From's domain
	Pool         int    // connections kept open (default 4)
	HELO         string
	Timeout      time.Duration
	WebhookToken channels.Secret // token our bounce endpoint URL carries
	MaxBody      int64
	Logger       *slog.Logger
	Now          func() time.Time
}

// Sender sends mail through one SMTP provider. Safe for concurrent use.
type Sender struct {
	cfg    Config
	client *mail.Client
	sem    chan struct{}     // one token per connection allowed
	idle   chan *smtp.Client // open connections ready for reuse
	mu     sync.Mutex
	closed bool
}

// New returns an SMTP sender; it connects lazily.
func New(cfg Config) (*Sender, error) {
	if cfg.Name == "" {
		cfg.Name = channels.KindSMTP
	}
	if cfg.Host == "" || cfg.From == "" {
		return nil, fmt.Errorf("email %s: host and from are required", cfg.Name)
	}
	if cfg.Port == 0 {
		cfg.Port = channels.DefaultSMTPPort
	}
	if cfg.Pool <= 0 {
		cfg.Pool = channels.DefaultSMTPPool
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = channels.DefaultTimeout
	}
	if cfg.BounceDomain == "" {
		if at := strings.LastIndexByte(cfg.From, '@'); at >= 0 {
			cfg.BounceDomain = cfg.From[at+1:]
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	// A held connection carries message after message: a transaction ends with
	// DATA's reply (RFC 5321 §4.1.1.4), so no NOOP before a message and no RSET
	// after one (two round trips each); a connection the server closed while idle
	// fails the next MAIL, and Send retries once on a fresh one.
	opts := []mail.Option{mail.WithPort(cfg.Port), mail.WithTimeout(cfg.Timeout), mail.WithoutNoop(), mail.WithoutRset()}
	if cfg.HELO != "" {
		opts = append(opts, mail.WithHELO(cfg.HELO))
	}
	switch cfg.TLS {
	case "", "mandatory":
		opts = append(opts, mail.WithTLSPortPolicy(mail.TLSMandatory))
	case "opportunistic":
		opts = append(opts, mail.WithTLSPortPolicy(mail.TLSOpportunistic))
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case "implicit":
		opts = append(opts, mail.WithSSLPort(false))
	default:
		return nil, fmt.Errorf("email %s: tls %q is not mandatory, opportunistic, none or implicit", cfg.Name, cfg.TLS)
	}
	switch strings.ToLower(cfg.Auth) {
	case "", "none":
	case "plain":
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain))
	case "login":
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthLogin))
	case "cram-md5":
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthCramMD5))
	default:
		return nil, fmt.Errorf("email %s: auth %q is not plain, login, cram-md5 or none", cfg.Name, cfg.Auth)
	}
	if cfg.Auth != "" && cfg.Auth != "none" {
		opts = append(opts, mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password.Reveal()))
	}
	if cfg.TLS == "mandatory" || cfg.TLS == "" {
		// WithTLSPortPolicy picks 587; keep the configured port.
		opts = append(opts, mail.WithPort(cfg.Port))
	}
	c, err := mail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("email %s: %w", cfg.Name, err)
	}
	return &Sender{cfg: cfg, client: c, sem: make(chan struct{}, cfg.Pool), idle: make(chan *smtp.Client, cfg.Pool)}, nil
}

// Name returns the configured provider name.
func (s *Sender) Name() string { return s.cfg.Name }

// Channel is email.
func (s *Sender) Channel() channels.Channel { return channels.Email }

// VERP returns the return path of message id: bounce+<id>@<bounce domain>.
func (s *Sender) VERP(id string) string { return "bounce+" + id + "@" + s.cfg.BounceDomain }

// MessageID returns our Message-ID (without angle brackets) for message id.
func (s *Sender) MessageID(id string) string { return id + "@" + s.cfg.BounceDomain }

// build formats m as a go-mail message.
func (s *Sender) build(m channels.Message) (*mail.Msg, error) {
	if m.ID == "" || strings.ContainsAny(m.ID, "@<> \t\r\n") {
		return nil, channels.NewPermanent(s.cfg.Name, "bad_id", "message id must be set and fit an address local part", channels.ErrInvalidMessage)
	}
	if m.Text == "" && m.HTML == "" {
		return nil, channels.NewPermanent(s.cfg.Name, "no_body", "", channels.ErrInvalidMessage)
	}
	msg := mail.NewMsg()
	if err := msg.FromFormat(s.cfg.FromName, s.cfg.From); err != nil {
		return nil, channels.NewPermanent(s.cfg.Name, "bad_from", err.Error(), channels.ErrInvalidMessage)
	}
	var err error
	if m.To.Name != "" {
		err = msg.AddToFormat(m.To.Name, m.To.Value)
	} else {
		err = msg.To(m.To.Value)
	}
	if err != nil {
		return nil, channels.NewBadAddress(s.cfg.Name, "bad_address", "invalid address "+pii.Email(m.To.Value))
	}
	if err := msg.EnvelopeFrom(s.VERP(m.ID)); err != nil {
		return nil, channels.NewPermanent(s.cfg.Name, "bad_id", err.Error(), channels.ErrInvalidMessage)
	}
	msg.SetMessageIDWithValue(s.MessageID(m.ID))
	msg.SetDateWithValue(s.cfg.Now())
	msg.Subject(m.Subject)
	if m.Purpose == channels.PurposeMarketing {
		if m.UnsubscribeURL == "" {
			return nil, channels.NewPermanent(s.cfg.Name, "no_unsubscribe", "marketing mail needs an unsubscribe URL", channels.ErrInvalidMessage)
		}
		msg.SetGenHeader(mail.Header("List-Unsubscribe"), "<"+m.UnsubscribeURL+">")
		msg.SetGenHeader(mail.Header("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click")
		msg.SetBulk()
	}
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	case m.HTML != "":
		msg.SetBodyString(mail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
	}
	return msg, nil
}

// Send sends m over a pooled SMTP connection.
func (s *Sender) Send(ctx context.Context, m channels.Message) (channels.Result, error) {
	msg, err := s.build(m)
	if err != nil {
		return channels.Result{}, err
	}
	for attempt := 0; ; attempt++ {
		conn, reused, err := s.acquire(ctx)
		if err != nil {
			return channels.Result{}, err
		}
		err = s.client.SendWithSMTPClient(conn, msg)
		if err == nil {
			s.release(conn, true)
			return channels.Result{Provider: s.cfg.Name, ProviderMessageID: "<" + s.MessageID(m.ID) + ">", Accepted: s.cfg.Now()}, nil
		}
		code := errorCode(err)
		switch {
		case code == 0 && unanswered(err):
			// The message went out whole and DATA's reply never came (the
			// connection broke or timed out there): the server may have taken
			// it. Not sent again, on this provider or another, until delivery
			// has waited for a receipt.
			s.release(conn, false)
			return channels.Result{}, channels.NewTemporary(s.cfg.Name, "data_unanswered", maskAddr(err.Error(), m.To.Value), channels.ErrMaybeAccepted)
		case code == 0:
			// The connection is broken before the message went out (the server
			// closed an idle one, a network error): drop it; a reused connection
			// gets one retry on a fresh one.
			s.release(conn, false)
			if reused && attempt == 0 {
				continue
			}
		default:
			// A refusal mid-transaction: reset it before the connection is reused.
			s.release(conn, conn.Reset() == nil)
		}
		return channels.Result{}, classify(s.cfg.Name, err, m.To.Value)
	}
}

func (s *Sender) acquire(ctx context.Context) (*smtp.Client, bool, error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, false, channels.NewTemporary(s.cfg.Name, "cancelled", "", ctx.Err())
	}
	select {
	case c := <-s.idle:
		return c, true, nil
	default:
	}
	c, err := s.client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		<-s.sem
		return nil, false, classify(s.cfg.Name, fmt.Errorf("dial %s:%d: %w", s.cfg.Host, s.cfg.Port, err), "")
	}
	return c, false, nil
}

func (s *Sender) release(c *smtp.Client, ok bool) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if ok && !closed {
		select {
		case s.idle <- c:
			<-s.sem
			return
		default:
		}
	}
	_ = s.client.CloseWithSMTPClient(c)
	<-s.sem
}

// Close closes the pooled connections.
func (s *Sender) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	for {
		select {
		case c := <-s.idle:
			_ = s.client.CloseWithSMTPClient(c)
		default:
			return nil
		}
	}
}

// unanswered reports whether a send failed waiting for the reply to DATA's
// final dot: after the whole message was handed to the server.
func unanswered(err error) bool {
	var se *mail.SendError
	return errors.As(err, &se) && se.Reason == mail.ErrSMTPDataClose
}

func maskAddr(msg, addr string) string {
	if addr == "" {
		return msg
	}
	return strings.ReplaceAll(msg, addr, pii.Email(addr))
}

func errorCode(err error) int {
	var se *mail.SendError
	if errors.As(err, &se) {
		return se.ErrorCode()
	}
	return 0
}

// classify maps an SMTP failure to the three classes. go-mail's SendError.IsTemp is
// false for network errors (code 0): they are temporary here.
// The server's text may quote the address: it is masked, and the go-mail error is
// not kept in the chain for that reason.
func classify(provider string, err error, addr string) error {
	var se *mail.SendError
	if !errors.As(err, &se) {
		return channels.TransportError(provider, err)
	}
	return classifyCode(provider, se.ErrorCode(), se.EnhancedStatusCode(), maskAddr(err.Error(), addr))
}

func classifyCode(provider string, code int, esc string, msg string) error {
	c := fmt.Sprint(code)
	if esc != "" {
		c += " " + esc
	}
	switch {
	case code == 0:
		return channels.NewTemporary(provider, "network", msg, nil)
	case code == 421, code/100 == 4 && strings.HasPrefix(esc, "4.7."):
		return channels.NewRateLimited(provider, c, msg, channels.ScopeProvider, time.Minute)
	case code/100 == 4:
		return channels.NewTemporary(provider, c, msg, nil)
	case strings.HasPrefix(esc, "5.1."), esc == "5.2.1", esc == "" && (code == 550 || code == 551 || code == 553):
		return channels.NewBadAddress(provider, c, msg)
	case code/100 == 5:
		return channels.NewPermanent(provider, c, msg, nil)
	}
	return channels.NewTemporary(provider, c, msg, nil)
}
