package channels

import (
	"context"
	"math"
	"sync"
	"time"
)

// Limiter is a token bucket: rate tokens per second, up to burst. A nil or unlimited
// Limiter never waits. It is safe for concurrent use.
type Limiter struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

// NewLimiter returns a token bucket of rate msgs/s and the given burst (at least 1).
// rate <= 0 means unlimited. now is the clock (time.Now when nil).
func NewLimiter(rate float64, burst int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	b := math.Max(1, float64(burst))
	return &Limiter{rate: rate, burst: b, tokens: b, last: now(), now: now}
}

// Rate returns the limiter's rate in messages per second (0: unlimited).
func (l *Limiter) Rate() float64 {
	if l == nil {
		return 0
	}
	return l.rate
}

func (l *Limiter) refill(now time.Time) {
	if el := now.Sub(l.last).Seconds(); el > 0 {
		l.tokens = math.Min(l.burst, l.tokens+el*l.rate)
		l.last = now
	}
}

// Allow takes a token if one is available now.
func (l *Limiter) Allow() bool {
	if l == nil || l.rate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill(l.now())
	if l.tokens >= 1 {
		l.tokens--
		return true
	}
	return false
}

// Reserve takes a token and returns how long the caller must wait before using it.
func (l *Limiter) Reserve() time.Duration {
	if l == nil || l.rate <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill(l.now())
	l.tokens--
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens / l.rate * float64(time.Second))
}

// Cancel gives back a token taken by Reserve that will not be used.
func (l *Limiter) Cancel() {
	if l == nil || l.rate <= 0 {
		return
	}
	l.mu.Lock()
	l.tokens = math.Min(l.burst, l.tokens+1)
	l.mu.Unlock()
}

// Wait blocks until a token is available or ctx is done.
func (l *Limiter) Wait(ctx context.Context) error {
	d := l.Reserve()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		l.Cancel()
		return ctx.Err()
	}
}
