package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"xaa.example/authservers/todo/todoas"
	"xaa.example/shared/demo"
)

var iconLink = regexp.MustCompile(`<link rel="icon" type="image/svg\+xml" href="([^"]+)"`)
var logo = regexp.MustCompile(`<span class="logo" aria-hidden="true">([^<]+)</span>`)

// TestTabsTellServicesApart: five tabs side by side show five favicons and
// five logos (the wiki AS no longer borrows the wiki's).
func TestTabsTellServicesApart(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	icons, marks := map[string]string{}, map[string]string{}
	for _, name := range []string{"wiki", "todo", "idp", "wiki-as", "todo-as"} {
		p := newBrowser(t).get(s.servers[name].URL + "/")
		m, l := iconLink.FindStringSubmatch(p.Body), logo.FindStringSubmatch(p.Body)
		if m == nil || l == nil {
			t.Fatalf("%s's start page has no favicon link or logo", name)
		}
		if other, seen := icons[m[1]]; seen {
			t.Errorf("%s and %s share the favicon %s", name, other, m[1])
		}
		if other, seen := marks[l[1]]; seen {
			t.Errorf("%s and %s share the logo %q", name, other, l[1])
		}
		icons[m[1]], marks[l[1]] = name, name
		resp, err := http.Get(s.servers[name].URL + m[1])
		if err != nil {
			t.Fatal(err)
		}
		svg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "image/svg+xml") || !strings.Contains(string(svg), "<svg") {
			t.Errorf("%s's favicon %s: %d %s", name, m[1], resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}

// TestSignInFocus: the IdP's form focuses the password when the email is
// already filled in, and the email otherwise; the authorization server's
// page for an unknown domain has a way back to the application.
func TestSignInFocus(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	hinted := newBrowser(t).get(s.topology.Wiki + "/login?login_hint=" + urlEscape("bob@tables.fake"))
	if !regexp.MustCompile(`name="password"[^>]*autofocus`).MatchString(hinted.Body) || regexp.MustCompile(`name="email"[^>]*autofocus`).MatchString(hinted.Body) {
		t.Error("with the email filled in, the IdP's form does not focus the password")
	}
	if bare := newBrowser(t).get(s.topology.IdP + "/login"); !regexp.MustCompile(`name="email"[^>]*autofocus`).MatchString(bare.Body) {
		t.Error("with no email, the IdP's form does not focus the email")
	}
	unknown := newBrowser(t).get(s.topology.Wiki + "/login?login_hint=" + urlEscape("eve@unknown.example"))
	if !strings.Contains(unknown.Body, "No organisation signs in here") || !strings.Contains(unknown.Body, `href="`+s.topology.Wiki+`/"`) {
		t.Errorf("the unknown-domain page has no way back to the wiki:\n%.1500s", unknown.Body)
	}
}

// TestAdminDecisionsShow walks what an audience sees after the admin acts:
// the held access token and when it expires, the old token still working
// after the connection is disabled (and the console saying why), the
// refusal once the token is forgotten, reading allowed but adding not, and
// a disabled account told as such.
func TestAdminDecisionsShow(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	admin, csrf := adminBrowser(t, s)
	bob := newBrowser(t)
	bob.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	wiki := s.topology.Wiki

	first := bob.get(wiki + "/todos")
	if !strings.Contains(first.Body, `id="held-token"`) || !strings.Contains(first.Body, "Forget my access token") {
		t.Fatalf("My todos does not say which access token the wiki holds:\n%.3000s", first.Body)
	}
	var expires time.Time
	if err := s.dbs["wiki"].Table("access_tokens").Select("expires_at").Row().Scan(&expires); err != nil {
		t.Fatal(err)
	}
	if life := time.Until(expires); life > todoas.DemoAccessTokenLifetime+5*time.Second || life < time.Minute {
		t.Errorf("the held access token lives %v, want the demo's %v", life, todoas.DemoAccessTokenLifetime)
	}

	connection := func(fields map[string]string) {
		t.Helper()
		fields["csrf"] = csrf
		if p := admin.post(s.topology.IdP+"/admin/connections/1", fields); p.Status != http.StatusOK {
			t.Fatalf("admin: %d:\n%.2000s", p.Status, p.Body)
		}
	}
	connection(map[string]string{"action": "disable"})
	// The IdP's Shared Signals event ended the held token at once: the
	// wiki's call is refused, it runs the chain again, and the IdP says no.
	if ended := bob.get(wiki + "/todos"); ended.Status != http.StatusForbidden || !strings.Contains(ended.Body, "Access to the todo app is not allowed") {
		t.Fatalf("with the connection disabled, the held token should end at once: %d:\n%.2000s", ended.Status, ended.Body)
	}
	if latest := bob.get(wiki + "/debug/latest").Body; !strings.Contains(latest, "revoked by a Shared Signals event from the IdP") {
		t.Errorf("the console does not say the token was revoked by the IdP's event:\n%.2000s", latest)
	}
	refused := bob.post(wiki+"/todos/forget-token", map[string]string{})
	if refused.Status != http.StatusForbidden || !strings.Contains(refused.Body, "Access to the todo app is not allowed") {
		t.Fatalf("after forgetting the token, with the connection disabled: %d:\n%.2000s", refused.Status, refused.Body)
	}
	for _, stale := range []string{"Fetched from the todo app", `id="add-todo"`, demo.BobTodos[0]} {
		if strings.Contains(refused.Body, stale) {
			t.Errorf("the refusal page also shows %q: one coherent state, please", stale)
		}
	}

	connection(map[string]string{"action": "enable"})
	connection(map[string]string{"action": "save", "scopes": "todos.read", "client_id_at_resource": demo.WikiAtTodoClient})
	// Narrowing revoked the app's tokens issued before it; the next chain,
	// at once, gets a token that works (same second or not).
	bob.post(wiki+"/todos/forget-token", map[string]string{})
	added := bob.post(wiki+"/todos", map[string]string{"title": "Not allowed"})
	if added.Status != http.StatusForbidden || !strings.Contains(added.Body, "allows reading only") {
		t.Fatalf("adding with read-only scopes: %d:\n%.2000s", added.Status, added.Body)
	}
	if !strings.Contains(added.Body, demo.BobTodos[0]) {
		t.Error("the read-only refusal lost the list, which reading still allows")
	}
	if !strings.Contains(added.Body, `aria-disabled="true"`) || strings.Contains(added.Body, "The todo API answered 403") {
		t.Error("the add form is not disabled, or the page speaks in status codes")
	}

	var id string
	if err := s.dbs["idp"].Table("users").Select("id").Where("email = ?", "bob@tables.fake").Row().Scan(&id); err != nil {
		t.Fatal(err)
	}
	admin.post(s.topology.IdP+"/admin/users/"+id+"/toggle", map[string]string{"csrf": csrf})
	disabled := bob.post(wiki+"/todos/forget-token", map[string]string{})
	if !strings.Contains(disabled.Body, "Your account is disabled") || strings.Contains(disabled.Body, "Please sign in again") {
		t.Errorf("a disabled account is told: %.1500s", between(disabled.Body, `class="alert bad"`, "</div>"))
	}
}

// TestAdminConsoleExplains: connections go by the apps' names and offer the
// resource's scopes (a typo cannot be saved), saving says what was saved,
// admin actions are audited with before and after, an ID-JAG's entry shows
// the scopes asked for and granted and links to its console run, the keys
// are listed with their status, and a person who is not an admin is not
// offered the console and, sent there, is offered a way to switch.
func TestAdminConsoleExplains(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	admin, csrf := adminBrowser(t, s)
	idp := s.topology.IdP

	conns := admin.get(idp + "/admin/connections")
	for _, want := range []string{"Wiki → Todo", `name="scope" value="todos.read"`, `name="scope" value="todos.write"`, "read the person&#39;s todos"} {
		if !strings.Contains(conns.Body, want) {
			t.Errorf("the connections tab does not show %q", want)
		}
	}
	typo := admin.post(idp+"/admin/connections/1", map[string]string{"csrf": csrf, "action": "save", "scope": "todos.wirte", "client_id_at_resource": demo.WikiAtTodoClient})
	if typo.Status != http.StatusBadRequest || !strings.Contains(typo.Body, "offers no scope") {
		t.Errorf("a typo in a scope: %d", typo.Status)
	}
	saved := admin.post(idp+"/admin/connections/1", map[string]string{"csrf": csrf, "action": "save", "scope": "todos.read", "client_id_at_resource": demo.WikiAtTodoClient})
	if !strings.Contains(saved.Body, "Wiki → Todo now allows todos.read, with client id wiki-at-todo") {
		t.Errorf("saving does not say what was saved:\n%.1500s", between(saved.Body, `class="alert`, "</div>"))
	}

	bob := newBrowser(t)
	bob.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	bob.get(s.topology.Wiki + "/todos")

	audit := admin.get(idp + "/admin/audit?outcome=changed")
	if !strings.Contains(audit.Body, "app.connection.update") || !strings.Contains(audit.Body, "scopes todos.read todos.write") || !strings.Contains(audit.Body, "admin@tables.fake") {
		t.Errorf("the admin's change is not audited with before and after:\n%.2000s", audit.Body)
	}
	issued := admin.get(idp + "/admin/audit?outcome=issued")
	m := regexp.MustCompile(`href="(/admin/audit/\d+)"`).FindStringSubmatch(issued.Body)
	if m == nil {
		t.Fatalf("no audit entry to open:\n%.2000s", issued.Body)
	}
	entry := admin.get(idp + m[1])
	for _, want := range []string{"scope asked for", "todos.read", "scope granted", `id="console-run"`, s.topology.Wiki + "/debug?all=1&amp;pin=" + s.recorder.Runs()[0].ID} {
		if !strings.Contains(entry.Body, want) {
			t.Errorf("the audit entry does not show %q:\n%.2500s", want, entry.Body)
		}
	}

	apps := admin.get(idp + "/admin/apps")
	if strings.Count(apps.Body, `class="badge ok">active`) != 2 || !strings.Contains(apps.Body, "ES256") || !strings.Contains(apps.Body, "RS256") {
		t.Errorf("the apps tab does not list the two active keys:\n%.2000s", between(apps.Body, `id="keys"`, "</ul>"))
	}
	admin.post(idp+"/admin/keys/rotate", map[string]string{"csrf": csrf})
	if apps := admin.get(idp + "/admin/apps"); strings.Count(apps.Body, `class="badge">next`) != 2 {
		t.Errorf("after a rotation the new keys are not listed as next")
	}
	if users := admin.get(idp + "/admin/users"); strings.Count(users.Body, ">Disable<") != 3 || !strings.Contains(users.Body, ">you<") {
		t.Error("the admin is offered to disable their own account")
	}

	bobAtIdP := newBrowser(t)
	bobAtIdP.signInAt(idp+"/login", "bob@tables.fake")
	if home := bobAtIdP.get(idp + "/"); strings.Contains(home.Body, "Admin console") {
		t.Error("the IdP offers Bob, who is no admin, the admin console")
	}
	if denied := bobAtIdP.get(idp + "/admin/connections"); denied.Status != http.StatusForbidden || !strings.Contains(denied.Body, "Sign out and sign in as an administrator") {
		t.Errorf("Bob at the admin console: %d, with no way to switch account", denied.Status)
	}
}

// TestStepsExplainWhatRan: a step's explanation names the app it asked for
// (the disabled-connection scenario asks for the Chat app, not the todo
// app), and each token's claims are explained for that kind of token.
func TestStepsExplainWhatRan(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	b.post(s.topology.Wiki+"/debug/scenario/disabled", map[string]string{})
	latest := b.get(s.topology.Wiki + "/debug/latest").Body
	if !strings.Contains(latest, "connected the wiki to the app whose authorization server is https://chat.example") || strings.Contains(latest, "signs an ID-JAG for the todo") {
		t.Errorf("the disabled-connection scenario's step says:\n%s", between(latest, `class="hint"`, "</p>"))
	}
	b.get(s.topology.Wiki + "/todos?fresh")
	b.post(s.topology.Wiki+"/todos/forget-token", map[string]string{})
	console := b.get(s.topology.Wiki + "/debug").Body
	for _, want := range []string{"can be redeemed once (check 9)", "it may be used again until it expires"} {
		if !strings.Contains(console, want) {
			t.Errorf("the console's claim explanations lack %q", want)
		}
	}
}
