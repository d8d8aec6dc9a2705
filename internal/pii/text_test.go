package pii_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/pii"
)

func TestTextMasksPersonalDataInFreeText(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"smtp; 550 5.1.1 <zhang.wei@example.com>: Recipient address rejected",
			"smtp; 550 5.1.1 <z***@example.com>: Recipient address rejected"},
		{"malformed MIME header line: call me 138-1234-5678 please", "malformed MIME header line: call me 138****5678 please"},
		{"to +86 138 1234 5678 and 13912345678.", "to 138****5678 and 139****5678."},
		{"twilio: +14155552671 is not a mobile", "twilio: +1415***2671 is not a mobile"},
		{"fixed line 021-6234 5678", "fixed line +0216***5678"},
		{"openid oAbCdEfGhIjKlMnOpQrStUvWxYz1 blocked us", "openid oAbC****xYz1 blocked us"},
		// left alone: short numbers, codes, dates, digits inside longer tokens
		{"errcode=43004 status 5.2.1 at 2026-11-30 10:00:00 id msg_0102018f1234567abc",
			"errcode=43004 status 5.2.1 at 2026-11-30 10:00:00 id msg_0102018f1234567abc"},
		{"", ""},
	}
	for _, c := range cases {
		got := pii.Text(c.in)
		require.Equal(t, c.want, got, c.in)
		require.Equal(t, got, pii.Text(got), "masking twice changes nothing: %s", got)
		found, err := pii.Scan(strings.NewReader(got))
		require.NoError(t, err)
		require.Empty(t, found, got)
	}
}
