package pgdev_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"carillon/internal/pgdev"
)

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	require.Equal(t, "postgres://u@h:5/other?sslmode=disable", pgdev.WithDatabase("postgres://u@h:5/db?sslmode=disable", "other"))
	require.Equal(t, "host=h user=u dbname=other", pgdev.WithDatabase("host=h dbname=db user=u", "other"))
}

func TestFindUsesDatabaseURLFirst(t *testing.T) {
	t.Parallel()
	env := func(k string) string {
		if k == "DATABASE_URL" {
			return "postgres://example.invalid/x"
		}
		return ""
	}
	for name, find := range map[string]func(context.Context, pgdev.Config) (pgdev.Server, error){"Find": pgdev.Find, "FindForTests": pgdev.FindForTests} {
		srv, err := find(context.Background(), pgdev.Config{Env: env})
		require.NoError(t, err, name)
		require.Equal(t, pgdev.SourceEnv, srv.Source, name)
		require.Equal(t, "postgres://example.invalid/x", srv.URL, name)
	}
}

func TestTestClusterDir(t *testing.T) {
	t.Parallel()
	dir := pgdev.TestClusterDir("/state")
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		require.True(t, strings.HasPrefix(dir, "/dev/shm/carillon-test-"), dir)
	} else {
		require.Equal(t, "/state/pg-test", dir)
	}
}

// With no DATABASE_URL and nothing on the local address, Find starts a private
// cluster in the state directory, creates the database, and reuses the cluster on
// the next call.
func TestFindStartsAPrivateCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	if matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(matches) == 0 && os.Geteuid() != 0 {
		t.Skip("no PostgreSQL server binaries and not root to install them")
	}
	t.Parallel()
	ctx := context.Background()
	state := t.TempDir()
	cfg := pgdev.Config{Database: "carillon_private", StateDir: state, LocalAddr: "-", Env: func(string) string { return "" }}
	srv, err := pgdev.Find(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		c := pgdev.Cluster{Dir: filepath.Join(state, "pg")}
		require.NoError(t, c.Stop(context.Background()))
	})
	require.Equal(t, pgdev.SourcePrivate, srv.Source)
	conn, err := pgx.Connect(ctx, srv.URL)
	require.NoError(t, err)
	var db string
	require.NoError(t, conn.QueryRow(ctx, `SELECT current_database()`).Scan(&db))
	require.Equal(t, "carillon_private", db)
	conn.Close(ctx)

	again, err := pgdev.Find(ctx, cfg)
	require.NoError(t, err)
	require.Equal(t, srv.URL, again.URL, "the running cluster is reused on the same port")
}
