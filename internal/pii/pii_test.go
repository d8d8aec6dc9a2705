package pii_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/pgtest"
	"carillon/internal/pii"
)

func TestMasks(t *testing.T) {
	t.Parallel()
	require.Equal(t, "138****5678", pii.Phone("+8613812345678"))
	require.Equal(t, "+1415***2671", pii.Phone("+14155552671"))
	// Any length: at most eight digits show.
	require.Equal(t, "+1234********3456", pii.Phone("+1234567890123456"))
	require.Equal(t, "+***4567", pii.Phone("1234567"))
	require.Equal(t, "*****", pii.Phone("12345"))
	require.Equal(t, "z***@example.com", pii.Email("zhang.wei@example.com"))
	require.Equal(t, "***", pii.Email("@x"))
	require.Equal(t, "oAbC****wXyZ", pii.OpenID("oAbC1234567890123456789wXyZ"))
	require.Equal(t, "5678", pii.Tail("+8613812345678"))
}

// The database masks with SQL functions (timeline events are built set-based);
// they must agree with the Go masks.
func TestSQLMasksAgreeWithGo(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	for _, p := range []string{"+8613812345678", "+14155552671", "+442079460123", "12345", "", "+85291234567", "+1234567890123456", "1234567", "+861381234567899"} {
		var got *string
		require.NoError(t, db.Pool.QueryRow(ctx, `SELECT carillon_mask_phone($1)`, p).Scan(&got))
		require.Equal(t, pii.Phone(p), *got, p)
	}
	for _, e := range []string{"zhang.wei@example.com", "a@b.cn", "@x", ""} {
		var got string
		require.NoError(t, db.Pool.QueryRow(ctx, `SELECT carillon_mask_email($1)`, e).Scan(&got))
		require.Equal(t, pii.Email(e), got, e)
	}
	for _, o := range []string{"oAbC1234567890123456789wXyZ", "short", ""} {
		var got string
		require.NoError(t, db.Pool.QueryRow(ctx, `SELECT carillon_mask_openid($1)`, o).Scan(&got))
		require.Equal(t, pii.OpenID(o), got, o)
	}
}
