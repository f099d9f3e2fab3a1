package e2e

import (
	"net/http"
	"strings"
	"testing"

	"xaa.example/agent/cli"
	"xaa.example/apps/wiki/wikiapp"
	"xaa.example/shared/demo"
)

// TestWikiChainWithDPoP: the wiki's chain is bound to the wiki's key from
// the ID-JAG to the API call, on by default. The wiki proves its key to its
// AS, which conveys it to the IdP (requested_cnf, identity chaining draft,
// Delegated Key Binding); the ID-JAG and the access token carry the same
// cnf.jkt; the API is called with DPoP and a proof. DPOP=false (Config.DPoP)
// gives the bearer chain.
func TestWikiChainWithDPoP(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{true, false} {
		s := startStack(t, sqliteDB, func(c *configs) { c.wiki.DPoP = on })
		b := newBrowser(t)
		b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
		if p := b.get(s.topology.Wiki + "/todos"); !strings.Contains(p.Body, demo.BobTodos[0]) {
			t.Fatalf("DPoP %v: my todos: %d", on, p.Status)
		}
		var held wikiapp.AccessToken
		if err := s.dbs["wiki"].Take(&held).Error; err != nil {
			t.Fatal(err)
		}
		claims := claimsOf(held.Token)
		if on != (held.TokenType == "DPoP") || on != strings.Contains(claims, `"cnf":{"jkt":"`) {
			t.Fatalf("DPoP %v: the wiki holds a %s token: %s", on, held.TokenType, claims)
		}
		console := b.get(s.topology.Wiki + "/debug").Body
		if !on {
			if strings.Contains(console, "Authorization: DPoP") || strings.Contains(console, "dpopProof(") {
				t.Error("bearer mode sent a DPoP token, or its snippets make proofs")
			}
			continue
		}
		jkt := claims[strings.Index(claims, `"jkt":"`)+7:]
		jkt = jkt[:strings.IndexByte(jkt, '"')]
		for _, want := range []string{"Authorization: DPoP", "DPoP proof (RFC 9449)", "requested_cnf", "key binding",
			// Issue 34, item 3: the Code tab's snippets of the DPoP call make
			// their own proof (TestSnippetsRun runs them), and say so.
			"Each snippet below makes its own proof", "dpopProof(&#34;GET&#34;", `-H &#34;DPoP: $proof&#34;`} {
			if !strings.Contains(console, want) {
				t.Errorf("the console does not show %q", want)
			}
		}
		// The same key in the ID-JAG's cnf, the access token's, and beside
		// the proofs (to the wiki AS, the todo AS and the API).
		if n := strings.Count(console, jkt); n < 5 {
			t.Errorf("the wiki's key %s appears %d times in the console", jkt, n)
		}
		// The held token alone, from another machine: refused.
		req, _ := http.NewRequest(http.MethodGet, s.topology.TodoAPI()+"/todos", nil)
		req.Header.Set("Authorization", "Bearer "+held.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "DPoP") {
			t.Errorf("the bound token as Bearer: %d %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
}

// TestChainsWithDPoPNonces: when the todo AS asks for its nonce in every
// proof (RFC 9449 §8), the wiki and the agent learn it from the first
// refusal (use_dpop_nonce, DPoP-Nonce) and their chains still complete.
func TestChainsWithDPoPNonces(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB, func(c *configs) { c.todoAS.Server.DPoPNonces = true })
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	if p := b.get(s.topology.Wiki + "/todos"); !strings.Contains(p.Body, demo.BobTodos[0]) {
		t.Fatalf("the wiki's chain with nonces: %d", p.Status)
	}
	if console := b.get(s.topology.Wiki + "/debug").Body; !strings.Contains(console, "use_dpop_nonce") {
		t.Error("the console does not show the todo AS asking for its nonce")
	}
	home := t.TempDir()
	signedIn(t, s, home, "bob@tables.fake")
	env := map[string]string{"IDP_ISSUER": s.topology.IdP, "TODO_MCP_URL": s.topology.TodoMCP(), "AGENT_HOME": home, "AGENT_CONSOLE_URL": "off"}
	var out strings.Builder
	if err := cli.Run(t.Context(), []string{"todos"}, func(k string) string { return env[k] }, &out); err != nil || !strings.Contains(out.String(), demo.BobTodos[0]) {
		t.Fatalf("the agent's chain with nonces: %q %v", out.String(), err)
	}
}
