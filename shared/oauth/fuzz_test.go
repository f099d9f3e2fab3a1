package oauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzTokenEndpoint sends arbitrary form bodies to a token endpoint: every
// answer must be JSON with the no-store header, 200 only for a correct
// request, and every error one of RFC 6749's codes.
func FuzzTokenEndpoint(f *testing.F) {
	for _, seed := range []string{
		"grant_type=test_grant&client_id=app&client_secret=s3cret",
		"grant_type=test_grant&client_id=app&client_secret=s3cret&scope=a&scope=b",
		"grant_type=%zz", "client_assertion_type=x&client_assertion=a.b.c", "", "&&&==",
	} {
		f.Add(seed)
	}
	ep := &TokenEndpoint{
		Auth:   &ClientAuth{Clients: NewStaticClients(Client{ID: "app", Secret: "s3cret", GrantTypes: []string{"test_grant"}})},
		Grants: map[string]Grant{"test_grant": echoGrant{}},
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		ep.ServeHTTP(rec, req)
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatal("answer without no-store")
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("answer is not JSON: %q", rec.Body)
		}
		if rec.Code == 200 {
			form, _ := url.ParseQuery(body)
			if form.Get("client_secret") != "s3cret" || form.Get("grant_type") != "test_grant" {
				t.Fatalf("200 for %q", body)
			}
			return
		}
		switch out["error"] {
		case "invalid_request", "invalid_client", "unsupported_grant_type", "unauthorized_client":
		default:
			t.Fatalf("error %v for %q", out["error"], body)
		}
	})
}
