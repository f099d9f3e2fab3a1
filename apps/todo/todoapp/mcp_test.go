package todoapp

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"gorm.io/gorm"

	"xaa.example/shared/accesstoken"
	"xaa.example/shared/demo"
	"xaa.example/shared/keys"
	"xaa.example/shared/storage/storagetest"
)

// mcpFixture is the todo app behind a real server, and a todo AS whose
// signing keys the test holds, publishing them as a real AS does.
type mcpFixture struct {
	app, as  *httptest.Server
	keys     *keys.Set
	appState *App
}

func newMCPFixture(t *testing.T) *mcpFixture {
	t.Helper()
	return newMCPFixtureEdited(t, storagetest.SQLite(t), nil)
}

// newMCPFixtureEdited is newMCPFixture on db, its configuration changed by
// edit before the app starts.
func newMCPFixtureEdited(t *testing.T, db *gorm.DB, edit func(*Config)) *mcpFixture {
	t.Helper()
	f := &mcpFixture{}
	ks, err := keys.LoadOrCreate(context.Background(), storagetest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	f.keys = ks
	f.as = httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(f.as.Close)
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": f.as.URL, "jwks_uri": f.as.URL + "/jwks", "token_endpoint": f.as.URL + "/token"})
	})
	mux.Handle("/jwks", ks)
	f.as.Config.Handler = mux

	f.app = httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(f.app.Close)
	topo := demo.Topology{Todo: f.app.URL, TodoAS: f.as.URL}
	cfg := DefaultConfig(topo)
	cfg.DB, cfg.Log, cfg.Trace = db, slog.New(slog.DiscardHandler), nil
	if edit != nil {
		edit(&cfg)
	}
	app, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.appState = app
	f.app.Config.Handler = app.Handler()
	return f
}

// tokenFrom is an access token of the todo AS for the API, granted on an
// ID-JAG of the IdP idp, about the person with this email; issued two
// seconds ago, so that an event now is after it (a revocation covers the
// second of its event).
func (f *mcpFixture) tokenFrom(t *testing.T, idp, email string) string {
	t.Helper()
	return f.tokenIssuedAt(t, idp, email, time.Now().Add(-2*time.Second))
}

// tokenIssuedAt is tokenFrom's token, issued at a given time.
func (f *mcpFixture) tokenIssuedAt(t *testing.T, idp, email string, issued time.Time) string {
	t.Helper()
	tok, _, err := accesstoken.Issue(f.keys, accesstoken.Claims{
		Issuer: f.as.URL, Subject: demo.AccountID(email), Audience: jwt.Audience{f.app.URL + "/api"}, ClientID: "agent-at-todo",
		Scope: "todos.read", Email: email, IdP: idp,
	}, issued, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// token is an access token of the todo AS for bob, for the audience.
func (f *mcpFixture) token(t *testing.T, audience, scope, email string) string {
	t.Helper()
	tok, _, err := accesstoken.Issue(f.keys, accesstoken.Claims{
		Issuer: f.as.URL, Subject: demo.AccountID(email), Audience: jwt.Audience{audience}, ClientID: "agent-at-todo", Scope: scope,
	}, time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// bearer adds an access token to every request of an MCP client.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// session connects the go-sdk MCP client to the todo app with token.
func (f *mcpFixture) session(t *testing.T, token string) (*mcp.ClientSession, error) {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "test-agent", Version: "1"}, nil)
	return client.Connect(t.Context(), &mcp.StreamableClientTransport{
		Endpoint: f.app.URL + "/mcp", HTTPClient: &http.Client{Transport: bearer{token, http.DefaultTransport}}, MaxRetries: -1,
	}, nil)
}

// rpc posts one JSON-RPC request to /mcp as it is, for what a library
// client would not send.
func (f *mcpFixture) rpc(t *testing.T, token, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.app.URL+"/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// TestMCPServer: the todo app's MCP server with the MCP Go SDK's client:
// tools need their scopes (403 insufficient_scope naming it), no token is a
// 401 pointing at RFC 9728 metadata, a token for the REST API does not work
// here nor the reverse, a person reaches only their own todos, and bad
// arguments are JSON-RPC or tool errors, never a 500.
func TestMCPServer(t *testing.T) {
	f := newMCPFixture(t)
	mcpURL, apiURL := f.app.URL+"/mcp", f.app.URL+"/api"

	resp, _ := f.rpc(t, "", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `resource_metadata="`+f.app.URL+`/.well-known/oauth-protected-resource/mcp"`) {
		t.Errorf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	md, err := http.Get(f.app.URL + "/.well-known/oauth-protected-resource/mcp")
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Resource string   `json:"resource"`
		Servers  []string `json:"authorization_servers"`
	}
	_ = json.NewDecoder(md.Body).Decode(&meta)
	md.Body.Close()
	if meta.Resource != mcpURL || len(meta.Servers) != 1 || meta.Servers[0] != f.as.URL {
		t.Errorf("protected resource metadata %+v", meta)
	}

	// A token for the REST API does not open the MCP server, and the reverse.
	if _, err := f.session(t, f.token(t, apiURL, "todos.read", "bob@tables.fake")); err == nil {
		t.Error("a token for the REST API opened the MCP server")
	}
	req, _ := http.NewRequest(http.MethodGet, apiURL+"/todos", nil)
	req.Header.Set("Authorization", "Bearer "+f.token(t, mcpURL, "todos.read", "bob@tables.fake"))
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != http.StatusUnauthorized {
		t.Errorf("a token for the MCP server on the REST API: %v %v", r.StatusCode, err)
	}

	read, err := f.session(t, f.token(t, mcpURL, "todos.read", "bob@tables.fake"))
	if err != nil {
		t.Fatalf("connect with a read token: %v", err)
	}
	defer read.Close()
	tools, err := read.ListTools(t.Context(), nil)
	if err != nil || len(tools.Tools) != 4 {
		t.Fatalf("tools: %v %v", tools, err)
	}
	listed, err := read.CallTool(t.Context(), &mcp.CallToolParams{Name: "list_todos", Arguments: map[string]any{"limit": 10}})
	if err != nil || listed.IsError {
		t.Fatalf("list_todos: %v %v", err, listed)
	}
	out, _ := json.Marshal(listed.StructuredContent)
	if !strings.Contains(string(out), demo.BobTodos[0]) || !strings.Contains(string(out), `"total":3`) {
		t.Errorf("list_todos answered %s", out)
	}
	if _, err := read.CallTool(t.Context(), &mcp.CallToolParams{Name: "add_todo", Arguments: map[string]any{"title": "Not allowed"}}); err == nil {
		t.Error("add_todo with a read-only token succeeded")
	}
	resp, _ = f.rpc(t, f.token(t, mcpURL, "todos.read", "bob@tables.fake"), `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add_todo","arguments":{"title":"x"}}}`)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope", scope="todos.write"`) {
		t.Errorf("a write tool with a read token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}

	write, err := f.session(t, f.token(t, mcpURL, "todos.read todos.write", "bob@tables.fake"))
	if err != nil {
		t.Fatalf("connect with a write token: %v", err)
	}
	defer write.Close()
	added, err := write.CallTool(t.Context(), &mcp.CallToolParams{Name: "add_todo", Arguments: map[string]any{"title": "  Water the plants  "}})
	if err != nil || added.IsError {
		t.Fatalf("add_todo: %v %v", err, added)
	}
	var todo Todo
	b, _ := json.Marshal(added.StructuredContent)
	_ = json.Unmarshal(b, &todo)
	if todo.Title != "Water the plants" || todo.ID == 0 {
		t.Fatalf("added %s", b)
	}
	for _, call := range []mcp.CallToolParams{
		{Name: "complete_todo", Arguments: map[string]any{"id": todo.ID}},
		{Name: "rename_todo", Arguments: map[string]any{"id": todo.ID, "title": "Water the ferns"}},
	} {
		if res, err := write.CallTool(t.Context(), &call); err != nil || res.IsError {
			t.Errorf("%s: %v %s", call.Name, err, text(res))
		}
	}

	// John's tools do not reach Bob's todos.
	john, err := f.session(t, f.token(t, mcpURL, "todos.read todos.write", "john@tables.fake2"))
	if err != nil {
		t.Fatal(err)
	}
	defer john.Close()
	for _, call := range []mcp.CallToolParams{
		{Name: "complete_todo", Arguments: map[string]any{"id": todo.ID}},
		{Name: "rename_todo", Arguments: map[string]any{"id": todo.ID, "title": "Mine now"}},
	} {
		if res, err := john.CallTool(t.Context(), &call); err != nil || !res.IsError || !strings.Contains(text(res), "no todo") {
			t.Errorf("john's %s on bob's todo: %v %v", call.Name, err, res)
		}
	}
	if res, _ := john.CallTool(t.Context(), &mcp.CallToolParams{Name: "list_todos"}); res != nil {
		out, _ := json.Marshal(res.StructuredContent)
		if strings.Contains(string(out), "Water the ferns") || strings.Contains(string(out), demo.BobTodos[0]) {
			t.Errorf("john's list shows bob's todos: %s", out)
		}
	}

	// Bad arguments: tool errors for values, JSON-RPC errors for types.
	for _, call := range []mcp.CallToolParams{
		{Name: "add_todo", Arguments: map[string]any{"title": strings.Repeat("x", 600)}},
		{Name: "add_todo", Arguments: map[string]any{"title": "   "}},
		{Name: "list_todos", Arguments: map[string]any{"limit": 500}},
		{Name: "list_todos", Arguments: map[string]any{"cursor": "not-a-cursor"}},
		{Name: "complete_todo", Arguments: map[string]any{"id": -3}},
	} {
		if res, err := write.CallTool(t.Context(), &call); err != nil || !res.IsError {
			t.Errorf("%s %v: %v %v, want a tool error", call.Name, call.Arguments, err, res)
		}
	}
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"add_todo","arguments":{"title":5}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"complete_todo","arguments":{"id":"one"}}}`,
		`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"no_such_tool","arguments":{}}}`,
	} {
		resp, answer := f.rpc(t, f.token(t, mcpURL, "todos.read todos.write", "bob@tables.fake"), body)
		if resp.StatusCode >= 500 || !(strings.Contains(answer, `"error"`) || strings.Contains(answer, `"isError":true`)) {
			t.Errorf("%s: %d %s, want a JSON-RPC error", body, resp.StatusCode, answer)
		}
	}
}
