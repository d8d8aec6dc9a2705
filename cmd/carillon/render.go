package main

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/delivery"
	"carillon/internal/app"
	"carillon/internal/audit"
	"carillon/templates"
)

// newRenderer is app.NewRenderer.
func newRenderer(pool *pgxpool.Pool, bank templates.Bank) (delivery.Renderer, *templates.Store, error) {
	return app.NewRenderer(pool, bank)
}

// sandboxCodes is app.SandboxCodes.
func sandboxCodes(ctx context.Context, st *templates.Store, actor audit.Actor) (int, error) {
	return app.SandboxCodes(ctx, st, actor)
}
