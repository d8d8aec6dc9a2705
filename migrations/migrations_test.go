package migrations_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/pgtest"
	"carillon/migrations"
)

func TestUpIsIdempotentAndStatusIsComplete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewEmpty(t)
	db = &pgtest.DB{Name: db.Name, URL: db.URL, Pool: openPool(t, db.URL)}

	require.ErrorIs(t, migrations.Check(ctx, db.Pool), migrations.ErrPending)

	applied, err := migrations.Up(ctx, db.Pool, nil)
	require.NoError(t, err)
	require.NotEmpty(t, applied)
	require.Equal(t, "river", applied[0].Line, "River's migrations come first")

	again, err := migrations.Up(ctx, db.Pool, nil)
	require.NoError(t, err)
	require.Empty(t, again)
	require.NoError(t, migrations.Check(ctx, db.Pool))

	st, err := migrations.GetStatus(ctx, db.Pool)
	require.NoError(t, err)
	require.Empty(t, st.Pending)
	all, err := migrations.All()
	require.NoError(t, err)
	var ours int
	for _, a := range st.Applied {
		if a.Line == "carillon" {
			ours++
		}
	}
	require.Equal(t, len(all), ours)
}

// Two processes migrating at once: the advisory lock makes each migration apply once
// and neither fails.
func TestConcurrentUpTakesTheLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewEmpty(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	counts := make([]int, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool := openPool(t, db.URL) // a pool each, as separate processes would have
			applied, err := migrations.Up(ctx, pool, nil)
			errs[i] = err
			for _, a := range applied {
				if a.Line == "carillon" {
					counts[i]++
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for i := range errs {
		require.NoError(t, errs[i])
		total += counts[i]
	}
	all, _ := migrations.All()
	require.Equal(t, len(all), total, "each migration applied exactly once across the racers")
	pool := openPool(t, db.URL)
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM carillon_migrations`).Scan(&n))
	require.Equal(t, len(all), n)
	require.False(t, errors.Is(migrations.Check(ctx, pool), migrations.ErrPending))
}
