package apperr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/apperr"
)

func TestFamily(t *testing.T) {
	errThing := apperr.NotFound("thing not found", "no such thing")
	errOther := apperr.NotFound("other not found", "")
	errDup := apperr.Conflict("thing exists", "")
	errStale := apperr.Conflict("thing changed", "stale")

	wrapped := fmt.Errorf("load 7: %w", errThing)
	require.ErrorIs(t, wrapped, errThing)
	require.ErrorIs(t, wrapped, apperr.ErrNotFound)
	require.NotErrorIs(t, wrapped, errOther, "each domain's sentinel stays its own")
	require.NotErrorIs(t, wrapped, apperr.ErrConflict)
	require.Equal(t, "load 7: thing not found", wrapped.Error())

	e, ok := apperr.As(wrapped)
	require.True(t, ok)
	require.Equal(t, apperr.KindNotFound, e.Kind())
	require.Equal(t, "not_found", e.Code())
	require.Equal(t, "no such thing", e.Said())
	require.Equal(t, "not found", errOther.Said())

	require.Equal(t, "conflict", errDup.Code())
	require.Equal(t, "stale", errStale.Code())
	require.ErrorIs(t, errStale, apperr.ErrConflict)
	require.ErrorIs(t, apperr.Invalid("bad"), apperr.ErrInvalid)
	require.ErrorIs(t, apperr.Forbidden("no"), apperr.ErrForbidden)
	require.Equal(t, "forbidden", apperr.Forbidden("no").Code())

	_, ok = apperr.As(errors.New("plain"))
	require.False(t, ok)
}
