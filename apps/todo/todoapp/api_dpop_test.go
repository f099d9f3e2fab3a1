package todoapp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
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

// boundToken is an access token of the todo AS for the API, bound to jkt
// (cnf, RFC 9449 §6); "" makes a Bearer token.
func (f *mcpFixture) boundToken(t *testing.T, jkt string) string {
	t.Helper()
	c := accesstoken.Claims{Issuer: f.as.URL, Subject: demo.AccountID("bob@tables.fake"), Audience: jwt.Audience{f.app.URL + "/api"}, ClientID: "wiki-at-todo", Scope: "todos.read todos.write"}
	if jkt != "" {
		c.Cnf = &oauth.Confirmation{JKT: jkt}
	}
	tok, _, err := accesstoken.Issue(f.keys, c, time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// rawProof signs a proof with header and claims as given.
func rawProof(t *testing.T, key any, alg jose.SignatureAlgorithm, header, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	for k, v := range header {
		opts.WithHeader(jose.HeaderKey(k), v)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAPIWithDPoP: the todo API takes a bound token only as DPoP with a
// proof of its key for this very request (RFC 9449 §7), and an unbound
// one only as Bearer. Each refusal is a 401 with a WWW-Authenticate
// challenge naming the error, and the call does nothing (a POST adds no
// todo).
func TestAPIWithDPoP(t *testing.T) {
	f := newMCPFixture(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub := jose.JSONWebKey{Key: &key.PublicKey}
	jkt, _ := dpop.Thumbprint(&pub)
	bound, bearerToken := f.boundToken(t, jkt), f.boundToken(t, "")
	listURL, addURL := f.app.URL+"/api/todos", f.app.URL+"/api/todos"

	proofFor := func(method, u, token string, edit func(h, c map[string]any)) string {
		h := map[string]any{"typ": dpop.Typ, "jwk": pub}
		c := map[string]any{"jti": rand.Text(), "htm": method, "htu": u, "iat": time.Now().Unix(), "ath": dpop.AccessTokenHash(token)}
		if edit != nil {
			edit(h, c)
		}
		return rawProof(t, key, jose.ES256, h, c)
	}
	good := func(method, u string) []string { return []string{proofFor(method, u, bound, nil)} }
	edited := func(edit func(h, c map[string]any)) func() []string {
		return func() []string { return []string{proofFor("GET", listURL, bound, edit)} }
	}
	replayed := proofFor("GET", listURL, bound, nil)

	type row struct {
		name   string
		auth   string // the Authorization header
		proofs func() []string
		method string
		url    string
		status int
		code   string // the error in WWW-Authenticate and the body
	}
	dpopAuth, bearerAuth := "DPoP "+bound, "Bearer "+bound
	rows := []row{
		{name: "bound token as DPoP with a proof", auth: dpopAuth, proofs: func() []string { return good("GET", listURL) }, status: 200},
		{name: "a POST with its proof", auth: dpopAuth, proofs: func() []string { return good("POST", addURL) }, method: "POST", url: addURL, status: 201},
		{name: "an unbound token as Bearer", auth: "Bearer " + bearerToken, status: 200},
		{name: "htu with the query (ignored)", auth: dpopAuth, proofs: edited(func(_, c map[string]any) { c["htu"] = listURL + "?limit=5" }), url: listURL + "?limit=5", status: 200},
		{name: "the scheme in lower case", auth: "dpop " + bound, proofs: func() []string { return good("GET", listURL) }, status: 200},

		{name: "a bound token as Bearer", auth: bearerAuth, status: 401, code: "invalid_token"},
		{name: "a bound token as Bearer with a proof", auth: bearerAuth, proofs: func() []string { return good("GET", listURL) }, status: 401, code: "invalid_token"},
		{name: "an unbound token as DPoP", auth: "DPoP " + bearerToken, proofs: func() []string { return []string{proofFor("GET", listURL, bearerToken, nil)} }, status: 401, code: "invalid_token"},
		{name: "no proof", auth: dpopAuth, status: 401, code: "invalid_dpop_proof"},
		{name: "two DPoP headers", auth: dpopAuth, proofs: func() []string { return append(good("GET", listURL), good("GET", listURL)...) }, status: 401, code: "invalid_dpop_proof"},
		{name: "oversized proof", auth: dpopAuth, proofs: edited(func(_, c map[string]any) { c["pad"] = strings.Repeat("x", dpop.MaxProofBytes) }), status: 401, code: "invalid_dpop_proof"},
		{name: "alg none", auth: dpopAuth, proofs: func() []string {
			b := func(v any) string { j, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(j) }
			return []string{b(map[string]any{"alg": "none", "typ": dpop.Typ, "jwk": pub}) + "." + b(map[string]any{"jti": "x", "htm": "GET", "htu": listURL, "iat": time.Now().Unix(), "ath": dpop.AccessTokenHash(bound)}) + "."}
		}, status: 401, code: "invalid_dpop_proof"},
		{name: "HMAC", auth: dpopAuth, proofs: func() []string {
			return []string{rawProof(t, []byte("0123456789abcdef0123456789abcdef"), jose.HS256, map[string]any{"typ": dpop.Typ}, map[string]any{"jti": "x", "htm": "GET", "htu": listURL, "iat": time.Now().Unix()})}
		}, status: 401, code: "invalid_dpop_proof"},
		{name: "a private key in jwk", auth: dpopAuth, proofs: edited(func(h, _ map[string]any) { h["jwk"] = jose.JSONWebKey{Key: key} }), status: 401, code: "invalid_dpop_proof"},
		{name: "typ JWT", auth: dpopAuth, proofs: edited(func(h, _ map[string]any) { h["typ"] = "JWT" }), status: 401, code: "invalid_dpop_proof"},
		{name: "htm POST for a GET", auth: dpopAuth, proofs: edited(func(_, c map[string]any) { c["htm"] = "POST" }), status: 401, code: "invalid_dpop_proof"},
		{name: "htu of another path", auth: dpopAuth, proofs: edited(func(_, c map[string]any) { c["htu"] = f.app.URL + "/api/todos/1" }), status: 401, code: "invalid_dpop_proof"},
		{name: "htu with a trailing slash", auth: dpopAuth, proofs: edited(func(_, c map[string]any) { c["htu"] = listURL + "/" }), status: 401, code: "invalid_dpop_proof"},
		{name: "htu of another host", auth: dpopAuth, proofs: edited(func(_, c map[string]any) { c["htu"] = "http://evil.test/api/todos" }), status: 401, code: "invalid_dpop_proof"},
		{name: "htu over https", auth: dpopAuth, proofs: edited(func(_, c map[string]any) { c["htu"] = strings.Replace(listURL, "http://", "https://", 1) }), status: 401, code: "invalid_dpop_proof"},
		{name: "stale iat", auth: dpopAuth, proofs: edited(func(_, c map[string]any) { c["iat"] = time.Now().Add(-5 * time.Minute).Unix() }), status: 401, code: "invalid_dpop_proof"},
		{name: "future iat", auth: dpopAuth, proofs: edited(func(_, c map[string]any) { c["iat"] = time.Now().Add(5 * time.Minute).Unix() }), status: 401, code: "invalid_dpop_proof"},
		{name: "replayed jti", auth: dpopAuth, proofs: func() []string { return []string{replayed} }, status: 401, code: "invalid_dpop_proof"},
		{name: "no ath", auth: dpopAuth, proofs: edited(func(_, c map[string]any) { delete(c, "ath") }), status: 401, code: "invalid_dpop_proof"},
		{name: "ath of another token", auth: dpopAuth, proofs: edited(func(_, c map[string]any) { c["ath"] = dpop.AccessTokenHash(bearerToken) }), status: 401, code: "invalid_dpop_proof"},
		{name: "a proof of another key", auth: dpopAuth, proofs: func() []string {
			return []string{rawProof(t, other, jose.ES256, map[string]any{"typ": dpop.Typ, "jwk": jose.JSONWebKey{Key: &other.PublicKey}},
				map[string]any{"jti": rand.Text(), "htm": "GET", "htu": listURL, "iat": time.Now().Unix(), "ath": dpop.AccessTokenHash(bound)})}
		}, status: 401, code: "invalid_dpop_proof"},
		{name: "a POST whose proof is for GET", auth: dpopAuth, proofs: func() []string { return good("GET", addURL) }, method: "POST", url: addURL, status: 401, code: "invalid_dpop_proof"},
		{name: "no token at all", status: 401},
	}
	send := func(r row) (*http.Response, string) {
		method, u := r.method, r.url
		if method == "" {
			method = "GET"
		}
		if u == "" {
			u = listURL
		}
		var body io.Reader
		if method == "POST" {
			body = strings.NewReader(`{"title":"from a DPoP test"}`)
		}
		req, _ := http.NewRequest(method, u, body)
		req.Header.Set("Content-Type", "application/json")
		if r.auth != "" {
			req.Header.Set("Authorization", r.auth)
		}
		if r.proofs != nil {
			for _, p := range r.proofs() {
				req.Header.Add(dpop.Header, p)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	if resp, _ := send(row{auth: dpopAuth, proofs: func() []string { return []string{replayed} }}); resp.StatusCode != 200 {
		t.Fatalf("setup: %d", resp.StatusCode)
	}
	count := func() int {
		resp, body := send(row{auth: "Bearer " + bearerToken})
		var out struct {
			Total int `json:"total"`
		}
		_ = json.Unmarshal([]byte(body), &out)
		if resp.StatusCode != 200 {
			t.Fatalf("count: %d %s", resp.StatusCode, body)
		}
		return out.Total
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			before := count()
			resp, body := send(r)
			if resp.StatusCode != r.status {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, body, r.status)
			}
			if r.status < 400 {
				return
			}
			challenge := strings.Join(resp.Header.Values("WWW-Authenticate"), " | ")
			if r.code != "" && (!strings.Contains(challenge, `error="`+r.code+`"`) || !strings.Contains(body, r.code)) {
				t.Errorf("WWW-Authenticate %q, body %s; want error %s", challenge, body, r.code)
			}
			dpopChallenge := strings.Contains(challenge, "DPoP ") && strings.Contains(challenge, `algs="ES256`)
			if (r.code == "invalid_dpop_proof" || r.code == "") && !dpopChallenge {
				t.Errorf("the challenge %q does not name DPoP and its algs", challenge)
			}
			if after := count(); after != before {
				t.Errorf("a refused call changed the list: %d → %d todos", before, after)
			}
		})
	}
}
