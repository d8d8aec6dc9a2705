package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"runtime/debug"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/term"

	"carillon/internal/audit"
	"carillon/internal/pgdev"
)

// env is what every command gets: output streams, the logger and config from the
// environment.
type env struct {
	stdout, stderr io.Writer
	logger         *slog.Logger
	getenv         func(string) string
	// readPassword asks for a password on the terminal; nil when there is none.
	readPassword func(prompt string) (string, error)
}

func newEnv(stdout, stderr io.Writer, getenv func(string) string) *env {
	level := slog.LevelInfo
	switch strings.ToLower(getenv("CARILLON_LOG_LEVEL")) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	var h slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	if strings.EqualFold(getenv("CARILLON_LOG_FORMAT"), "json") {
		h = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	}
	e := &env{stdout: stdout, stderr: stderr, logger: slog.New(h), getenv: getenv}
	if f, ok := stderr.(*os.File); ok {
		e.readPassword = terminalPassword(f)
	}
	return e
}

// openDB finds (or starts) the database and opens a pool on it.
func (e *env) openDB(ctx context.Context, maxConns int32) (*pgxpool.Pool, pgdev.Server, error) {
	srv, err := pgdev.Find(ctx, pgdev.Config{Env: e.getenv, Logf: func(f string, a ...any) { e.logger.Info(fmt.Sprintf(f, a...)) }})
	if err != nil {
		return nil, srv, err
	}
	cfg, err := pgxpool.ParseConfig(srv.URL)
	if err != nil {
		return nil, srv, fmt.Errorf("DATABASE_URL: %w", err)
	}
	cfg.MaxConns = cmp.Or(maxConns, 20)
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "carillon"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, srv, fmt.Errorf("open database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, srv, fmt.Errorf("connect to the database (%s): %w", srv.Source, err)
	}
	return pool, srv, nil
}

// cliActor names the operator of an administrative command: cli:<os user>.
func cliActor() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return "cli:" + name
}

// osActor is the audit actor of an administrator's CLI command: the operating
// system's user, trusted because they reach the database from the host.
func osActor() audit.Actor {
	return audit.Actor{Name: cliActor(), Auth: audit.AuthOSUser}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return "carillon " + s.Value
			}
		}
	}
	return "carillon (development build)"
}

// newFlags returns a flag set whose errors name the command.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("carillon "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args, allowing flags after positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, &exitError{code: 2, err: errUsage}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
