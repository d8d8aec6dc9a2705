package app_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"carillon/internal/app"
	"carillon/internal/pgtest"
	"carillon/internal/testlog"
)

func noEnv(string) string { return "" }

func openPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// A database whose migrations are not applied is refused before anything is built.
func TestBuildRefusesAnUnmigratedDatabase(t *testing.T) {
	t.Parallel()
	db := pgtest.NewEmpty(t)
	pool := openPool(t, db.URL)
	_, err := app.Build(context.Background(), pool, app.Config{Logger: testlog.New(t), Getenv: noEnv})
	require.ErrorContains(t, err, "refusing to serve")
}

func TestBuildNeedsALoggerAndGetenv(t *testing.T) {
	t.Parallel()
	_, err := app.Build(context.Background(), nil, app.Config{})
	require.ErrorContains(t, err, "Logger and Getenv are required")
}

// The world serve runs: every service wired, River and the server built; Run
// answers /readyz until its context ends, then stops cleanly.
func TestBuildAndRun(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan string, 1)
	w, err := app.Build(ctx, db.Pool, app.Config{Logger: testlog.New(t), Getenv: noEnv, RescueStuckJobsAfter: 5 * time.Second,
		Ready: func(a string) { addrc <- a }})
	require.NoError(t, err)
	defer w.Close(ctx)
	require.NotNil(t, w.Contacts)
	require.NotNil(t, w.Templates)
	require.NotNil(t, w.Delivery)
	require.NotNil(t, w.Planner)
	require.NotNil(t, w.Revisits)
	require.NotNil(t, w.Campaigns)
	require.NotNil(t, w.Identity)
	require.NotNil(t, w.River)
	require.NotNil(t, w.Server)
	require.Equal(t, 5*time.Second/2, w.Delivery.Config().JobTimeout, "a deliver job ends well before River would rescue it")

	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("run ended early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("run did not start")
	}
	res, err := http.Get("http://" + addr + "/readyz")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(60 * time.Second):
		t.Fatal("run did not stop")
	}
}
