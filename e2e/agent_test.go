package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"xaa.example/shared/demo"
	"xaa.example/shared/oauth"
	"xaa.example/shared/xaaclient"
)

// agentRedirect is where the agent's sign-in would land: a loopback port
// of the agent's registered redirect (RFC 8252 §7.3); nothing listens.
const agentRedirect = "http://127.0.0.1:49152/callback"

// agentIDToken signs email in at the IdP as the agent does (code + PKCE
// with a loopback redirect) and returns the IdP's ID token for the agent.
func agentIDToken(t *testing.T, s *stack, email string) string {
	t.Helper()
	verifier := strings.Repeat("agent-verifier-", 4)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id": {demo.AgentClientAtIdP}, "redirect_uri": {agentRedirect}, "response_type": {"code"},
		"scope": {"openid email profile offline_access"}, "state": {"st"}, "nonce": {"n"}, "login_hint": {email},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	b := newBrowser(t)
	b.client.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host == "127.0.0.1:49152" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	login := b.get(s.topology.IdP + "/oauth2/v1/authorize?" + q.Encode())
	fields := formFields(login.Body)
	fields["email"], fields["password"] = email, demo.Password
	form := url.Values{}
	for k, v := range fields {
		form.Set(k, v)
	}
	req, _ := http.NewRequest(http.MethodPost, s.topology.IdP+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.topology.IdP)
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Query().Get("code") == "" {
		t.Fatalf("the agent's sign-in did not come back with a code: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	tok := url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "redirect_uri": {agentRedirect}, "code_verifier": {verifier}}
	req, _ = http.NewRequest(http.MethodPost, s.topology.IdP+"/oauth2/v1/token", strings.NewReader(tok.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(demo.AgentClientAtIdP, demo.AgentSecretAtIdP)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		IDToken string `json:"id_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.IDToken == "" {
		t.Fatalf("the agent's code exchange: %d %v", resp.StatusCode, err)
	}
	return out.IDToken
}

// agentToken runs the agent's chain (EMA): the ID token for an ID-JAG at
// the IdP, then the ID-JAG for an access token to the MCP server.
func agentToken(t *testing.T, s *stack, idToken string, scope oauth.Scopes) (string, error) {
	t.Helper()
	ctx := t.Context()
	idjag, err := xaaclient.RequestIDJAG(ctx, http.DefaultClient, s.topology.IdP+"/oauth2/v1/token",
		xaaclient.Credentials{ClientID: demo.AgentClientAtIdP, ClientSecret: demo.AgentSecretAtIdP},
		xaaclient.IDJAGRequest{SubjectToken: idToken, Audience: s.topology.TodoAS, Resource: s.topology.TodoMCP(), Scope: scope})
	if err != nil {
		return "", err
	}
	at, err := xaaclient.Redeem(ctx, http.DefaultClient, s.topology.TodoAS+"/token",
		xaaclient.Credentials{ClientID: demo.AgentAtTodoClient, ClientSecret: demo.AgentAtTodoSecret}, idjag.Token, scope)
	if err != nil {
		return "", err
	}
	return at.AccessToken, nil
}

type withBearer struct{ token string }

func (b withBearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

func mcpCall(t *testing.T, s *stack, token, tool string, args map[string]any) (*mcp.CallToolResult, error) {
	t.Helper()
	session, err := mcp.NewClient(&mcp.Implementation{Name: "e2e-agent", Version: "1"}, nil).Connect(t.Context(),
		&mcp.StreamableClientTransport{Endpoint: s.topology.TodoMCP(), HTTPClient: &http.Client{Transport: withBearer{token}}, MaxRetries: -1}, nil)
	if err != nil {
		return nil, err
	}
	defer session.Close()
	return session.CallTool(t.Context(), &mcp.CallToolParams{Name: tool, Arguments: args})
}

// TestAgentChain: an agent's whole chain through the local IdP, as MCP's
// Enterprise-Managed Authorization has it. Bob signs in to the agent, the
// agent exchanges his ID token at the IdP for an ID-JAG for the todo app's
// MCP server, redeems it, and lists his todos over MCP. Adding needs
// todos.write, which the admin grants; disabling the connection refuses
// the agent's next exchange.
func TestAgentChain(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	idToken := agentIDToken(t, s, "bob@tables.fake")

	token, err := agentToken(t, s, idToken, oauth.Scopes{"todos.read", "todos.write"})
	if err != nil {
		t.Fatalf("the agent's chain: %v", err)
	}
	listed, err := mcpCall(t, s, token, "list_todos", nil)
	if err != nil || listed.IsError {
		t.Fatalf("list_todos over MCP: %v %v", err, listed)
	}
	out, _ := json.Marshal(listed.StructuredContent)
	if !strings.Contains(string(out), demo.BobTodos[0]) {
		t.Errorf("the agent sees %s", out)
	}
	if _, err := mcpCall(t, s, token, "add_todo", map[string]any{"title": "From the agent"}); err == nil {
		t.Error("the agent added a todo with the read-only scope the connection grants by default")
	}

	// The admin grants writing to the agent.
	admin, csrf := adminBrowser(t, s)
	conns := admin.get(s.topology.IdP + "/admin/connections").Body
	m := regexp.MustCompile(`id="connection-(\d+)"><div class="spread"><h2 class="flush">Agent → Todo \(MCP\)`).FindStringSubmatch(conns)
	if m == nil {
		t.Fatalf("the admin console does not show the agent's connection:\n%.3000s", conns)
	}
	form := url.Values{"csrf": {csrf}, "action": {"save"}, "scope": {"todos.read", "todos.write"}, "client_id_at_resource": {demo.AgentAtTodoClient}}
	req, _ := http.NewRequest(http.MethodPost, s.topology.IdP+"/admin/connections/"+m[1], strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.topology.IdP)
	if resp, err := admin.client.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("granting write: %v %v", resp, err)
	}
	token, err = agentToken(t, s, idToken, oauth.Scopes{"todos.read", "todos.write"})
	if err != nil {
		t.Fatal(err)
	}
	if added, err := mcpCall(t, s, token, "add_todo", map[string]any{"title": "From the agent"}); err != nil || added.IsError {
		t.Fatalf("add_todo after the admin granted write: %v %v", err, added)
	}

	// The wiki's token for the REST API does not open the MCP server.
	bob := newBrowser(t)
	bob.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	bob.get(s.topology.Wiki + "/todos")
	var wikiToken string
	if err := s.dbs["wiki"].Table("access_tokens").Select("token").Row().Scan(&wikiToken); err != nil {
		t.Fatal(err)
	}
	if _, err := mcpCall(t, s, wikiToken, "list_todos", nil); err == nil {
		t.Error("the wiki's REST API token opened the MCP server")
	}

	// Disabled: the agent's next exchange is refused.
	admin.post(s.topology.IdP+"/admin/connections/"+m[1], map[string]string{"csrf": csrf, "action": "disable"})
	_, err = agentToken(t, s, idToken, oauth.Scopes{"todos.read"})
	var er *oauth.Error
	if !errors.As(err, &er) || er.Code != "access_denied" {
		t.Errorf("the agent's exchange after the admin disabled its connection: %v, want access_denied", err)
	}
}
