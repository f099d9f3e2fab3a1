package console

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

// TestConsoleHandlersSayWhatChanged: a console handler checks and saves,
// then says what changed (s.changed); it never audits, queues a push or
// signals by itself, so that no change misses a part that acts on it.
func TestConsoleHandlersSayWhatChanged(t *testing.T) {
	fset := token.NewFileSet()
	files, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	reactions := map[string]bool{"Record": true, "auditChange": true, "Changed": true, "AssignEveryone": true,
		"provisionChange": true, "PersonRevoked": true, "AppRevoked": true, "ScopeNarrowed": true, "signalChange": true}
	for _, f := range files {
		name := f.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || strings.HasSuffix(name, "_templ.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil || !strings.HasPrefix(fn.Name.Name, "admin") {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok && reactions[sel.Sel.Name] {
					t.Errorf("%s: %s calls %s itself; say what changed (s.changed)", fset.Position(sel.Pos()), fn.Name.Name, sel.Sel.Name)
				}
				return true
			})
		}
	}
}
