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
	if still := bob.get(wiki + "/todos"); still.Status != http.StatusOK || !strings.Contains(still.Body, demo.BobTodos[0]) {
		t.Fatalf("with a held token the list should still load: %d", still.Status)
	}
	if latest := bob.get(wiki + "/debug/latest").Body; !strings.Contains(latest, "already held") || !strings.Contains(latest, "keeps working until it expires") {
		t.Errorf("the console does not say why the old token still worked:\n%.2000s", latest)
	}
	refused := bob.post(wiki+"/todos/forget-token", map[string]string{})
	if refused.Status != http.StatusBadGateway || !strings.Contains(refused.Body, "Access to the todo app is not allowed") {
		t.Fatalf("after forgetting the token, with the connection disabled: %d:\n%.2000s", refused.Status, refused.Body)
	}
	for _, stale := range []string{"Fetched from the todo app", `id="add-todo"`, demo.BobTodos[0]} {
		if strings.Contains(refused.Body, stale) {
			t.Errorf("the refusal page also shows %q: one coherent state, please", stale)
		}
	}

	connection(map[string]string{"action": "enable"})
	connection(map[string]string{"action": "save", "scopes": "todos.read", "client_id_at_resource": demo.WikiAtTodoClient})
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
