package templates

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Querier is a pool, a connection or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const sqlTemplateExists = `SELECT EXISTS (SELECT 1 FROM templates WHERE key = $1)`

// Exists reports whether a template key exists, in the caller's transaction
// (the care rules check the template a rule names before they store it).
func Exists(ctx context.Context, q Querier, key string) (bool, error) {
	var ok bool
	if err := q.QueryRow(ctx, sqlTemplateExists, key).Scan(&ok); err != nil {
		return false, fmt.Errorf("look up template %q: %w", key, err)
	}
	return ok, nil
}
