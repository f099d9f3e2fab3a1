package oauth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

type echoGrant struct{}

func (echoGrant) Handle(_ context.Context, r *TokenRequest) (*TokenResponse, error) {
	return &TokenResponse{AccessToken: "for-" + r.Client.ID, TokenType: "Bearer"}, nil
}

func TestTokenEndpoint(t *testing.T) {
	ep := &TokenEndpoint{
		Auth: &ClientAuth{Clients: NewStaticClients(
			Client{ID: "app", Secret: "s3cret", GrantTypes: []string{"test_grant"}},
			Client{ID: "other", Secret: "x", GrantTypes: []string{"another"}},
		)},
		Grants: map[string]Grant{"test_grant": echoGrant{}, "another": echoGrant{}},
	}
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	tests := []struct {
		name        string
		method      string
		contentType string
		basic       [2]string
		body        string
		wantStatus  int
		wantError   string
	}{
		{name: "basic auth", basic: [2]string{"app", "s3cret"}, body: form("grant_type", "test_grant"), wantStatus: 200},
		{name: "post auth", body: form("grant_type", "test_grant", "client_id", "app", "client_secret", "s3cret"), wantStatus: 200},
		{name: "GET", method: http.MethodGet, wantStatus: 400, wantError: "invalid_request"},
		{name: "JSON body", contentType: "application/json", body: `{}`, wantStatus: 400, wantError: "invalid_request"},
		{name: "no grant_type", basic: [2]string{"app", "s3cret"}, body: form("x", "y"), wantStatus: 400, wantError: "invalid_request"},
		{name: "repeated parameter", basic: [2]string{"app", "s3cret"}, body: form("grant_type", "test_grant", "scope", "a", "scope", "b"), wantStatus: 400, wantError: "invalid_request"},
		{name: "unknown grant", basic: [2]string{"app", "s3cret"}, body: form("grant_type", "password"), wantStatus: 400, wantError: "unsupported_grant_type"},
		{name: "wrong secret", basic: [2]string{"app", "nope"}, body: form("grant_type", "test_grant"), wantStatus: 401, wantError: "invalid_client"},
		{name: "unknown client", basic: [2]string{"ghost", "s3cret"}, body: form("grant_type", "test_grant"), wantStatus: 401, wantError: "invalid_client"},
		{name: "no authentication", body: form("grant_type", "test_grant", "client_id", "app"), wantStatus: 401, wantError: "invalid_client"},
		{name: "two methods", basic: [2]string{"app", "s3cret"}, body: form("grant_type", "test_grant", "client_secret", "s3cret"), wantStatus: 400, wantError: "invalid_request"},
		{name: "grant not allowed for client", basic: [2]string{"other", "x"}, body: form("grant_type", "test_grant"), wantStatus: 400, wantError: "unauthorized_client"},
		{name: "oversize body", basic: [2]string{"app", "s3cret"}, body: form("grant_type", "test_grant", "pad", strings.Repeat("x", maxFormBytes)), wantStatus: 400, wantError: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, "/token", strings.NewReader(tt.body))
			ct := tt.contentType
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			req.Header.Set("Content-Type", ct)
			if tt.basic[0] != "" {
				req.SetBasicAuth(tt.basic[0], tt.basic[1])
			}
			rec := httptest.NewRecorder()
			ep.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body is not JSON: %s", rec.Body)
			}
			if tt.wantError != "" && body["error"] != tt.wantError {
				t.Fatalf("error %v, want %s", body["error"], tt.wantError)
			}
			if tt.wantStatus == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("a 401 without WWW-Authenticate")
			}
		})
	}
}

// scopeGrant answers with the scope the grant was handed.
type scopeGrant struct{}

func (scopeGrant) Handle(_ context.Context, r *TokenRequest) (*TokenResponse, error) {
	return &TokenResponse{AccessToken: "x", TokenType: "Bearer", Scope: r.Scope.String()}, nil
}

// TestScopePolicy: every grant gets the requested scope already narrowed
// to the client's allowed scopes, and a request for none of them is
// refused before any grant runs (it was enforced inside the jwt-bearer
// grant alone).
func TestScopePolicy(t *testing.T) {
	ep := &TokenEndpoint{
		Auth: &ClientAuth{Clients: NewStaticClients(
			Client{ID: "narrow", Secret: "s", GrantTypes: []string{"any_grant"}, Scopes: []string{"todos.read"}},
			Client{ID: "open", Secret: "s", GrantTypes: []string{"any_grant"}},
		)},
		Grants: map[string]Grant{"any_grant": scopeGrant{}},
	}
	for _, row := range []struct {
		client, scope string
		status        int
		want          string // the scope the grant saw, or the error
	}{
		{"narrow", "todos.read", 200, "todos.read"},
		{"narrow", "todos.read todos.write", 200, "todos.read"},
		{"narrow", "todos.write", 400, "invalid_scope"},
		{"narrow", "", 200, ""},
		{"open", "todos.write calendar.read", 200, "calendar.read todos.write"},
	} {
		form := url.Values{"grant_type": {"any_grant"}}
		if row.scope != "" {
			form.Set("scope", row.scope)
		}
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(row.client, "s")
		rec := httptest.NewRecorder()
		ep.ServeHTTP(rec, req)
		var body map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		got, _ := body["scope"].(string)
		if row.status != 200 {
			got, _ = body["error"].(string)
		}
		if rec.Code != row.status || got != row.want {
			t.Errorf("%s asking %q: %d %q, want %d %q", row.client, row.scope, rec.Code, got, row.status, row.want)
		}
	}
}
