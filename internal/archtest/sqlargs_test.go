package archtest

import (
	"go/ast"
	"go/token"
	"regexp"
	"testing"
)

// A sixth positional parameter: $6, $7, … $10 and on.
var manyParams = regexp.MustCompile(`\$([6-9]|[1-9][0-9]+)\b`)

// TestLongStatementsNameTheirArguments holds the SQL convention: a statement
// with more than five parameters passes pgx.NamedArgs (@name), so an argument
// cannot slip into another's place unseen.
func TestLongStatementsNameTheirArguments(t *testing.T) {
	for _, f := range sources(t) {
		ast.Inspect(f.file, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			if m := manyParams.FindString(lit.Value); m != "" {
				t.Errorf("%s: a statement with parameter %s: pass pgx.NamedArgs", f.fset.Position(lit.Pos()), m)
			}
			return true
		})
	}
}
