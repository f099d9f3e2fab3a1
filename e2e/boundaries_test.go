package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The module's packages, for the rules below.
const (
	ginPkg  = "github.com/gin-gonic/gin"
	gormPkg = "gorm.io/gorm"
	mod     = "xaa.example/"
)

// protocol are the packages that implement OAuth and OpenID Connect
// themselves: no web framework, no database, no service.
var protocol = []string{
	"shared/dpop", "shared/oauth", "shared/idjag", "shared/jwtbearer", "shared/exchange", "shared/xaaclient",
	"shared/accesstoken", "shared/clientmeta", "shared/replay", "shared/signin", "shared/jwks", "shared/ssf",
	"shared/scim", "shared/samlsp",
}

// services are the deployables' own packages.
var services = []string{"xaa.example/idp", "xaa.example/apps", "xaa.example/authservers", "xaa.example/agent"}

// boundary is a package's doc.go promise: what it must not depend on,
// directly or not. A forbidden entry ending in "/" forbids everything
// under it; "xaa.example/" forbids the whole module.
type boundary struct {
	pkg       string
	forbidden []string
}

// boundaries holds every "must not depend" of a doc.go; TestBoundaries
// fails on a doc.go that makes such a promise without a row here.
func boundaries() []boundary {
	b := []boundary{
		{"shared/trace", []string{mod}},
		{"shared/demo", []string{mod}},
		{"shared/envconfig", []string{mod}},
		{"shared/maildomain", []string{mod}},
		{"shared/samlxml", []string{mod}},
		{"shared/web", append([]string{mod + "shared/oauth", mod + "shared/signin", mod + "shared/authserver", mod + "shared/idjag", mod + "shared/codeflow"}, services...)},
		{"shared/storage", append([]string{mod + "shared/authserver", mod + "shared/codeflow"}, services...)},
		{"shared/keys", []string{mod + "shared/oauth", mod + "shared/idjag", mod + "shared/jwtbearer", mod + "shared/exchange", mod + "shared/codeflow"}},
		{"shared/jwks", []string{gormPkg, mod + "shared/storage", mod + "shared/oauth", mod + "shared/idjag", mod + "shared/jwtbearer", mod + "shared/exchange"}},
		{"shared/samlcred", append([]string{ginPkg, mod + "shared/oauth", mod + "shared/op", mod + "shared/authserver"}, services...)},
		{"shared/sessions", append([]string{ginPkg, mod + "shared/oauth", mod + "shared/op", mod + "shared/signin"}, services...)},
		{"shared/op", append([]string{ginPkg, mod + "shared/authserver", mod + "shared/web", mod + "shared/serve"}, services...)},
		{"shared/authserver", append([]string{mod + "debugconsole"}, services...)},
		{"shared/codeflow", append([]string{ginPkg}, services...)},
		{"shared/replay/replaydb", []string{ginPkg, mod + "shared/oauth", mod + "shared/idjag", mod + "shared/jwtbearer", mod + "shared/exchange"}},
		{"debugconsole", append([]string{mod + "shared/authserver", mod + "shared/serve"}, services...)},
		{"apps/wiki/wikiapp", []string{mod + "idp", mod + "apps/todo", mod + "authservers", mod + "shared/authserver"}},
		{"apps/todo/todoapp", []string{mod + "idp", mod + "apps/wiki", mod + "authservers", mod + "shared/authserver", mod + "debugconsole"}},
		{"idp/provider", []string{mod + "apps", mod + "authservers", mod + "shared/authserver"}},
	}
	for _, p := range protocol {
		b = append(b, boundary{p, append([]string{ginPkg, gormPkg, mod + "shared/serve", mod + "shared/storage", mod + "shared/web", mod + "shared/authserver"}, services...)})
	}
	return b
}

// TestBoundaries: what each doc.go says a package must not depend on, it
// does not, by `go list -deps`.
func TestBoundaries(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]bool{}
	for _, b := range boundaries() {
		rules[b.pkg] = true
		cmd := exec.Command("go", "list", "-deps", "./"+b.pkg)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps ./%s: %v\n%s", b.pkg, err, out)
		}
		self := mod + b.pkg
		reported := map[string]bool{}
		for _, dep := range strings.Fields(string(out)) {
			if dep == self || strings.HasPrefix(dep, self+"/") {
				continue
			}
			for _, f := range b.forbidden {
				if !reported[f] && (dep == f || strings.HasPrefix(dep, strings.TrimSuffix(f, "/")+"/")) {
					reported[f] = true
					t.Errorf("%s depends on %s, which its doc.go forbids", b.pkg, dep)
				}
			}
		}
	}
	// Every promise has its rule: a doc.go that says "must not depend"
	// (or "must not import") and has no row above fails here.
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
			if d != nil && d.IsDir() && path != root {
				return filepath.SkipDir
			}
			return err
		}
		if d.Name() != "doc.go" {
			return nil
		}
		text, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		flat := strings.Join(strings.Fields(strings.ReplaceAll(string(text), "//", "")), " ")
		if !strings.Contains(flat, "must not depend") && !strings.Contains(flat, "must not import") && !strings.Contains(flat, "must not know") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		if !rules[filepath.ToSlash(rel)] {
			t.Errorf("%s promises what it must not depend on, and no rule in TestBoundaries checks it", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestServeIsForMains: shared/serve (listening, logging, the database, the
// default outbound client) is imported by mains and by the services'
// configurations, as its doc.go says; no protocol package.
func TestServeIsForMains(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}} {{.Name}} {{join .Imports " "}}`,
		"./shared/...", "./idp/...", "./apps/wiki/...", "./apps/todo/...", "./authservers/todo/...", "./authservers/wiki/...", "./debugconsole/...", "./agent/...")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := map[string]bool{mod + "shared/authserver": true, mod + "apps/wiki/wikiapp": true, mod + "apps/todo/todoapp": true}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[1] == "main" || allowed[f[0]] {
			continue
		}
		for _, imp := range f[2:] {
			if imp == mod+"shared/serve" {
				t.Errorf("%s imports shared/serve, which is for mains and service configurations", f[0])
			}
		}
	}
}
