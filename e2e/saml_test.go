package e2e

import (
	stdbase64 "encoding/base64"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"xaa.example/shared/demo"
)

var samlForm = regexp.MustCompile(`(?s)<form method="post" action="([^"]+)"[^>]*>.*?name="SAMLResponse" value="([^"]+)".*?name="RelayState" value="([^"]*)"`)

// TestSAMLSignIn: a tables.fake3 person signs in to the wiki through SAML
// (the wiki AS is a SAML service provider of the local IdP); the same
// response posted again is refused, and so is one whose signature was
// broken; and their todos come through the ID-JAG draft's SAML path
// (assertion -> IdP refresh token -> ID-JAG).
func TestSAMLSignIn(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	b := newBrowser(t)
	login := b.signIn(s.topology.Wiki, "foo@tables.fake3", demo.Password)
	m := samlForm.FindStringSubmatch(login.Body)
	if m == nil {
		t.Fatalf("no SAML response form (%s):\n%.2000s", login.URL, login.Body)
	}
	acs, response, relay := html.UnescapeString(m[1]), html.UnescapeString(m[2]), html.UnescapeString(m[3])
	if acs != s.topology.WikiAS+"/saml/acs" {
		t.Errorf("the response goes to %s", acs)
	}
	home := b.post(acs, map[string]string{"SAMLResponse": response, "RelayState": relay})
	if !strings.Contains(home.Body, "Foo Tables") || !strings.HasPrefix(home.URL, s.topology.Wiki) {
		t.Fatalf("after the SAML response the browser is at %s:\n%.1500s", home.URL, home.Body)
	}

	// The same response again: the request it answered is spent.
	other := newBrowser(t)
	again := other.post(acs, map[string]string{"SAMLResponse": response, "RelayState": relay})
	if again.Status != 400 || !strings.Contains(again.Body, "Sign-in did not complete") {
		t.Errorf("a replayed response: %d\n%.800s", again.Status, again.Body)
	}

	// A broken signature, with a request of its own.
	third := newBrowser(t)
	login = third.signIn(s.topology.Wiki, "foo@tables.fake3", demo.Password)
	m = samlForm.FindStringSubmatch(login.Body)
	if m == nil {
		t.Fatal("no second SAML form")
	}
	xml, _ := base64Decode(html.UnescapeString(m[2]))
	tampered := strings.Replace(string(xml), "foo@tables.fake3", "bob@tables.fake3", 1)
	refused := third.post(acs, map[string]string{"SAMLResponse": base64Encode([]byte(tampered)), "RelayState": html.UnescapeString(m[3])})
	if refused.Status != 400 || !strings.Contains(refused.Body, "did not pass this server") {
		t.Errorf("a tampered response: %d\n%.800s", refused.Status, refused.Body)
	}

	// My todos through the draft's SAML path: at sign-in the wiki AS
	// exchanged the assertion for an IdP refresh token; now that refresh
	// token is the subject token of the ID-JAG request.
	todos := b.get(s.topology.Wiki + "/todos")
	if todos.Status != 200 || strings.Contains(todos.Body, `class="alert bad"`) || !strings.Contains(todos.Body, demo.FooTodos[0]) {
		t.Fatalf("My todos for a SAML person: %d\n%.2000s", todos.Status, todos.Body)
	}
	console := b.get(s.topology.Wiki + "/debug").Body
	if !strings.Contains(console, "urn:ietf:params:oauth:token-type:refresh_token") {
		t.Error("the console does not show the refresh token of the SAML path as the subject token")
	}
	var refresh string
	if err := s.dbs["wiki-as"].Table("upstream_sessions").Select("refresh_token").Where("saml_assertion <> ''").Row().Scan(&refresh); err != nil || refresh == "" {
		t.Errorf("the wiki AS kept no IdP refresh token for the SAML sign-in (%v)", err)
	}
}

func base64Decode(s string) ([]byte, error) { return stdbase64.StdEncoding.DecodeString(s) }
func base64Encode(b []byte) string          { return stdbase64.StdEncoding.EncodeToString(b) }

// postSAMLForm posts the SAML response form of the IdP's page login (the
// HTTP-POST binding), as the page's script would.
func postSAMLForm(t *testing.T, b *browser, login page) page {
	t.Helper()
	m := samlForm.FindStringSubmatch(login.Body)
	if m == nil {
		t.Fatalf("no SAML response form at %s:\n%.1500s", login.URL, login.Body)
	}
	return b.post(html.UnescapeString(m[1]), map[string]string{"SAMLResponse": html.UnescapeString(m[2]), "RelayState": html.UnescapeString(m[3])})
}

// TestSAMLPersonSeesTheAssertion (issue 34, item 4): on the default SAML
// path the wiki AS exchanged the person's assertion for an IdP refresh
// token at sign-in, and presents that refresh token for ID-JAGs. The
// console shows the assertion behind it, decoded, beside the refresh token
// the relay presents, and says the run rests on a SAML sign-in; before, it
// showed no assertion, and its note said an ID token.
func TestSAMLPersonSeesTheAssertion(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	b := newBrowser(t)
	postSAMLForm(t, b, b.signIn(s.topology.Wiki, "foo@tables.fake3", demo.Password))
	if todos := b.get(s.topology.Wiki + "/todos"); !strings.Contains(todos.Body, `id="held-token"`) {
		t.Fatalf("My todos for a SAML person: %d\n%.1500s", todos.Status, todos.Body)
	}
	console := b.get(s.topology.Wiki + "/debug").Body
	for _, want := range []string{
		"the IdP refresh token given for the SAML sign-in", "subject_token_type=urn:ietf:params:oauth:token-type:refresh_token",
		"the SAML assertion of the sign-in, which the IdP exchanged for the refresh token presented now",
		"SAML 2.0 assertion", "NotOnOrAfter", "foo@tables.fake3", "SignatureValue&gt;[signature removed]",
		"Before this run: SAML sign-in at the IdP"} {
		if !strings.Contains(words(console), want) {
			t.Errorf("the console does not show %q", want)
		}
	}
	assertNothingUsable(t, "the console", console)
}

// TestSAMLDirectPath: with SAML_EXCHANGE=assertion the wiki AS presents
// the SAML assertion itself as the subject token (the Node sample's path),
// and the console says which path ran.
func TestSAMLDirectPath(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB, func(c *configs) { c.wikiAS.Tenants[1].SAMLDirect = true })
	b := newBrowser(t)
	postSAMLForm(t, b, b.signIn(s.topology.Wiki, "foo@tables.fake3", demo.Password))
	todos := b.get(s.topology.Wiki + "/todos")
	if !strings.Contains(todos.Body, `id="held-token"`) {
		t.Fatalf("My todos through the assertion path: %d\n%.1500s", todos.Status, todos.Body)
	}
	console := b.get(s.topology.Wiki + "/debug").Body
	// The assertion itself, readable: indented XML, its conditions and
	// attributes explained, its signature values removed.
	for _, want := range []string{"urn:ietf:params:oauth:token-type:saml2", "the Node sample&#39;s path",
		"SAML 2.0 assertion", "NotOnOrAfter", "attribute mail", "foo@tables.fake3", "SignatureValue&gt;[signature removed]",
		// The IdP's checks on it, each named.
		"XML signature by this IdP", "Issuer is this IdP", "Conditions NotBefore and NotOnOrAfter hold now", "Audience is a service provider this client speaks for", "persistent NameID is an active person"} {
		if !strings.Contains(console, want) {
			t.Errorf("the console does not show %q", want)
		}
	}
	assertNothingUsable(t, "the console", console)
	// This path has no use for an IdP refresh token: none was asked for.
	var refreshTokens int64
	s.dbs["wiki-as"].Table("upstream_sessions").Where("refresh_token <> ''").Count(&refreshTokens)
	if refreshTokens != 0 {
		t.Errorf("the assertion path kept %d IdP refresh tokens", refreshTokens)
	}
}

// TestSAMLResourceApp: the todo AS signs tables.fake3 in by SAML too (a
// SAML-based resource app), linking the person by the persistent NameID,
// the IdP's user id; the wiki's ID-JAG for them then finds that account
// ("linked at sign-in"), not a just-in-time one.
func TestSAMLResourceApp(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB, func(c *configs) {
		for i := range c.todoAS.IDJAGs.Trusted {
			c.todoAS.IDJAGs.Trusted[i].JIT.Enabled = false // only the SAML link may find foo
		}
	})
	post := func(b *browser, login page) page { return postSAMLForm(t, b, login) }
	// foo opens the todo app: SAML at the todo AS.
	b := newBrowser(t)
	todoApp := post(b, b.signIn(s.topology.Todo, "foo@tables.fake3", demo.Password))
	if !strings.Contains(todoApp.Body, demo.FooTodos[0]) {
		t.Fatalf("the todo app after a SAML sign-in: %s\n%.1500s", todoApp.URL, todoApp.Body)
	}
	// Then the wiki, SAML at the wiki AS (single sign-on at the IdP), and
	// My todos through the chain.
	post(b, b.get(s.topology.Wiki+"/login?login_hint=foo%40tables.fake3"))
	if p := b.get(s.topology.Wiki + "/todos"); !strings.Contains(p.Body, demo.FooTodos[0]) {
		t.Fatalf("My todos for foo with no JIT: %d\n%.1500s", p.Status, p.Body)
	}
	if console := b.get(s.topology.Wiki + "/debug").Body; !strings.Contains(console, "linked at sign-in") {
		t.Error("the todo AS did not find foo through the SAML link")
	}
	// The todo AS asks for no ID-JAGs, so it kept no IdP refresh token.
	var refreshTokens int64
	s.dbs["todo-as"].Table("upstream_sessions").Where("refresh_token <> ''").Count(&refreshTokens)
	if refreshTokens != 0 {
		t.Errorf("the todo AS kept %d IdP refresh tokens", refreshTokens)
	}
}

// TestAdminChoosesSignInProtocol: the IdP's admin chooses, per organisation
// and app, SAML 2.0 or OpenID Connect (Admin console, Apps). The IdP then
// answers only that protocol for the organisation's people at that app,
// and says why to whoever arrives by the other; the choice is audited.
func TestAdminChoosesSignInProtocol(t *testing.T) {
	t.Parallel()
	choose := func(t *testing.T, s *stack, admin *browser, csrf, entityID, protocol string) {
		t.Helper()
		var orgID string
		if err := s.dbs["idp"].Table("orgs").Select("id").Where("domain = ?", "tables.fake3").Row().Scan(&orgID); err != nil {
			t.Fatal(err)
		}
		p := admin.post(s.topology.IdP+"/admin/apps/sign-in-protocol", map[string]string{"csrf": csrf, "entity_id": entityID, "org_id": orgID, "protocol": protocol})
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "now signs in to") {
			t.Fatalf("choose %s: %d\n%.1500s", protocol, p.Status, p.Body)
		}
	}

	t.Run("the app sends SAML, the admin chose OpenID Connect", func(t *testing.T) {
		s := startStack(t, sqliteDB)
		admin, csrf := adminBrowser(t, s)
		if apps := admin.get(s.topology.IdP + "/admin/apps"); !strings.Contains(apps.Body, "SAML apps") || !strings.Contains(apps.Body, "Use OpenID Connect") {
			t.Fatalf("the Apps tab offers no choice:\n%.2000s", apps.Body)
		}
		choose(t, s, admin, csrf, s.topology.WikiAS+"/saml/metadata", "oidc")
		b := newBrowser(t)
		p := b.signIn(s.topology.Wiki, "foo@tables.fake3", demo.Password)
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "signs in to this app with OpenID Connect, not SAML") || samlForm.MatchString(p.Body) {
			t.Fatalf("a SAML sign-in the admin turned off: %d\n%.1500s", p.Status, p.Body)
		}
		audit := admin.get(s.topology.IdP + "/admin/audit?q=tables.fake3")
		if !strings.Contains(audit.Body, "application.lifecycle.update") || !strings.Contains(audit.Body, "OpenID Connect") {
			t.Errorf("the change is not in the audit log:\n%.2000s", audit.Body)
		}
		// And back: SAML again signs foo in.
		choose(t, s, admin, csrf, s.topology.WikiAS+"/saml/metadata", "saml")
		if login := newBrowser(t).signIn(s.topology.Wiki, "foo@tables.fake3", demo.Password); !samlForm.MatchString(login.Body) {
			t.Fatalf("SAML chosen again, no SAML response: %d\n%.1500s", login.Status, login.Body)
		}
	})

	t.Run("the app sends OpenID Connect, the admin chose SAML", func(t *testing.T) {
		// The wiki AS signs all three organisations in with OpenID Connect.
		s := startStack(t, sqliteDB, func(c *configs) {
			c.wikiAS.Tenants = c.wikiAS.Tenants[:1]
			c.wikiAS.Tenants[0].Domains = demo.OrgDomains()
		})
		b := newBrowser(t)
		p := b.signIn(s.topology.Wiki, "foo@tables.fake3", demo.Password)
		if strings.Contains(p.Body, "Foo Tables") || !strings.Contains(p.Body, "SAML 2.0 as the way") {
			t.Fatalf("an OpenID Connect sign-in the admin gave to SAML: %d at %s\n%.1500s", p.Status, p.URL, p.Body)
		}
		admin, csrf := adminBrowser(t, s)
		choose(t, s, admin, csrf, s.topology.WikiAS+"/saml/metadata", "oidc")
		if p := newBrowser(t).signIn(s.topology.Wiki, "foo@tables.fake3", demo.Password); !strings.Contains(p.Body, "Foo Tables") {
			t.Fatalf("OpenID Connect chosen, foo is not signed in: %d at %s\n%.1500s", p.Status, p.URL, p.Body)
		}
	})
}
