package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/internal/pgdev"
)

// ScratchDB creates a database of its own on srv, named prefix_<random>, for
// one benchmark run, demo check or drill, and returns its URL, its name and the
// function that drops it.
func ScratchDB(ctx context.Context, srv pgdev.Server, prefix string) (url, name string, drop func(), err error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name = prefix + "_" + hex.EncodeToString(b)
	if err := pgdev.EnsureDatabase(ctx, srv.AdminURL(), name); err != nil {
		return "", "", nil, err
	}
	admin := srv.AdminURL()
	drop = func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
			c.Close(context.Background())
		}
	}
	return pgdev.WithDatabase(srv.URL, name), name, drop, nil
}

// ScratchPool is ScratchDB with a pool of maxConns connections on it; the
// returned function closes the pool and drops the database.
func ScratchPool(ctx context.Context, srv pgdev.Server, prefix string, maxConns int32) (*pgxpool.Pool, string, func(), error) {
	url, name, drop, err := ScratchDB(ctx, srv, prefix)
	if err != nil {
		return nil, "", nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		drop()
		return nil, "", nil, err
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		drop()
		return nil, "", nil, err
	}
	return pool, name, func() { pool.Close(); drop() }, nil
}
