package provider

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

// TestWritesGoThroughTheStore: the IdP's handlers read and write its
// tables through the store's methods alone (one path for each write, every
// error returned), never through the configuration's *gorm.DB nor by
// reaching into the store's own (s.store.db).
func TestWritesGoThroughTheStore(t *testing.T) {
	fset := token.NewFileSet()
	files, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
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
			if !ok || fn.Body == nil || isStoreMethod(fn) {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				// s.cfg.DB.<method>(...) or s.store.db.<method>(...): a
				// query beside the store.
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				inner, ok := sel.X.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				owner, _ := inner.X.(*ast.SelectorExpr)
				if inner.Sel.Name == "DB" || inner.Sel.Name == "db" && owner != nil && owner.Sel.Name == "store" {
					t.Errorf("%s: %s queries the database directly (%s); go through the store", fset.Position(call.Pos()), fn.Name.Name, sel.Sel.Name)
				}
				return true
			})
		}
	}
}

func isStoreMethod(fn *ast.FuncDecl) bool {
	if fn.Recv == nil || len(fn.Recv.List) != 1 {
		return false
	}
	star, ok := fn.Recv.List[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	id, ok := star.X.(*ast.Ident)
	return ok && id.Name == "store"
}

// TestConsoleHandlersSayWhatChanged: a console handler checks and saves,
// then tells the IdP what changed (s.changed); it never audits, queues a
// push or signals by itself, so that no change misses a part that acts on
// it.
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
					t.Errorf("%s: %s calls %s itself; tell the IdP what changed (s.changed)", fset.Position(sel.Pos()), fn.Name.Name, sel.Sel.Name)
				}
				return true
			})
		}
	}
}
