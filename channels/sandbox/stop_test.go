package sandbox

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A session left open by a client (a pooled connection nobody closed) does not
// hold Stop past its deadline: the server closes it.
func TestSMTPStopClosesSessionsLeftOpenAtTheDeadline(t *testing.T) {
	t.Parallel()
	s, err := StartSMTP(context.Background(), Options{Name: "mail"})
	require.NoError(t, err)
	conn, err := net.Dial("tcp", s.Addr())
	require.NoError(t, err)
	defer conn.Close()
	r := bufio.NewReader(conn)
	greeting, err := r.ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(greeting, "220"), greeting)
	_, err = conn.Write([]byte("EHLO client.test\r\n"))
	require.NoError(t, err)
	for {
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		if strings.HasPrefix(line, "250 ") {
			break
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	stopped := make(chan struct{})
	go func() {
		s.Stop(ctx)
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second): // the session's own read timeout is a minute
		t.Fatal("Stop waited for the idle session")
	}
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = r.ReadString('\n')
	require.Error(t, err)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server closed the session, not our read deadline: %v", err)
}

// Receipts still queued at Stop go to a receiver that no longer answers once
// each at most: the first failure ends the drain, and every receipt is counted.
func TestStopDoesNotRetryPushesToAGoneReceiver(t *testing.T) {
	t.Parallel()
	var requests atomic.Int64
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer gone.Close()
	c := newCore("aliyun", Options{Name: "ali"})
	const queued = 500
	for range queued {
		c.pushes <- push{url: gone.URL, body: []byte(`{}`), ctype: "application/json"}
	}
	c.startPusher()
	c.Stop(context.Background())
	require.Equal(t, queued, c.Pushed()+c.PushFailed(), "every receipt is counted")
	require.Equal(t, queued, c.PushFailed())
	require.Less(t, requests.Load(), int64(10), "not three tries each for %d receipts", queued)
}
