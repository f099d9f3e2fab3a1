package debugconsole

import (
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"xaa.example/shared/exchange"
	"xaa.example/shared/idjag"
	"xaa.example/shared/jwtbearer"
	"xaa.example/shared/trace"
)

// TestEveryCheckHasWords: every trace.CheckID a package of shared/
// declares has the console's number and words, so that no check shows up
// as a bare ID.
func TestEveryCheckHasWords(t *testing.T) {
	var declared []trace.CheckID
	err := filepath.WalkDir("../shared", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(gotoken.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok || spec.Type == nil {
				return true
			}
			if sel, ok := spec.Type.(*ast.SelectorExpr); !ok || sel.Sel.Name != "CheckID" {
				return true
			}
			for _, v := range spec.Values {
				if lit, ok := v.(*ast.BasicLit); ok {
					s, _ := strconv.Unquote(lit.Value)
					declared = append(declared, trace.CheckID(s))
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(declared) < 20 {
		t.Fatalf("found only %d check IDs under shared/", len(declared))
	}
	for _, id := range declared {
		if _, ok := checkTexts[id]; !ok {
			t.Errorf("check %s has no words in the console (checkTexts)", id)
		}
	}
	if got := checkLabel(trace.Check{ID: "idjag.3.alg-and-key"}); !strings.HasPrefix(got, "R3 · alg") {
		t.Errorf("check 3 is labelled %q", got)
	}
	if got := checkLabel(trace.Check{ID: "someone.new"}); got != "someone.new" {
		t.Errorf("an unknown check is labelled %q, want its ID", got)
	}
}

// TestCheckNumbersAreTheProtocolPages: every check the console names has
// the number docs/PROTOCOL.md gives it, and that page has a row for it, so
// that the console, the code's comments and the page use one numbering.
func TestCheckNumbersAreTheProtocolPages(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("..", "docs", "PROTOCOL.md"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]trace.CheckID{}
	for id, text := range checkTexts {
		if text.Number == "" {
			t.Errorf("check %s has no number", id)
			continue
		}
		if other, dup := seen[text.Number]; dup {
			t.Errorf("checks %s and %s are both %s", id, other, text.Number)
		}
		seen[text.Number] = id
		if !strings.Contains(string(page), "\n| "+text.Number+" | ") {
			t.Errorf("check %s (%s) has no row in docs/PROTOCOL.md", text.Number, id)
		}
	}
}

// TestRunOrderIsExplained (issue 34, item 7): the redeem step's checks in
// the order they ran (R1, R4, R3, R5 … R9 last) come with a sentence
// saying why; checks already in their numbers' order need none.
func TestRunOrderIsExplained(t *testing.T) {
	ran := []trace.Check{{ID: idjag.CheckShape}, {ID: idjag.CheckIssuer}, {ID: idjag.CheckAlgorithm}, {ID: idjag.CheckSignature},
		{ID: jwtbearer.CheckResource}, {ID: jwtbearer.CheckSubject}, {ID: idjag.CheckReplay}}
	if note := runOrderNote(ran); !strings.Contains(note, "order the server ran them") || !strings.Contains(note, "spends no jti") {
		t.Errorf("the redeem step's order is not explained: %q", note)
	}
	sorted := []trace.Check{{ID: exchange.CheckRequest}, {ID: exchange.CheckSubject}, {ID: exchange.CheckAudience}}
	if note := runOrderNote(sorted); note != "" {
		t.Errorf("checks in order got a note: %q", note)
	}
}
