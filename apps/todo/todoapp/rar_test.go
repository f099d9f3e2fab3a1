package todoapp

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"xaa.example/shared/accesstoken"
	"xaa.example/shared/demo"
)

// TestAuthorizationDetailsEnforced (issue 35, item 4): a token whose
// authorization_details (RFC 9396) grant reading alone lists todos but
// adds none, at the API and at the MCP server, though its scope would
// allow both (A6); a token without them is limited by its scope alone.
func TestAuthorizationDetailsEnforced(t *testing.T) {
	f := newMCPFixture(t)
	issue := func(audience, details string) string {
		c := accesstoken.Claims{Issuer: f.as.URL, Subject: demo.AccountID("bob@tables.fake"), Audience: jwt.Audience{audience},
			ClientID: "agent-at-todo", Scope: "todos.read todos.write"}
		if details != "" {
			c.AuthorizationDetails = json.RawMessage(details)
		}
		tok, _, err := accesstoken.Issue(f.keys, c, time.Now(), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	readOnly := `[{"type":"todo","actions":["read"]}]`
	api := func(token, method string) int {
		req, _ := http.NewRequest(method, f.app.URL+"/api/todos", strings.NewReader(`{"title":"Not allowed"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	apiToken := issue(f.app.URL+"/api", readOnly)
	if got := api(apiToken, http.MethodGet); got != 200 {
		t.Errorf("listing with read: %d", got)
	}
	if got := api(apiToken, http.MethodPost); got != http.StatusForbidden {
		t.Errorf("adding with read alone: %d, want 403", got)
	}
	if got := api(issue(f.app.URL+"/api", ""), http.MethodPost); got != http.StatusCreated {
		t.Errorf("adding with the scope alone: %d, want 201", got)
	}

	session, err := f.session(t, issue(f.app.URL+"/mcp", readOnly))
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close()
	if _, err := session.CallTool(t.Context(), &mcp.CallToolParams{Name: "list_todos", Arguments: map[string]any{}}); err != nil {
		t.Errorf("list_todos with read: %v", err)
	}
	if res, err := session.CallTool(t.Context(), &mcp.CallToolParams{Name: "add_todo", Arguments: map[string]any{"title": "Not allowed"}}); err == nil && !res.IsError {
		t.Error("add_todo with read alone succeeded")
	}
	var n int64
	f.appState.cfg.DB.Model(&Todo{}).Where("title = ?", "Not allowed").Count(&n)
	if n != 1 { // the one the scope-only token added
		t.Errorf("%d todos titled 'Not allowed', want the scope-only token's one", n)
	}
}
