package edge

import (
	"cmp"
	"context"
	"strings"
	"sync"
	"time"
)

// Sign-in throttle defaults.
const (
	// DefaultFreeFailures is how many wrong passwords one address may give for
	// one login before that pair is locked out.
	DefaultFreeFailures = 5
	// DefaultBaseLockout is the pair's first lockout; each further failure
	// doubles it.
	DefaultBaseLockout = time.Minute
	// DefaultMaxLockout caps a pair's lockout.
	DefaultMaxLockout = time.Hour
	// DefaultLoginFreeFailures is how many wrong passwords a login may get from
	// all addresses together before each attempt at it is delayed.
	DefaultLoginFreeFailures = 20
	// DefaultLoginDelay is the delay per failure beyond DefaultLoginFreeFailures.
	DefaultLoginDelay = 500 * time.Millisecond
	// DefaultLoginMaxDelay caps that delay: a login is slowed, never locked.
	DefaultLoginMaxDelay = 5 * time.Second
	// DefaultForgetAfter is how long failures are remembered after the last.
	DefaultForgetAfter = 24 * time.Hour
	// DefaultLoginWindow is how long a login's failures count towards its delay
	// after the last one.
	DefaultLoginWindow = 15 * time.Minute
)

// ThrottleConfig configures the sign-in throttle.
type ThrottleConfig struct {
	// FreeFailures per (login, address) before a lockout. Default DefaultFreeFailures.
	FreeFailures int
	// BaseLockout is the first lockout, doubled by each further failure.
	// Default DefaultBaseLockout.
	BaseLockout time.Duration
	// MaxLockout caps a lockout. Default DefaultMaxLockout.
	MaxLockout time.Duration
	// LoginFreeFailures per login (any address) before attempts are delayed.
	// Default DefaultLoginFreeFailures.
	LoginFreeFailures int
	// LoginDelay per failure beyond LoginFreeFailures. Default DefaultLoginDelay.
	LoginDelay time.Duration
	// LoginMaxDelay caps the delay. Default DefaultLoginMaxDelay.
	LoginMaxDelay time.Duration
	// LoginWindow: a login's failures are forgotten this long after its last.
	// Default DefaultLoginWindow.
	LoginWindow time.Duration
	// ForgetAfter: a pair's failures are forgotten this long after its last.
	// Default DefaultForgetAfter.
	ForgetAfter time.Duration
}

// WithDefaults returns c with defaults applied.
func (c ThrottleConfig) WithDefaults() ThrottleConfig {
	c.FreeFailures = cmp.Or(c.FreeFailures, DefaultFreeFailures)
	c.BaseLockout = cmp.Or(c.BaseLockout, DefaultBaseLockout)
	c.MaxLockout = cmp.Or(c.MaxLockout, DefaultMaxLockout)
	c.LoginFreeFailures = cmp.Or(c.LoginFreeFailures, DefaultLoginFreeFailures)
	c.LoginDelay = cmp.Or(c.LoginDelay, DefaultLoginDelay)
	c.LoginMaxDelay = cmp.Or(c.LoginMaxDelay, DefaultLoginMaxDelay)
	c.LoginWindow = cmp.Or(c.LoginWindow, DefaultLoginWindow)
	c.ForgetAfter = cmp.Or(c.ForgetAfter, DefaultForgetAfter)
	return c
}

// Throttle counts failed sign-ins per (login, client address) and per login.
// A pair that fails too often is locked out with exponential back-off; a login
// that fails too often from everywhere is only slowed down, so an attacker
// cannot lock its owner out. Kept in memory: per process.
type Throttle struct {
	cfg   ThrottleConfig
	mu    sync.Mutex
	pairs map[string]*pairState
	users map[string]*loginState
}

type pairState struct {
	n       int
	last    time.Time
	locked  time.Time // refused until then
	pending int       // attempts admitted whose outcome is not known yet
	begun   time.Time // when the last of them was admitted
}

// pendingFor is how long an admitted attempt counts as in flight at most
// (a caller that never reported its outcome does not block the pair for ever).
const pendingFor = time.Minute

// busyWait is the Retry-After of an attempt refused because others of the
// same pair are still being checked.
const busyWait = time.Second

type loginState struct {
	n    int
	last time.Time
}

// NewThrottle returns a throttle.
func NewThrottle(cfg ThrottleConfig) *Throttle {
	return &Throttle{cfg: cfg.WithDefaults(), pairs: map[string]*pairState{}, users: map[string]*loginState{}}
}

// Normalize is the key a login is counted under.
func Normalize(login string) string {
	login = strings.ToLower(strings.TrimSpace(login))
	if len(login) > 200 {
		login = login[:200]
	}
	return login
}

func pairKey(login, addr string) string { return Normalize(login) + "\x00" + addr }

// Check says whether an attempt at login from addr may go ahead: locked is how
// long the pair is still refused (0: not), delay how long the attempt must
// wait first because the login is under attack from elsewhere.
//
// An attempt it admits (locked 0) is in flight until the caller reports it
// with Fail, Succeed or Done; attempts in flight count against the pair's free
// failures, so concurrent guesses get no more tries than sequential ones (and
// once the free ones are spent, one at a time).
func (t *Throttle) Check(login, addr string, now time.Time) (locked, delay time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := pairKey(login, addr)
	p := t.pairs[k]
	if p != nil && now.Sub(p.last) >= t.cfg.ForgetAfter && now.Sub(p.begun) >= pendingFor {
		delete(t.pairs, k)
		p = nil
	}
	if p != nil {
		if now.Sub(p.begun) >= pendingFor {
			p.pending = 0
		}
		switch {
		case now.Before(p.locked):
			return p.locked.Sub(now), 0
		case p.pending > 0 && p.n+p.pending > t.cfg.FreeFailures:
			return busyWait, 0
		}
	}
	if u := t.users[Normalize(login)]; u != nil {
		if now.Sub(u.last) >= t.cfg.LoginWindow {
			delete(t.users, Normalize(login))
		} else if over := u.n - t.cfg.LoginFreeFailures; over >= 0 {
			delay = min(t.cfg.LoginMaxDelay, time.Duration(over+1)*t.cfg.LoginDelay)
		}
	}
	if p == nil {
		t.trim(now)
		p = &pairState{}
		t.pairs[k] = p
	}
	p.pending++
	p.begun = now
	return 0, delay
}

// Done reports an admitted attempt that ended with neither a wrong nor a right
// password (the client went away, the store failed).
func (t *Throttle) Done(login, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.pairs[pairKey(login, addr)]; p != nil && p.pending > 0 {
		p.pending--
		if p.n == 0 && p.pending == 0 {
			delete(t.pairs, pairKey(login, addr))
		}
	}
}

// Event is what a failure started, for the audit log.
type Event struct {
	// Failures of the pair (login, address) so far.
	Failures int
	// LockedFor is the lockout this failure started; 0 when none.
	LockedFor time.Duration
	// LockedUntil is when it ends.
	LockedUntil time.Time
	// LoginFailures of the login from every address so far.
	LoginFailures int
	// LoginDelayed is true when this failure made the login's attempts wait.
	LoginDelayed bool
}

// Fail records a wrong password for login from addr.
func (t *Throttle) Fail(login, addr string, now time.Time) Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.trim(now)
	k := pairKey(login, addr)
	p := t.pairs[k]
	if p == nil {
		p = &pairState{}
		t.pairs[k] = p
	}
	if p.n > 0 && now.Sub(p.last) >= t.cfg.ForgetAfter {
		p.n = 0
	}
	if p.pending > 0 {
		p.pending--
	}
	p.n++
	p.last = now
	var ev Event
	ev.Failures = p.n
	if over := p.n - t.cfg.FreeFailures; over > 0 {
		d := t.cfg.MaxLockout
		if over-1 < 30 {
			d = min(d, t.cfg.BaseLockout<<(over-1))
		}
		p.locked = now.Add(d)
		ev.LockedFor, ev.LockedUntil = d, p.locked
	}
	lk := Normalize(login)
	u := t.users[lk]
	if u == nil || now.Sub(u.last) >= t.cfg.LoginWindow {
		u = &loginState{}
		t.users[lk] = u
	}
	u.n++
	u.last = now
	ev.LoginFailures = u.n
	ev.LoginDelayed = u.n == t.cfg.LoginFreeFailures
	return ev
}

// Succeed forgets the failures of login (from every address): its owner has
// proved who they are.
func (t *Throttle) Succeed(login, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.pairs, pairKey(login, addr))
	delete(t.users, Normalize(login))
}

// trim keeps the maps bounded: past 100 000 entries the forgotten ones go,
// and if that is not enough, all of them.
func (t *Throttle) trim(now time.Time) {
	const limit = 100_000
	if len(t.pairs) > limit {
		for k, p := range t.pairs {
			if now.Sub(p.begun) >= pendingFor && (now.Sub(p.last) >= t.cfg.ForgetAfter || (now.After(p.locked) && p.n < t.cfg.FreeFailures)) {
				delete(t.pairs, k)
			}
		}
		if len(t.pairs) > limit {
			t.pairs = map[string]*pairState{}
		}
	}
	if len(t.users) > limit {
		for k, u := range t.users {
			if now.Sub(u.last) >= t.cfg.LoginWindow {
				delete(t.users, k)
			}
		}
		if len(t.users) > limit {
			t.users = map[string]*loginState{}
		}
	}
}

// Wait waits d (none when d <= 0), or until ctx is done.
func Wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
