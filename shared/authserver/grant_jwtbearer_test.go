package authserver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/accesstoken"
	"xaa.example/shared/demo"
	"xaa.example/shared/idjag"
	"xaa.example/shared/keys"
	"xaa.example/shared/oauth"
	"xaa.example/shared/storage/storagetest"
)

const (
	testIdP      = "https://idp.test"
	testResource = "https://todo.test/api"
)

// jwksSource serves a key set's public keys as an idjag.KeySource.
type jwksSource struct{ set jose.JSONWebKeySet }

func (s jwksSource) Key(_ context.Context, kid string) (*jose.JSONWebKey, error) {
	for i := range s.set.Keys {
		if s.set.Keys[i].KeyID == kid {
			return &s.set.Keys[i], nil
		}
	}
	return nil, jose.ErrUnsupportedKeyType
}

type resourceAS struct {
	srv    *httptest.Server
	idp    *keys.Set
	server *Server
	now    time.Time
}

// newResourceAS starts a todo-style AS that trusts a test IdP, whose keys
// the test holds to sign ID-JAGs.
func newResourceAS(t *testing.T) *resourceAS {
	t.Helper()
	idpKeys, err := keys.LoadOrCreate(context.Background(), storagetest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	ras := &resourceAS{idp: idpKeys, now: time.Now()}
	ras.srv = httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(ras.srv.Close)
	scopes := []string{demo.ScopeTodosRead, demo.ScopeTodosWrite}
	s, err := New(context.Background(), Config{
		Issuer:     ras.srv.URL,
		CookieName: "test_session",
		DB:         storagetest.SQLite(t),
		Now:        func() time.Time { return ras.now },
		IdP:        Upstream{Issuer: testIdP, ClientID: "as", ClientSecret: "as-secret"},
		Clients: []oauth.Client{
			{ID: "todo", Secret: "todo-secret", RedirectURIs: []string{"https://todo.test/callback"}, GrantTypes: []string{oauth.GrantAuthorizationCode}},
			{ID: "wiki-at-todo", Secret: "wiki-secret", GrantTypes: []string{oauth.GrantJWTBearer}, Scopes: scopes},
		},
		SeedUsers: []demo.User{{Email: "bob@tables.fake", Name: "Bobby Tables"}},
		Resources: []Resource{{URI: testResource, Scopes: scopes}},
		TrustedIssuers: []*idjag.TrustedIssuer{{
			Issuer: testIdP,
			Keys:   jwksSource{idpKeys.JWKS()},
			JIT:    idjag.JITPolicy{Enabled: true, EmailDomains: []string{"tables.fake"}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ras.server = s
	ras.srv.Config.Handler = s.Handler()
	return ras
}

// idjag signs an ID-JAG for this AS, changed by edit.
func (r *resourceAS) idjag(t *testing.T, edit func(c *idjag.Claims)) string {
	t.Helper()
	c := idjag.Claims{
		Issuer: testIdP, Subject: "00u-" + storagetest.ID(), Audience: jwt.Audience{r.srv.URL},
		ClientID: "wiki-at-todo", ID: "jti-" + storagetest.ID(),
		IssuedAt: jwt.NewNumericDate(r.now), Expiry: jwt.NewNumericDate(r.now.Add(5 * time.Minute)),
		Scope: "todos.read", Resource: idjag.StringList{testResource}, Email: "bob@tables.fake",
	}
	if edit != nil {
		edit(&c)
	}
	tok, err := r.idp.Sign(oauth.TypIDJAG, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (r *resourceAS) token(t *testing.T, client, secret string, form url.Values) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.srv.URL+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return resp.StatusCode, body, resp.Header
}

func bearer(assertion string, extra ...string) url.Values {
	v := url.Values{"grant_type": {oauth.GrantJWTBearer}, "assertion": {assertion}}
	for i := 0; i < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

func TestJWTBearerGrant(t *testing.T) {
	ras := newResourceAS(t)

	t.Run("valid, then replayed", func(t *testing.T) {
		assertion := ras.idjag(t, nil)
		status, body, h := ras.token(t, "wiki-at-todo", "wiki-secret", bearer(assertion))
		if status != 200 || body["token_type"] != "Bearer" || body["scope"] != "todos.read" {
			t.Fatalf("got %d %v", status, body)
		}
		if _, ok := body["refresh_token"]; ok {
			t.Error("a refresh token was issued for an ID-JAG (draft §4.4.3 says not to)")
		}
		if h.Get("Cache-Control") != "no-store" {
			t.Error("token response is cacheable")
		}
		v := &accesstoken.Verifier{Issuer: ras.srv.URL, Audience: testResource, Keys: jwksSource{ras.server.keys.JWKS()}, Now: time.Now}
		claims, err := v.Verify(context.Background(), body["access_token"].(string))
		if err != nil {
			t.Fatalf("the access token does not verify as an RFC 9068 token for the resource: %v", err)
		}
		if claims.Subject != demo.AccountID("bob@tables.fake") || claims.ClientID != "wiki-at-todo" {
			t.Errorf("access token for %s/%s, want bob's seeded account and wiki-at-todo", claims.Subject, claims.ClientID)
		}

		status, body, _ = ras.token(t, "wiki-at-todo", "wiki-secret", bearer(assertion))
		if status != 400 || body["error"] != "invalid_grant" || !strings.Contains(body["error_description"].(string), "already used") {
			t.Fatalf("replay: got %d %v, want invalid_grant", status, body)
		}
	})

	tests := []struct {
		name      string
		client    [2]string
		edit      func(c *idjag.Claims)
		extra     []string
		status    int
		error     string
		wantScope string
	}{
		{name: "scope narrowed to the ID-JAG's", extra: []string{"scope", "todos.read todos.write"}, status: 200, wantScope: "todos.read"},
		{name: "no scope claim grants nothing", edit: func(c *idjag.Claims) { c.Scope = "" }, status: 400, error: "invalid_scope"},
		{name: "unknown scope only", edit: func(c *idjag.Claims) { c.Scope = "admin" }, status: 400, error: "invalid_scope"},
		{name: "resource not governed here", edit: func(c *idjag.Claims) { c.Resource = idjag.StringList{"https://other.test/api"} }, status: 400, error: "invalid_grant"},
		{name: "requested resource not in the ID-JAG", extra: []string{"resource", "https://other.test/api"}, status: 400, error: "invalid_target"},
		{name: "unlinked subject outside the JIT domains", edit: func(c *idjag.Claims) { c.Email = "eve@elsewhere.test" }, status: 400, error: "invalid_grant"},
		{name: "unlinked subject without email", edit: func(c *idjag.Claims) { c.Email = "" }, status: 400, error: "invalid_grant"},
		{name: "JIT account in an allowed domain", edit: func(c *idjag.Claims) { c.Email = "new@tables.fake" }, status: 200, wantScope: "todos.read"},
		{name: "wrong client secret", client: [2]string{"wiki-at-todo", "nope"}, status: 401, error: "invalid_client"},
		{name: "client without the grant", client: [2]string{"todo", "todo-secret"}, status: 400, error: "unauthorized_client"},
		{name: "ID-JAG for another client", edit: func(c *idjag.Claims) { c.ClientID = "todo" }, status: 400, error: "invalid_grant"},
		{name: "missing assertion", edit: nil, extra: []string{"assertion", ""}, status: 400, error: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := tt.client
			if client[0] == "" {
				client = [2]string{"wiki-at-todo", "wiki-secret"}
			}
			status, body, _ := ras.token(t, client[0], client[1], bearer(ras.idjag(t, tt.edit), tt.extra...))
			if status != tt.status || (tt.error != "" && body["error"] != tt.error) {
				t.Fatalf("got %d %v, want %d %s", status, body, tt.status, tt.error)
			}
			if tt.status == 200 && body["scope"] != tt.wantScope {
				t.Errorf("scope %v, want %s", body["scope"], tt.wantScope)
			}
			if desc, _ := body["error_description"].(string); strings.Contains(desc, "gorm") || strings.Contains(desc, "sql") {
				t.Errorf("error_description leaks internals: %s", desc)
			}
		})
	}
}

func TestResourceASMetadata(t *testing.T) {
	ras := newResourceAS(t)
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		resp, err := http.Get(ras.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var md map[string]any
		if err := json.Unmarshal(b, &md); err != nil {
			t.Fatal(err)
		}
		if md["issuer"] != ras.srv.URL {
			t.Errorf("%s: issuer %v", path, md["issuer"])
		}
		if !strings.Contains(string(b), oauth.GrantJWTBearer) || !strings.Contains(string(b), oauth.ProfileIDJAG) {
			t.Errorf("%s does not advertise the jwt-bearer grant and the id-jag profile", path)
		}
		if strings.Contains(string(b), testIdP) {
			t.Errorf("%s discloses its trusted issuer", path)
		}
	}
}
