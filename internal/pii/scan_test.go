package pii_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/pii"
	"carillon/internal/testlog"
)

func TestScanFindsUnmaskedDataOnly(t *testing.T) {
	t.Parallel()
	log := strings.Join([]string{
		`level=INFO msg=sent phone=138****5678 email=z***@example.com openid=oAbC****wXyZ`,
		`level=ERROR msg="send failed" phone=+8613812345678`,
		`level=ERROR msg="bounce" to=zhang.wei@example.com`,
		`level=WARN openid=oAbCdEfGhIjKlMnOpQrStUvWxYz1 id=1234567890123`,
		`level=INFO msg=ok count=13812 took=1.38123456789s`,
		`level=WARN msg="webhook refused" reason="malformed MIME header line: call 138-1234-5678"`,
		`level=WARN msg="send failed" error="smtp: 550 <li.na@example.cn> rejected, sms +1 415 555 2671"`,
		`level=INFO at="2026-11-30 10:00:00" code="5.1.1" masked=+1415***2671 hit="+86 138****5678"`,
	}, "\n")
	got, err := pii.Scan(strings.NewReader(log))
	require.NoError(t, err)
	require.Equal(t, []pii.Finding{
		{Line: 2, Kind: "phone", Text: "138****5678"},
		{Line: 3, Kind: "email", Text: "z***@example.com"},
		{Line: 4, Kind: "openid", Text: pii.OpenID("oAbCdEfGhIjKlMnOpQrStUvWxYz1")},
		{Line: 6, Kind: "phone", Text: "+1381***5678"},
		{Line: 7, Kind: "phone", Text: "+1415***2671"},
		{Line: 7, Kind: "email", Text: "l***@example.cn"},
	}, got)
}

// TestLogsHaveNoPersonalData scans the logs kept by a full test run (make test sets
// CARILLON_TEST_LOGS for the run, then runs this test with CARILLON_SCAN_LOGS=1).
func TestLogsHaveNoPersonalData(t *testing.T) {
	if os.Getenv("CARILLON_SCAN_LOGS") == "" {
		t.Skip("run by make test after the whole suite (CARILLON_SCAN_LOGS=1)")
	}
	dir := os.Getenv(testlog.EnvDir)
	require.NotEmpty(t, dir, "CARILLON_TEST_LOGS names the logs to scan")
	files, err := filepath.Glob(filepath.Join(dir, "*.log"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "the test run kept no logs in %s", dir)
	var lines int
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		lines += strings.Count(string(data), "\n")
		found, err := pii.Scan(strings.NewReader(string(data)))
		require.NoError(t, err)
		for _, fnd := range found {
			t.Errorf("%s:%d: unmasked %s (%s)", filepath.Base(f), fnd.Line, fnd.Kind, fnd.Text)
		}
	}
	require.Greater(t, lines, 0, "the kept logs are empty")
	t.Logf("scanned %d files, %d lines", len(files), lines)
}
