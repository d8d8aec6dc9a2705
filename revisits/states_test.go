package revisits_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/pgtest"
	"carillon/revisits"
)

// The Go feedback states are the set the SQL CHECK on feedback.state allows.
func TestFeedbackStatesAreTheSQLCheck(t *testing.T) {
	t.Parallel()
	pgtest.RequireCheck(t, pgtest.New(t), "feedback", "state", revisits.States)
}

// A feedback record's state moves forward only, and never from resolved.
func TestFeedbackStateMoves(t *testing.T) {
	t.Parallel()
	require.True(t, revisits.StateOpen.CanBecome(revisits.StateInProgress))
	require.True(t, revisits.StateOpen.CanBecome(revisits.StateResolved))
	require.True(t, revisits.StateInProgress.CanBecome(revisits.StateResolved))
	require.False(t, revisits.StateInProgress.CanBecome(revisits.StateOpen))
	require.False(t, revisits.StateResolved.CanBecome(revisits.StateResolved))
	require.False(t, revisits.StateResolved.CanBecome(revisits.StateOpen))
}
