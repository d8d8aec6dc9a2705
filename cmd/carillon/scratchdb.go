package main

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/internal/app"
	"carillon/internal/pgdev"
)

// scratchPool is app.ScratchPool.
func scratchPool(ctx context.Context, srv pgdev.Server, prefix string, maxConns int32) (*pgxpool.Pool, string, func(), error) {
	return app.ScratchPool(ctx, srv, prefix, maxConns)
}
