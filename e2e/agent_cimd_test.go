package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"xaa.example/agent/cli"
	"xaa.example/shared/demo"
	"xaa.example/shared/dpop"
	"xaa.example/shared/jwks"
)

// TestAgentWithClientMetadataDocument: an agent the todo AS has never
// registered redeems ID-JAGs with a Client ID Metadata Document URL as its
// client_id and private_key_jwt (MCP EMA §5). The agent prints its
// document; its vendor's site (a test server) publishes it; the IdP admin
// names that URL as the agent's client id at the todo AS; agent todos
// works. A new key the document does not list is refused, and so is a
// document that moved behind a redirect.
func TestAgentWithClientMetadataDocument(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	pages := map[string]string{}
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		body, ok := pages[r.URL.Path]
		mu.Unlock()
		switch {
		case r.URL.Path == "/moved.json":
			http.Redirect(w, r, "/agent.json", http.StatusFound)
		case !ok:
			http.NotFound(w, r)
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
		}
	}))
	t.Cleanup(vendor.Close)
	docURL := vendor.URL + "/agent.json"
	s := startStack(t, sqliteDB, func(c *configs) {
		// The vendor's site is on a loopback address, which the todo AS
		// fetches from only when told (ClientMetadataLocalHosts).
		c.todoAS.IDJAGs.ClientMetadataLocalHosts = []string{strings.TrimPrefix(vendor.URL, "http://")}
	})

	md, err := jwks.Discover(t.Context(), http.DefaultClient, s.topology.TodoAS)
	if err != nil || !md.ClientIDMetadataDocuments {
		t.Fatalf("the todo AS does not advertise client_id_metadata_document_supported: %+v %v", md, err)
	}

	home := t.TempDir()
	env := map[string]string{"IDP_ISSUER": s.topology.IdP, "TODO_MCP_URL": s.topology.TodoMCP(), "AGENT_HOME": home, "AGENT_CLIENT_ID_AT_TODO": docURL, "AGENT_CONSOLE_URL": s.topology.Wiki}
	agent := func(args ...string) (string, error) {
		t.Helper()
		var out strings.Builder
		err := cli.Run(t.Context(), args, func(k string) string { return env[k] }, &out)
		return out.String(), err
	}
	doc, err := agent("client-metadata")
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		ClientID   string `json:"client_id"`
		AuthMethod string `json:"token_endpoint_auth_method"`
		JWKS       struct {
			Keys []map[string]any `json:"keys"`
		} `json:"jwks"`
	}
	if err := json.Unmarshal([]byte(doc), &parsed); err != nil || parsed.ClientID != docURL || parsed.AuthMethod != "private_key_jwt" || len(parsed.JWKS.Keys) != 1 || parsed.JWKS.Keys[0]["d"] != nil {
		t.Fatalf("agent client-metadata printed %s (%v)", doc, err)
	}
	if fi, err := os.Stat(filepath.Join(home, "client-key.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the agent's key: %v %v; want a 0600 file", err, fi)
	}
	mu.Lock()
	pages["/agent.json"] = doc
	mu.Unlock()

	// The admin names the document URL as the agent's client id at the
	// todo AS: the IdP puts it in the ID-JAG's client_id.
	admin, csrf := adminBrowser(t, s)
	conns := admin.get(s.topology.IdP + "/admin/connections").Body
	m := regexp.MustCompile(`id="connection-(\d+)"><div class="spread"><h2 class="flush">Agent → Todo \(MCP\)`).FindStringSubmatch(conns)
	if m == nil {
		t.Fatal("no Agent → Todo (MCP) connection in the admin console")
	}
	saveClientID := func(id string) {
		t.Helper()
		if page := admin.post(s.topology.IdP+"/admin/connections/"+m[1], map[string]string{"csrf": csrf, "action": "save", "scopes": "todos.read", "client_id_at_resource": id}); page.Status != http.StatusOK || !strings.Contains(page.Body, id) {
			t.Fatalf("saving the connection: %d", page.Status)
		}
	}
	saveClientID(docURL)
	signedIn(t, s, home, "bob@tables.fake")

	out, err := agent("-v", "todos")
	if err != nil || !strings.Contains(out, demo.BobTodos[0]) {
		t.Fatalf("agent todos as a client known by its metadata document: %q %v", out, err)
	}
	if !strings.Contains(out, `"client_id":"`+docURL+`"`) {
		t.Errorf("the ID-JAG does not name the document URL as client_id:\n%s", out)
	}

	// A key the published document does not list: refused at the todo AS.
	_ = os.Remove(filepath.Join(home, "client-key.json"))
	forgetAccessToken(t, home)
	if _, err := agent("todos"); err == nil || !strings.Contains(err.Error(), "kid") {
		t.Errorf("agent todos with a key its document does not list: %v", err)
	} else {
		t.Log(err)
	}

	// A document behind a redirect is not followed.
	env["AGENT_CLIENT_ID_AT_TODO"] = vendor.URL + "/moved.json"
	saveClientID(vendor.URL + "/moved.json")
	forgetAccessToken(t, home)
	if _, err := agent("todos"); err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Errorf("agent todos with a document behind a redirect: %v", err)
	} else {
		t.Log(err)
	}
}

// signedIn writes the agent's sign-in for email into home, as agent login
// leaves it, without the browser dance TestAgentCLI already walks.
func signedIn(t *testing.T, s *stack, home, email string) {
	t.Helper()
	st := map[string]any{"email": email, "sub": email, "id_token": agentIDToken(t, s, email), "id_token_expiry": time.Now().Add(time.Hour)}
	b, _ := json.Marshal(st)
	if err := os.WriteFile(filepath.Join(home, "tokens.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// forgetAccessToken drops the agent's held access token, so that its next
// call runs the chain.
func forgetAccessToken(t *testing.T, home string) {
	t.Helper()
	file := filepath.Join(home, "tokens.json")
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	_ = json.Unmarshal(raw, &st)
	delete(st, "access_token")
	b, _ := json.Marshal(st)
	_ = os.WriteFile(file, b, 0o600)
}

// TestAgentRunsInConsole: the agent's runs appear in the wiki's debug
// console beside the wiki's, with the steps the IdP, the todo AS and the
// todo app recorded; to the person who ran them alone. A report is taken
// only with the ID token the IdP issued to the agent.
func TestAgentRunsInConsole(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	home := t.TempDir()
	env := map[string]string{"IDP_ISSUER": s.topology.IdP, "TODO_MCP_URL": s.topology.TodoMCP(), "AGENT_HOME": home, "AGENT_CONSOLE_URL": s.topology.Wiki}
	signedIn(t, s, home, "bob@tables.fake")
	var out strings.Builder
	if err := cli.Run(t.Context(), []string{"-v", "todos"}, func(k string) string { return env[k] }, &out); err != nil {
		t.Fatalf("agent todos: %v\n%s", err, out.String())
	}
	m := regexp.MustCompile(`this run in the debug console: (\S+)\?pin=([a-z2-7]+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("agent -v todos did not say where its run is shown:\n%s", out.String())
	}
	runID := m[2]

	bob := newBrowser(t)
	bob.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	page := bob.get(s.topology.Wiki + "/debug?pin=" + runID)
	for _, want := range []string{
		"Agent: list todos", "Agent (MCP client)", "agent login gave the agent its ID token",
		"Token exchange: ID token → ID-JAG", "JWT bearer grant: ID-JAG → access token", "MCP tools/call list_todos",
		"Protected resource metadata (RFC 9728)", runID[:10],
		// DPoP: the proofs decoded, their key's thumbprint beside the cnf
		// of the tokens, the receivers' checks.
		"DPoP proof (RFC 9449)", "jwk thumbprint", "cnf", "DPoP proof (RFC 9449 §4.3)", "key binding",
	} {
		if !strings.Contains(words(page.Body), want) {
			t.Errorf("bob's console does not show %q for the agent's run", want)
		}
	}

	// One thumbprint, the agent's key's, in the ID-JAG's cnf, the access
	// token's cnf and beside each proof.
	var key jose.JSONWebKey
	kb, _ := os.ReadFile(filepath.Join(home, "dpop-key.json"))
	_ = json.Unmarshal(kb, &key)
	pub := key.Public()
	jkt, _ := dpop.Thumbprint(&pub)
	if n := strings.Count(page.Body, jkt); n < 4 {
		t.Errorf("the agent's key thumbprint %s appears %d times in the console; want it in both cnfs and beside the proofs", jkt, n)
	}

	alice := newBrowser(t)
	alice.signIn(s.topology.Wiki, "alice@tables.fake", demo.Password)
	// Alice sees none of it: not the run, nor any of its steps.
	if p := alice.get(s.topology.Wiki + "/debug?pin=" + runID); strings.Contains(p.Body, "Agent") || strings.Contains(p.Body, runID[:10]) || strings.Contains(p.Body, "Token exchange: ID token") || strings.Contains(p.Body, "/mcp") {
		t.Error("alice's console shows bob's agent run")
	}

	post := func(token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.topology.Wiki+"/debug/reports", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e.Error
	}
	good := agentIDToken(t, s, "bob@tables.fake")
	// The IdP's ID token for Bob that the wiki AS holds: signed by the same
	// IdP, for another client.
	var wikiASToken string
	if err := s.dbs["wiki-as"].Table("upstream_sessions").Select("id_token").Row().Scan(&wikiASToken); err != nil {
		t.Fatal(err)
	}
	fresh := `{"id":"` + strings.Repeat("a", 26) + `","title":"list todos","outcome":"Done.","started":"` + time.Now().Format(time.RFC3339) + `"}`
	parts := strings.Split(good, ".")
	for _, row := range []struct {
		name, token, body string
		status            int
		code              string
	}{
		{"no token", "", fresh, http.StatusUnauthorized, "invalid_token"},
		{"not a JWT", "nonsense", fresh, http.StatusUnauthorized, "invalid_token"},
		{"signature altered", parts[0] + "." + parts[1] + ".AAAA" + parts[2][4:], fresh, http.StatusUnauthorized, "invalid_token"},
		{"another client's ID token", wikiASToken, fresh, http.StatusUnauthorized, "invalid_token"},
		{"not JSON", good, "{", http.StatusBadRequest, "invalid_request"},
		{"bad id", good, `{"id":"../../x","title":"t"}`, http.StatusBadRequest, "invalid_request"},
		{"no title", good, `{"id":"` + strings.Repeat("b", 26) + `","title":" "}`, http.StatusBadRequest, "invalid_request"},
		{"a run already known", good, `{"id":"` + runID + `","title":"again"}`, http.StatusConflict, "invalid_request"},
		{"good", good, fresh, http.StatusCreated, ""},
	} {
		if status, code := post(row.token, row.body); status != row.status || code != row.code {
			t.Errorf("%s: %d %q; want %d %q", row.name, status, code, row.status, row.code)
		}
	}
}

// TestAgentDPoP: by default the agent's chain is bound to its key end to
// end (RFC 9449): the IdP binds the ID-JAG, the todo AS issues a DPoP
// token with the same cnf.jkt, and the MCP server takes it only with a
// proof. The token copied to another machine (no key) is refused, as
// Bearer and as DPoP with another key's proof. AGENT_DPOP=false gives
// bearer tokens.
func TestAgentDPoP(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	home := t.TempDir()
	env := map[string]string{"IDP_ISSUER": s.topology.IdP, "TODO_MCP_URL": s.topology.TodoMCP(), "AGENT_HOME": home, "AGENT_CONSOLE_URL": "off"}
	agent := func(args ...string) (string, error) {
		t.Helper()
		var out strings.Builder
		err := cli.Run(t.Context(), args, func(k string) string { return env[k] }, &out)
		return out.String(), err
	}
	signedIn(t, s, home, "bob@tables.fake")
	out, err := agent("-v", "todos")
	if err != nil || !strings.Contains(out, demo.BobTodos[0]) {
		t.Fatalf("agent todos with DPoP: %q %v", out, err)
	}
	raw, _ := os.ReadFile(filepath.Join(home, "tokens.json"))
	var st struct {
		AccessToken string `json:"access_token"`
		Type        string `json:"access_token_type"`
	}
	_ = json.Unmarshal(raw, &st)
	keyFile := filepath.Join(home, "dpop-key.json")
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the agent's DPoP key: %v", err)
	}
	var key jose.JSONWebKey
	kb, _ := os.ReadFile(keyFile)
	_ = json.Unmarshal(kb, &key)
	pub := key.Public()
	jkt, _ := dpop.Thumbprint(&pub)
	if st.Type != "DPoP" || !strings.Contains(claimsOf(st.AccessToken), `"jkt":"`+jkt+`"`) {
		t.Fatalf("the access token is %s with claims %s; want DPoP bound to %s", st.Type, claimsOf(st.AccessToken), jkt)
	}
	if !strings.Contains(out, `"cnf":{"jkt":"`+jkt+`"}`) {
		t.Errorf("the ID-JAG in -v is not bound to the agent's key:\n%s", out)
	}

	// Another machine with a copy of the token and no key.
	call := func(scheme string, proof string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, s.topology.TodoMCP(), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", scheme+" "+st.AccessToken)
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, strings.Join(resp.Header.Values("WWW-Authenticate"), " | ")
	}
	if status, challenge := call("Bearer", ""); status != http.StatusUnauthorized {
		t.Errorf("the bound token replayed as Bearer: %d %s", status, challenge)
	}
	thief, _ := dpop.NewKey()
	signer, _ := dpop.NewSigner(thief)
	proof, _ := signer.Proof(http.MethodPost, s.topology.TodoMCP(), st.AccessToken, "")
	if status, challenge := call("DPoP", proof); status != http.StatusUnauthorized || !strings.Contains(challenge, "invalid_dpop_proof") {
		t.Errorf("the bound token with another key's proof: %d %s", status, challenge)
	}

	// Bearer mode.
	env["AGENT_DPOP"] = "false"
	forgetAccessToken(t, home)
	if out, err := agent("todos"); err != nil || !strings.Contains(out, demo.BobTodos[0]) {
		t.Fatalf("agent todos with AGENT_DPOP=false: %q %v", out, err)
	}
	raw, _ = os.ReadFile(filepath.Join(home, "tokens.json"))
	_ = json.Unmarshal(raw, &st)
	if st.Type != "Bearer" || strings.Contains(claimsOf(st.AccessToken), "cnf") {
		t.Errorf("with AGENT_DPOP=false the token is %s: %s", st.Type, claimsOf(st.AccessToken))
	}
}

// claimsOf is a JWT's payload as JSON text.
func claimsOf(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	return string(b)
}
