// Package channelstest is the behaviour suite every channels.Sender passes against
// its sandbox: send, temporary failure, permanent failure, throttling, and the
// receipt round trip (the sandbox pushes to an httptest server whose handler calls
// the adapter's parser).
package channelstest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/channels"
	"carillon/channels/sandbox"
)

// Env is what a harness started: the adapter and its sandbox.
type Env struct {
	Sender   channels.Sender
	Parser   channels.ReceiptParser // nil when the provider pushes no receipts
	Recorder *sandbox.Recorder
}

// Harness adapts one provider to the suite.
type Harness struct {
	// Start starts the provider's sandbox with behaviour b (b.ReceiptURL is where
	// receipts must go) and an adapter pointed at it; both stop with t.
	Start func(t *testing.T, b channels.SandboxConfig) Env
	// Message builds a valid message carrying our id.
	Message func(id string) channels.Message
	// SyncReceipt: the provider's answer is the final receipt (WeCom), no push.
	SyncReceipt bool
	// NoEcho: the provider does not carry our message id (WeCom).
	NoEcho bool
}

// receiptSink is an httptest server serving the adapter's parser.
type receiptSink struct {
	srv    *httptest.Server
	parser atomic.Pointer[channels.ReceiptParser]
	got    chan channels.Receipt
}

func newSink(t *testing.T) *receiptSink {
	s := &receiptSink{got: make(chan channels.Receipt, 64)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := s.parser.Load()
		if p == nil {
			http.Error(w, "no parser yet", http.StatusServiceUnavailable)
			return
		}
		channels.ReceiptHandler(*p, func(_ context.Context, rs []channels.Receipt) error {
			for _, rc := range rs {
				s.got <- rc
			}
			return nil
		}, nil).ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *receiptSink) url(path string) string { return s.srv.URL + path }

// wait returns the next receipt; the generous deadline only keeps a broken push
// from hanging the test run, it asserts no timing.
func (s *receiptSink) wait(t *testing.T) channels.Receipt {
	t.Helper()
	select {
	case r := <-s.got:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("no receipt pushed")
		return channels.Receipt{}
	}
}

// ReceiptPath is the path of the suite's receipt endpoint; it carries the sandbox
// webhook token so token-checking parsers accept it.
const ReceiptPath = "/receipts?token=" + channels.DefaultSandboxSecret

var seq atomic.Int64

func newID(name string) string { return fmt.Sprintf("msg-%s-%d", name, seq.Add(1)) }

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	start := func(t *testing.T, b channels.SandboxConfig) (Env, *receiptSink) {
		sink := newSink(t)
		b.ReceiptURL = sink.url(ReceiptPath)
		env := h.Start(t, b)
		if env.Parser != nil {
			sink.parser.Store(&env.Parser)
		}
		return env, sink
	}

	t.Run("Send", func(t *testing.T) {
		t.Parallel()
		env, _ := start(t, channels.SandboxConfig{})
		id := newID("send")
		res, err := env.Sender.Send(context.Background(), h.Message(id))
		require.NoError(t, err)
		require.NotEmpty(t, res.ProviderMessageID)
		require.False(t, res.Accepted.IsZero())
		require.Equal(t, 1, env.Recorder.Count())
		if !h.NoEcho {
			require.Equal(t, 1, env.Recorder.SendsOf(id), "the provider received our message id")
		}
		require.Zero(t, env.Recorder.Duplicates())
	})

	t.Run("TemporaryFailure", func(t *testing.T) {
		t.Parallel()
		env, _ := start(t, channels.SandboxConfig{TempFailRate: 1})
		_, err := env.Sender.Send(context.Background(), h.Message(newID("temp")))
		require.Error(t, err)
		require.True(t, channels.IsTemporary(err), "%v", err)
		require.False(t, channels.IsPermanent(err), "%v", err)
		require.False(t, channels.IsRateLimited(err), "%v", err)
		require.Equal(t, channels.Temporary, channels.ClassOf(err))
		require.Zero(t, env.Recorder.Count())
	})

	t.Run("PermanentFailure", func(t *testing.T) {
		t.Parallel()
		env, _ := start(t, channels.SandboxConfig{PermFailRate: 1})
		_, err := env.Sender.Send(context.Background(), h.Message(newID("perm")))
		require.Error(t, err)
		require.True(t, channels.IsPermanent(err), "%v", err)
		require.True(t, channels.IsBadAddress(err), "%v", err)
		require.False(t, channels.IsTemporary(err), "%v", err)
	})

	t.Run("Throttled", func(t *testing.T) {
		t.Parallel()
		env, _ := start(t, channels.SandboxConfig{ThrottleRate: 1})
		_, err := env.Sender.Send(context.Background(), h.Message(newID("throttle")))
		require.Error(t, err)
		require.True(t, channels.IsRateLimited(err), "%v", err)
		require.True(t, channels.IsTemporary(err), "%v", err)
		require.False(t, channels.RecipientScoped(err), "%v", err)
		require.Positive(t, channels.RetryAfter(err))
	})

	t.Run("ReceiptRoundTrip", func(t *testing.T) {
		t.Parallel()
		env, sink := start(t, channels.SandboxConfig{})
		id := newID("receipt")
		res, err := env.Sender.Send(context.Background(), h.Message(id))
		require.NoError(t, err)
		var rc channels.Receipt
		if h.SyncReceipt {
			require.NotNil(t, res.Receipt)
			rc = *res.Receipt
		} else {
			require.NotNil(t, env.Parser)
			rc = sink.wait(t)
		}
		require.Equal(t, channels.StatusDelivered, rc.Status)
		require.Equal(t, res.ProviderMessageID, rc.ProviderMessageID)
		if rc.MessageID != "" {
			require.Equal(t, id, rc.MessageID)
		}
		require.NotEmpty(t, rc.Provider)
	})

	if !h.SyncReceipt {
		t.Run("FailedReceipt", func(t *testing.T) {
			t.Parallel()
			env, sink := start(t, channels.SandboxConfig{UndeliveredRate: 1})
			res, err := env.Sender.Send(context.Background(), h.Message(newID("undeliv")))
			require.NoError(t, err)
			rc := sink.wait(t)
			require.Equal(t, channels.StatusFailed, rc.Status)
			require.Equal(t, res.ProviderMessageID, rc.ProviderMessageID)
		})
	}
}
