package console

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The caret sits under the column by display width: Chinese characters and
// fullwidth punctuation take two columns, the middle dot (·) and Latin one.
func TestCaretUnderCountsDisplayWidth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		line  string
		col   int
		caret string
	}{
		{"{{.Contact.Nmae}}", 1, "^"},
		{"Dear {{.X}}", 6, "     ^"},
		{"生日快乐，{{.Contact.Nmae}}！", 8, "            ^"}, // 5 wide + "{{"
		{"尊敬的 · {{.Y}}", 6, "        ^"},                // 3 wide, space, narrow dot, space
		{"ＡＢ{{.Z}}", 3, "    ^"},                        // fullwidth Latin
		{"\t您好{{.Z}}", 4, "\t    ^"},                    // a tab is kept
		{"您好", 9, "    ^"},                              // past the end: after the text
	} {
		require.Equal(t, tc.caret, caretUnder(tc.line, tc.col), "%q col %d", tc.line, tc.col)
	}
}
