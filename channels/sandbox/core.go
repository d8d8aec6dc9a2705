package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"carillon/channels"
)

// Options configure a sandbox: the credentials it accepts and its behaviour.
type Options struct {
	Name     string                 // provider name, for logs
	Behavior channels.SandboxConfig // latency, failure rates, throttling, receipt URL
	KeyID    string                 // AccessKeyId, SecretId, Account SID, AppID, CorpID, SMTP user
	Secret   string                 // the secret half (default channels.DefaultSandboxSecret)
	// Token and AESKey sign WeChat pushes (server Token, EncodingAESKey; AES mode when set).
	Token  string
	AESKey string
	Logger *slog.Logger
	// Now stamps WeChat pushes (their signed timestamp and CreateTime), which the
	// adapter checks against its own clock (default time.Now).
	Now func() time.Time
}

func (o Options) withDefaults(kind string) Options {
	if o.Name == "" {
		o.Name = kind + "-sandbox"
	}
	if o.Secret == "" {
		o.Secret = channels.DefaultSandboxSecret
	}
	if o.Token == "" {
		o.Token = channels.DefaultSandboxSecret
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Delivery is one message a sandbox accepted.
type Delivery struct {
	Provider          string
	MessageID         string // our id as echoed (OutId, SessionContext, VERP, mid)
	ProviderMessageID string
	To                string
	Content           string // template code and params, text, or raw mail
	At                time.Time
}

// Recorder keeps what a sandbox accepted. Safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	list   []Delivery
	byID   map[string]int
	byTo   map[string]int
	keep   bool
	raw    map[string][]byte
	count  atomic.Int64
	dups   atomic.Int64
	refuse atomic.Int64
}

func newRecorder() *Recorder {
	return &Recorder{byID: map[string]int{}, byTo: map[string]int{}, raw: map[string][]byte{}, keep: true}
}

func (r *Recorder) attach(id string, raw []byte) {
	r.mu.Lock()
	if r.keep {
		r.raw[id] = raw
	}
	r.mu.Unlock()
}

// Raw returns the raw message (email) last accepted for message id.
func (r *Recorder) Raw(id string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.raw[id]
}

// accept records d unless its recipient already had limit deliveries (limit > 0).
func (r *Recorder) accept(d Delivery, limit int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if limit > 0 && r.byTo[d.To] >= limit {
		return false
	}
	r.byTo[d.To]++
	if d.MessageID != "" {
		if r.byID[d.MessageID] > 0 {
			r.dups.Add(1)
		}
		r.byID[d.MessageID]++
	}
	if r.keep {
		r.list = append(r.list, d)
	}
	r.count.Add(1)
	return true
}

// Count is the number of accepted messages.
func (r *Recorder) Count() int { return int(r.count.Load()) }

// Duplicates is how many accepted messages repeated an earlier message id.
func (r *Recorder) Duplicates() int { return int(r.dups.Load()) }

// Refused is how many send attempts were answered with an error.
func (r *Recorder) Refused() int { return int(r.refuse.Load()) }

// SendsOf is how many times message id was accepted.
func (r *Recorder) SendsOf(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byID[id]
}

// Deliveries returns a copy of the accepted messages.
func (r *Recorder) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.list...)
}

// KeepContent controls whether deliveries are kept in memory (default true); a
// benchmark turns it off and keeps only counts.
func (r *Recorder) KeepContent(keep bool) {
	r.mu.Lock()
	r.keep = keep
	r.mu.Unlock()
}

type outcome int

const (
	accept outcome = iota
	tempFail
	permFail
	throttled
	recipientLimited
)

// push is one receipt or event to deliver to a webhook.
type push struct {
	url    string
	body   []byte // a JSON object when batch, else the whole body
	batch  bool   // JSON objects to the same URL are sent together as an array
	ctype  string
	header http.Header
}

// core is what every HTTP sandbox shares: listener, behaviour, recorder, pusher.
type core struct {
	kind    string
	opts    Options
	rec     *Recorder
	limiter *channels.Limiter
	ln      net.Listener
	srv     *http.Server
	pushes  chan push
	done    chan struct{}
	wg      sync.WaitGroup
	hc      *http.Client
	seq     atomic.Int64
	pushed  atomic.Int64
	failed  atomic.Int64
	// stopExtra stops a non-HTTP server (SMTP).
	stopExtra func(context.Context)
	stopCtx   atomic.Pointer[context.Context] // Stop's, once it is called
}

func newCore(kind string, o Options) *core {
	o = o.withDefaults(kind)
	c := &core{kind: kind, opts: o, rec: newRecorder(), pushes: make(chan push, 4096), done: make(chan struct{}),
		hc: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
	if o.Behavior.RateLimit > 0 {
		c.limiter = channels.NewLimiter(o.Behavior.RateLimit, max(1, int(o.Behavior.RateLimit)), nil)
	}
	return c
}

// listen starts serving h and the receipt pusher.
func (c *core) listen(h http.Handler) error {
	addr := c.opts.Behavior.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sandbox %s: listen: %w", c.kind, err)
	}
	c.ln = ln
	c.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := c.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.opts.Logger.Error("sandbox serve", slog.String("sandbox", c.kind), slog.String("err", err.Error()))
		}
	}()
	c.startPusher()
	return nil
}

func (c *core) startPusher() {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.pushLoop()
	}()
}

// URL is the sandbox's base URL (http://127.0.0.1:port).
func (c *core) URL() string { return "http://" + c.ln.Addr().String() }

// Recorder returns what the sandbox accepted.
func (c *core) Recorder() *Recorder { return c.rec }

// Pushed is the number of webhook pushes answered 2xx; PushFailed the others.
func (c *core) Pushed() int     { return int(c.pushed.Load()) }
func (c *core) PushFailed() int { return int(c.failed.Load()) }

// Stop stops serving and pushes what is queued, until ctx is done: then open
// connections are closed and what is left unpushed is dropped.
func (c *core) Stop(ctx context.Context) {
	if c.srv != nil {
		if c.srv.Shutdown(ctx) != nil {
			_ = c.srv.Close()
		}
	}
	if c.stopExtra != nil {
		c.stopExtra(ctx)
	}
	c.stopCtx.Store(&ctx)
	close(c.done)
	waited := make(chan struct{})
	go func() {
		c.wg.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
	}
	c.hc.CloseIdleConnections()
}

// stopping reports whether Stop's deadline has passed.
func (c *core) stopping() bool {
	ctx := c.stopCtx.Load()
	return ctx != nil && (*ctx).Err() != nil
}

func chance(p float64) bool { return p > 0 && (p >= 1 || rand.Float64() < p) }

// decide applies latency and the failure rates to one send attempt to `to`; on
// accept it records d.
func (c *core) decide(ctx context.Context, d Delivery) outcome {
	b := c.opts.Behavior
	if b.Latency > 0 {
		t := time.NewTimer(b.Latency.D())
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	out := accept
	switch {
	case c.limiter != nil && !c.limiter.Allow(), chance(b.ThrottleRate):
		out = throttled
	case chance(b.TempFailRate):
		out = tempFail
	case chance(b.PermFailRate):
		out = permFail
	case !c.rec.accept(d, b.RecipientLimit):
		out = recipientLimited
	}
	if out != accept {
		c.rec.refuse.Add(1)
	}
	return out
}

// delivered draws whether an accepted message's receipt says delivered.
func (c *core) delivered() bool { return !chance(c.opts.Behavior.UndeliveredRate) }

func (c *core) nextID() int64 { return c.seq.Add(1) }

// enqueue queues a push (blocking when the queue is full: back pressure).
func (c *core) enqueue(p push) {
	if p.url == "" {
		return
	}
	select {
	case c.pushes <- p:
	case <-c.done:
	}
}

func (c *core) pushLoop() {
	for {
		var first push
		select {
		case first = <-c.pushes:
		case <-c.done:
			// Push what is queued, once each, while the receiver answers and Stop's
			// deadline holds; the rest is counted as failed.
			for {
				select {
				case p := <-c.pushes:
					if c.stopping() {
						c.failed.Add(int64(1 + len(c.pushes)))
						return
					}
					if !c.send([]push{p}) {
						c.failed.Add(int64(len(c.pushes)))
						return
					}
				default:
					return
				}
			}
		}
		batch := []push{first}
		if first.batch {
		more:
			for len(batch) < 100 {
				select {
				case p := <-c.pushes:
					if p.batch && p.url == first.url {
						batch = append(batch, p)
						continue
					}
					c.send([]push{p})
				default:
					break more
				}
			}
		}
		if d := c.opts.Behavior.ReceiptDelay.D(); d > 0 {
			select {
			case <-time.After(d):
			case <-c.done:
			}
		}
		c.send(batch)
	}
}

// send pushes a batch, retrying briefly (not once Stop was called); it reports
// whether the receiver took it.
func (c *core) send(batch []push) bool {
	p := batch[0]
	body := p.body
	if p.batch {
		var b bytes.Buffer
		b.WriteByte('[')
		for i, q := range batch {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(q.body)
		}
		b.WriteByte(']')
		body = b.Bytes()
	}
	for attempt := 0; attempt < 3; attempt++ {
		req, err := http.NewRequest(http.MethodPost, p.url, bytes.NewReader(body))
		if err != nil {
			break
		}
		for k, v := range p.header {
			req.Header[k] = v
		}
		req.Header.Set("Content-Type", p.ctype)
		resp, err := c.hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				c.pushed.Add(int64(len(batch)))
				return true
			}
			if resp.StatusCode/100 == 4 {
				break // refused: retrying will not help
			}
		}
		select {
		case <-time.After(time.Duration(attempt+1) * 50 * time.Millisecond):
		case <-c.done:
			attempt = 3 // stopping: no retries
		}
	}
	c.failed.Add(int64(len(batch)))
	return false
}

func writeBody(w http.ResponseWriter, status int, ctype string, body []byte) {
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
