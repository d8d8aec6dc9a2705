package edge

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/internal/testclock"
)

// The pair (login, address) is locked out with back-off that doubles; the
// login itself is only delayed, so its owner signs in from elsewhere.
func TestThrottleLocksThePairAndOnlyDelaysTheLogin(t *testing.T) {
	t.Parallel()
	now := testclock.Base()
	th := NewThrottle(ThrottleConfig{FreeFailures: 3, BaseLockout: time.Minute, MaxLockout: 10 * time.Minute,
		LoginFreeFailures: 5, LoginDelay: time.Second, LoginMaxDelay: 3 * time.Second})
	for i := range 3 {
		locked, _ := th.Check("Alice", "203.0.113.5", now)
		require.Zero(t, locked, "failure %d is free", i)
		require.Zero(t, th.Fail("alice", "203.0.113.5", now).LockedFor)
	}
	var locks []time.Duration
	for range 5 {
		ev := th.Fail("alice", "203.0.113.5", now)
		locks = append(locks, ev.LockedFor)
		locked, _ := th.Check("alice", "203.0.113.5", now)
		require.Equal(t, ev.LockedFor, locked)
		now = ev.LockedUntil // waits out the lock, then tries again
	}
	require.Equal(t, []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 10 * time.Minute}, locks)

	// The owner, from another address, is not locked but delayed; so is any
	// address, and never by more than the cap.
	locked, delay := th.Check("alice", "198.51.100.7", now)
	require.Zero(t, locked)
	require.Equal(t, 3*time.Second, delay)
	// Another login from the attacker's address is untouched.
	locked, delay = th.Check("bob", "203.0.113.5", now)
	require.Zero(t, locked)
	require.Zero(t, delay)

	// Success from the owner's address forgets the login's count but the
	// attacker's pair stays locked.
	ev := th.Fail("alice", "203.0.113.5", now)
	th.Succeed("alice", "198.51.100.7")
	locked, delay = th.Check("alice", "203.0.113.5", now)
	require.Equal(t, ev.LockedFor, locked)
	require.Zero(t, delay)

	// A day later everything is forgotten.
	locked, _ = th.Check("alice", "203.0.113.5", now.Add(DefaultForgetAfter))
	require.Zero(t, locked)
}

func TestThrottleSaysWhenTheLoginStartsToBeDelayed(t *testing.T) {
	t.Parallel()
	now := testclock.Base()
	th := NewThrottle(ThrottleConfig{LoginFreeFailures: 3})
	var delayed []bool
	for i := range 4 {
		delayed = append(delayed, th.Fail("alice", "203.0.113."+string(rune('1'+i)), now).LoginDelayed)
	}
	require.Equal(t, []bool{false, false, true, false}, delayed)
}
