package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"xaa.example/shared/demo"
)

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// adminBrowser signs in to the IdP's admin console as the demo admin.
func adminBrowser(t *testing.T, s *stack) (*browser, string) {
	t.Helper()
	b := newBrowser(t)
	login := b.get(s.topology.IdP + "/login?next=/admin/connections")
	fields := formFields(login.Body)
	fields["email"], fields["password"] = "admin@tables.fake", demo.Password
	page := b.post(s.topology.IdP+"/login", fields)
	m := csrfField.FindStringSubmatch(page.Body)
	if page.Status != http.StatusOK || m == nil || !strings.Contains(page.Body, "Admin console") {
		t.Fatalf("admin sign-in: %d at %s:\n%s", page.Status, page.URL, page.Body)
	}
	return b, m[1]
}

// TestAdminDisablesConnection: the admin disables wiki→todo in the console;
// the wiki's next exchange is refused with a plain-language message, the
// refusal is in the audit log, and re-enabling restores access.
func TestAdminDisablesConnection(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	admin, csrf := adminBrowser(t, s)
	bob := newBrowser(t)
	bob.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)

	set := func(action string) {
		t.Helper()
		p := admin.post(s.topology.IdP+"/admin/connections/1", map[string]string{"csrf": csrf, "action": action})
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "is "+action+"d") {
			t.Fatalf("%s: %d:\n%s", action, p.Status, p.Body)
		}
	}
	set("disable")
	refused := bob.get(s.topology.Wiki + "/todos")
	if refused.Status != http.StatusForbidden || !strings.Contains(refused.Body, "an administrator has not enabled the connection from the wiki to the todo app") {
		t.Fatalf("with the connection disabled: %d:\n%s", refused.Status, refused.Body)
	}
	audit := admin.get(s.topology.IdP + "/admin/audit?outcome=refused&q=bob%40tables.fake")
	if !strings.Contains(audit.Body, "access_denied") || !strings.Contains(audit.Body, "app.oauth2.token.grant.id_jag.refused") {
		t.Fatalf("the refusal is not in the audit log:\n%s", audit.Body)
	}

	// At once: the disabling's revocation ended the tokens issued before
	// it, not the one the next chain gets (same second or not).
	set("enable")
	ok := bob.get(s.topology.Wiki + "/todos")
	if ok.Status != http.StatusOK || !strings.Contains(ok.Body, demo.BobTodos[0]) {
		t.Fatalf("after re-enabling: %d:\n%s", ok.Status, ok.Body)
	}
	issued := admin.get(s.topology.IdP + "/admin/audit?outcome=issued")
	if !strings.Contains(issued.Body, "bob@tables.fake") || !strings.Contains(issued.Body, "app.oauth2.token.grant.id_jag") {
		t.Fatalf("the issuance is not in the audit log:\n%s", issued.Body)
	}
}

// TestAdminNarrowsScopes: a scope the connection no longer allows is
// refused (invalid_scope) and recorded.
func TestAdminNarrowsScopes(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	admin, csrf := adminBrowser(t, s)
	p := admin.post(s.topology.IdP+"/admin/connections/1", map[string]string{
		"csrf": csrf, "action": "save", "scopes": "todos.write", "client_id_at_resource": demo.WikiAtTodoClient,
	})
	if p.Status != http.StatusOK {
		t.Fatalf("save: %d:\n%s", p.Status, p.Body)
	}
	bob := newBrowser(t)
	bob.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	// My todos asks for todos.read and todos.write; the IdP narrows the
	// grant to todos.write, and the todo API refuses to list with it. The
	// page says that reading is what the administrator does not allow.
	refused := bob.get(s.topology.Wiki + "/todos")
	if refused.Status != http.StatusForbidden || !strings.Contains(refused.Body, "does not allow reading your todos") ||
		strings.Contains(refused.Body, "allows reading only") {
		t.Fatalf("with todos.read not allowed: %d:\n%s", refused.Status, refused.Body)
	}
	// The IdP's audit log shows the grant it narrowed.
	if audit := admin.get(s.topology.IdP + "/admin/audit?q=bob%40tables.fake"); !strings.Contains(audit.Body, "todos.write") {
		t.Fatalf("the narrowed grant is not in the audit log:\n%s", audit.Body)
	}
	bad := admin.post(s.topology.IdP+"/admin/connections/1", map[string]string{
		"csrf": csrf, "action": "save", "scopes": `todos"read`, "client_id_at_resource": demo.WikiAtTodoClient,
	})
	if bad.Status != http.StatusBadRequest || !strings.Contains(bad.Body, "not a valid scope name") {
		t.Fatalf("an invalid scope name: %d", bad.Status)
	}
}

// TestAdminDisablesUser: a disabled user cannot sign in, and the wiki's
// exchange for them is refused.
func TestAdminDisablesUser(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	bob := newBrowser(t)
	bob.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	admin, csrf := adminBrowser(t, s)
	var id string
	if err := s.dbs["idp"].Table("users").Select("id").Where("email = ?", "bob@tables.fake").Row().Scan(&id); err != nil {
		t.Fatal(err)
	}
	if p := admin.post(s.topology.IdP+"/admin/users/"+id+"/toggle", map[string]string{"csrf": csrf}); !strings.Contains(p.Body, "bob@tables.fake is disabled.") {
		t.Fatalf("disable: %d:\n%s", p.Status, p.Body)
	}
	if p := bob.get(s.topology.Wiki + "/todos"); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Your account is disabled") || strings.Contains(p.Body, "Please sign in again") {
		t.Fatalf("exchange for a disabled user: %d:\n%s", p.Status, p.Body)
	}
	fresh := newBrowser(t)
	if p := fresh.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "This account is disabled") {
		t.Fatalf("sign-in of a disabled user: %d:\n%s", p.Status, p.Body)
	}
}

// TestAdminConsoleRefusesOthers: no admin rights, no session, no CSRF
// token, or another site's form: refused, and nothing changes.
func TestAdminConsoleRefusesOthers(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	enabled := func() bool {
		var on bool
		if err := s.dbs["idp"].Table("connections").Select("enabled").Where("id = 1").Row().Scan(&on); err != nil {
			t.Fatal(err)
		}
		return on
	}

	anonymous := newBrowser(t)
	if p := anonymous.get(s.topology.IdP + "/admin/connections"); !strings.Contains(p.URL, "/login?next=") {
		t.Fatalf("anonymous: landed at %s, want the sign-in page", p.URL)
	}

	bob := newBrowser(t)
	bob.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password) // signs bob in at the IdP too
	if p := bob.get(s.topology.IdP + "/admin/connections"); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Administrators only") {
		t.Fatalf("non-admin: %d:\n%s", p.Status, p.Body)
	}
	if p := bob.post(s.topology.IdP+"/admin/connections/1", map[string]string{"action": "disable"}); p.Status != http.StatusForbidden {
		t.Fatalf("non-admin post: %d", p.Status)
	}

	admin, csrf := adminBrowser(t, s)
	if p := admin.post(s.topology.IdP+"/admin/connections/1", map[string]string{"action": "disable"}); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "nothing was changed") {
		t.Fatalf("post without CSRF token: %d:\n%s", p.Status, p.Body)
	}
	if p := admin.post(s.topology.IdP+"/admin/connections/1", map[string]string{"action": "disable", "csrf": "forged"}); p.Status != http.StatusForbidden {
		t.Fatalf("post with a forged token: %d", p.Status)
	}
	// A form on another site, posted with the admin's cookies.
	req, _ := http.NewRequest(http.MethodPost, s.topology.IdP+"/admin/connections/1", strings.NewReader(url.Values{"action": {"disable"}, "csrf": {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.test")
	resp, err := admin.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site post: %d", resp.StatusCode)
	}
	if !enabled() {
		t.Fatal("a refused request changed the connection")
	}
}

// TestAdminRotatesKey: the admin rotates the IdP's key; it is published at
// once next to the old one, which keeps signing until the new one's
// pre-publication is over, so the chain keeps working throughout.
func TestAdminRotatesKey(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	admin, csrf := adminBrowser(t, s)
	p := admin.post(s.topology.IdP+"/admin/keys/rotate", map[string]string{"csrf": csrf})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "New signing key") {
		t.Fatalf("rotate: %d:\n%s", p.Status, p.Body)
	}
	jwks := admin.get(s.topology.IdP + "/oauth2/v1/keys")
	// Two of each algorithm: the old and the new ES256 and RS256 keys.
	if es, rs := strings.Count(jwks.Body, `"alg":"ES256"`), strings.Count(jwks.Body, `"alg":"RS256"`); es != 2 || rs != 2 {
		t.Fatalf("%d ES256 and %d RS256 keys published after rotation, want 2 of each:\n%s", es, rs, jwks.Body)
	}
	bob := newBrowser(t)
	bob.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	if p := bob.get(s.topology.Wiki + "/todos"); p.Status != http.StatusOK {
		t.Fatalf("the chain after a rotation: %d:\n%s", p.Status, p.Body)
	}
}

// TestHeldTokenWordsMatchSignals (issue 34, item 1): with Shared Signals
// on, as in the demo, disabling a connection ends the tokens already
// issued within a second, and every page that speaks of them says so: the
// console's Connections intro and its answer to Disable, and the wiki's
// note on the token it holds. None says they work until they expire.
func TestHeldTokenWordsMatchSignals(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	admin, csrf := adminBrowser(t, s)
	bob := newBrowser(t)
	bob.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	todos := bob.get(s.topology.Wiki + "/todos")
	pages := map[string]string{"the wiki's note on the held token": todos.Body}
	if !strings.Contains(htmlUnescape(todos.Body), demo.HeldTokenNote) {
		t.Errorf("My todos does not say what an administrator's change does to the held token")
	}
	// A second visit uses the held token; the debug console explains it.
	bob.get(s.topology.Wiki + "/todos")
	console := bob.get(s.topology.Wiki + "/debug")
	pages["the debug console"] = console.Body
	if !strings.Contains(htmlUnescape(console.Body), demo.HeldTokenNote) {
		t.Errorf("the debug console does not say what an administrator's change does to the held token")
	}
	intro := admin.get(s.topology.IdP + "/admin/connections")
	pages["the console's Connections tab"] = intro.Body
	disabled := admin.post(s.topology.IdP+"/admin/connections/1", map[string]string{"csrf": csrf, "action": "disable"})
	pages["the console's answer to Disable"] = disabled.Body
	for name, body := range map[string]string{"the console's Connections tab": intro.Body, "the console's answer to Disable": disabled.Body} {
		if !strings.Contains(htmlUnescape(body), demo.HeldTokensEnd) {
			t.Errorf("%s does not say that held tokens end", name)
		}
	}
	for name, body := range pages {
		for _, untrue := range []string{"work until they expire", "works until it expires", "keeps working until it expires", "once the token expires:", "how OAuth access tokens work"} {
			if strings.Contains(body, untrue) {
				t.Errorf("%s says %q, which is not what happens with Shared Signals on", name, untrue)
			}
		}
	}
	// And it is what happens: the held token is refused, and the wiki,
	// asking again, is told the connection is disabled.
	refused := bob.get(s.topology.Wiki + "/todos")
	if !strings.Contains(refused.Body, "an administrator has not enabled the connection from the wiki to the todo app") {
		t.Errorf("after Disable, My todos: %d\n%.1500s", refused.Status, refused.Body)
	}
}
