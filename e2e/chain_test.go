package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"gorm.io/gorm"

	"xaa.example/authservers/todo/todoas"
	"xaa.example/shared/demo"
	"xaa.example/shared/idjag"
	"xaa.example/shared/storage/storagetest"
)

// TestChain walks the whole demo as a person would: sign in to the wiki
// through the wiki AS and the IdP, open My todos (token exchange at the wiki
// AS and the IdP, jwt-bearer at the todo AS, API call), and see bob's
// seeded todos, then check what the debug console shows.
func TestChain(t *testing.T) { runChain(t, sqliteDB) }

func runChain(t *testing.T, open openDB) {
	s := startStack(t, open)
	b := newBrowser(t)

	home := b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	if home.Status != http.StatusOK || !strings.HasPrefix(home.URL, s.topology.Wiki) || !strings.Contains(home.Body, "Bobby Tables") {
		t.Fatalf("after sign-in: %d at %s, want the wiki's home page for Bobby Tables:\n%s", home.Status, home.URL, home.Body)
	}

	todos := b.get(s.topology.Wiki + "/todos")
	if todos.Status != http.StatusOK {
		t.Fatalf("My todos: status %d:\n%s", todos.Status, todos.Body)
	}
	for _, title := range demo.BobTodos {
		if !strings.Contains(todos.Body, title) {
			t.Errorf("My todos does not show %q", title)
		}
	}

	// The console shows the three chain steps, with tokens decoded.
	console := b.get(s.topology.Wiki + "/debug")
	for _, want := range []string{
		"Exchange the ID token for an ID-JAG", "Redeem the ID-JAG for an access token", "Call the todo API with the access token",
		"urn:ietf:params:oauth:token-type:id-jag", "oauth-id-jag+jwt", "wiki-at-todo", "todos.read",
	} {
		if !strings.Contains(words(console.Body), want) {
			t.Errorf("debug console does not show %q", want)
		}
	}
	assertNoSecrets(t, "debug console", console.Body)

	// A second visit uses the held access token: no new exchange.
	before := len(s.recorder.Runs())
	again := b.get(s.topology.Wiki + "/todos")
	if again.Status != http.StatusOK || !strings.Contains(again.Body, demo.BobTodos[0]) {
		t.Fatalf("second visit to My todos: %d", again.Status)
	}
	runs := s.recorder.Runs()
	if len(runs) != before+1 {
		t.Fatalf("runs: got %d, want %d", len(runs), before+1)
	}
	if steps := s.traces["wiki"].Steps(runs[0].ID); len(steps) != 1 || !strings.Contains(steps[0].URL, "/api/todos?") {
		t.Errorf("second visit made %d requests, want only the API call", len(steps))
	}
	if steps := s.traces["idp"].Steps(runs[0].ID); len(steps) != 0 {
		t.Errorf("second visit reached the IdP %d times, want none", len(steps))
	}

	assertNoSecrets(t, "service logs", s.logs.String())
}

// assertNoSecrets fails when text holds a demo secret or password.
func assertNoSecrets(t *testing.T, where, text string) {
	t.Helper()
	for _, secret := range []string{demo.Password, demo.WikiSecret, demo.TodoAppSecret, demo.WikiAtTodoSecret, demo.WikiASSecretAtIdP, demo.TodoASSecretAtIdP} {
		if strings.Contains(text, secret) {
			t.Errorf("%s contains the secret %q", where, secret)
		}
	}
}

// TestChainMariaDB is the same walk with every service on its own MariaDB
// schema.
func TestChainMariaDB(t *testing.T) {
	t.Parallel()
	runChain(t, func(t testing.TB, _ string) *gorm.DB { return storagetest.MariaDB(t) })
}

// TestSingleSignOnToTodo: after signing in to the wiki, the todo app signs
// bob in without a password (the IdP session answers), and shows the same
// todos as the wiki, from the same account.
func TestSingleSignOnToTodo(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	if p := b.get(s.topology.Wiki + "/todos"); p.Status != http.StatusOK {
		t.Fatalf("My todos: %d", p.Status)
	}
	todo := b.get(s.topology.Todo + "/login?login_hint=bob%40tables.fake")
	if strings.Contains(todo.Body, `name="password"`) {
		t.Fatal("the todo app asked for a password again; want single sign-on")
	}
	if !strings.HasPrefix(todo.URL, s.topology.Todo) || !strings.Contains(todo.Body, demo.BobTodos[0]) || !strings.Contains(todo.Body, "Bobby Tables") {
		t.Fatalf("todo app after SSO: %d at %s:\n%s", todo.Status, todo.URL, todo.Body)
	}
}

// TestOpenInTodoIsOneClick (issue 34, item 10): the wiki's links into the
// todo app ("open in Todo", "see them all") carry Bob's email as
// login_hint, so the todo app's sign-in goes straight to his IdP, where
// he is signed in: he lands on the todo, asked for nothing.
func TestOpenInTodoIsOneClick(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	todos := b.get(s.topology.Wiki + "/todos")
	m := regexp.MustCompile(`<a href="([^"]+)">open in Todo</a>`).FindStringSubmatch(todos.Body)
	if m == nil {
		t.Fatalf("My todos has no 'open in Todo' link:\n%.1500s", todos.Body)
	}
	link := htmlUnescape(m[1])
	if !strings.Contains(link, "login_hint=bob%40tables.fake") {
		t.Errorf("the link %s does not carry Bob's email", link)
	}
	todo := b.get(link)
	if strings.Contains(todo.Body, `name="login_hint"`) || strings.Contains(todo.Body, `name="password"`) {
		t.Fatalf("opening the todo asked for Bob's email or password again (%s)", todo.URL)
	}
	if !strings.HasPrefix(todo.URL, s.topology.Todo+"/todos/") || !strings.Contains(todo.Body, "Bobby Tables") {
		t.Fatalf("opening the todo: %d at %s", todo.Status, todo.URL)
	}
}

func TestWrongPasswordAndUnknownUser(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	for _, tt := range []struct{ name, email, password string }{
		{name: "wrong password", email: "bob@tables.fake", password: "not-the-password"},
		{name: "unknown user", email: "nobody@tables.fake", password: demo.Password},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t)
			p := b.signIn(s.topology.Wiki, tt.email, tt.password)
			if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "do not match an account") {
				t.Fatalf("got %d at %s, want 401 with a readable message:\n%s", p.Status, p.URL, p.Body)
			}
			// The form is shown again, with the email kept.
			if !strings.Contains(p.Body, `name="password"`) || !strings.Contains(p.Body, tt.email) {
				t.Error("the sign-in form is not shown again with the email filled in")
			}
			if home := b.get(s.topology.Wiki + "/"); strings.Contains(home.Body, "Sign out") {
				t.Error("the wiki shows a signed-in user after a failed sign-in")
			}
		})
	}
}

// TestStoppedTodoAS: a service that does not answer gives a readable page,
// not a hang or a panic.
func TestStoppedTodoAS(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	s.servers["todo-as"].Close()
	p := b.get(s.topology.Wiki + "/todos")
	if p.Status != http.StatusBadGateway || !strings.Contains(p.Body, "not answering") {
		t.Fatalf("got %d, want 502 with a readable message:\n%s", p.Status, p.Body)
	}
}

// TestDisabledConnection: with the wiki→todo connection disabled at the
// IdP, the exchange is refused (access_denied) and the wiki says so.
func TestDisabledConnection(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	if err := s.dbs["idp"].Exec("UPDATE connections SET enabled = ?", false).Error; err != nil {
		t.Fatal(err)
	}
	p := b.get(s.topology.Wiki + "/todos")
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Access to the todo app is not allowed") || !strings.Contains(p.Body, "access_denied") {
		t.Fatalf("got %d, want the access_denied explanation:\n%s", p.Status, p.Body)
	}
	var held int64
	s.dbs["wiki"].Table("access_tokens").Count(&held)
	if held != 0 {
		t.Errorf("the wiki holds %d access tokens after a refused exchange, want 0", held)
	}
}

// TestTodoAPIRefusesBadTokens: only the todo AS's access tokens for the
// API, unaltered, open it.
func TestTodoAPIRefusesBadTokens(t *testing.T) {
	t.Parallel()
	// The test calls the API with the wiki's held token as a bearer token,
	// so the wiki runs without DPoP (TestWikiChainWithDPoP covers it).
	s := startStack(t, sqliteDB, func(c *configs) { c.wiki.DPoP = false })
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	b.get(s.topology.Wiki + "/todos")
	var good string
	if err := s.dbs["wiki"].Table("access_tokens").Select("token").Row().Scan(&good); err != nil {
		t.Fatalf("no access token held by the wiki: %v", err)
	}
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + parts[1][:len(parts[1])-2] + "AA." + parts[2]
	unsigned := `eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.` + parts[1] + `.`

	for _, tt := range []struct {
		name   string
		auth   string
		status int
	}{
		{name: "valid", auth: "Bearer " + good, status: http.StatusOK},
		{name: "no token", auth: "", status: http.StatusUnauthorized},
		{name: "tampered claims", auth: "Bearer " + tampered, status: http.StatusUnauthorized},
		{name: "alg none", auth: "Bearer " + unsigned, status: http.StatusUnauthorized},
		{name: "not a JWT", auth: "Bearer hello", status: http.StatusUnauthorized},
		{name: "basic auth", auth: "Basic Ym9iOnB3", status: http.StatusUnauthorized},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, s.topology.TodoAPI()+"/todos", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// TestOrganisationByEmailDomain: the app's authorization server asks for a
// work email when it has none, and refuses a domain no tenant owns.
func TestOrganisationByEmailDomain(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	b := newBrowser(t)
	ask := b.get(s.topology.Wiki + "/login")
	if ask.Status != http.StatusOK || !strings.HasPrefix(ask.URL, s.topology.WikiAS) || !strings.Contains(ask.Body, `name="login_hint"`) {
		t.Fatalf("without an email: %d at %s, want the wiki AS asking for a work email:\n%s", ask.Status, ask.URL, ask.Body)
	}
	unknown := b.get(s.topology.Wiki + "/login?login_hint=eve%40unknown.test")
	if unknown.Status != http.StatusBadRequest || !strings.Contains(unknown.Body, "No organisation signs in here with addresses at @unknown.test") {
		t.Fatalf("unknown domain: %d:\n%s", unknown.Status, unknown.Body)
	}
	if strings.HasPrefix(unknown.URL, s.topology.IdP) {
		t.Fatal("an unknown domain was sent on to the IdP")
	}
	// john belongs to tables.fake2, another organisation of the same IdP.
	john := b.signIn(s.topology.Wiki, "john@tables.fake2", demo.Password)
	if john.Status != http.StatusOK || !strings.Contains(john.Body, "John Tables") {
		t.Fatalf("john: %d at %s:\n%s", john.Status, john.URL, john.Body)
	}
}

// TestAccountOfAnotherOrganisation: asked for someone of tables.fake, the
// IdP does not accept john of tables.fake2.
func TestAccountOfAnotherOrganisation(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	b := newBrowser(t)
	login := b.get(s.topology.Wiki + "/login?login_hint=bob%40tables.fake")
	if !strings.Contains(login.Body, "Sign in to Tables Inc.") {
		t.Fatalf("the IdP's sign-in page does not name the organisation:\n%s", login.Body)
	}
	fields := formFields(login.Body)
	fields["email"], fields["password"] = "john@tables.fake2", demo.Password
	p := b.post(origin(login.URL)+"/login", fields)
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "does not belong to Tables Inc.") {
		t.Fatalf("got %d:\n%s", p.Status, p.Body)
	}
}

// TestOktaShapedConfiguration: as with an Okta org, the wiki's client id at
// the todo AS is a mapped id, and there are no just-in-time accounts. Until
// bob has signed in to the todo app once, the todo AS refuses (docs/PROTOCOL.md
// check 12) and the wiki says what to do; afterwards the chain works.
func TestOktaShapedConfiguration(t *testing.T) {
	t.Parallel()
	const mapped = "0oa1wikiattodo"
	s := startStack(t, sqliteDB, func(c *configs) {
		c.idp.Connections[0].ClientIDAtResource = mapped
		todoas.ConfigureWikiClient(&c.todoAS.Server, mapped, "mapped-secret")
		c.todoAS.IDJAGs.Trusted[0].JIT = idjag.JITPolicy{}
		c.todoAS.Server.SeedUsers = nil
		c.wiki.ClientIDAtTodo, c.wiki.ClientSecretAtTodo = mapped, "mapped-secret"
	})
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	before := b.get(s.topology.Wiki + "/todos")
	if before.Status != http.StatusForbidden || !strings.Contains(before.Body, "sign in to the app once") {
		t.Fatalf("before bob used the todo app: %d:\n%s", before.Status, before.Body)
	}
	b.get(s.topology.Todo + "/login?login_hint=bob%40tables.fake") // single sign-on links bob's account
	after := b.get(s.topology.Wiki + "/todos")
	if after.Status != http.StatusOK {
		t.Fatalf("after bob signed in to the todo app: %d:\n%s", after.Status, after.Body)
	}
	if !strings.Contains(b.get(s.topology.Wiki+"/debug").Body, mapped) {
		t.Error("the console does not show the mapped client_id")
	}
}

// TestSignOut: signing out of the wiki forgets its tokens, ends the wiki's
// and the wiki AS's sessions, and lands on the wiki's start page; the next
// sign-in goes to the IdP again (whose own session, the company's, stays).
func TestSignOut(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	b.get(s.topology.Wiki + "/todos")
	out := b.post(s.topology.Wiki+"/logout", map[string]string{})
	if out.URL != s.topology.Wiki+"/" || !strings.Contains(out.Body, `name="login_hint"`) {
		t.Fatalf("after sign-out: %d at %s:\n%s", out.Status, out.URL, out.Body)
	}
	var held, upstream int64
	s.dbs["wiki"].Table("access_tokens").Count(&held)
	s.dbs["wiki-as"].Table("upstream_sessions").Count(&upstream)
	if held != 0 || upstream != 0 {
		t.Errorf("after sign-out the wiki holds %d access tokens and its AS %d IdP sessions, want none", held, upstream)
	}
	if p := b.get(s.topology.Wiki + "/todos"); !strings.Contains(p.URL, "/authorize") && !strings.Contains(p.URL, "/login") {
		t.Errorf("My todos after sign-out landed at %s, want a sign-in", p.URL)
	}
	// The wiki AS has no session: it asks which organisation again.
	if p := b.get(s.topology.WikiAS + "/"); strings.Contains(p.Body, "Signed in here as") {
		t.Error("the wiki AS still has a session")
	}
}

// TestScopesAndOwnership: My todos asks for what the page offers (reading
// and adding: todos.read todos.write) and the IdP grants what the
// administrator's connection allows. With a read-only connection the page
// disables adding before anyone tries (issue 34, item 9: before, the list
// asked for todos.read alone and the form stayed active until Bob tried);
// the API refuses a write with the read-only token, naming the scope it
// needs; and one user's access token never reads another's todo.
func TestScopesAndOwnership(t *testing.T) {
	t.Parallel()
	// The test calls the API with the wiki's held token as a bearer token,
	// so the wiki runs without DPoP (TestWikiChainWithDPoP covers it).
	s := startStack(t, sqliteDB, func(c *configs) { c.wiki.DPoP = false })
	bob := newBrowser(t)
	bob.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	// Bob is the only one with a token until John signs in below.
	heldScope := func() (token, scope string) {
		t.Helper()
		if err := s.dbs["wiki"].Table("access_tokens").Select("token, scope").Row().Scan(&token, &scope); err != nil {
			t.Fatal(err)
		}
		return token, scope
	}
	if page := bob.get(s.topology.Wiki + "/todos"); strings.Contains(page.Body, `aria-disabled="true"`) {
		t.Error("with a connection that allows adding, the add form is disabled")
	}
	if _, scope := heldScope(); scope != "todos.read todos.write" {
		t.Fatalf("after My todos the wiki holds scope %q, want todos.read todos.write", scope)
	}
	added := bob.post(s.topology.Wiki+"/todos", map[string]string{"title": "Write the release notes"})
	if added.Status != http.StatusOK || !strings.Contains(added.Body, "Added to the todo app") || !strings.Contains(added.Body, "Write the release notes") {
		t.Fatalf("add from the wiki: %d:\n%s", added.Status, added.Body)
	}
	if empty := bob.post(s.topology.Wiki+"/todos", map[string]string{"title": "  "}); empty.Status != http.StatusBadRequest || !strings.Contains(empty.Body, "needs a title") {
		t.Errorf("an empty title: %d", empty.Status)
	}

	// The administrator makes the connection read-only: the page, opened
	// after, offers no adding, and says why.
	admin, csrf := adminBrowser(t, s)
	if p := admin.post(s.topology.IdP+"/admin/connections/1", map[string]string{
		"csrf": csrf, "action": "save", "scopes": "todos.read", "client_id_at_resource": demo.WikiAtTodoClient,
	}); p.Status != http.StatusOK {
		t.Fatalf("save: %d", p.Status)
	}
	bob.post(s.topology.Wiki+"/todos/forget-token", map[string]string{})
	page := bob.get(s.topology.Wiki + "/todos")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, demo.BobTodos[0]) {
		t.Fatalf("My todos with a read-only connection: %d:\n%.2000s", page.Status, page.Body)
	}
	if !strings.Contains(page.Body, `aria-disabled="true"`) || !strings.Contains(page.Body, "Adding needs the todos.write scope") {
		t.Errorf("with a read-only connection the add form is not disabled before anyone tries:\n%.3000s", page.Body)
	}
	readOnly, scope := heldScope()
	if scope != "todos.read" {
		t.Fatalf("with a read-only connection the wiki holds scope %q, want todos.read", scope)
	}
	// The narrowed grant is the IdP's answer while the token lives: the
	// page does not run the chain again on every visit.
	bob.get(s.topology.Wiki + "/todos")
	if out, _, _ := s.recorder.Runs()[0].Outcome(); !strings.Contains(out, "already held") {
		t.Errorf("the second visit ran the chain again instead of using the narrowed token: %q", out)
	}
	req, _ := http.NewRequest(http.MethodPost, s.topology.TodoAPI()+"/todos", strings.NewReader(`{"title":"sneaky"}`))
	req.Header.Set("Authorization", "Bearer "+readOnly)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if challenge := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != http.StatusForbidden ||
		!strings.Contains(challenge, `error="insufficient_scope"`) || !strings.Contains(challenge, `scope="todos.write"`) {
		t.Fatalf("a write with a read-only token: %d %s", resp.StatusCode, challenge)
	}

	// John's access token cannot read bob's todo 1.
	john := newBrowser(t)
	john.signIn(s.topology.Wiki, "john@tables.fake2", demo.Password)
	john.get(s.topology.Wiki + "/todos")
	var johnToken string
	if err := s.dbs["wiki"].Table("access_tokens").Select("token").Where("token <> ?", readOnly).Row().Scan(&johnToken); err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest(http.MethodGet, s.topology.TodoAPI()+"/todos/1", nil)
	req.Header.Set("Authorization", "Bearer "+johnToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("john reading bob's todo: %d, want 404", resp.StatusCode)
	}
}

// TestCookiesAndHeaders: every service's session cookie has its own name,
// is HttpOnly and SameSite=Lax; pages carry a content security policy; and
// a form posted from another site is refused.
func TestCookiesAndHeaders(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	b.get(s.topology.Todo + "/login?login_hint=bob%40tables.fake")

	names := map[string]bool{}
	for _, svc := range []string{"idp", "wiki-as", "todo-as", "wiki", "todo"} {
		u, _ := url.Parse(s.servers[svc].URL)
		for _, c := range b.client.Jar.Cookies(u) {
			names[c.Name] = true
		}
	}
	for _, want := range []string{"xaa_idp_session", "xaa_wikias_session", "xaa_todoas_session", "xaa_wiki_session", "xaa_todo_session"} {
		if !names[want] {
			t.Errorf("no cookie %s; have %v", want, names)
		}
	}

	resp, err := http.Get(s.topology.Wiki + "/login?login_hint=bob%40tables.fake")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, raw := range resp.Header.Values("Set-Cookie") {
		if !strings.Contains(raw, "HttpOnly") || !(strings.Contains(raw, "SameSite=Lax") || strings.Contains(raw, "SameSite=Strict")) {
			t.Errorf("cookie %q is not HttpOnly and SameSite=Lax or Strict", raw)
		}
	}
	page, err := http.Get(s.topology.Wiki + "/")
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}

	for _, target := range []string{s.topology.Todo + "/todos", s.topology.Wiki + "/todos", s.topology.Wiki + "/pages"} {
		req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader("title=from+evil"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.test")
		resp, err := b.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site post to %s: %d, want 403", target, resp.StatusCode)
		}
	}
}
