// Package testlog gives tests a logger whose output is kept for the personal-data
// scan: when CARILLON_TEST_LOGS names a directory, every line is also appended to a
// file there, and `make test` ends by scanning those files for unmasked phone
// numbers, emails and openids (internal/pii's TestLogsHaveNoPersonalData).
package testlog

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// EnvDir names the directory test logs are kept in.
const EnvDir = "CARILLON_TEST_LOGS"

var (
	mu   sync.Mutex
	file *os.File
)

func sink() io.Writer {
	mu.Lock()
	defer mu.Unlock()
	if file != nil {
		return file
	}
	dir := os.Getenv(EnvDir)
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(dir, filepath.Base(os.Args[0])+"-"+strconv.Itoa(os.Getpid())+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil
	}
	file = f
	return f
}

type lockedWriter struct {
	w io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	mu.Lock()
	defer mu.Unlock()
	return l.w.Write(p)
}

// New returns a debug-level logger writing to the kept log file (nothing when
// CARILLON_TEST_LOGS is unset). It does not write to t.Log: servers log from
// goroutines that may outlive the test.
func New(t testing.TB) *slog.Logger {
	t.Helper()
	return slog.New(slog.NewTextHandler(Writer(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Writer returns a writer to the kept log file (or io.Discard), for a process's
// whole stderr.
func Writer() io.Writer {
	if f := sink(); f != nil {
		return lockedWriter{f}
	}
	return io.Discard
}
