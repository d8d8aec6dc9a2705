package console

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNumAndMoney(t *testing.T) {
	for in, want := range map[any]string{0: "0", 999: "999", 1000: "1,000", int64(8441): "8,441", -1234567: "-1,234,567", int64(100000): "100,000", "x": "x"} {
		require.Equal(t, want, num(in), "%v", in)
	}
	require.Equal(t, "¥3,235,000", money(3235000, "en"))
	require.Equal(t, "¥3,235,000（323.5 万）", money(3235000, "zh"))
	require.Equal(t, "¥1,250,000.50（125 万）", money(1250000.50, "zh"))
	require.Equal(t, "¥900", money(900, "zh"))
	require.Equal(t, "12,345.678", decimal("12345.678"))
	require.Equal(t, "tel:+8613812345671", string(tel("+86 138 1234 5671")))
	require.Empty(t, tel("138****5671"), "a masked number gets no link")
}
