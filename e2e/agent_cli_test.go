package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"xaa.example/agent/cli"
	"xaa.example/shared/demo"
)

// TestAgentCLI: the agent command as a person uses it, in process against
// the whole stack. Bob runs agent login and signs in in his browser (the
// test's cookie jar, landing on the agent's loopback listener); agent todos
// lists his todos through IdP → ID-JAG → todo AS → MCP; agent add is
// refused in one sentence until the admin grants todos.write; once the
// admin disables the connection the next exchange is refused; logout
// forgets everything.
func TestAgentCLI(t *testing.T) {
	s := startStack(t, sqliteDB)
	home := t.TempDir()
	env := map[string]string{"IDP_ISSUER": s.topology.IdP, "TODO_MCP_URL": s.topology.TodoMCP(), "AGENT_HOME": home}
	getenv := func(k string) string { return env[k] }
	agent := func(args ...string) (string, error) {
		t.Helper()
		var out strings.Builder
		err := cli.Run(t.Context(), args, getenv, &out)
		return out.String(), err
	}

	// agent login prints an address; Bob opens it and signs in.
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- cli.Run(t.Context(), []string{"login"}, getenv, pw); pw.Close() }()
	lines := bufio.NewScanner(pr)
	var signInURL string
	for lines.Scan() {
		if l := strings.TrimSpace(lines.Text()); strings.HasPrefix(l, "http") {
			signInURL = l
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if signInURL == "" {
		t.Fatal("agent login printed no address to open")
	}
	if u, _ := url.Parse(signInURL); u.Query().Get("code_challenge_method") != "S256" || !strings.HasPrefix(u.Query().Get("redirect_uri"), "http://127.0.0.1:") {
		t.Errorf("the sign-in address %s is not code + PKCE with a loopback redirect", signInURL)
	}
	b := newBrowser(t)
	if landed := b.signInAt(signInURL+"&login_hint="+url.QueryEscape("bob@tables.fake"), "bob@tables.fake"); !strings.Contains(landed.Body, "Signed in") {
		t.Fatalf("the browser landed on %s: %s", landed.URL, landed.Body)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("agent login: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("agent login did not finish")
	}
	if fi, err := os.Stat(filepath.Join(home, "tokens.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the agent's tokens: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	if out, err := agent("whoami"); err != nil || !strings.Contains(out, "bob@tables.fake") {
		t.Errorf("whoami: %q %v", out, err)
	}

	out, err := agent("todos")
	if err != nil || !strings.Contains(out, demo.BobTodos[0]) || !strings.Contains(out, "open of 3") {
		t.Fatalf("agent todos: %q %v", out, err)
	}
	if out, err := agent("tools"); err != nil || !strings.Contains(out, "add_todo") {
		t.Errorf("agent tools: %q %v", out, err)
	}
	if _, err := agent("add", "Not yet"); err == nil || !strings.Contains(err.Error(), "does not grant todos.write") {
		t.Errorf("agent add with the default read-only connection: %v", err)
	}

	admin, csrf := adminBrowser(t, s)
	conns := admin.get(s.topology.IdP + "/admin/connections").Body
	m := regexp.MustCompile(`id="connection-(\d+)"><div class="spread"><h2 class="flush">Agent → Todo \(MCP\)`).FindStringSubmatch(conns)
	if m == nil {
		t.Fatal("no Agent → Todo (MCP) connection in the admin console")
	}
	admin.post(s.topology.IdP+"/admin/connections/"+m[1], map[string]string{"csrf": csrf, "action": "save", "scopes": "todos.read todos.write", "client_id_at_resource": demo.AgentAtTodoClient})
	if out, err := agent("-v", "add", "Water the plants"); err != nil || !strings.Contains(out, "Added #") || !strings.Contains(out, "ID-JAG: {") {
		t.Fatalf("agent -v add after the admin granted write: %q %v", out, err)
	}
	if out, err := agent("done", "1"); err != nil || !strings.Contains(out, "Done: #1") {
		t.Errorf("agent done 1: %q %v", out, err)
	}
	raw, _ := os.ReadFile(filepath.Join(home, "tokens.json"))
	if strings.Contains(string(raw), "oauth-id-jag") || strings.Contains(strings.ToLower(string(raw)), "idjag") {
		t.Error("the agent stored an ID-JAG")
	}

	// Disabled: once the held token is gone, the next exchange is refused.
	admin.post(s.topology.IdP+"/admin/connections/"+m[1], map[string]string{"csrf": csrf, "action": "disable"})
	var st map[string]any
	_ = json.Unmarshal(raw, &st)
	delete(st, "access_token")
	b2, _ := json.Marshal(st)
	_ = os.WriteFile(filepath.Join(home, "tokens.json"), b2, 0o600)
	if _, err := agent("todos"); err == nil || !strings.Contains(err.Error(), "has not allowed the agent") {
		t.Errorf("agent todos with the connection disabled: %v", err)
	}

	if _, err := agent("logout"); err != nil {
		t.Fatal(err)
	}
	if _, err := agent("todos"); err == nil || !strings.Contains(err.Error(), "agent login") {
		t.Errorf("agent todos after logout: %v", err)
	}
}
