package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"xaa.example/idp/audit"
	"xaa.example/shared/demo"
	"xaa.example/shared/oauth"
	"xaa.example/shared/trace"
)

// signInAt opens a sign-in address (with its own next=) and answers the
// IdP's sign-in form, returning where the browser lands.
func (b *browser) signInAt(loginURL, email string) page {
	b.t.Helper()
	login := b.get(loginURL)
	m := formAction.FindStringSubmatch(login.Body)
	if m == nil {
		b.t.Fatalf("no sign-in form at %s:\n%.2000s", login.URL, login.Body)
	}
	fields := formFields(login.Body)
	fields["email"], fields["password"] = email, demo.Password
	return b.post(origin(login.URL)+htmlUnescape(m[1]), fields)
}

// TestNoOpenRedirectAfterSignIn: a return address that a browser would read
// as another site's is dropped at the wiki, the todo app and the IdP, and the
// person lands on the service's own start page.
func TestNoOpenRedirectAfterSignIn(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	for _, next := range []string{"/\t/evil.example", "/\\evil.example", "//evil.example", "/%2f%2fevil.example", "https://evil.example/"} {
		for _, svc := range []string{"wiki", "todo", "idp"} {
			base := s.servers[svc].URL
			b := newBrowser(t)
			landed := b.signInAt(base+"/login?login_hint=bob%40tables.fake&next="+url.QueryEscape(next), "bob@tables.fake")
			if landed.URL != base+"/" {
				t.Errorf("%s, next=%q: landed at %s, want %s/", svc, next, landed.URL, base)
			}
			if strings.Contains(landed.URL, "evil") {
				t.Errorf("%s, next=%q: sent to %s", svc, next, landed.URL)
			}
		}
	}
}

// TestBodiesAreBounded: every service refuses an upload (no route takes
// one) and a body past its limit, before any handler reads it.
func TestBodiesAreBounded(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	paths := map[string]string{"idp": "/login", "wiki-as": "/token", "todo-as": "/token", "todo": "/todos", "wiki": "/pages"}
	for name, path := range paths {
		for _, tc := range []struct {
			what, contentType string
			size              int
			want              int
		}{
			{what: "multipart", contentType: "multipart/form-data; boundary=x", size: 1 << 20, want: http.StatusUnsupportedMediaType},
			{what: "a 3 MB form", contentType: "application/x-www-form-urlencoded", size: 3 << 20, want: http.StatusRequestEntityTooLarge},
		} {
			req, _ := http.NewRequest(http.MethodPost, s.servers[name].URL+path, strings.NewReader(strings.Repeat("a", tc.size)))
			req.Header.Set("Content-Type", tc.contentType)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", name, tc.what, err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s %s %s: %d, want %d", name, path, tc.what, resp.StatusCode, tc.want)
			}
		}
	}
}

// TestClientAuthMethodsAndTargets: the IdP and the todo AS each allow the
// wiki's clients client_secret_post alone (as an Okta app can), the todo AS
// publishes only RFC 8414 metadata, the wiki AS omits scope at the IdP,
// and the wiki's target resource is configured: the chain still works.
func TestClientAuthMethodsAndTargets(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB, func(c *configs) {
		for i := range c.idp.Clients {
			if c.idp.Clients[i].ID == demo.WikiASClientAtIdP {
				c.idp.Clients[i].AuthMethod = oauth.AuthSecretPost
			}
		}
		for i := range c.todoAS.Server.Clients {
			if c.todoAS.Server.Clients[i].ID == demo.WikiAtTodoClient {
				c.todoAS.Server.Clients[i].AuthMethod = oauth.AuthSecretPost
			}
		}
		c.wikiAS.Tenants[0].IdP.AuthMethod = oauth.AuthSecretPost
		c.wikiAS.Tenants[0].IdP.OmitExchangeScope = true
		c.wiki.TodoAuthMethod = oauth.AuthSecretPost
		c.wrap["todo-as"] = func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/.well-known/openid-configuration" {
					http.NotFound(w, r)
					return
				}
				h.ServeHTTP(w, r)
			})
		}
	})
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	p := b.get(s.topology.Wiki + "/todos")
	if !strings.Contains(p.Body, demo.BobTodos[0]) {
		t.Fatalf("My todos does not show bob's todos:\n%.3000s", p.Body)
	}
	// What the IdP received: client_secret_post, and no scope.
	steps := s.traces["idp"].Steps(s.recorder.Runs()[0].ID)
	var exchange *trace.Step
	for i := range steps {
		if steps[i].URL == "/oauth2/v1/token" {
			exchange = &steps[i]
		}
	}
	if exchange == nil {
		t.Fatal("the IdP recorded no token exchange")
	}
	body := exchange.Request.Body
	basic := false
	for _, h := range exchange.Request.Headers {
		basic = basic || strings.EqualFold(h[0], "Authorization")
	}
	if !strings.Contains(body, "client_secret") || basic {
		t.Errorf("the wiki AS did not authenticate with client_secret_post: %s", body)
	}
	if strings.Contains(body, "scope=") {
		t.Errorf("the wiki AS sent scope to the IdP although told to omit it: %s", body)
	}
}

// TestTargetDiscoveredBeforeExchange: a todo AS that is not there is found
// out before an ID-JAG is asked for, so none is issued or audited.
func TestTargetDiscoveredBeforeExchange(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB, func(c *configs) {
		c.wrap["todo-as"] = func(http.Handler) http.Handler { return http.NotFoundHandler() }
	})
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	p := b.get(s.topology.Wiki + "/todos")
	if !strings.Contains(p.Body, "found no authorization server metadata") {
		t.Errorf("My todos does not say the todo AS has no metadata:\n%.3000s", p.Body)
	}
	var events int64
	s.dbs["idp"].Model(&audit.Event{}).Count(&events)
	if events != 0 {
		t.Errorf("the IdP audited %d token exchanges for a target that is not there, want none", events)
	}
}

// TestTargetResourceConfigured: the resource and audience the wiki asks for
// are configuration (an Auth0 API's identifier need not be its URL).
func TestTargetResourceConfigured(t *testing.T) {
	t.Parallel()
	const resource = "urn:todo:api"
	const audience = "urn:todo:as"
	s := startStack(t, sqliteDB, func(c *configs) {
		c.wiki.TodoResource = resource
		c.wiki.TodoAudience = audience
	})
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	b.get(s.topology.Wiki + "/todos")
	steps := s.traces["wiki-as"].Steps(s.recorder.Runs()[0].ID)
	found, asked := false, false
	for _, st := range steps {
		if st.Side == "server" && strings.Contains(st.Request.Body, "resource="+resource) {
			found = true
		}
		if st.Side == "server" && strings.Contains(st.Request.Body, "audience="+audience) {
			asked = true
		}
	}
	if !found {
		t.Errorf("the wiki did not ask for the configured resource %s", resource)
	}
	if !asked {
		t.Errorf("the wiki did not ask for the configured audience %s", audience)
	}
}

// TestCrossSiteRequests: a state-changing request that carries neither
// Origin nor Referer is not from this site's pages and is refused at the
// wiki and the todo app; the authorization servers' sign-out, which
// forgets the IdP tokens kept for a person, is not a cross-site GET.
func TestCrossSiteRequests(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	b.signIn(s.topology.Todo, "bob@tables.fake", demo.Password)
	b.get(s.topology.Wiki + "/todos")

	for _, target := range []string{s.topology.Wiki + "/todos", s.topology.Wiki + "/pages", s.topology.Wiki + "/logout", s.topology.Todo + "/todos", s.topology.Todo + "/logout"} {
		req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader("title=Planted+by+another+site"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := b.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s with neither Origin nor Referer: %d, want 403", target, resp.StatusCode)
		}
	}

	// Another site's image tag pointing at the wiki AS's /logout.
	p := b.get(s.topology.WikiAS + "/logout")
	if !strings.Contains(p.Body, "Sign out?") {
		t.Errorf("a bare GET /logout at the wiki AS did not ask to confirm: %d", p.Status)
	}
	var upstream int64
	s.dbs["wiki-as"].Table("upstream_sessions").Count(&upstream)
	if upstream != 1 {
		t.Errorf("a cross-site GET /logout made the wiki AS forget the IdP tokens (%d kept, want 1)", upstream)
	}
	if p := b.post(s.topology.WikiAS+"/logout", map[string]string{"csrf": "guessed"}); p.Status != http.StatusForbidden {
		t.Errorf("POST /logout with a wrong CSRF token: %d, want 403", p.Status)
	}
	// Confirmed with the page's own form, it signs out.
	form := formFields(p.Body)
	if out := b.post(s.topology.WikiAS+"/logout", form); !strings.Contains(out.Body, "signed out") {
		t.Errorf("the confirmed sign-out did not sign out: %d", out.Status)
	}
	s.dbs["wiki-as"].Table("upstream_sessions").Count(&upstream)
	if upstream != 0 {
		t.Errorf("after a confirmed sign-out the wiki AS keeps %d IdP sessions", upstream)
	}
}

// clock is a settable time for a service under test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestPasswordGuessingIsThrottled: after five wrong passwords an account is
// locked with a growing delay (429, Retry-After), the password is not even
// checked while locked, failures are logged and audited without the
// password, and an admin can unlock the account. Many accounts tried from
// one address lock the address.
func TestPasswordGuessingIsThrottled(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now()}
	s := startStack(t, sqliteDB, func(c *configs) { c.idp.Now = clk.Now })
	idp := s.topology.IdP
	b := newBrowser(t)
	form := formFields(b.get(idp + "/login").Body)
	try := func(email, password string) (int, string) {
		t.Helper()
		v := url.Values{}
		for k, val := range form {
			v.Set(k, val)
		}
		v.Set("email", email)
		v.Set("password", password)
		req, _ := http.NewRequest(http.MethodPost, idp+"/login", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", idp)
		resp, err := (&http.Client{Jar: b.client.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}

	const guess = "Tr0ub4dor&3-guess"
	for i := 1; i <= 5; i++ {
		if status, _ := try("bob@tables.fake", guess); status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d, want 401", i, status)
		}
	}
	status, retry := try("bob@tables.fake", guess)
	if status != http.StatusTooManyRequests || retry != "1" {
		t.Fatalf("sixth wrong password: %d, Retry-After %q; want 429 and 1", status, retry)
	}
	if status, _ := try("bob@tables.fake", demo.Password); status != http.StatusTooManyRequests {
		t.Fatalf("the right password while locked: %d, want 429 (a lock reveals nothing)", status)
	}
	clk.Add(2 * time.Second)
	if status, retry := try("bob@tables.fake", guess); status != http.StatusTooManyRequests || retry != "2" {
		t.Fatalf("a wrong password after the first lock: %d, Retry-After %q; want 429 and 2 (growing)", status, retry)
	}

	// The admin sees the lock and lifts it.
	admin, _ := adminBrowser(t, s)
	users := admin.get(idp + "/admin/users")
	if !strings.Contains(users.Body, "locked until") {
		t.Fatalf("the admin console does not show bob's account as locked")
	}
	i := strings.Index(users.Body, `/unlock"`)
	action := users.Body[strings.LastIndex(users.Body[:i], `action="`)+len(`action="`) : i+len(`/unlock`)]
	admin.post(idp+action, formFields(users.Body[strings.LastIndex(users.Body[:i], "<form"):]))
	if status, _ := try("bob@tables.fake", demo.Password); status != http.StatusSeeOther {
		t.Fatalf("the right password after the admin's unlock: %d, want 303", status)
	}

	// Failures are audited and logged, the password never.
	var failures int64
	s.dbs["idp"].Model(&audit.Event{}).Where("event = ?", audit.SignInFailed).Count(&failures)
	if failures < 6 {
		t.Errorf("%d failed sign-ins audited, want at least 6", failures)
	}
	if logs := s.logs.String(); !strings.Contains(logs, "sign-in failed") || strings.Contains(logs, guess) {
		t.Errorf("the log does not record the failures, or records the password")
	}

	// Twenty-one accounts guessed from one address lock the address.
	b = newBrowser(t)
	form = formFields(b.get(idp + "/login").Body)
	for i := range 21 {
		try(fmt.Sprintf("nobody%d@tables.fake", i), guess)
	}
	if status, _ := try("john@tables.fake2", demo.Password); status != http.StatusTooManyRequests {
		t.Errorf("a sign-in from an address that guessed at 21 accounts: %d, want 429", status)
	}
}

// TestConcurrentRefresh: when the ID tokens have expired, several requests
// of one person at once all refresh with the same refresh tokens (at the
// wiki AS, and at the IdP behind it); none of them is told to sign in again.
func TestConcurrentRefresh(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now()}
	s := startStack(t, sqliteDB, func(c *configs) {
		c.idp.Now, c.wikiAS.Now, c.todoAS.Server.Now, c.todo.Now, c.wiki.Now = clk.Now, clk.Now, clk.Now, clk.Now, clk.Now
	})
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	if p := b.get(s.topology.Wiki + "/todos"); !strings.Contains(p.Body, demo.BobTodos[0]) {
		t.Fatalf("My todos: %d", p.Status)
	}
	// Every ID token and access token has expired; the refresh tokens not.
	clk.Add(2 * time.Hour)
	const n = 6
	pages := make(chan page, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, err := b.client.Get(s.topology.Wiki + "/todos")
			if err != nil {
				t.Error(err)
				return
			}
			pages <- readPage(t, resp)
		})
	}
	wg.Wait()
	close(pages)
	for p := range pages {
		if p.Status != http.StatusOK || !strings.Contains(p.Body, demo.BobTodos[0]) {
			t.Errorf("a concurrent My todos after the ID tokens expired: %d, %s", p.Status, between(p.Body, `class="alert bad"`, "</div>"))
		}
	}
}

// between returns the text of s from start to the next end, for messages.
func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	j := strings.Index(s[i:], end)
	if j < 0 {
		return s[i:]
	}
	return s[i : i+j]
}

// TestAnonymousVisitsWriteNoSession: starting a sign-in (at the wiki, the
// todo app, the authorization servers and the IdP's form) and giving up
// leaves no session row on any service; finishing it still works.
func TestAnonymousVisitsWriteNoSession(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	rows := func() (n int64) {
		for _, db := range s.dbs {
			var c int64
			db.Table("web_sessions").Count(&c)
			n += c
		}
		return n
	}
	for range 20 {
		for _, start := range []string{
			s.topology.Wiki + "/login?login_hint=bob%40tables.fake", // through the wiki AS to the IdP's form
			s.topology.Todo + "/login?login_hint=bob%40tables.fake", // through the todo AS to the IdP's form
			s.topology.IdP + "/login",
			s.topology.WikiAS + "/",
		} {
			if p := newBrowser(t).get(start); p.Status != http.StatusOK {
				t.Fatalf("GET %s: %d", start, p.Status)
			}
		}
	}
	if n := rows(); n != 0 {
		t.Errorf("80 abandoned sign-ins left %d session rows, want none", n)
	}
	b := newBrowser(t)
	if p := b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password); !strings.Contains(p.Body, "Bobby Tables") {
		t.Fatalf("sign-in after the change: %d at %s", p.Status, p.URL)
	}
	if n := rows(); n == 0 {
		t.Error("a finished sign-in wrote no session")
	}
}

// TestRS256RelyingParty: every OpenID Provider here lists RS256 (OpenID
// Connect Discovery §3) and publishes an RSA key; ID tokens are RS256 unless
// a client asks for ES256; an RS256-only relying party verifies them.
func TestRS256RelyingParty(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB, func(c *configs) {
		for i := range c.wikiAS.Clients {
			if c.wikiAS.Clients[i].ID == demo.WikiClient {
				c.wikiAS.Clients[i].IDTokenAlg = "ES256"
			}
		}
	})
	for _, issuer := range []string{s.topology.IdP, s.topology.WikiAS, s.topology.TodoAS} {
		var md struct {
			Algs []string `json:"id_token_signing_alg_values_supported"`
		}
		resp, err := http.Get(issuer + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(resp.Body).Decode(&md)
		resp.Body.Close()
		if !slices.Contains(md.Algs, "RS256") || !slices.Contains(md.Algs, "ES256") {
			t.Errorf("%s lists id_token_signing_alg_values_supported %v, want RS256 and ES256", issuer, md.Algs)
		}
	}

	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	// The IdP's ID token that the wiki AS keeps: RS256 by default.
	var idpToken string
	if err := s.dbs["wiki-as"].Table("upstream_sessions").Select("id_token").Row().Scan(&idpToken); err != nil {
		t.Fatal(err)
	}
	ctx := oidc.ClientContext(t.Context(), http.DefaultClient)
	provider, err := oidc.NewProvider(ctx, s.topology.IdP)
	if err != nil {
		t.Fatal(err)
	}
	rs256Only := provider.Verifier(&oidc.Config{ClientID: demo.WikiASClientAtIdP, SupportedSigningAlgs: []string{"RS256"}})
	if _, err := rs256Only.Verify(ctx, idpToken); err != nil {
		t.Errorf("an RS256-only relying party refuses the IdP's ID token: %v", err)
	}
	// The wiki asked for ES256 at the wiki AS and still signs in: its ID
	// token is checked by go-oidc on every sign-in.
	if p := b.get(s.topology.Wiki + "/todos"); !strings.Contains(p.Body, demo.BobTodos[0]) {
		t.Errorf("the chain with an ES256 ID token at the wiki: %d", p.Status)
	}
	hdr := strings.SplitN(idpToken, ".", 2)[0]
	raw, _ := base64.RawURLEncoding.DecodeString(hdr)
	if !strings.Contains(string(raw), `"RS256"`) {
		t.Errorf("the IdP's ID token header %s, want alg RS256 by default", raw)
	}
}
