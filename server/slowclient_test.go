package server_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/contacts"
	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/internal/pgtest"
	"carillon/internal/testlog"
	"carillon/server"
	"carillon/server/edge"
)

// slowServer is the server as serve runs it (HTTPServer on a loopback
// listener), with small read timeouts, and an administrator's token.
func slowServer(t *testing.T) (addr, token string) {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	clk := newClock()
	store, err := contacts.NewStore(db.Pool, contacts.Config{Logger: testlog.New(t), Now: clk.Now})
	require.NoError(t, err)
	ids, err := identity.NewStore(db.Pool, identity.Config{Now: clk.Now})
	require.NoError(t, err)
	s, err := server.New(server.Config{Logger: testlog.New(t), Now: clk.Now, Timeouts: edge.Timeouts{
		ReadHeader: 300 * time.Millisecond, Body: 300 * time.Millisecond, Webhook: 300 * time.Millisecond,
		Import: 5 * time.Second, ImportIdle: 400 * time.Millisecond, MaxUploads: 1,
	}}, server.Deps{Pool: db.Pool, Contacts: store, Auth: ids})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := s.HTTPServer()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	actor := audit.Actor{Name: "test"}
	_, err = ids.CreateUser(ctx, actor, identity.NewUser{Login: "admin", DisplayName: "admin", Roles: []identity.Role{identity.RoleAdmin}})
	require.NoError(t, err)
	token, _, err = ids.CreateToken(ctx, actor, "admin", "test", nil)
	require.NoError(t, err)
	return ln.Addr().String(), token
}

// generous is how long a test waits for the server to give up on a slow
// client: far above the configured timeouts, far below the drip's length.
const generous = 10 * time.Second

// dripping opens a TCP connection, sends head (request line and headers, with
// a Content-Length of 1000) and then one byte of body every interval. It
// returns what the server answered once it closed the connection, or fails
// if the connection is still open after generous.
func dripping(t *testing.T, addr, head string, interval time.Duration) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, head+"Content-Length: 1000\r\nConnection: keep-alive\r\n\r\n")
	require.NoError(t, err)
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(generous)))
	got, err := io.ReadAll(bufio.NewReader(conn))
	// EOF or a reset (the server closed with our bytes unread) both end it.
	require.False(t, edge.IsTimeout(err), "the server still holds the connection after %s (answered so far: %q)", generous, got)
	return string(got)
}

// One byte every 100 ms keeps no connection open: the server answers (or
// not) and closes it once the route's read timeout has passed.
func TestSlowBodiesAreCutOff(t *testing.T) {
	t.Parallel()
	addr, token := slowServer(t)
	for _, tc := range []struct {
		name, head, want string
	}{
		{"unauthenticated API", "POST /api/contacts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n", ""},
		{"console sign-in", "POST /console/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n", ""},
		{"webhook", "POST /hooks/sms/ali/receipts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n", ""},
		{"authenticated API", "POST /api/contacts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer " + token + "\r\n", "HTTP/1.1 408"},
		{"unauthenticated import", "POST /api/contacts/import HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n", ""},
	} {
		got := dripping(t, addr, tc.head, 100*time.Millisecond)
		require.True(t, strings.HasPrefix(got, tc.want), "%s: %q", tc.name, got)
		if tc.want != "" {
			require.Contains(t, got, "request_timeout", tc.name)
		}
	}
	// An import may pause between reads up to its idle timeout, not longer.
	got := dripping(t, addr, "POST /api/contacts/import HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nAuthorization: Bearer "+token+"\r\n", time.Second)
	require.True(t, strings.HasPrefix(got, "HTTP/1.1 4"), "import: %q", got)
}

// Streaming uploads are capped: while one import drips (within its idle
// timeout), a second is refused at once.
func TestConcurrentUploadsAreCapped(t *testing.T) {
	t.Parallel()
	addr, token := slowServer(t)
	head := "POST /api/contacts/import HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nAuthorization: Bearer " + token + "\r\n"
	first, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer first.Close()
	_, err = io.WriteString(first, head+"Content-Length: 1000\r\n\r\nexternal_id,name\n")
	require.NoError(t, err)
	// Wait until the first import holds the slot: a second one is refused.
	var got string
	require.Eventually(t, func() bool {
		_, _ = first.Write([]byte("K"))
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, head+"Content-Length: 5\r\n\r\nab\ncd")
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(generous)))
		line, _ := bufio.NewReader(conn).ReadString('\n')
		got = line
		return strings.HasPrefix(line, "HTTP/1.1 503")
	}, generous, 50*time.Millisecond, "last answer %q", got)
}
