package trace

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLabel(t *testing.T) {
	rows := []struct {
		method, path, ctype, body, want string
	}{
		{"POST", "/oauth2/v1/token", "application/x-www-form-urlencoded", "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange", "Token exchange: ID token → ID-JAG"},
		{"POST", "/token", "application/x-www-form-urlencoded", "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=x", "JWT bearer grant: ID-JAG → access token"},
		{"POST", "/mcp", "application/json", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_todos","arguments":{}}}`, "MCP tools/call list_todos"},
		{"POST", "/mcp", "application/json; charset=utf-8", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`, "MCP initialize"},
		{"POST", "/mcp", "application/json", `[{"jsonrpc":"2.0","method":"a"}]`, "POST /mcp"},
		{"POST", "/api/todos", "application/json", `{"title":"grant_type=refresh_token"}`, "POST /api/todos"},
		{"GET", "/.well-known/oauth-protected-resource/mcp", "", "", "Protected resource metadata (RFC 9728)"},
		{"GET", "/.well-known/oauth-authorization-server", "", "", "Authorization server metadata"},
		{"GET", "/tenant/.well-known/openid-configuration", "", "", "Authorization server metadata"},
		{"GET", "/oauth2/v1/keys", "", "", "Signing keys (JWKS)"},
		{"GET", "/jwks", "", "", "Signing keys (JWKS)"},
		{"GET", "/todos/3", "", "", "GET /todos/3"},
	}
	for _, row := range rows {
		r := httptest.NewRequest(row.method, row.path, strings.NewReader(row.body))
		if row.ctype != "" {
			r.Header.Set("Content-Type", row.ctype)
		}
		if got := Label(r, []byte(row.body)); got != row.want {
			t.Errorf("%s %s %s: %q, want %q", row.method, row.path, row.body, got, row.want)
		}
	}
}
