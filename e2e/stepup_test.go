package e2e

import (
	"strings"
	"testing"
	"time"

	"xaa.example/authservers/todo/todoas"
	"xaa.example/debugconsole"
	"xaa.example/idp/store"
	"xaa.example/shared/demo"
	"xaa.example/shared/oauth"
)

// TestStepUpAtTheIdP (issue 35, item 2): the administrator asks for a
// sign-in within the last 3 seconds for todos.write on the connection wiki →
// todo. My todos still lists bob's todos (reading needs no step-up) and
// says adding asks him to confirm. Adding a todo: the IdP refuses the
// exchange with insufficient_user_authentication and max_age, the wiki
// sends bob to sign in again (prompt=login through its AS to the IdP),
// and once he has, adds the todo; the console shows the refusal and the
// retry as one run.
func TestStepUpAtTheIdP(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	err := s.dbs["idp"].Model(&store.Connection{}).Where("requesting_client_id = ? AND resource_audience = ?", demo.WikiASClientAtIdP, s.topology.TodoAS).
		Updates(map[string]any{"step_up_scopes": "todos.write", "step_up_max_age": 3}).Error
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	time.Sleep(3500 * time.Millisecond) // bob's sign-in is now older than the policy's 3 s (auth_time is in whole seconds)

	todos := b.get(s.topology.Wiki + "/todos")
	if todos.Status != 200 || !strings.Contains(todos.Body, demo.BobTodos[0]) || !strings.Contains(todos.Body, `id="step-up-note"`) {
		t.Fatalf("My todos with a step-up on writing: %d\n%s", todos.Status, todos.Body)
	}

	// Adding: the wiki sends bob to sign in again; the IdP asks for his
	// password although he has a session there.
	asked := b.post(s.topology.Wiki+"/todos", map[string]string{"title": "Stepped-up todo"})
	if !strings.Contains(asked.URL, s.topology.IdP) || !strings.Contains(asked.Body, `name="password"`) {
		t.Fatalf("adding did not send bob to sign in again at the IdP: %s\n%s", asked.URL, asked.Body)
	}
	m := formAction.FindStringSubmatch(asked.Body)
	fields := formFields(asked.Body)
	fields["email"], fields["password"] = "bob@tables.fake", demo.Password
	added := b.post(origin(asked.URL)+htmlUnescape(m[1]), fields)
	if !strings.Contains(added.URL, "/todos?added=") || !strings.Contains(added.Body, "Stepped-up todo") {
		t.Fatalf("after signing in again: %s %d\n%s", added.URL, added.Status, added.Body)
	}

	// One run: the refused exchange, then the chain again, the todo added.
	var run *debugconsole.Run
	for _, r := range s.recorder.Runs() {
		if r.Title == "Add a todo" {
			run = r
		}
	}
	if run == nil {
		t.Fatal("no run for the added todo")
	}
	if outcome, failed, done := run.Outcome(); failed || !done || !strings.Contains(outcome, "created todo") {
		t.Errorf("the run's outcome: %q failed=%v done=%v", outcome, failed, done)
	}
	console := b.get(s.topology.Wiki + "/debug").Body
	for _, want := range []string{"insufficient_user_authentication", "max_age", "E8"} {
		if !strings.Contains(console, want) {
			t.Errorf("the console does not show %q", want)
		}
	}
	n := 0
	for _, r := range s.recorder.Runs() {
		if r.Title == "Add a todo" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d runs for one added todo, want one", n)
	}
}

// TestStepUpAtTheResource (issue 35, item 3): the todo AS's own policy
// (STEP_UP_SCOPES, STEP_UP_MAX_AGE) asks for a sign-in within the last
// second for todos.write; the IdP asks nothing. The redeem is refused with
// insufficient_user_authentication (R14); the wiki and the agent each send
// bob to sign in again, then finish what he asked.
func TestStepUpAtTheResource(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB, func(c *configs) {
		todoas.ConfigureStepUp(c.todoAS, oauth.StepUpPolicy{Scopes: oauth.Scopes{"todos.write"}, MaxAge: 3 * time.Second})
	})
	agentStepUp(t, s, false, 0) // the agent may write; the IdP asks no step-up
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	home := t.TempDir()
	env := map[string]string{"IDP_ISSUER": s.topology.IdP, "TODO_MCP_URL": s.topology.TodoMCP(), "AGENT_HOME": home, "AGENT_CONSOLE_URL": "off"}
	signedIn(t, s, home, "bob@tables.fake")
	time.Sleep(3500 * time.Millisecond)

	addWithStepUp(t, s, b, "Asked for by the todo app")
	if console := b.get(s.topology.Wiki + "/debug").Body; !strings.Contains(console, "R14") || !strings.Contains(console, "insufficient_user_authentication") {
		i := strings.Index(console, "insufficient")
		t.Errorf("the console does not show the todo AS's step-up check (R14): %d %s", i, console[max(0, i-3000):max(0, i+200)])
	}

	agentAddWithStepUp(t, env, "Asked of the agent by the todo app")
}

// TestStepUpAtTheAPI (issue 35, item 3, RFC 9470 §3): the todo API and
// its MCP server ask, per call, for a sign-in within the last 3 seconds for
// todos.write; the authorization servers ask nothing. A held token from an
// older sign-in is refused with 401 and a WWW-Authenticate challenge naming
// max_age; the wiki and the agent send bob to sign in again, then finish.
func TestStepUpAtTheAPI(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB, func(c *configs) {
		c.todo.StepUp = oauth.StepUpPolicy{Scopes: oauth.Scopes{"todos.write"}, MaxAge: 3 * time.Second}
	})
	agentStepUp(t, s, false, 0)
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	if p := b.get(s.topology.Wiki + "/todos"); !strings.Contains(p.Body, demo.BobTodos[0]) {
		t.Fatalf("My todos: %d", p.Status)
	}
	home := t.TempDir()
	env := map[string]string{"IDP_ISSUER": s.topology.IdP, "TODO_MCP_URL": s.topology.TodoMCP(), "AGENT_HOME": home, "AGENT_CONSOLE_URL": "off"}
	signedIn(t, s, home, "bob@tables.fake")
	time.Sleep(3500 * time.Millisecond)

	addWithStepUp(t, s, b, "Asked for by the todo API")
	if console := b.get(s.topology.Wiki + "/debug").Body; !strings.Contains(console, "A5") {
		t.Error("the console does not show the API's step-up check (A5)")
	}

	agentAddWithStepUp(t, env, "Asked of the agent by the MCP server")
}

// addWithStepUp adds a todo from the wiki as bob, who is sent to sign in
// again (a step-up of max_age 3 s) and does, with his password.
func addWithStepUp(t *testing.T, s *stack, b *browser, title string) {
	t.Helper()
	asked := b.post(s.topology.Wiki+"/todos", map[string]string{"title": title})
	if !strings.Contains(asked.URL, s.topology.IdP) || !strings.Contains(asked.URL, "max_age=3") {
		t.Fatalf("the wiki did not send bob to sign in again: %s\n%.2000s", asked.URL, asked.Body)
	}
	m := formAction.FindStringSubmatch(asked.Body)
	fields := formFields(asked.Body)
	fields["email"], fields["password"] = "bob@tables.fake", demo.Password
	if added := b.post(origin(asked.URL)+htmlUnescape(m[1]), fields); !strings.Contains(added.Body, title) {
		t.Fatalf("after signing in again: %s\n%.2000s", added.URL, added.Body)
	}
}

// agentAddWithStepUp runs agent add, which asks bob to sign in again (a
// step-up of max_age 3 s); he does in a browser, and the todo is added.
func agentAddWithStepUp(t *testing.T, env map[string]string, title string) {
	t.Helper()
	signInURL, out, done := startAgent(t, env, "add", title)
	if signInURL == "" || !strings.Contains(signInURL, "max_age=3") {
		t.Fatalf("the agent's step-up: %q\n%s", signInURL, out)
	}
	if landed := newBrowser(t).signInAt(signInURL, "bob@tables.fake"); !strings.Contains(landed.Body, "Signed in") {
		t.Fatalf("the browser landed on %s: %s", landed.URL, landed.Body)
	}
	if err := wait(t, done); err != nil || !strings.Contains(out.String(), "Added #") {
		t.Fatalf("agent add after the step-up: %v\n%s", err, out)
	}
}
