package pgtest

import (
	"context"
	"regexp"
	"slices"
	"testing"
)

// checkValue is one quoted value of a CHECK's list: 'draft'::text.
var checkValue = regexp.MustCompile(`'((?:[^']|'')*)'`)

// CheckValues returns, sorted, the values the CHECK constraint on one column of
// a table (column IN ('a', 'b', …)) allows, as the database has it
// (pg_constraint), so a test can hold a Go set of states to the SQL's.
func (db *DB) CheckValues(t testing.TB, table, column string) []string {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
		JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attname = $2
		WHERE c.conrelid = $1::regclass AND c.contype = 'c' AND c.conkey = ARRAY[a.attnum]`, table, column)
	if err != nil {
		t.Fatalf("pgtest: CHECK of %s.%s: %v", table, column, err)
	}
	defer rows.Close()
	var defs []string
	for rows.Next() {
		var def string
		if err := rows.Scan(&def); err != nil {
			t.Fatalf("pgtest: CHECK of %s.%s: %v", table, column, err)
		}
		defs = append(defs, def)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("pgtest: CHECK of %s.%s: %v", table, column, err)
	}
	if len(defs) != 1 {
		t.Fatalf("pgtest: %s.%s has %d CHECK constraints of its own, not one: %v", table, column, len(defs), defs)
	}
	var out []string
	for _, m := range checkValue.FindAllStringSubmatch(defs[0], -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return out
}

// RequireCheck fails t unless the CHECK on table.column allows exactly the
// values want (in any order): a Go set of states is the SQL's.
func RequireCheck[S ~string](t testing.TB, db *DB, table, column string, want []S) {
	t.Helper()
	w := make([]string, len(want))
	for i, s := range want {
		w[i] = string(s)
	}
	slices.Sort(w)
	if got := db.CheckValues(t, table, column); !slices.Equal(got, w) {
		t.Fatalf("the CHECK on %s.%s allows %v; Go has %v", table, column, got, w)
	}
}
