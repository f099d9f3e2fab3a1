package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"xaa.example/shared/demo"
	"xaa.example/shared/oauth"
	"xaa.example/shared/storage/storagetest"
	"xaa.example/shared/xaaclient"
)

// TestReplicas: two replicas of each authorization server and each app, on
// MariaDB, each pair behind a round-robin proxy, so that consecutive
// requests land on different processes. The chain works through any of
// them; twenty concurrent redemptions of one ID-JAG across the todo AS's
// replicas give exactly one access token; a sign-out, a forgotten token
// and an admin's change made through one replica hold on the other at
// once.
func TestReplicas(t *testing.T) {
	t.Parallel()
	s := startStack(t, func(tb testing.TB, _ string) *gorm.DB { return storagetest.MariaDB(tb) },
		func(c *configs) { c.replicas = 2 })
	bob := newBrowser(t)
	bob.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)

	// The chain, and the held token, through either replica of each.
	for i := range 4 {
		if p := bob.get(s.topology.Wiki + "/todos"); p.Status != http.StatusOK || !strings.Contains(p.Body, demo.BobTodos[0]) {
			t.Fatalf("My todos, request %d: %d\n%.1500s", i, p.Status, p.Body)
		}
	}
	// Forgotten through one replica, not used by the other: the next page
	// runs the chain again (the console's newest run is a new chain).
	bob.post(s.topology.Wiki+"/todos/forget-token", formFields(bob.get(s.topology.Wiki+"/todos").Body))
	if p := bob.get(s.topology.Wiki + "/todos"); p.Status != http.StatusOK || !strings.Contains(p.Body, demo.BobTodos[0]) {
		t.Fatalf("My todos after forgetting the token: %d", p.Status)
	}

	// Twenty concurrent redemptions of one ID-JAG, across the replicas.
	idjag, err := xaaclient.RequestIDJAG(t.Context(), http.DefaultClient, s.topology.IdP+"/oauth2/v1/token",
		xaaclient.Credentials{ClientID: demo.AgentClientAtIdP, ClientSecret: demo.AgentSecretAtIdP},
		xaaclient.IDJAGRequest{SubjectToken: agentIDToken(t, s, "bob@tables.fake"), Audience: s.topology.TodoAS, Resource: s.topology.TodoMCP(), Scope: oauth.Scopes{"todos.read"}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, refused := 0, 0
	for range 20 {
		wg.Go(func() {
			_, err := xaaclient.Redeem(t.Context(), http.DefaultClient, s.topology.TodoAS+"/token",
				xaaclient.Credentials{ClientID: demo.AgentAtTodoClient, ClientSecret: demo.AgentAtTodoSecret}, idjag.Token, oauth.Scopes{"todos.read"})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				accepted++
			} else if strings.Contains(err.Error(), "already used") {
				refused++
			} else {
				t.Errorf("a redemption failed otherwise: %v", err)
			}
		})
	}
	wg.Wait()
	if accepted != 1 || refused != 19 {
		t.Fatalf("%d redemptions accepted and %d refused as replays, want 1 and 19", accepted, refused)
	}

	// The admin disables the connection: the held token is refused by both
	// replicas of the todo app at once, whichever received the IdP's event.
	admin, csrf := adminBrowser(t, s)
	admin.post(s.topology.IdP+"/admin/connections/1", map[string]string{"csrf": csrf, "action": "disable"})
	for i := range 2 {
		if p := bob.get(s.topology.Wiki + "/todos"); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Access to the todo app is not allowed") {
			t.Fatalf("My todos after the admin disabled the connection, request %d: %d\n%.1500s", i, p.Status, p.Body)
		}
	}

	// Signed out through one replica: the session is over on both, even
	// for someone who kept a copy of its cookie.
	wiki, _ := url.Parse(s.topology.Wiki)
	copied := newBrowser(t)
	copied.client.Jar.SetCookies(wiki, bob.client.Jar.Cookies(wiki))
	for i := range 2 { // both replicas have seen the session
		if p := copied.get(s.topology.Wiki + "/"); !strings.Contains(p.Body, "Bobby Tables") {
			t.Fatalf("the copied cookie, request %d, before the sign-out: not signed in", i)
		}
	}
	bob.post(s.topology.Wiki+"/logout", formFields(bob.get(s.topology.Wiki+"/").Body))
	for i := range 2 {
		if p := copied.get(s.topology.Wiki + "/"); strings.Contains(p.Body, "Bobby Tables") {
			t.Fatalf("after the sign-out, the session's cookie still signs Bob in (request %d)", i)
		}
	}
}
