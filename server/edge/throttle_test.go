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

// Guesses sent at once get no more tries than guesses sent one after another:
// attempts in flight count, and past the free failures only one runs at a time.
func TestThrottleCountsAttemptsInFlight(t *testing.T) {
	t.Parallel()
	now := testclock.Base()
	th := NewThrottle(ThrottleConfig{FreeFailures: 2})
	admitted := 0
	for range 10 {
		if locked, _ := th.Check("alice", "203.0.113.5", now); locked == 0 {
			admitted++
		}
	}
	require.Equal(t, 3, admitted, "the free failures and the one that locks")
	for range admitted {
		th.Fail("alice", "203.0.113.5", now)
	}
	locked, _ := th.Check("alice", "203.0.113.5", now)
	require.Equal(t, time.Minute, locked)
	// An attempt that ended otherwise (the client left) frees its place.
	now = now.Add(time.Minute)
	locked, _ = th.Check("alice", "203.0.113.5", now)
	require.Zero(t, locked)
	locked, _ = th.Check("alice", "203.0.113.5", now)
	require.NotZero(t, locked, "one at a time once the free failures are spent")
	th.Done("alice", "203.0.113.5")
	locked, _ = th.Check("alice", "203.0.113.5", now)
	require.Zero(t, locked)
	// A caller that never reports does not block the pair for ever.
	locked, _ = th.Check("alice", "203.0.113.5", now.Add(2*time.Minute))
	require.Zero(t, locked)
}
