package e2e

import (
	"bufio"
	"io"
	"strings"
	"testing"
	"time"

	"xaa.example/agent/cli"
	"xaa.example/idp/store"
	"xaa.example/shared/demo"
)

// agentStepUp sets a step-up on the connection Agent → Todo.
func agentStepUp(t *testing.T, s *stack, passkey bool, maxAge int) {
	t.Helper()
	err := s.dbs["idp"].Model(&store.Connection{}).Where("requesting_client_id = ?", demo.AgentClientAtIdP).
		Updates(map[string]any{"allowed_scopes": "todos.read todos.write", "step_up_scopes": "todos.write", "step_up_passkey": passkey, "step_up_max_age": maxAge}).Error
	if err != nil {
		t.Fatal(err)
	}
}

// startAgent runs an agent command whose output is read as it comes: the
// sign-in address it prints, then the rest. done has its error.
func startAgent(t *testing.T, env map[string]string, args ...string) (signInURL string, out *strings.Builder, done chan error) {
	t.Helper()
	pr, pw := io.Pipe()
	done = make(chan error, 1)
	go func() { done <- cli.Run(t.Context(), args, func(k string) string { return env[k] }, pw); pw.Close() }()
	out = &strings.Builder{}
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		out.WriteString(lines.Text() + "\n")
		if l := strings.TrimSpace(lines.Text()); strings.HasPrefix(l, "http") {
			signInURL = l
			break
		}
	}
	rest := make(chan struct{})
	go func() {
		for lines.Scan() {
			out.WriteString(lines.Text() + "\n")
		}
		close(rest)
	}()
	wrapped := make(chan error, 1)
	go func() {
		err := <-done
		<-rest
		wrapped <- err
	}()
	return signInURL, out, wrapped
}

func wait(t *testing.T, done chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("the agent did not finish")
		return nil
	}
}

// TestAgentStepUp (issue 35, item 2, the agent): with a step-up on
// todos.write (a sign-in within the last 3 seconds), `agent add` is refused
// by the IdP, says why, prints a sign-in address (prompt=login, max_age),
// and once the person has signed in there, asks again and adds the todo:
// one run in the debug console. Reading needs no step-up.
func TestAgentStepUp(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	agentStepUp(t, s, false, 3)
	home := t.TempDir()
	env := map[string]string{"IDP_ISSUER": s.topology.IdP, "TODO_MCP_URL": s.topology.TodoMCP(), "AGENT_HOME": home, "AGENT_CONSOLE_URL": s.topology.Wiki}
	signedIn(t, s, home, "bob@tables.fake")
	time.Sleep(3500 * time.Millisecond) // older than 3 s: auth_time is in whole seconds

	var list strings.Builder
	if err := cli.Run(t.Context(), []string{"todos"}, func(k string) string { return env[k] }, &list); err != nil || !strings.Contains(list.String(), demo.BobTodos[0]) {
		t.Fatalf("agent todos, reading: %q %v", list.String(), err)
	}
	signInURL, out, done := startAgent(t, env, "add", "Stepped up by the agent")
	if signInURL == "" || !strings.Contains(out.String(), "asked to confirm it is you first: a sign-in within the last 3 seconds,") ||
		!strings.Contains(signInURL, "prompt=login") || !strings.Contains(signInURL, "max_age=3") {
		t.Fatalf("the agent's step-up: %q\n%s", signInURL, out)
	}
	b := newBrowser(t)
	if landed := b.signInAt(signInURL, "bob@tables.fake"); !strings.Contains(landed.Body, "Signed in") {
		t.Fatalf("the browser landed on %s: %s", landed.URL, landed.Body)
	}
	if err := wait(t, done); err != nil || !strings.Contains(out.String(), "Added #") {
		t.Fatalf("agent add after the step-up: %v\n%s", err, out)
	}
	n := 0
	for _, r := range s.recorder.Runs() {
		if r.Title == "Agent: add a todo" {
			n++
			if outcome, failed, _ := r.Outcome(); failed {
				t.Errorf("the agent's run failed: %s", outcome)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d runs for one todo added, want one", n)
	}
}

// TestAgentAuthorizationDetails (issue 35, item 4): with
// AGENT_AUTHORIZATION_DETAILS on, each agent command asks for the one
// todo action it takes (RFC 9396). The connection Agent → Todo allows
// reading: listing works, adding is refused by the IdP in words that say
// why; once the administrator allows create, adding works, and
// completing, not allowed, is still refused. The scope (todos.write) is
// granted all along: the fine-grained grant is what decides.
func TestAgentAuthorizationDetails(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	agentStepUp(t, s, false, 0) // todos.read and todos.write; no step-up
	home := t.TempDir()
	env := map[string]string{"IDP_ISSUER": s.topology.IdP, "TODO_MCP_URL": s.topology.TodoMCP(), "AGENT_HOME": home,
		"AGENT_CONSOLE_URL": "off", "AGENT_AUTHORIZATION_DETAILS": "true"}
	signedIn(t, s, home, "bob@tables.fake")
	agent := func(args ...string) (string, error) {
		var out strings.Builder
		err := cli.Run(t.Context(), args, func(k string) string { return env[k] }, &out)
		return out.String(), err
	}
	if out, err := agent("todos"); err != nil || !strings.Contains(out, demo.BobTodos[0]) {
		t.Fatalf("agent todos with read: %q %v", out, err)
	}
	if out, err := agent("add", "Not yet allowed"); err == nil || !strings.Contains(err.Error(), "create") || !strings.Contains(err.Error(), "fine-grained") {
		t.Fatalf("agent add with read alone: %q %v", out, err)
	}
	if err := s.dbs["idp"].Model(&store.Connection{}).Where("requesting_client_id = ?", demo.AgentClientAtIdP).
		Update("allowed_actions", "read create").Error; err != nil {
		t.Fatal(err)
	}
	out, err := agent("add", "Allowed now")
	if err != nil || !strings.Contains(out, "Added #") {
		t.Fatalf("agent add once create is allowed: %q %v", out, err)
	}
	id := strings.TrimPrefix(strings.Fields(out[strings.Index(out, "Added #"):])[1], "#")
	if out, err := agent("done", id); err == nil || !strings.Contains(err.Error(), "complete") {
		t.Fatalf("agent done without complete: %q %v", out, err)
	}
}
