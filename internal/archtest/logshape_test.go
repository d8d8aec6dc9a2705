package archtest

import (
	"go/ast"
	"strconv"
	"testing"
)

// logMethods are slog.Logger's methods that take a message and attributes.
var logMethods = map[string]int{ // the index of the first attribute
	"Debug": 1, "Info": 1, "Warn": 1, "Error": 1,
	"DebugContext": 2, "InfoContext": 2, "WarnContext": 2, "ErrorContext": 2,
}

// TestErrorsAreLoggedInOneShape holds every log line to one way of naming an
// error: slog.String("err", err.Error()) — not an "error" key, not a bare
// "err", err pair, not slog.Any (whose output differs by handler).
func TestErrorsAreLoggedInOneShape(t *testing.T) {
	for _, f := range sources(t) {
		ast.Inspect(f.file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			first, ok := logMethods[sel.Sel.Name]
			if !ok || len(call.Args) <= first {
				return true
			}
			if _, isMsg := call.Args[first-1].(*ast.BasicLit); !isMsg {
				return true // not a log call (a message literal comes before the attributes)
			}
			for _, a := range call.Args[first:] {
				if key, ok := stringLit(a); ok && (key == "error" || key == "err") {
					t.Errorf("%s: a log line names its error as a bare %q pair; use slog.String(\"err\", err.Error())", f.fset.Position(a.Pos()), key)
				}
				attr, ok := a.(*ast.CallExpr)
				if !ok || len(attr.Args) == 0 {
					continue
				}
				fn, ok := attr.Fun.(*ast.SelectorExpr)
				if !ok || !isIdent(fn.X, "slog") {
					continue
				}
				key, _ := stringLit(attr.Args[0])
				switch {
				case key == "error":
					t.Errorf("%s: a log line names its error \"error\"; use slog.String(\"err\", err.Error())", f.fset.Position(a.Pos()))
				case key == "err" && fn.Sel.Name != "String":
					t.Errorf("%s: a log line names its error with slog.%s; use slog.String(\"err\", err.Error())", f.fset.Position(a.Pos()), fn.Sel.Name)
				}
			}
			return true
		})
	}
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}
