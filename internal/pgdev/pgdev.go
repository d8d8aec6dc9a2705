// Package pgdev finds a development Postgres, or starts one, so that `make demo`,
// `make test` and CI need no manual database step.
//
// The order is:
//  1. DATABASE_URL, when set, is used as it is.
//  2. A server answering on 127.0.0.1:5432 (trust auth, user postgres) is used, and
//     the database the caller asks for is created on it when missing.
//  3. A private cluster under <state dir>/pg is created with Debian's initdb and
//     started with pg_ctl on a free loopback port. Both refuse to run as root, so
//     when we are root they run as the postgres user through runuser. When the
//     binaries are missing and we are root, the postgresql package is installed
//     with apt-get.
//
// When none of this is possible, the error says what to do in one paragraph.
package pgdev

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultLocalAddr is where a machine's own Postgres usually answers.
const DefaultLocalAddr = "127.0.0.1:5432"

// Config says where to look. Every field has a default.
type Config struct {
	// Database is the database name to use on a found or started server.
	// Default "carillon".
	Database string
	// StateDir holds the private cluster (StateDir/pg). Default: $CARILLON_STATE_DIR,
	// else .carillon in the nearest directory above the working directory that holds
	// Carillon's go.mod, else .carillon in the working directory.
	StateDir string
	// LocalAddr is the address of a machine-wide server to try. Default DefaultLocalAddr;
	// "-" skips it.
	LocalAddr string
	// Env looks up environment variables. Default os.Getenv.
	Env func(string) string
	// Logf reports what was done (a server started, a package installed). Default: nothing.
	Logf func(format string, args ...any)
}

// WithDefaults returns the config with defaults applied.
func (c Config) WithDefaults() Config {
	if c.Env == nil {
		c.Env = os.Getenv
	}
	if c.Database == "" {
		c.Database = "carillon"
	}
	if c.LocalAddr == "" {
		c.LocalAddr = DefaultLocalAddr
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir(c.Env)
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	return c
}

// DefaultStateDir is where local state (the private cluster) lives.
func DefaultStateDir(env func(string) string) string {
	if env == nil {
		env = os.Getenv
	}
	if d := env("CARILLON_STATE_DIR"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return ".carillon"
	}
	for dir := wd; ; {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module carillon\n")) {
			return filepath.Join(dir, ".carillon")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return filepath.Join(wd, ".carillon")
}

// Source says how the server was found.
type Source string

const (
	SourceEnv     Source = "DATABASE_URL"
	SourceLocal   Source = "local server"
	SourcePrivate Source = "private cluster"
)

// Server is a reachable Postgres.
type Server struct {
	// URL names Config.Database on the server (or DATABASE_URL as given).
	URL    string
	Source Source
}

// AdminURL returns the URL of the server's maintenance database (postgres), used to
// create and drop databases.
func (s Server) AdminURL() string { return WithDatabase(s.URL, "postgres") }

// WithDatabase returns url with its database name replaced.
func WithDatabase(raw, db string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// keyword/value form: replace or add dbname
		fields := strings.Fields(raw)
		out := fields[:0]
		for _, f := range fields {
			if !strings.HasPrefix(f, "dbname=") {
				out = append(out, f)
			}
		}
		return strings.Join(append(out, "dbname="+db), " ")
	}
	u.Path = "/" + db
	return u.String()
}

// Find returns a server, starting a private cluster when nothing else answers.
// The database named in the config exists on the returned server.
func Find(ctx context.Context, cfg Config) (Server, error) {
	cfg = cfg.WithDefaults()
	if u := cfg.Env("DATABASE_URL"); u != "" {
		return Server{URL: u, Source: SourceEnv}, nil
	}
	if s, ok, err := findLocal(ctx, cfg); ok || err != nil {
		return s, err
	}
	return startPrivate(ctx, cfg, filepath.Join(cfg.StateDir, "pg"))
}

// FindForTests returns the server the test suite uses: DATABASE_URL when set, else
// a private cluster of the tests' own (TestClusterDir: in memory where the machine
// has /dev/shm, for databases made and dropped by the hundred are cheap there),
// else — no PostgreSQL binaries and no way to install them — the machine's own
// server when one answers on LocalAddr.
func FindForTests(ctx context.Context, cfg Config) (Server, error) {
	cfg = cfg.WithDefaults()
	if u := cfg.Env("DATABASE_URL"); u != "" {
		return Server{URL: u, Source: SourceEnv}, nil
	}
	s, err := startPrivate(ctx, cfg, TestClusterDir(cfg.StateDir))
	if err == nil {
		return s, nil
	}
	if s, ok, lerr := findLocal(ctx, cfg); ok && lerr == nil {
		cfg.Logf("no private test cluster (%v): using the server on %s", err, cfg.LocalAddr)
		return s, nil
	}
	return Server{}, err
}

// TestClusterDir is where the tests' private cluster lives: /dev/shm/carillon-test-<uid>
// when /dev/shm is there (one cluster for every checkout of this user; each
// schema's template is its own database), else stateDir/pg-test.
func TestClusterDir(stateDir string) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return filepath.Join("/dev/shm", fmt.Sprintf("carillon-test-%d", os.Getuid()))
	}
	return filepath.Join(stateDir, "pg-test")
}

// findLocal reports the machine's own server on cfg.LocalAddr when it answers.
func findLocal(ctx context.Context, cfg Config) (Server, bool, error) {
	if cfg.LocalAddr == "-" {
		return Server{}, false, nil
	}
	u := fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", cfg.LocalAddr, cfg.Database)
	if ping(ctx, WithDatabase(u, "postgres")) != nil {
		return Server{}, false, nil
	}
	if err := EnsureDatabase(ctx, WithDatabase(u, "postgres"), cfg.Database); err != nil {
		return Server{}, true, err
	}
	return Server{URL: u, Source: SourceLocal}, true, nil
}

// startPrivate starts (creating when needed) the private cluster in dir.
func startPrivate(ctx context.Context, cfg Config, dir string) (Server, error) {
	c := Cluster{Dir: dir, Logf: cfg.Logf}
	u, err := c.Start(ctx)
	if err != nil {
		return Server{}, err
	}
	if err := EnsureDatabase(ctx, WithDatabase(u, "postgres"), cfg.Database); err != nil {
		return Server{}, err
	}
	return Server{URL: WithDatabase(u, cfg.Database), Source: SourcePrivate}, nil
}

func ping(ctx context.Context, u string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.Ping(ctx)
}

// EnsureDatabase creates database db through the maintenance connection adminURL
// when it does not exist. Two callers racing both succeed.
func EnsureDatabase(ctx context.Context, adminURL, db string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to create database %s: %w", db, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, db).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", db, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
		if strings.Contains(err.Error(), "already exists") {
			return nil
		}
		return fmt.Errorf("create database %s: %w", db, err)
	}
	return nil
}

// Cluster is a private Postgres cluster in a directory of ours.
type Cluster struct {
	Dir  string // holds data/, port, log and the socket directory
	Logf func(format string, args ...any)
	// Port to listen on; 0 picks a free loopback port the first time and keeps it.
	Port int
}

// ErrNoPostgres explains what to do when no Postgres can be found or started.
var ErrNoPostgres = errors.New("no PostgreSQL could be found or started: set DATABASE_URL to a server where this user may create databases " +
	"(for example postgres://postgres@127.0.0.1:5432/carillon?sslmode=disable), or install PostgreSQL 14 or newer " +
	"(Debian: apt-get install postgresql) so that Carillon can start a private cluster under .carillon/pg, " +
	"or start a server answering on 127.0.0.1:5432 with trust authentication for the postgres user")

// Start initialises the cluster when needed, starts it when it is not running, and
// returns the URL of its postgres database. Concurrent callers (test binaries of
// several packages) are serialised by a lock file.
func (c *Cluster) Start(ctx context.Context) (string, error) {
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", c.Dir, err)
	}
	unlock, err := lockFile(filepath.Join(c.Dir, "lock"))
	if err != nil {
		return "", err
	}
	defer unlock()

	bin, err := binDir(c.Logf)
	if err != nil {
		return "", err
	}
	port, err := c.port()
	if err != nil {
		return "", err
	}
	u := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	if ping(ctx, u) == nil {
		return u, nil
	}
	data := filepath.Join(c.Dir, "data")
	sock := filepath.Join(c.Dir, "sock")
	if err := os.MkdirAll(sock, 0o755); err != nil {
		return "", err
	}
	runAs, err := runner()
	if err != nil {
		return "", err
	}
	if runAs != "" {
		// The cluster's files must belong to the user that runs it.
		if err := chownTree(c.Dir, runAs); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		c.Logf("creating a private PostgreSQL cluster in %s", data)
		if out, err := command(ctx, runAs, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
			"--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync").CombinedOutput(); err != nil {
			return "", fmt.Errorf("initdb %s: %w: %s", data, err, bytes.TrimSpace(out))
		}
	}
	c.Logf("starting the private PostgreSQL cluster on 127.0.0.1:%d", port)
	// A development cluster: nothing in it needs to survive a crash of the machine.
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off -c full_page_writes=off -c max_wal_size=512MB -c max_connections=300 -c shared_buffers=256MB", port, sock)
	if out, err := command(ctx, runAs, filepath.Join(bin, "pg_ctl"), "-D", data, "-l", filepath.Join(c.Dir, "log"),
		"-o", opts, "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		return "", fmt.Errorf("pg_ctl start (log in %s): %w: %s", filepath.Join(c.Dir, "log"), err, bytes.TrimSpace(out))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := ping(ctx, u); err == nil {
			return u, nil
		} else if time.Now().After(deadline) {
			return "", fmt.Errorf("private cluster did not answer on port %d: %w", port, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop stops the cluster (fast mode) when it runs.
func (c *Cluster) Stop(ctx context.Context) error {
	bin, err := binDir(func(string, ...any) {})
	if err != nil {
		return err
	}
	runAs, err := runner()
	if err != nil {
		return err
	}
	out, err := command(ctx, runAs, filepath.Join(bin, "pg_ctl"), "-D", filepath.Join(c.Dir, "data"), "-m", "fast", "-w", "stop").CombinedOutput()
	if err != nil && !strings.Contains(string(out), "not running") && !strings.Contains(string(out), "No such file") {
		return fmt.Errorf("pg_ctl stop: %w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

func (c *Cluster) port() (int, error) {
	if c.Port != 0 {
		return c.Port, nil
	}
	pf := filepath.Join(c.Dir, "port")
	if b, err := os.ReadFile(pf); err == nil {
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && p > 0 {
			c.Port = p
			return p, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	if err := os.WriteFile(pf, []byte(strconv.Itoa(p)+"\n"), 0o644); err != nil {
		return 0, err
	}
	c.Port = p
	return p, nil
}

// binDir finds Debian's PostgreSQL binaries, installing them when we are root.
func binDir(logf func(string, ...any)) (string, error) {
	if d := findBin(); d != "" {
		return d, nil
	}
	if os.Geteuid() != 0 {
		return "", ErrNoPostgres
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "", ErrNoPostgres
	}
	logf("installing the postgresql package with apt-get")
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "postgresql"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("apt-get %s: %w: %s\n%w", args[0], err, tail(out), ErrNoPostgres)
		}
	}
	if d := findBin(); d != "" {
		return d, nil
	}
	return "", ErrNoPostgres
}

func findBin() string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(matches, func(i, j int) bool { return versionOf(matches[i]) > versionOf(matches[j]) })
	if len(matches) > 0 {
		return filepath.Dir(matches[0])
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

func versionOf(path string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return v
}

// runner returns the user to run initdb and pg_ctl as: "" for ourselves, "postgres"
// when we are root.
func runner() (string, error) {
	if os.Geteuid() != 0 {
		return "", nil
	}
	if _, err := user.Lookup("postgres"); err != nil {
		return "", fmt.Errorf("running as root and no postgres user exists to run the cluster: %w", ErrNoPostgres)
	}
	return "postgres", nil
}

func command(ctx context.Context, runAs, name string, args ...string) *exec.Cmd {
	if runAs == "" {
		return exec.CommandContext(ctx, name, args...)
	}
	return exec.CommandContext(ctx, "runuser", append([]string{"-u", runAs, "--", name}, args...)...)
}

func chownTree(dir, login string) error {
	u, err := user.Lookup(login)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	// The user must also be able to reach the directory through its parents.
	for d := filepath.Dir(dir); d != "/" && d != "."; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
			_ = os.Chmod(d, fi.Mode().Perm()|0o001)
		}
	}
	return filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == uid {
			return nil
		}
		return os.Lchown(p, uid, gid)
	})
}

func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func tail(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 400 {
		b = b[len(b)-400:]
	}
	return string(b)
}
