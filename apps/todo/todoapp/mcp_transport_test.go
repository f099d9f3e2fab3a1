package todoapp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/accesstoken"
	"xaa.example/shared/demo"
	"xaa.example/shared/dpop"
	"xaa.example/shared/oauth"
)

const toolsList = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`

// TestMCPNamesTheSchemeAsTheAPIDoes (issue 33, item 17): a token bound to a
// key, sent to /mcp as a bearer token, is refused as /api refuses it: 401
// with a DPoP challenge naming the error, and the MCP server's resource
// metadata; that metadata says which DPoP algorithms it takes.
func TestMCPNamesTheSchemeAsTheAPIDoes(t *testing.T) {
	f := newMCPFixture(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jkt, err := dpop.Thumbprint(&jose.JSONWebKey{Key: &key.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	bound, _, err := accesstoken.Issue(f.keys, accesstoken.Claims{Issuer: f.as.URL, Subject: demo.AccountID("bob@tables.fake"),
		Audience: jwt.Audience{f.app.URL + "/mcp"}, ClientID: "agent-at-todo", Scope: "todos.read", Cnf: &oauth.Confirmation{JKT: jkt}}, time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := f.rpc(t, bound, toolsList)
	challenge := strings.Join(resp.Header.Values("WWW-Authenticate"), ", ")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(challenge, "DPoP ") || !strings.Contains(challenge, `error="invalid_token"`) ||
		!strings.Contains(challenge, `resource_metadata="`+f.app.URL+`/.well-known/oauth-protected-resource/mcp"`) {
		t.Errorf("a bound token as Bearer: %d, WWW-Authenticate %q, %s", resp.StatusCode, challenge, body)
	}

	mdResp, err := http.Get(f.app.URL + "/.well-known/oauth-protected-resource/mcp")
	if err != nil {
		t.Fatal(err)
	}
	defer mdResp.Body.Close()
	var md struct {
		Algs []string `json:"dpop_signing_alg_values_supported"`
	}
	if err := json.NewDecoder(mdResp.Body).Decode(&md); err != nil || !slices.Contains(md.Algs, "ES256") || !slices.Contains(md.Algs, "Ed25519") {
		t.Errorf("the MCP server's metadata lists DPoP algorithms %v (%v)", md.Algs, err)
	}
}

// TestMCPChecksOrigin (issue 33, item 18; MCP transport, security warning):
// a request whose Origin is present and not the server's own is refused
// with 403, whatever its token: a web page elsewhere, or one with an
// opaque origin (null), must not reach the server through a browser (DNS
// rebinding). A client that sends no Origin (not a browser) passes.
func TestMCPChecksOrigin(t *testing.T) {
	f := newMCPFixture(t)
	token := f.token(t, f.app.URL+"/mcp", "todos.read", "bob@tables.fake")
	for _, tt := range []struct {
		origin string
		status int
	}{
		{"http://evil.example.com", http.StatusForbidden},
		{"null", http.StatusForbidden},
		{"http://localhost.evil.example", http.StatusForbidden},
		{f.app.URL, http.StatusOK},
		{"", http.StatusOK},
	} {
		t.Run("Origin "+tt.origin, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, f.app.URL+"/mcp", strings.NewReader(toolsList))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
			req.Header.Set("Authorization", "Bearer "+token)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("got %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
}
