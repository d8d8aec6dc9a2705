package drill

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A drill whose invariant broke is reported failed, and so is one that
// checked nothing.
func TestDrillResultVerdict(t *testing.T) {
	t.Parallel()
	var r Result
	require.False(t, r.ok(), "no check made: not a pass")
	r.check("a", true, "fine")
	require.True(t, r.ok())
	r.check("b", false, "%d lost", 3)
	require.False(t, r.ok())
	r = Result{}
	r.check("a", true, "fine")
	r.Error = "the server did not start"
	require.False(t, r.ok())
}
