package debugconsole

import (
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"xaa.example/shared/oauth"
	"xaa.example/shared/trace"
)

// TestEveryStepHasWords: every step a service may name has a title and a
// sentence here, and its values are put in (a subject token's type named
// for people).
func TestEveryStepHasWords(t *testing.T) {
	for _, id := range trace.Steps {
		if w, ok := stepTexts[id]; !ok || w.Title == "" || w.Explain == "" {
			t.Errorf("step %q has no words in the console", id)
		}
	}
	title, explain := stepWords(trace.Step{StepID: trace.StepRelay, Vars: []string{oauth.TokenTypeRefreshToken}})
	if title != "Ask the IdP for an ID-JAG with the IdP refresh token given for the SAML sign-in" || !strings.Contains(explain, "with the IdP refresh token given for the SAML sign-in as the subject token") {
		t.Errorf("relay: %q / %q", title, explain)
	}
	title, explain = stepWords(trace.Step{StepID: trace.StepExchange, Vars: []string{"the todo app", "todos.read"}})
	if strings.Contains(title+explain, "{") || !strings.Contains(explain, "connected the wiki to the todo app") || !strings.Contains(explain, "(asked for: todos.read)") {
		t.Errorf("exchange: %q / %q", title, explain)
	}
	if title, _ := stepWords(trace.Step{StepID: "from-a-newer-service"}); title != "" {
		t.Errorf("an unknown step got %q", title)
	}
}

// TestStepsAreNamedByID: no code names a step with words of its own
// (trace.WithStep with a string literal compiles, StepID being a string):
// the words are the console's.
func TestStepsAreNamedByID(t *testing.T) {
	root := filepath.Join("..")
	fset := gotoken.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_templ.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "WithStep" && sel.Sel.Name != "WithStepDefault") {
				return true
			}
			if lit, ok := call.Args[1].(*ast.BasicLit); ok && lit.Kind == gotoken.STRING {
				t.Errorf("%s: a step named with words (%s); name it by a trace.StepID and put its words in the console's catalogue", fset.Position(call.Pos()), lit.Value)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
