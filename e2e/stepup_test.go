package e2e

import (
	"strings"
	"testing"
	"time"

	"xaa.example/debugconsole"
	"xaa.example/idp/store"
	"xaa.example/shared/demo"
)

// TestStepUpAtTheIdP (issue 35, item 2): the administrator asks for a
// sign-in within the last second for todos.write on the connection wiki →
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
		Updates(map[string]any{"step_up_scopes": "todos.write", "step_up_max_age": 1}).Error
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	time.Sleep(1500 * time.Millisecond) // bob's sign-in is now older than the policy's second

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
