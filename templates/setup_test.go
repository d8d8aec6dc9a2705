package templates

import (
	"context"
	"flag"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/audit"
	"carillon/internal/pgtest"
)

var update = flag.Bool("update", false, "rewrite golden files and the built-in section of migration 004")

type bundle struct {
	ctx   context.Context
	db    *pgtest.DB
	store *Store
	actor audit.Actor
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db := pgtest.New(t)
	s, err := NewStore(db.Pool, Config{})
	require.NoError(t, err)
	return &bundle{ctx: context.Background(), db: db, store: s, actor: audit.Actor{Name: "test"}}
}
