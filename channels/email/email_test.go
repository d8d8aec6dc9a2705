package email_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/channels"
	"carillon/channels/channelstest"
	"carillon/channels/email"
	"carillon/channels/sandbox"
)

var token = channels.NewSecret(channels.DefaultSandboxSecret)

func start(t *testing.T, b channels.SandboxConfig, pool int) (*email.Sender, *sandbox.SMTP) {
	sb, err := sandbox.StartSMTP(context.Background(), sandbox.Options{Behavior: b})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		sb.Stop(ctx)
	})
	host, port, _ := net.SplitHostPort(sb.Addr())
	p, _ := strconv.Atoi(port)
	s, err := email.New(email.Config{Name: "smtp-test", Host: host, Port: p, TLS: "none", From: "care@bank.example",
		FromName: "Carillon Bank", BounceDomain: "bounce.bank.example", Pool: pool, WebhookToken: token})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, sb
}

func message(id string) channels.Message {
	return channels.Message{ID: id, To: channels.Address{Channel: channels.Email, Value: "li.lei@example.com", Name: "李雷"},
		Purpose: channels.PurposeService, Subject: "生日快乐", Text: "祝您生日快乐！", HTML: "<p>祝您生日快乐！</p>"}
}

func TestSMTPSuite(t *testing.T) {
	t.Parallel()
	channelstest.Run(t, channelstest.Harness{
		Start: func(t *testing.T, b channels.SandboxConfig) channelstest.Env {
			s, sb := start(t, b, 2)
			return channelstest.Env{Sender: s, Parser: s, Recorder: sb.Recorder()}
		},
		Message: message,
	})
}

func TestMessageFormat(t *testing.T) {
	t.Parallel()
	s, sb := start(t, channels.SandboxConfig{}, 1)
	m := message("m-42")
	m.Purpose = channels.PurposeMarketing
	m.UnsubscribeURL = "https://bank.example/u/abc"
	_, err := s.Send(context.Background(), m)
	require.NoError(t, err)
	raw := string(sb.Recorder().Raw("m-42"))
	require.Contains(t, raw, "Message-ID: <m-42@bounce.bank.example>")
	require.Contains(t, raw, "List-Unsubscribe: <https://bank.example/u/abc>")
	require.Contains(t, raw, "List-Unsubscribe-Post: List-Unsubscribe=One-Click")
	require.Contains(t, raw, "multipart/alternative")
	require.Contains(t, raw, "text/plain")
	require.Contains(t, raw, "text/html")
	require.Equal(t, "m-42", sb.Recorder().Deliveries()[0].MessageID, "VERP return path carries the id")

	// Service mail has no List-Unsubscribe; marketing mail without a link is refused.
	_, err = s.Send(context.Background(), message("m-43"))
	require.NoError(t, err)
	require.NotContains(t, string(sb.Recorder().Raw("m-43")), "List-Unsubscribe")
	m.ID, m.UnsubscribeURL = "m-44", ""
	_, err = s.Send(context.Background(), m)
	require.True(t, channels.IsPermanent(err))
	require.False(t, channels.IsBadAddress(err))
}

func TestOneConnectionCarriesManyMessages(t *testing.T) {
	t.Parallel()
	s, sb := start(t, channels.SandboxConfig{}, 1)
	for i := range 20 {
		_, err := s.Send(context.Background(), message("many-"+strconv.Itoa(i)))
		require.NoError(t, err)
	}
	require.Equal(t, 20, sb.Recorder().Count())
	require.Equal(t, 1, sb.Connections())

	// A refused recipient does not cost the connection.
	s2, sb2 := start(t, channels.SandboxConfig{PermFailRate: 1}, 1)
	for i := range 3 {
		_, err := s2.Send(context.Background(), message("bad-"+strconv.Itoa(i)))
		require.True(t, channels.IsBadAddress(err), "%v", err)
		require.NotContains(t, err.Error(), "li.lei@example.com", "address masked")
	}
	require.Equal(t, 1, sb2.Connections())
}

func TestNetworkErrorIsTemporary(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	s, err := email.New(email.Config{Host: "127.0.0.1", Port: addr.Port, TLS: "none", From: "a@b.example", Timeout: time.Second})
	require.NoError(t, err)
	_, err = s.Send(context.Background(), message("x"))
	require.Equal(t, channels.Temporary, channels.ClassOf(err), "%v", err)
}

func TestClassifyCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		code    int
		esc     string
		class   channels.Class
		address bool
	}{
		{0, "", channels.Temporary, false},
		{421, "4.7.0", channels.RateLimited, false},
		{450, "4.7.1", channels.RateLimited, false},
		{451, "4.3.0", channels.Temporary, false},
		{452, "4.2.2", channels.Temporary, false},
		{550, "5.1.1", channels.Permanent, true},
		{553, "5.1.3", channels.Permanent, true},
		{550, "5.2.1", channels.Permanent, true},
		{550, "", channels.Permanent, true},
		{554, "5.7.1", channels.Permanent, false},
		{552, "5.3.4", channels.Permanent, false},
	}
	for _, c := range cases {
		err := email.ClassifyCode("p", c.code, c.esc, "")
		require.Equal(t, c.class, channels.ClassOf(err), "%d %s", c.code, c.esc)
		require.Equal(t, c.address, channels.IsBadAddress(err), "%d %s", c.code, c.esc)
	}
}

// A DSN as Postfix writes it (RFC 3464 §6 shape).
const postfixDSN = "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n" +
	"To: bounce+msg-77@bounce.bank.example\r\n" +
	"Subject: Undelivered Mail Returned to Sender\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"4C3E12A0B3.1700000000/mx.example.net\"\r\n" +
	"\r\n" +
	"This is a MIME-encapsulated message.\r\n" +
	"\r\n" +
	"--4C3E12A0B3.1700000000/mx.example.net\r\n" +
	"Content-Description: Notification\r\n" +
	"Content-Type: text/plain; charset=us-ascii\r\n" +
	"\r\n" +
	"I'm sorry to have to inform you that your message could not be delivered.\r\n" +
	"\r\n" +
	"--4C3E12A0B3.1700000000/mx.example.net\r\n" +
	"Content-Description: Delivery report\r\n" +
	"Content-Type: message/delivery-status\r\n" +
	"\r\n" +
	"Reporting-MTA: dns; mx.example.net\r\n" +
	"X-Postfix-Queue-ID: 4C3E12A0B3\r\n" +
	"Arrival-Date: Mon, 2 Oct 2023 10:00:00 +0800 (CST)\r\n" +
	"\r\n" +
	"Final-Recipient: rfc822; nobody@example.net\r\n" +
	"Original-Recipient: rfc822;nobody@example.net\r\n" +
	"Action: failed\r\n" +
	"Status: 5.1.1\r\n" +
	"Remote-MTA: dns; mail.example.net\r\n" +
	"Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown\r\n" +
	"\r\n" +
	"--4C3E12A0B3.1700000000/mx.example.net\r\n" +
	"Content-Description: Undelivered Message Headers\r\n" +
	"Content-Type: text/rfc822-headers\r\n" +
	"\r\n" +
	"Message-ID: <msg-77@bounce.bank.example>\r\n" +
	"Subject: hello\r\n" +
	"\r\n" +
	"--4C3E12A0B3.1700000000/mx.example.net--\r\n"

func TestParseDSN(t *testing.T) {
	t.Parallel()
	rs, err := email.ParseDSN("smtp", []byte(postfixDSN))
	require.NoError(t, err)
	require.Len(t, rs, 1)
	require.Equal(t, "msg-77", rs[0].MessageID)
	require.Equal(t, "<msg-77@bounce.bank.example>", rs[0].ProviderMessageID)
	require.Equal(t, channels.StatusFailed, rs[0].Status)
	require.True(t, rs[0].Permanent)
	require.Equal(t, "5.1.1", rs[0].Code)
	require.Equal(t, "nobody@example.net", rs[0].To)

	// Without a VERP address the original Message-ID finds the message.
	noVERP := strings.Replace(postfixDSN, "To: bounce+msg-77@bounce.bank.example", "To: postmaster@bank.example", 1)
	rs, err = email.ParseDSN("smtp", []byte(noVERP))
	require.NoError(t, err)
	require.Equal(t, "msg-77", rs[0].MessageID)
}

func TestBounceEndpointRefusesBadInput(t *testing.T) {
	t.Parallel()
	s, err := email.New(email.Config{Host: "127.0.0.1", From: "a@b.example", WebhookToken: token, MaxBody: 4096})
	require.NoError(t, err)
	good := "/bounces?token=" + channels.DefaultSandboxSecret
	cases := []struct {
		url, body string
		status    int
	}{
		{"/bounces?token=wrong", postfixDSN, 401},
		{"/bounces", postfixDSN, 401},
		{good, "Subject: hi\r\n\r\nnot a report", 400},
		{good, "garbage", 400},
		{good, strings.Replace(postfixDSN, "Action: failed", "Action: exploded", 1), 400},
		{good, postfixDSN + strings.Repeat("x", 5000), 413},
	}
	for _, c := range cases {
		rs, err := s.ParseReceipts(httptest.NewRequest(http.MethodPost, c.url, strings.NewReader(c.body)))
		require.Error(t, err, c.url)
		require.Empty(t, rs)
		require.Equal(t, c.status, channels.StatusOf(err), "%s: %v", c.url, err)
	}
	rs, err := s.ParseReceipts(httptest.NewRequest(http.MethodPost, good, strings.NewReader(postfixDSN)))
	require.NoError(t, err)
	require.Len(t, rs, 1)
}

// smtpTap forwards a connection to the sandbox and counts the client's commands.
// With hangUpAt set, it hangs up on the client once it has forwarded the end of
// that message's data (the hangUpAt-th final dot, counting from 1): the server
// accepts the message, its reply never reaches the client.
type smtpTap struct {
	ln       net.Listener
	mu       sync.Mutex
	verbs    map[string]int
	dots     int
	hangUpAt int
}

func tap(t *testing.T, to string) *smtpTap {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	tp := &smtpTap{ln: ln, verbs: map[string]int{}}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			var cut atomic.Bool // set before the dot goes up: no reply to it comes down
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := up.Read(buf)
					if cut.Load() || err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
			go func() {
				defer up.Close()
				r := bufio.NewReader(c)
				data := false
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if data {
						data = line != ".\r\n"
						if !data {
							tp.mu.Lock()
							tp.dots++
							cut.Store(tp.dots == tp.hangUpAt)
							tp.mu.Unlock()
						}
					} else {
						verb := strings.ToUpper(strings.Fields(line + " x")[0])
						tp.mu.Lock()
						tp.verbs[verb]++
						tp.mu.Unlock()
						data = verb == "DATA"
					}
					if _, err := up.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return tp
}

func (tp *smtpTap) count(verb string) int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.verbs[verb]
}

// A held connection sends message after message with MAIL, RCPT and DATA only:
// no NOOP before each and no RSET after.
func TestHeldConnectionSendsNoNoopOrRset(t *testing.T) {
	t.Parallel()
	_, sb := start(t, channels.SandboxConfig{}, 1)
	tp := tap(t, sb.Addr())
	_, port, _ := net.SplitHostPort(tp.ln.Addr().String())
	p, _ := strconv.Atoi(port)
	s, err := email.New(email.Config{Name: "smtp-tap", Host: "127.0.0.1", Port: p, TLS: "none", From: "care@bank.example", Pool: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	for i := range 5 {
		_, err := s.Send(context.Background(), message("held-"+strconv.Itoa(i)))
		require.NoError(t, err)
	}
	require.Equal(t, 5, sb.Recorder().Count())
	require.Equal(t, 5, tp.count("MAIL"))
	require.Equal(t, 5, tp.count("DATA"))
	require.Zero(t, tp.count("NOOP"))
	require.Zero(t, tp.count("RSET"))
	require.Equal(t, 1, tp.count("EHLO"), "one connection")
}

// A held connection that breaks after the message went out whole (DATA's final
// dot sent, its reply never read) may have delivered it: the sender does not
// send it again on a fresh connection but says the provider may have accepted
// it, so that delivery waits rather than resends.
func TestNoResendWhenTheReplyToDataIsLost(t *testing.T) {
	t.Parallel()
	_, sb := start(t, channels.SandboxConfig{}, 1)
	tp := tap(t, sb.Addr())
	tp.hangUpAt = 2
	_, port, _ := net.SplitHostPort(tp.ln.Addr().String())
	p, _ := strconv.Atoi(port)
	s, err := email.New(email.Config{Name: "smtp-tap", Host: "127.0.0.1", Port: p, TLS: "none", From: "care@bank.example", Pool: 1, Timeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	_, err = s.Send(context.Background(), message("lost-1")) // the connection is held from here
	require.NoError(t, err)

	_, err = s.Send(context.Background(), message("lost-2"))
	require.Error(t, err)
	require.ErrorIs(t, err, channels.ErrMaybeAccepted)
	require.Equal(t, channels.Temporary, channels.ClassOf(err), "%v", err)
	require.Equal(t, 1, sb.Recorder().SendsOf("lost-2"), "accepted once, not sent again")

	// The broken connection is dropped; the next message goes on a fresh one.
	_, err = s.Send(context.Background(), message("lost-3"))
	require.NoError(t, err)
	require.Equal(t, 1, sb.Recorder().SendsOf("lost-3"))
}
