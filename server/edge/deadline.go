package edge

import (
	"cmp"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Read timeout defaults, per route class.
const (
	// DefaultReadHeaderTimeout bounds a request's headers (every route).
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultBodyTimeout bounds the body of a JSON API call, a console form or
	// a River UI call, from the end of the headers.
	DefaultBodyTimeout = 15 * time.Second
	// DefaultWebhookTimeout bounds a provider's webhook body (/hooks/).
	DefaultWebhookTimeout = 10 * time.Second
	// DefaultImportTimeout bounds a whole streaming upload (CSV imports).
	DefaultImportTimeout = 30 * time.Minute
	// DefaultImportIdleTimeout bounds the wait for an upload's next bytes.
	DefaultImportIdleTimeout = time.Minute
	// DefaultMaxUploads is how many streaming uploads run at once.
	DefaultMaxUploads = 4
)

// Timeouts configures the read deadlines of each route class.
type Timeouts struct {
	// ReadHeader bounds the headers. Default DefaultReadHeaderTimeout.
	ReadHeader time.Duration
	// Body bounds a JSON API, console or River UI body. Default DefaultBodyTimeout.
	Body time.Duration
	// Webhook bounds a /hooks/ body. Default DefaultWebhookTimeout.
	Webhook time.Duration
	// Import bounds a streaming upload as a whole. Default DefaultImportTimeout.
	Import time.Duration
	// ImportIdle bounds the pause between an upload's reads. Default
	// DefaultImportIdleTimeout.
	ImportIdle time.Duration
	// MaxUploads caps concurrent streaming uploads; more are refused (503).
	// Default DefaultMaxUploads.
	MaxUploads int
}

// WithDefaults returns t with defaults applied.
func (t Timeouts) WithDefaults() Timeouts {
	t.ReadHeader = cmp.Or(t.ReadHeader, DefaultReadHeaderTimeout)
	t.Body = cmp.Or(t.Body, DefaultBodyTimeout)
	t.Webhook = cmp.Or(t.Webhook, DefaultWebhookTimeout)
	t.Import = cmp.Or(t.Import, DefaultImportTimeout)
	t.ImportIdle = cmp.Or(t.ImportIdle, DefaultImportIdleTimeout)
	t.MaxUploads = cmp.Or(t.MaxUploads, DefaultMaxUploads)
	return t
}

// Deadlines sets every request's read deadline by its route class before any
// handler runs: an unauthenticated client cannot hold a connection by
// dripping a body, neither while a handler reads it nor while the server
// drains what the handler left. A streaming upload gets more time only once
// its handler calls Uploads.Stream (after authentication).
func (t Timeouts) Deadlines(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			// No body: the headers were bounded. A deadline now would only
			// cut the server's watch for a client that goes away.
			next.ServeHTTP(w, r)
			return
		}
		d := t.Body
		if strings.HasPrefix(r.URL.Path, "/hooks/") {
			d = t.Webhook
		}
		rc := http.NewResponseController(w)
		// Not every writer reaches a connection (tests' recorders): nothing to bound then.
		if rc.SetReadDeadline(time.Now().Add(d)) == nil {
			r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		}
		next.ServeHTTP(w, r)
	})
}

// ErrBusy is returned by Uploads.Stream when MaxUploads run already.
var ErrBusy = errors.New("too many uploads at once")

// Uploads admits streaming uploads, at most MaxUploads at once.
type Uploads struct {
	t   Timeouts
	sem chan struct{}
}

// NewUploads returns the admission of uploads under t.
func NewUploads(t Timeouts) *Uploads {
	t = t.WithDefaults()
	return &Uploads{t: t, sem: make(chan struct{}, t.MaxUploads)}
}

// Stream admits r's body as a streaming upload: it may take Import as a whole,
// with at most ImportIdle between reads. release must be called when the
// handler is done; ErrBusy when too many uploads run.
func (u *Uploads) Stream(w http.ResponseWriter, r *http.Request) (release func(), err error) {
	select {
	case u.sem <- struct{}{}:
	default:
		return nil, ErrBusy
	}
	var once sync.Once
	release = func() { once.Do(func() { <-u.sem }) }
	rc := http.NewResponseController(w)
	end := time.Now().Add(u.t.Import)
	first := time.Now().Add(u.t.ImportIdle)
	if first.After(end) {
		first = end
	}
	_ = rc.SetReadDeadline(first)
	r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc, end: end, idle: u.t.ImportIdle}
	return release, nil
}

// deadlineBody lifts the read deadline once the body has been read (the
// server then only watches for the client going away, and a handler's work
// after reading is bounded by its context, not the connection). With idle set
// it moves the deadline on before every read: idle from now, never past end.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	end  time.Time
	idle time.Duration
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.idle > 0 {
		d := time.Now().Add(b.idle)
		if d.After(b.end) {
			d = b.end
		}
		_ = b.rc.SetReadDeadline(d)
	}
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// IsTimeout reports whether err is a read that hit its deadline.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
