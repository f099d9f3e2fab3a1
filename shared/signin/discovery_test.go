package signin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestDiscoveryOrder: RFC 8414 metadata first (well-known part between host
// and path), OpenID Connect discovery when there is none, and a document
// for another issuer is never taken.
func TestDiscoveryOrder(t *testing.T) {
	var issuer string
	served := map[string]map[string]any{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		md, ok := served[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(md)
	}))
	defer srv.Close()
	issuer = srv.URL + "/tenant1"
	doc := func(iss, token string) map[string]any {
		return map[string]any{"issuer": iss, "token_endpoint": token, "token_endpoint_auth_methods_supported": []string{"client_secret_post"}}
	}

	served["/.well-known/oauth-authorization-server/tenant1"] = doc(issuer, srv.URL+"/tenant1/token-8414")
	served["/tenant1/.well-known/openid-configuration"] = doc(issuer, srv.URL+"/tenant1/token-oidc")
	md, err := NewUpstream(issuer, srv.Client()).Metadata(context.Background())
	if err != nil || md.TokenEndpoint != srv.URL+"/tenant1/token-8414" || md.TokenEndpointAuthMethods[0] != "client_secret_post" {
		t.Fatalf("with both documents: %+v, %v; want RFC 8414's", md, err)
	}

	delete(served, "/.well-known/oauth-authorization-server/tenant1")
	md, err = NewUpstream(issuer, srv.Client()).Metadata(context.Background())
	if err != nil || md.TokenEndpoint != srv.URL+"/tenant1/token-oidc" {
		t.Fatalf("with OpenID discovery alone: %+v, %v", md, err)
	}

	served["/.well-known/oauth-authorization-server/tenant1"] = doc("https://evil.example", "https://evil.example/token")
	delete(served, "/tenant1/.well-known/openid-configuration")
	if md, err := NewUpstream(issuer, srv.Client()).Metadata(context.Background()); err == nil {
		t.Fatalf("a document naming another issuer was taken: %+v", md)
	}
}
