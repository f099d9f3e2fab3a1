package authserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"gorm.io/gorm"

	"xaa.example/shared/accesstoken"
	"xaa.example/shared/demo"
	"xaa.example/shared/idjag"
	"xaa.example/shared/jwtbearer"
	"xaa.example/shared/oauth"
	"xaa.example/shared/replay/replaydb"
	"xaa.example/shared/scim"
	"xaa.example/shared/storage/storagetest"
	"xaa.example/shared/trace"
)

const (
	testIdP      = "https://idp.test"
	testResource = "https://todo.test/api"
	// strictResource takes DPoP-bound tokens alone.
	strictResource = "https://strict.test/api"
	testKID        = "idp-key-1"
)

// jwksSource serves fixed public keys as an idjag.KeySource.
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
	server *Server
	db     *gorm.DB
	idpKey *ecdsa.PrivateKey
	now    time.Time
	// lastTrace is the trace id of the last request post sent.
	lastTrace string
}

// newResourceAS starts a todo-style AS that trusts a test IdP whose
// private key the test holds.
func newResourceAS(t *testing.T, extraClients ...oauth.Client) *resourceAS {
	t.Helper()
	return newResourceASOn(t, storagetest.SQLite(t), extraClients...)
}

func newResourceASOn(t testing.TB, db *gorm.DB, extraClients ...oauth.Client) *resourceAS {
	t.Helper()
	return newResourceASEdited(t, db, nil, extraClients...)
}

// testServer is what newResourceASEdited builds: the server's core
// configuration and the features it is built from.
type testServer struct {
	Config
	IDJAGs IDJAGs
	SCIM   []scim.Client // none: no SCIM endpoint
}

// newResourceASEdited is newResourceASOn with its configuration changed by
// edit before it starts.
func newResourceASEdited(t testing.TB, db *gorm.DB, edit func(*testServer), extraClients ...oauth.Client) *resourceAS {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ras := &resourceAS{idpKey: key, now: time.Now(), db: db}
	ras.srv = httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(ras.srv.Close)
	scopes := []string{demo.ScopeTodosRead, demo.ScopeTodosWrite}
	clients := append([]oauth.Client{
		{ID: "todo", Secret: "todo-secret", RedirectURIs: []string{"https://todo.test/callback"}, GrantTypes: []string{oauth.GrantAuthorizationCode}},
		{ID: "wiki-at-todo", Secret: "wiki-secret", GrantTypes: []string{oauth.GrantJWTBearer}, Scopes: scopes},
	}, extraClients...)
	cfg := testServer{Config: Config{
		Issuer:     ras.srv.URL,
		CookieName: "test_session",
		DB:         ras.db,
		Log:        slog.New(slog.DiscardHandler),
		Now:        func() time.Time { return ras.now },
		Tenants:    []Tenant{{IdP: Upstream{Issuer: testIdP, ClientID: "as", ClientSecret: "as-secret"}}},
		Clients:    clients,
		Trace:      trace.NewStore("todo-as"),
		SeedUsers:  []demo.User{{Email: "bob@tables.fake", Name: "Bobby Tables"}},
	}, IDJAGs: IDJAGs{
		Resources: []Resource{{URI: testResource, Scopes: scopes}, {URI: strictResource, Scopes: scopes, RequireDPoP: true}},
		Trusted: []*idjag.TrustedIssuer{{
			Issuer: testIdP,
			Keys:   jwksSource{jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: testKID, Algorithm: "ES256", Use: "sig"}}}},
			JIT:    idjag.JITPolicy{Enabled: true, EmailDomains: []string{"tables.fake"}},
		}},
	}}
	if edit != nil {
		edit(&cfg)
	}
	opts := []Option{WithIDJAGRedemption(cfg.IDJAGs)}
	if len(cfg.SCIM) > 0 {
		opts = append(opts, WithSCIM(cfg.SCIM...))
	}
	s, err := New(t.Context(), cfg.Config, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ras.server = s
	t.Cleanup(s.Close)
	ras.srv.Config.Handler = s.Handler()
	return ras
}

// claims is a valid ID-JAG's claims for this AS.
func (r *resourceAS) claims() map[string]any {
	return map[string]any{
		"iss": testIdP, "sub": "00u-" + storagetest.ID(), "aud": r.srv.URL, "client_id": "wiki-at-todo",
		"jti": "jti-" + rand.Text(), "iat": r.now.Unix(), "exp": r.now.Add(5 * time.Minute).Unix(),
		"scope": "todos.read", "resource": testResource, "email": "bob@tables.fake",
	}
}

// sign makes a compact JWS with the given header and claims.
func sign(t testing.TB, key any, alg jose.SignatureAlgorithm, header map[string]any, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	for k, v := range header {
		opts.WithHeader(jose.HeaderKey(k), v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

func (r *resourceAS) idjag(t testing.TB, claims map[string]any) string {
	return sign(t, r.idpKey, jose.ES256, map[string]any{"typ": oauth.TypIDJAG, "kid": testKID}, claims)
}

func (r *resourceAS) post(t *testing.T, auth [2]string, body string, proofs ...string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.srv.URL+"/token", strings.NewReader(body))
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// Traced, so that a test can read which checks the server made.
	r.lastTrace = trace.NewID()
	req.Header.Set(trace.HeaderTrace, r.lastTrace)
	if auth[0] != "" {
		req.SetBasicAuth(auth[0], auth[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return resp.StatusCode, out, resp.Header
}

// failedCheck is the check that refused the last request, or "".
func (r *resourceAS) failedCheck() trace.CheckID {
	for _, step := range r.server.cfg.Trace.Steps(r.lastTrace) {
		for _, c := range step.Checks {
			if !c.Passed {
				return c.ID
			}
		}
	}
	return ""
}

// postGrant posts a jwt-bearer grant as the wiki's client at the todo AS,
// in process.
func postGrant(h http.Handler, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("wiki-at-todo", "wiki-secret")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// stored counts what a grant may write: used jtis, accounts and links.
func (r *resourceAS) stored(t *testing.T) [3]int64 {
	t.Helper()
	var n [3]int64
	r.db.Model(&replaydb.SpentJTI{}).Count(&n[0])
	r.db.Model(&User{}).Count(&n[1])
	r.db.Model(&Link{}).Count(&n[2])
	return n
}

func bearerForm(assertion string, extra ...string) string {
	v := url.Values{"grant_type": {oauth.GrantJWTBearer}, "assertion": {assertion}}
	for i := 0; i < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v.Encode()
}

// publicKeyBytes is the IdP's public key as DER: what the classic
// "HMAC with the public key" attack uses as the HMAC secret.
func publicKeyBytes(t *testing.T, k *ecdsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestJWTBearerHostile starts from one valid ID-JAG and changes one thing
// per row (docs/PROTOCOL.md checks R1 to R13 and the client checks T1 to T3 before them).
func TestJWTBearerHostile(t *testing.T) {
	ras := newResourceAS(t)
	wiki := [2]string{"wiki-at-todo", "wiki-secret"}
	attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	with := func(k string, v any) map[string]any { c := ras.claims(); c[k] = v; return c }
	without := func(k string) map[string]any { c := ras.claims(); delete(c, k); return c }
	signed := func(c map[string]any) string { return ras.idjag(t, c) }
	replayed := signed(ras.claims())
	if status, body, _ := ras.post(t, wiki, bearerForm(replayed)); status != 200 {
		t.Fatalf("setup: the valid ID-JAG was refused: %v", body)
	}

	tests := []struct {
		name      string
		auth      [2]string
		body      string
		status    int
		error     string
		wantScope string        // for accepted rows
		desc      string        // a part of error_description, where it matters
		check     trace.CheckID // the check that refuses; "" for a malformed request
	}{
		// The client, before the assertion.
		{name: "wrong client secret", auth: [2]string{"wiki-at-todo", "nope"}, body: bearerForm(signed(ras.claims())), status: 401, error: "invalid_client", check: oauth.CheckClientAuth},
		{name: "unknown client", auth: [2]string{"ghost", "x"}, body: bearerForm(signed(ras.claims())), status: 401, error: "invalid_client", check: oauth.CheckClientAuth},
		{name: "no client authentication", body: bearerForm(signed(ras.claims())), status: 401, error: "invalid_client", check: oauth.CheckClientAuth},
		{name: "client not allowed the grant", auth: [2]string{"todo", "todo-secret"}, body: bearerForm(signed(with("client_id", "todo"))), status: 400, error: "unauthorized_client", check: oauth.CheckGrantType},
		// 1. Format and size.
		{name: "missing assertion", auth: wiki, body: url.Values{"grant_type": {oauth.GrantJWTBearer}}.Encode(), status: 400, error: "invalid_request", check: idjag.CheckShape},
		{name: "two assertions", auth: wiki, body: bearerForm(signed(ras.claims())) + "&assertion=x", status: 400, error: "invalid_request"},
		{name: "JWE (five parts)", auth: wiki, body: bearerForm("a.b.c.d.e"), status: 400, error: "invalid_grant", check: idjag.CheckShape},
		{name: "not base64", auth: wiki, body: bearerForm("%%%.%%%.%%%"), status: 400, error: "invalid_grant", check: idjag.CheckShape},
		{name: "nested JWT as payload", auth: wiki, body: bearerForm(b64(map[string]any{"alg": "ES256", "typ": oauth.TypIDJAG, "cty": "JWT", "kid": testKID}) + "." + base64.RawURLEncoding.EncodeToString([]byte(signed(ras.claims()))) + ".c2ln"), status: 400, error: "invalid_grant", check: idjag.CheckShape},
		{name: "oversize", auth: wiki, body: bearerForm(signed(with("pad", strings.Repeat("x", idjag.MaxAssertionBytes)))), status: 400, error: "invalid_grant", check: idjag.CheckShape},
		// 2. typ.
		{name: "typ JWT", auth: wiki, body: bearerForm(sign(t, ras.idpKey, jose.ES256, map[string]any{"typ": "JWT", "kid": testKID}, ras.claims())), status: 400, error: "invalid_grant", check: idjag.CheckType},
		{name: "typ with parameters", auth: wiki, body: bearerForm(sign(t, ras.idpKey, jose.ES256, map[string]any{"typ": oauth.TypIDJAG + "; charset=utf-8", "kid": testKID}, ras.claims())), status: 400, error: "invalid_grant", check: idjag.CheckType},
		{name: "typ as the full media type (RFC 7515 §4.1.9)", auth: wiki, body: bearerForm(sign(t, ras.idpKey, jose.ES256, map[string]any{"typ": "application/" + oauth.TypIDJAG, "kid": testKID}, ras.claims())), status: 200, wantScope: "todos.read"},
		{name: "typ in another case", auth: wiki, body: bearerForm(sign(t, ras.idpKey, jose.ES256, map[string]any{"typ": "Application/OAuth-ID-JAG+JWT", "kid": testKID}, ras.claims())), status: 200, wantScope: "todos.read"},
		{name: "an access token (typ at+jwt)", auth: wiki, body: bearerForm(sign(t, ras.idpKey, jose.ES256, map[string]any{"typ": "at+jwt", "kid": testKID}, ras.claims())), status: 400, error: "invalid_grant", check: idjag.CheckType},
		{name: "an ID token instead", auth: wiki, body: bearerForm(sign(t, ras.idpKey, jose.ES256, map[string]any{"typ": "JWT", "kid": testKID},
			map[string]any{"iss": testIdP, "sub": "00u1", "aud": ras.srv.URL, "exp": ras.now.Add(time.Hour).Unix(), "iat": ras.now.Unix(), "nonce": "n", "email": "bob@tables.fake"})), status: 400, error: "invalid_grant", check: idjag.CheckType},
		// 3. alg and key choice.
		{name: "alg none", auth: wiki, body: bearerForm(b64(map[string]any{"alg": "none", "typ": oauth.TypIDJAG, "kid": testKID}) + "." + b64(ras.claims()) + "."), status: 400, error: "invalid_grant", check: idjag.CheckAlgorithm},
		{name: "an alg a caller made up, echoed safely", auth: wiki, body: bearerForm(b64(map[string]any{"alg": "ES256\"\\\u00e9\n<x>", "typ": oauth.TypIDJAG, "kid": testKID}) + "." + b64(ras.claims()) + ".c2ln"), status: 400, error: "invalid_grant", desc: "signature algorithm 'ES256/'//?/n<x>' is not allowed", check: idjag.CheckAlgorithm},
		{name: "HS256 keyed with the public key", auth: wiki, body: bearerForm(sign(t, publicKeyBytes(t, &ras.idpKey.PublicKey), jose.HS256, map[string]any{"typ": oauth.TypIDJAG, "kid": testKID}, ras.claims())), status: 400, error: "invalid_grant", check: idjag.CheckAlgorithm},
		{name: "unknown kid", auth: wiki, body: bearerForm(sign(t, attacker, jose.ES256, map[string]any{"typ": oauth.TypIDJAG, "kid": "attacker"}, ras.claims())), status: 400, error: "invalid_grant", check: idjag.CheckAlgorithm},
		{name: "embedded jwk of the signer", auth: wiki, body: bearerForm(sign(t, attacker, jose.ES256, map[string]any{"typ": oauth.TypIDJAG, "kid": testKID,
			"jwk": jose.JSONWebKey{Key: &attacker.PublicKey}}, ras.claims())), status: 400, error: "invalid_grant", check: idjag.CheckSignature},
		{name: "jku to the attacker's keys", auth: wiki, body: bearerForm(sign(t, attacker, jose.ES256, map[string]any{"typ": oauth.TypIDJAG, "kid": testKID, "jku": "https://evil.test/jwks"}, ras.claims())), status: 400, error: "invalid_grant", check: idjag.CheckSignature},
		// 4 and 5. Issuer and signature.
		{name: "untrusted issuer", auth: wiki, body: bearerForm(signed(with("iss", "https://evil.test"))), status: 400, error: "invalid_grant", check: idjag.CheckIssuer},
		{name: "issuer with a trailing slash", auth: wiki, body: bearerForm(signed(with("iss", testIdP+"/"))), status: 400, error: "invalid_grant", check: idjag.CheckIssuer},
		{name: "tampered claims", auth: wiki, body: bearerForm(func() string {
			p := strings.Split(signed(ras.claims()), ".")
			return p[0] + "." + b64(with("scope", "todos.read todos.write")) + "." + p[2]
		}()), status: 400, error: "invalid_grant", check: idjag.CheckSignature},
		// 6. Audience.
		{name: "other audience", auth: wiki, body: bearerForm(signed(with("aud", "https://other-as.test"))), status: 400, error: "invalid_grant", check: idjag.CheckAudience},
		{name: "two audiences", auth: wiki, body: bearerForm(signed(with("aud", []string{ras.srv.URL, "https://other-as.test"}))), status: 400, error: "invalid_grant", check: idjag.CheckAudience},
		{name: "audience with a trailing slash", auth: wiki, body: bearerForm(signed(with("aud", ras.srv.URL+"/"))), status: 400, error: "invalid_grant", check: idjag.CheckAudience},
		// 7. Claims and times.
		{name: "expired beyond the skew", auth: wiki, body: bearerForm(signed(with("exp", ras.now.Add(-2*time.Minute).Unix()))), status: 400, error: "invalid_grant", check: idjag.CheckClaims},
		{name: "iat in the future", auth: wiki, body: bearerForm(signed(with("iat", ras.now.Add(3*time.Minute).Unix()))), status: 400, error: "invalid_grant", check: idjag.CheckClaims},
		{name: "nbf in the future", auth: wiki, body: bearerForm(signed(with("nbf", ras.now.Add(3*time.Minute).Unix()))), status: 400, error: "invalid_grant", check: idjag.CheckClaims},
		{name: "lifetime over the maximum", auth: wiki, body: bearerForm(signed(with("exp", ras.now.Add(2*time.Hour).Unix()))), status: 400, error: "invalid_grant", check: idjag.CheckClaims},
		{name: "exp as a string", auth: wiki, body: bearerForm(signed(with("exp", fmt.Sprint(ras.now.Add(5*time.Minute).Unix())))), status: 400, error: "invalid_grant", desc: "claim exp must be a JSON number, not a string", check: idjag.CheckClaims},
		{name: "sub as a number", auth: wiki, body: bearerForm(signed(with("sub", 42))), status: 400, error: "invalid_grant", desc: "claim sub must be a JSON string, not a number", check: idjag.CheckClaims},
		{name: "aud as an object", auth: wiki, body: bearerForm(signed(with("aud", map[string]any{"x": 1}))), status: 400, error: "invalid_grant", desc: "claim aud must be a JSON string or array, not an object", check: idjag.CheckClaims},
		{name: "no exp", auth: wiki, body: bearerForm(signed(without("exp"))), status: 400, error: "invalid_grant", check: idjag.CheckClaims},
		{name: "no iat", auth: wiki, body: bearerForm(signed(without("iat"))), status: 400, error: "invalid_grant", check: idjag.CheckClaims},
		{name: "no jti", auth: wiki, body: bearerForm(signed(without("jti"))), status: 400, error: "invalid_grant", check: idjag.CheckClaims},
		{name: "no sub", auth: wiki, body: bearerForm(signed(without("sub"))), status: 400, error: "invalid_grant", check: idjag.CheckClaims},
		{name: "no client_id", auth: wiki, body: bearerForm(signed(without("client_id"))), status: 400, error: "invalid_grant", check: idjag.CheckClaims},
		// 8. Client binding.
		{name: "ID-JAG issued for another client", auth: wiki, body: bearerForm(signed(with("client_id", "someone-else"))), status: 400, error: "invalid_grant", check: idjag.CheckClient},
		// 9. Single use.
		{name: "replayed", auth: wiki, body: bearerForm(replayed), status: 400, error: "invalid_grant", check: idjag.CheckReplay},
		// 10. Resource.
		{name: "resource not governed here", auth: wiki, body: bearerForm(signed(with("resource", "https://other.test/api"))), status: 400, error: "invalid_grant", check: jwtbearer.CheckResource},
		{name: "requested resource not in the ID-JAG", auth: wiki, body: bearerForm(signed(ras.claims()), "resource", "https://other.test/api"), status: 400, error: "invalid_target", check: jwtbearer.CheckResource},
		// 11. Scope.
		{name: "no scope claim", auth: wiki, body: bearerForm(signed(without("scope"))), status: 400, error: "invalid_scope", check: jwtbearer.CheckScope},
		{name: "only unknown scopes", auth: wiki, body: bearerForm(signed(with("scope", "admin"))), status: 400, error: "invalid_scope", check: jwtbearer.CheckScope},
		{name: "widening the scope is narrowed", auth: wiki, body: bearerForm(signed(ras.claims()), "scope", "todos.read todos.write"), status: 200, wantScope: "todos.read"},
		// 12. Subject.
		{name: "unlinked subject outside the JIT domains", auth: wiki, body: bearerForm(signed(with("email", "eve@elsewhere.test"))), status: 400, error: "invalid_grant", check: jwtbearer.CheckSubject},
		{name: "unlinked subject without email", auth: wiki, body: bearerForm(signed(without("email"))), status: 400, error: "invalid_grant", check: jwtbearer.CheckSubject},
		{name: "just-in-time account in an allowed domain", auth: wiki, body: bearerForm(signed(with("email", "new-"+storagetest.ID()+"@tables.fake"))), status: 200, wantScope: "todos.read"},
		{name: "expired within the skew is accepted", auth: wiki, body: bearerForm(signed(with("exp", ras.now.Add(-30*time.Second).Unix()))), status: 200, wantScope: "todos.read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ras.stored(t)
			status, body, h := ras.post(t, tt.auth, tt.body)
			if h.Get("Cache-Control") != "no-store" {
				t.Error("the answer is cacheable")
			}
			if tt.status == 200 {
				if status != 200 || body["scope"] != tt.wantScope || body["token_type"] != "Bearer" {
					t.Fatalf("got %d %v, want 200 with scope %s", status, body, tt.wantScope)
				}
				if after := ras.stored(t); after[0] != before[0]+1 {
					t.Errorf("used jtis %d → %d, want one more", before[0], after[0])
				}
				return
			}
			if status != tt.status || body["error"] != tt.error {
				t.Fatalf("got %d %v, want %d %s", status, body, tt.status, tt.error)
			}
			if got := ras.failedCheck(); got != tt.check {
				t.Errorf("refused by check %q, want %q", got, tt.check)
			}
			if _, issued := body["access_token"]; issued {
				t.Error("an access token was issued")
			}
			if after := ras.stored(t); after != before {
				t.Errorf("stored rows (jtis, users, links) %v → %v, want unchanged", before, after)
			}
			desc, _ := body["error_description"].(string)
			if !strings.Contains(desc, tt.desc) {
				t.Errorf("error_description %q, want it to say %q", desc, tt.desc)
			}
			// RFC 6749 §5.2: %x20-21 / %x23-5B / %x5D-7E.
			for _, r := range desc {
				if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
					t.Errorf("error_description %q has %q, outside RFC 6749 §5.2's character set", desc, r)
				}
			}
			for _, leak := range []string{"gorm", "sql", "go-jose", "square/go-jose", "panic"} {
				if strings.Contains(strings.ToLower(desc), leak) {
					t.Errorf("error_description leaks internals: %s", desc)
				}
			}
		})
	}
}

func TestJWTBearerAccessToken(t *testing.T) {
	ras := newResourceAS(t)
	status, body, _ := ras.post(t, [2]string{"wiki-at-todo", "wiki-secret"}, bearerForm(ras.idjag(t, ras.claims())))
	if status != 200 {
		t.Fatalf("got %d %v", status, body)
	}
	if _, ok := body["refresh_token"]; ok {
		t.Error("a refresh token was issued for an ID-JAG (draft §4.4.3 says not to)")
	}
	if body["resource"] != testResource {
		t.Errorf("resource %v, want %s in the response (draft §4.4.1)", body["resource"], testResource)
	}
	v := &accesstoken.Verifier{Issuer: ras.srv.URL, Audience: testResource, Keys: jwksSource{ras.server.op.Keys.JWKS()}, Now: time.Now}
	claims, err := v.Verify(context.Background(), body["access_token"].(string))
	if err != nil {
		t.Fatalf("the access token does not verify as an RFC 9068 token for the resource: %v", err)
	}
	if claims.Subject != demo.AccountID("bob@tables.fake") || claims.ClientID != "wiki-at-todo" || claims.Scope != "todos.read" {
		t.Errorf("access token %+v, want bob's seeded account, wiki-at-todo, todos.read", claims)
	}
	// The IdP that vouched for Bob: the one whose Shared Signals may end
	// the token.
	if claims.IdP != testIdP {
		t.Errorf("idp claim %q, want the ID-JAG's issuer %s", claims.IdP, testIdP)
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

// TestConcurrentFirstGrants: several first grants for one person at once
// (the account not linked yet) all succeed, with one account.
func TestConcurrentFirstGrants(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ras := newResourceASOn(t, db)
		const n = 8
		bodies := make([]string, n)
		for i := range bodies {
			c := ras.claims()
			c["sub"], c["email"] = "00u-concurrent", "new-concurrent@tables.fake"
			bodies[i] = bearerForm(ras.idjag(t, c))
		}
		errs := make(chan string, n)
		var wg sync.WaitGroup
		for _, body := range bodies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if rec := postGrant(ras.server.Handler(), body); rec.Code != http.StatusOK {
					errs <- rec.Body.String()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Errorf("a concurrent first grant failed: %s", e)
		}
		var accounts int64
		db.Model(&User{}).Where("email = ?", "new-concurrent@tables.fake").Count(&accounts)
		if accounts != 1 {
			t.Errorf("%d accounts for one person, want 1", accounts)
		}
	})
}

// TestJWTBearerTenant: an ID-JAG of a multi-tenant issuer carries tenant
// (draft §3: sub is unique per issuer and tenant). It finds only an
// account linked under that very tenant: one linked under another tenant,
// or under none, is not found, and "no tenant" finds no tenant's account
// (issue 31: no tenant is a tenant of its own, not a wildcard).
func TestJWTBearerTenant(t *testing.T) {
	ras := newResourceAS(t)
	ctx := context.Background()
	wiki := [2]string{"wiki-at-todo", "wiki-secret"}
	if _, err := ras.server.store.linkUser(ctx, testIdP, "", "00u-plain", "bob@tables.fake", "Bob", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ras.server.store.linkUser(ctx, testIdP, "acme", "00u-acme", "carol@tables.fake", "Carol", nil); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, sub, tenant string
		want              int
	}{
		{name: "linked without tenant, ID-JAG with one", sub: "00u-plain", tenant: "acme", want: 400},
		{name: "linked without tenant, ID-JAG without one", sub: "00u-plain", want: 200},
		{name: "linked under the same tenant", sub: "00u-acme", tenant: "acme", want: 200},
		{name: "linked under another tenant", sub: "00u-acme", tenant: "fabrikam", want: 400},
		{name: "linked under a tenant, ID-JAG without one", sub: "00u-acme", want: 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := ras.claims()
			c["sub"] = tt.sub
			delete(c, "email") // no just-in-time account: the link must be found
			if tt.tenant != "" {
				c["tenant"] = tt.tenant
			}
			status, body, _ := ras.post(t, wiki, bearerForm(ras.idjag(t, c)))
			if status != tt.want {
				t.Fatalf("got %d %v, want %d", status, body, tt.want)
			}
		})
	}
}

// TestJWTBearerSeesAccountChangesAtOnce: on MariaDB a grant about someone
// seen before is decided on the account as read at an earlier grant (one
// database round trip), yet a change to the account in the database since (by another
// replica, or by hand) holds at the very next grant: a deactivation is
// refused by check 12 and spends no jti; a new email is the token's; a
// replay is still a replay.
func TestJWTBearerSeesAccountChangesAtOnce(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ras := newResourceASOn(t, db)
		wiki := [2]string{"wiki-at-todo", "wiki-secret"}
		sub := "00u-" + storagetest.ID()
		newIDJAG := func() string {
			c := ras.claims()
			c["sub"] = sub
			return ras.idjag(t, c)
		}
		grant := func(idjag string) (int, map[string]any) {
			t.Helper()
			status, body, _ := ras.post(t, wiki, bearerForm(idjag))
			return status, body
		}
		// The last word of check 12 on the last grant.
		subjectDetail := func() string {
			last := ""
			for _, step := range ras.server.cfg.Trace.Steps(ras.lastTrace) {
				for _, c := range step.Checks {
					if c.ID == jwtbearer.CheckSubject {
						last = c.Detail
					}
				}
			}
			return last
		}
		// The first grant links bob just in time; the second reads the link;
		// the third is decided on what the second read.
		for i := range 3 {
			if status, body := grant(newIDJAG()); status != 200 {
				t.Fatalf("grant %d: %d %v", i+1, status, body)
			}
		}
		// On MariaDB, that is; SQLite reads the account at every grant.
		fromSnapshot := strings.Contains(subjectDetail(), "as read at an earlier grant")
		if want := db.Dialector.Name() != "sqlite"; fromSnapshot != want {
			t.Fatalf("the third grant's check 12 decided on the account as read before: %v, want %v (%q)", fromSnapshot, want, subjectDetail())
		}

		// Deactivated behind this server's back, as another replica's SCIM
		// endpoint would.
		var bob User
		if err := db.Take(&bob, "email = ?", "bob@tables.fake").Error; err != nil {
			t.Fatal(err)
		}
		db.Model(&User{}).Where("id = ?", bob.ID).Update("deactivated", true)
		before := ras.stored(t)
		held := newIDJAG()
		if status, body := grant(held); status != 400 || body["error"] != "invalid_grant" || body["error_description"] != "the account was deactivated by the administrator" {
			t.Fatalf("after deactivation: %d %v: %v", status, body["error"], body["error_description"])
		}
		if ras.failedCheck() != jwtbearer.CheckSubject {
			t.Errorf("refused by %q, want the subject check", ras.failedCheck())
		}
		if after := ras.stored(t); after != before {
			t.Fatalf("the refused grant stored something: %v, then %v", before, after)
		}

		// Reactivated: the very ID-JAG refused is accepted, its jti unspent.
		db.Model(&User{}).Where("id = ?", bob.ID).Update("deactivated", false)
		if status, body := grant(held); status != 200 {
			t.Fatalf("after reactivation: %d %v", status, body)
		}
		if status, body := grant(newIDJAG()); status != 200 {
			t.Fatalf("a grant to read the account again: %d %v", status, body)
		}

		// A new email, made elsewhere: the next token carries it.
		db.Model(&User{}).Where("id = ?", bob.ID).Update("email", "robert@tables.fake")
		status, body := grant(newIDJAG())
		if status != 200 {
			t.Fatalf("after the email changed: %d %v", status, body)
		}
		at, _ := body["access_token"].(string)
		parts := strings.Split(at, ".")
		var claims struct{ Email string }
		if len(parts) != 3 {
			t.Fatalf("access token %q", at)
		}
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		if err := json.Unmarshal(payload, &claims); err != nil || claims.Email != "robert@tables.fake" {
			t.Fatalf("the token after the email changed says %q (%v)", claims.Email, err)
		}
		if reread := strings.HasPrefix(subjectDetail(), "the account changed since it was read"); reread != (db.Dialector.Name() != "sqlite") {
			t.Errorf("after the email changed, check 12 says %q", subjectDetail())
		}

		// With the account read again and kept, a used ID-JAG is a replay.
		if status, body := grant(held); status != 400 || body["error_description"] != "assertion was already used (jti replay)" {
			t.Fatalf("replay: %d %v: %v", status, body["error"], body["error_description"])
		}
		if ras.failedCheck() != idjag.CheckReplay {
			t.Errorf("replay refused by %q, want the single-use check", ras.failedCheck())
		}

		// Found under no tenant and kept: an ID-JAG naming a tenant is not
		// answered from that snapshot, nor from the link it came from.
		tenantIDJAG := func() string {
			c := ras.claims()
			c["sub"], c["tenant"] = sub, "acme"
			delete(c, "email") // no just-in-time account: only a link would do
			return ras.idjag(t, c)
		}
		if status, body := grant(tenantIDJAG()); status != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("an ID-JAG of tenant acme about a subject linked under no tenant: %d %v", status, body)
		}
		if status, body := grant(newIDJAG()); status != 200 {
			t.Fatalf("the tenant-less ID-JAG after it: %d %v", status, body)
		}
	})
}
