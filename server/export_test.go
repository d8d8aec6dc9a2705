package server_test

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The export route answers JSON by default and with ?format=json, a ZIP of
// CSV files with ?format=zip (one per section, a header row each, the rows
// of the JSON), and refuses any other format.
func TestExportFormats(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	js := w.do(t, "GET", w.path("/api/contacts/{K1}/export?format=json"), "", nil)
	require.Equal(t, 200, js.status, string(js.body))
	var doc map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(js.body, &doc))
	var timeline []map[string]any
	require.NoError(t, json.Unmarshal(doc["timeline"], &timeline))
	require.NotEmpty(t, timeline)

	z := w.do(t, "GET", w.path("/api/contacts/{K1}/export?format=zip"), "", nil)
	require.Equal(t, 200, z.status, string(z.body))
	zr, err := zip.NewReader(bytes.NewReader(z.body), int64(len(z.body)))
	require.NoError(t, err)
	got := map[string]int{}
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff")))).ReadAll()
		require.NoError(t, err)
		got[strings.TrimSuffix(f.Name, ".csv")] = len(recs) - 1
	}
	require.Equal(t, 1, got["contact"])
	require.Equal(t, len(timeline), got["timeline"])
	require.Contains(t, got, "consents")

	require.Equal(t, 400, w.do(t, "GET", w.path("/api/contacts/{K1}/export?format=xml"), "", nil).status)
}
