package delivery_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/delivery"
)

// A view of a row stored before receipts were masked is masked for roles that may
// not read personal data; the original view is left as it was.
func TestMessageViewMasked(t *testing.T) {
	t.Parallel()
	m := delivery.MessageView{Reason: "permanent: smtp 550 <li.na@example.cn>",
		Receipts: []delivery.ReceiptView{{Status: "failed", Code: "5.1.1", Detail: "smtp; 550 <li.na@example.cn> owner 13812345678"}}}
	got := m.Masked()
	require.Equal(t, "permanent: smtp 550 <l***@example.cn>", got.Reason)
	require.Equal(t, "smtp; 550 <l***@example.cn> owner 138****5678", got.Receipts[0].Detail)
	require.Equal(t, "5.1.1", got.Receipts[0].Code)
	require.Contains(t, m.Receipts[0].Detail, "li.na@example.cn", "the original is not changed")
}
