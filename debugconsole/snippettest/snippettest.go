// Package snippettest runs the debug console's Code-tab snippets as a
// person who copied one would: each in a fresh folder, with its language's
// own tool, the hidden values in the environment.
package snippettest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"xaa.example/debugconsole"
)

// runner is how a language's snippet is run.
type runner struct {
	tool, file string
	args       func(file string) []string
}

var runners = map[string]runner{
	"curl":   {tool: "bash", file: "snippet.sh", args: func(f string) []string { return []string{f} }},
	"js":     {tool: "node", file: "snippet.mjs", args: func(f string) []string { return []string{f} }},
	"python": {tool: "python3", file: "snippet.py", args: func(f string) []string { return []string{f} }},
	"java":   {tool: "java", file: "Snippet.java", args: func(f string) []string { return []string{f} }},
	"csharp": {tool: "dotnet", file: "snippet.cs", args: func(f string) []string { return []string{"run", f} }}, // .NET 10 runs a file
	"go":     {tool: "go", file: "snippet.go", args: func(f string) []string { return []string{"run", f} }},
}

// Runnable reports whether the snippet is a program (the xaaclient one is
// a fragment to read).
func Runnable(sn debugconsole.Snippet) bool {
	_, ok := runners[sn.Key]
	return ok
}

// Run runs the snippet with env added to the environment and returns what
// it printed. It skips t when the language's tool is not installed and
// fails t when the snippet fails.
func Run(t *testing.T, sn debugconsole.Snippet, env map[string]string) string {
	t.Helper()
	run, ok := runners[sn.Key]
	if !ok {
		t.Fatalf("the %s snippet is not a program", sn.Label)
	}
	if _, err := exec.LookPath(run.tool); err != nil {
		t.Skipf("%s is not installed: the %s snippet is not run", run.tool, sn.Label)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, run.file)
	if err := os.WriteFile(file, []byte(sn.Code), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, run.tool, run.args(file)...)
	cmd.Dir = dir
	// A Go snippet is a program of its own, outside this workspace.
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the %s snippet failed: %v\n%s\n--- snippet ---\n%s", sn.Label, err, out, sn.Code)
	}
	return string(out)
}

// DPoPKeyFile writes a new P-256 key as openssl genpkey writes one
// (PKCS#8 PEM), the snippets' DPOP_KEY, and returns its path.
func DPoPKeyFile(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dpop.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}
