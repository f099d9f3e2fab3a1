// Package npmtest gives tests a folder of their own with packages installed
// from the npm registry, for running clients and servers no one here wrote
// (interoperability tests, the Node peer of the load runs). Only tests
// import it.
package npmtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Install writes files (name to content) into a new temporary folder, runs
// npm install there, and returns the folder, in which node can then run
// them. The packages go into that folder only: nothing is installed into
// the repository or globally.
//
// Without node or npm the test is skipped with a message saying what would
// run it; in CI (CI set) it fails instead, since there every test must run.
// what names the test in those messages ("the MCP interoperability test").
func Install(ctx context.Context, t testing.TB, what string, files map[string]string) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is required in CI for %s", tool, what)
			}
			t.Skipf("%s is not installed: install Node.js to run %s", tool, what)
		}
	}
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	install := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--silent")
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm install for %s: %v\n%s", what, err, out)
	}
	return dir
}
