package console_test

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/contacts"
	"carillon/internal/audit"
)

// The contacts export: every match as CSV for those allowed, formula-like
// cells defused, one audit row.
func TestContactsExportCSV(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	name := "=HYPERLINK(1)"
	_, err := w.contacts.Update(w.ctx, audit.Actor{Name: "test"}, w.cid["K1"], contacts.Input{Name: &name})
	require.NoError(t, err)
	ad := w.signedIn(t, "admin")
	list := ad.getOK(Prefix + "/contacts")
	require.Contains(t, list.body, `id="export-csv"`)
	res := ad.get(Prefix + "/contacts/export.csv?all=1")
	require.Equal(t, http.StatusOK, res.status, res.body)
	require.Equal(t, "text/csv; charset=utf-8", res.header.Get("Content-Type"))
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(res.body, "\ufeff"))).ReadAll()
	require.NoError(t, err)
	require.Contains(t, rows[0][0], "external_id")
	require.Len(t, rows, 1+len(w.cid))
	found := false
	for _, r := range rows[1:] {
		if r[0] == "K1" {
			found = true
			require.Equal(t, "'"+name, r[1], "a formula is prefixed")
		}
	}
	require.True(t, found)
	recs, _, err := audit.List(w.ctx, w.db.Pool, audit.Filter{Action: "contacts.export_list"})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, "console:admin", recs[0].Actor)

	// A marketer exports too, personal data masked as their list shows it.
	mk := w.signedIn(t, "marketer")
	require.Contains(t, mk.getOK(Prefix+"/contacts").body, `id="export-csv"`)
	res = mk.get(Prefix + "/contacts/export.csv?all=1")
	require.Equal(t, http.StatusOK, res.status, res.body)
	require.NotContains(t, res.body, "13812345671")
	require.NotContains(t, res.body, "zhang@example.com")
	rows, err = csv.NewReader(strings.NewReader(strings.TrimPrefix(res.body, "\ufeff"))).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+len(w.cid))
	for _, r := range rows[1:] {
		if r[0] == "K1" {
			require.True(t, strings.HasSuffix(r[2], "5671"), "the phone's last four stay: %q", r[2])
		}
	}

	// Approvers, auditors and managers take no list away.
	for _, login := range []string{"approver", "auditor", "lead"} {
		b := w.signedIn(t, login)
		require.NotContains(t, b.getOK(Prefix+"/contacts").body, `id="export-csv"`, login)
		require.Equal(t, http.StatusForbidden, b.get(Prefix+"/contacts/export.csv").status, login)
	}
}
