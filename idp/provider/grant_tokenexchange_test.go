package provider

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"xaa.example/idp/store"
	"xaa.example/shared/op"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/demo"
	"xaa.example/shared/dpop"
	"xaa.example/shared/oauth"
	"xaa.example/shared/storage/storagetest"
)

var testTopology = demo.Topology{
	IdP: "https://idp.test", WikiAS: "https://wiki-as.test", TodoAS: "https://todo-as.test",
	Wiki: "https://wiki.test", Todo: "https://todo.test",
}

func newTestIdP(t *testing.T) *Server {
	t.Helper()
	return newTestIdPWith(t, DefaultConfig(testTopology))
}

// newTestIdPWith starts an IdP of cfg on a database of its own.
func newTestIdPWith(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.DB = storagetest.SQLite(t)
	s, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func (s *Server) bob(t *testing.T) *store.User {
	t.Helper()
	var u store.User
	if err := s.cfg.DB.Take(&u, "email = ?", "bob@tables.fake").Error; err != nil {
		t.Fatal(err)
	}
	return &u
}

// idToken is an ID token of this IdP for bob, issued to client, changed by edit.
func (s *Server) idToken(t *testing.T, client string, edit func(*op.IDClaims)) string {
	t.Helper()
	now := time.Now()
	c := op.IDClaims{
		Issuer: s.cfg.Issuer, Subject: s.bob(t).ID, Audience: jwt.Audience{client},
		Expiry: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now),
		AuthTime: jwt.NewNumericDate(now), Email: "bob@tables.fake", Name: "Bobby Tables", AMR: []string{"pwd"},
	}
	if edit != nil {
		edit(&c)
	}
	tok, err := s.op.Keys.Sign(oauth.TypJWT, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func exchangeForm(subject string, edit ...string) url.Values {
	v := url.Values{
		"grant_type":           {oauth.GrantTokenExchange},
		"requested_token_type": {oauth.TokenTypeIDJAG},
		"subject_token":        {subject},
		"subject_token_type":   {oauth.TokenTypeIDToken},
		"audience":             {testTopology.TodoAS},
		"resource":             {testTopology.TodoAPI()},
		"scope":                {"todos.read"},
	}
	for i := 0; i < len(edit); i += 2 {
		if edit[i+1] == "" {
			v.Del(edit[i])
		} else {
			v.Set(edit[i], edit[i+1])
		}
	}
	return v
}

func (s *Server) exchange(t *testing.T, client, secret, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, pathToken, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, secret)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("not JSON: %s", rec.Body)
	}
	return rec.Code, out
}

func TestTokenExchange(t *testing.T) {
	s := newTestIdP(t)
	wiki, wikiSecret := demo.WikiASClientAtIdP, demo.WikiASSecretAtIdP
	good := s.idToken(t, wiki, nil)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	foreign := func() string {
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: otherKey}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", s.op.Keys.KeyID()))
		tok, _ := jwt.Signed(signer).Claims(map[string]any{"iss": s.cfg.Issuer, "sub": s.bob(t).ID, "aud": wiki, "exp": time.Now().Add(time.Hour).Unix()}).Serialize()
		return tok
	}()
	tampered := func() string {
		p := strings.Split(good, ".")
		claims, _ := json.Marshal(map[string]any{"iss": s.cfg.Issuer, "sub": "00uSOMEONEELSE", "aud": wiki, "exp": time.Now().Add(time.Hour).Unix()})
		return p[0] + "." + base64.RawURLEncoding.EncodeToString(claims) + "." + p[2]
	}()
	idjagAsSubject := func() string {
		tok, _ := s.op.Keys.Sign(oauth.TypIDJAG, map[string]any{"iss": s.cfg.Issuer, "sub": s.bob(t).ID, "aud": wiki, "exp": time.Now().Add(time.Minute).Unix()})
		return tok
	}()

	tests := []struct {
		name      string
		client    [2]string
		body      string
		status    int
		error     string
		wantScope string
	}{
		{name: "valid", body: exchangeForm(good).Encode(), status: 200, wantScope: "todos.read"},
		{name: "scope narrowed to the connection", body: exchangeForm(good, "scope", "todos.read admin").Encode(), status: 200, wantScope: "todos.read"},
		{name: "no scope asks for all the connection allows", body: exchangeForm(good, "scope", "").Encode(), status: 200, wantScope: "todos.read todos.write"},
		{name: "wrong client secret", client: [2]string{wiki, "nope"}, body: exchangeForm(good).Encode(), status: 401, error: "invalid_client"},
		{name: "client without the grant", client: [2]string{demo.TodoASClientAtIdP, demo.TodoASSecretAtIdP}, body: exchangeForm(s.idToken(t, demo.TodoASClientAtIdP, nil)).Encode(), status: 400, error: "unauthorized_client"},
		{name: "requested_token_type access token", body: exchangeForm(good, "requested_token_type", oauth.TokenTypeAccessToken).Encode(), status: 400, error: "invalid_request"},
		{name: "no requested_token_type", body: exchangeForm(good, "requested_token_type", "").Encode(), status: 400, error: "invalid_request"},
		{name: "no subject_token", body: exchangeForm("", "subject_token", "").Encode(), status: 400, error: "invalid_request"},
		// Refresh tokens are subject tokens (the draft's SAML path); an ID token is not one.
		{name: "an ID token presented as a refresh token", body: exchangeForm(good, "subject_token_type", oauth.TokenTypeRefreshToken).Encode(), status: 400, error: "invalid_grant"},
		{name: "subject_token_type access token", body: exchangeForm(good, "subject_token_type", oauth.TokenTypeAccessToken).Encode(), status: 400, error: "invalid_request"},
		{name: "subject token signed by another key", body: exchangeForm(foreign).Encode(), status: 400, error: "invalid_grant"},
		{name: "tampered subject token", body: exchangeForm(tampered).Encode(), status: 400, error: "invalid_grant"},
		{name: "subject token of another client", body: exchangeForm(s.idToken(t, demo.TodoASClientAtIdP, nil)).Encode(), status: 400, error: "invalid_grant"},
		{name: "expired subject token", body: exchangeForm(s.idToken(t, wiki, func(c *op.IDClaims) { c.Expiry = jwt.NewNumericDate(time.Now().Add(-time.Hour)) })).Encode(), status: 400, error: "invalid_grant"},
		{name: "subject token of another issuer", body: exchangeForm(s.idToken(t, wiki, func(c *op.IDClaims) { c.Issuer = "https://other-idp.test" })).Encode(), status: 400, error: "invalid_grant"},
		{name: "an ID-JAG as subject token", body: exchangeForm(idjagAsSubject).Encode(), status: 400, error: "invalid_grant"},
		{name: "unknown user", body: exchangeForm(s.idToken(t, wiki, func(c *op.IDClaims) { c.Subject = "00unobody" })).Encode(), status: 400, error: "invalid_grant"},
		{name: "no audience", body: exchangeForm(good, "audience", "").Encode(), status: 400, error: "invalid_request"},
		{name: "unknown audience", body: exchangeForm(good, "audience", "https://unknown-as.test").Encode(), status: 400, error: "invalid_target"},
		{name: "resource not governed by the audience", body: exchangeForm(good, "resource", "https://other.test/api").Encode(), status: 400, error: "invalid_target"},
		{name: "scope the connection does not allow", body: exchangeForm(good, "scope", "admin").Encode(), status: 400, error: "invalid_scope"},
		{name: "actor token", body: exchangeForm(good, "actor_token", good, "actor_token_type", oauth.TokenTypeIDToken).Encode(), status: 400, error: "invalid_request"},
		{name: "repeated audience", body: exchangeForm(good).Encode() + "&audience=" + url.QueryEscape(testTopology.TodoAS), status: 400, error: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := tt.client
			if client[0] == "" {
				client = [2]string{wiki, wikiSecret}
			}
			status, body := s.exchange(t, client[0], client[1], tt.body)
			if status != tt.status || (tt.error != "" && body["error"] != tt.error) {
				t.Fatalf("got %d %v, want %d %s", status, body, tt.status, tt.error)
			}
			if tt.status != 200 {
				if _, issued := body["access_token"]; issued {
					t.Error("an ID-JAG was issued")
				}
				return
			}
			if body["issued_token_type"] != oauth.TokenTypeIDJAG || body["token_type"] != "N_A" || body["scope"] != tt.wantScope {
				t.Fatalf("response %v", body)
			}
			if _, ok := body["refresh_token"]; ok {
				t.Error("a refresh token came with the ID-JAG")
			}
		})
	}
}

// TestTokenExchangeIDJAG checks the issued ID-JAG's header and claims
// against the draft and docs/PROTOCOL.md.
func TestTokenExchangeIDJAG(t *testing.T) {
	s := newTestIdP(t)
	status, body := s.exchange(t, demo.WikiASClientAtIdP, demo.WikiASSecretAtIdP, exchangeForm(s.idToken(t, demo.WikiASClientAtIdP, nil)).Encode())
	if status != 200 {
		t.Fatalf("got %d %v", status, body)
	}
	tok, err := jwt.ParseSigned(body["access_token"].(string), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if typ := tok.Headers[0].ExtraHeaders[jose.HeaderType]; typ != oauth.TypIDJAG || tok.Headers[0].KeyID != s.op.Keys.KeyID() {
		t.Errorf("header typ %v kid %s", typ, tok.Headers[0].KeyID)
	}
	var c map[string]any
	if err := s.op.Keys.Verify(body["access_token"].(string), oauth.TypIDJAG, &c); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"iss": s.cfg.Issuer, "sub": s.bob(t).ID, "aud": testTopology.TodoAS, "client_id": demo.WikiAtTodoClient,
		"scope": "todos.read", "resource": testTopology.TodoAPI(), "email": "bob@tables.fake",
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %v, want %v", k, c[k], v)
		}
	}
	if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 300 {
		t.Errorf("lifetime %v s, want 300 (Okta's)", exp-iat)
	}
	if jti, _ := c["jti"].(string); len(jti) < 16 {
		t.Errorf("jti %q is too short to be unique", jti)
	}
}

func TestIdPMetadata(t *testing.T) {
	s := newTestIdP(t)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/openid-configuration", nil))
	var md map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &md); err != nil {
		t.Fatal(err)
	}
	if md["issuer"] != s.cfg.Issuer || md["token_endpoint"] != s.cfg.Issuer+"/oauth2/v1/token" || md["jwks_uri"] != s.cfg.Issuer+"/oauth2/v1/keys" {
		t.Errorf("endpoints: %v", md)
	}
	if !strings.Contains(rec.Body.String(), `"identity_chaining_requested_token_types_supported": [
    "urn:ietf:params:oauth:token-type:id-jag"`) || !strings.Contains(rec.Body.String(), oauth.GrantTokenExchange) {
		t.Errorf("metadata does not advertise ID-JAG issuance:\n%s", rec.Body)
	}
}

// TestTokenExchangeFollowsAdminChanges: nothing is cached past a change of
// the connection or the user.
func TestTokenExchangeFollowsAdminChanges(t *testing.T) {
	s := newTestIdP(t)
	body := exchangeForm(s.idToken(t, demo.WikiASClientAtIdP, nil)).Encode()
	call := func() (int, map[string]any) {
		return s.exchange(t, demo.WikiASClientAtIdP, demo.WikiASSecretAtIdP, body)
	}
	if status, b := call(); status != 200 {
		t.Fatalf("before: %d %v", status, b)
	}
	s.cfg.DB.Model(&store.Connection{}).Where("1 = 1").Update("enabled", false)
	if status, b := call(); status != 400 || b["error"] != "access_denied" {
		t.Fatalf("connection disabled: %d %v, want access_denied", status, b)
	}
	s.cfg.DB.Model(&store.Connection{}).Where("1 = 1").Update("enabled", true)
	if status, b := call(); status != 200 {
		t.Fatalf("connection re-enabled: %d %v", status, b)
	}
	s.cfg.DB.Model(&store.User{}).Where("email = ?", "bob@tables.fake").Update("disabled", true)
	if status, b := call(); status != 400 || b["error"] != "invalid_grant" {
		t.Fatalf("user disabled: %d %v, want invalid_grant", status, b)
	}
}

// TestTokenExchangeBindsToTheProofKey: with a DPoP proof the ID-JAG is
// bound to its key (cnf.jkt, the draft's § on proof of possession);
// without one it has no cnf; a bad proof is refused before anything is
// issued.
func TestTokenExchangeBindsToTheProofKey(t *testing.T) {
	s := newTestIdP(t)
	key, _ := dpop.NewKey()
	signer, err := dpop.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	post := func(proof string) (int, map[string]any) {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, pathToken, strings.NewReader(exchangeForm(s.idToken(t, demo.WikiASClientAtIdP, nil)).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(demo.WikiASClientAtIdP, demo.WikiASSecretAtIdP)
		if proof != "" {
			req.Header.Set(dpop.Header, proof)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
	cnf := func(body map[string]any) any {
		var c map[string]any
		if err := s.op.Keys.Verify(body["access_token"].(string), oauth.TypIDJAG, &c); err != nil {
			t.Fatal(err)
		}
		return c["cnf"]
	}

	proof, _ := signer.Proof(http.MethodPost, s.cfg.Issuer+pathToken, "", "")
	status, body := post(proof)
	if status != 200 {
		t.Fatalf("with a proof: %d %v", status, body)
	}
	if got, _ := cnf(body).(map[string]any); got == nil || got["jkt"] != signer.Thumbprint {
		t.Errorf("the ID-JAG's cnf is %v, want jkt %s", cnf(body), signer.Thumbprint)
	}
	if status, body = post(""); status != 200 || cnf(body) != nil {
		t.Errorf("without a proof: %d, cnf %v; want an ID-JAG with no cnf", status, body["cnf"])
	}
	wrong, _ := signer.Proof(http.MethodPost, "https://elsewhere.test"+pathToken, "", "")
	if status, body = post(wrong); status != 400 || body["error"] != "invalid_dpop_proof" || body["access_token"] != nil {
		t.Errorf("a proof for another URL: %d %v", status, body)
	}
	if status, body = post(proof); status != 400 || body["error"] != "invalid_dpop_proof" {
		t.Errorf("the same proof again: %d %v", status, body)
	}
}

// TestTokenExchangeRequestedCnf: a relaying client the IdP trusts for it
// (the wiki AS) may ask for an ID-JAG bound to its app's key
// (requested_cnf, identity chaining draft, Delegated Key Binding); no other
// client may, and a request may not carry both that and a proof.
func TestTokenExchangeRequestedCnf(t *testing.T) {
	s := newTestIdP(t)
	jkt := strings.Repeat("A", 43)
	cnf := `{"jkt":"` + jkt + `"}`
	status, body := s.exchange(t, demo.WikiASClientAtIdP, demo.WikiASSecretAtIdP, exchangeForm(s.idToken(t, demo.WikiASClientAtIdP, nil), "requested_cnf", cnf).Encode())
	if status != 200 {
		t.Fatalf("the wiki AS asking for its app's key: %d %v", status, body)
	}
	var c map[string]any
	if err := s.op.Keys.Verify(body["access_token"].(string), oauth.TypIDJAG, &c); err != nil {
		t.Fatal(err)
	}
	if got, _ := c["cnf"].(map[string]any); got == nil || got["jkt"] != jkt {
		t.Errorf("cnf %v, want jkt %s", c["cnf"], jkt)
	}
	for _, row := range []struct{ name, client, secret, cnf string }{
		{"a client not trusted to relay keys", demo.AgentClientAtIdP, demo.AgentSecretAtIdP, cnf},
		{"not a thumbprint", demo.WikiASClientAtIdP, demo.WikiASSecretAtIdP, `{"jkt":"short"}`},
		{"not JSON", demo.WikiASClientAtIdP, demo.WikiASSecretAtIdP, "jkt=x"},
	} {
		resource := testTopology.TodoAPI()
		if row.client == demo.AgentClientAtIdP {
			resource = testTopology.TodoMCP()
		}
		status, body := s.exchange(t, row.client, row.secret, exchangeForm(s.idToken(t, row.client, nil), "resource", resource, "requested_cnf", row.cnf).Encode())
		if status != 400 || body["error"] != "invalid_request" || body["access_token"] != nil {
			t.Errorf("%s: %d %v", row.name, status, body)
		}
	}
}
