package authserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"xaa.example/shared/accesstoken"
	"xaa.example/shared/dpop"
	"xaa.example/shared/jwtbearer"
	"xaa.example/shared/oauth"
	"xaa.example/shared/storage/storagetest"
)

// TestJWTBearerKeyBinding: the ID-JAG draft's table at the resource AS,
// every row. An ID-JAG bound to a key (cnf.jkt) sent with no proof, or with
// a proof of another key, was accepted and came back as a Bearer token; it
// is refused with invalid_grant, spending nothing.
func TestJWTBearerKeyBinding(t *testing.T) {
	ras := newResourceAS(t)
	wiki := [2]string{"wiki-at-todo", "wiki-secret"}
	signer := func() *dpop.Signer {
		k, err := dpop.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		s, err := dpop.NewSigner(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	mine, theirs := signer(), signer()
	proof := func(s *dpop.Signer, url string) string {
		p, err := s.Proof(http.MethodPost, url, "", "")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tokenURL := ras.srv.URL + "/token"
	bound := func(jkt string) map[string]any {
		c := ras.claims()
		c["cnf"] = map[string]any{"jkt": jkt}
		return c
	}
	strict := func() map[string]any {
		c := ras.claims()
		c["resource"] = strictResource
		return c
	}
	reused := proof(mine, tokenURL)
	if status, body, _ := ras.post(t, wiki, bearerForm(ras.idjag(t, ras.claims())), reused); status != 200 {
		t.Fatalf("setup: %d %v", status, body)
	}

	rows := []struct {
		name      string
		claims    map[string]any
		proofs    []string
		status    int
		error     string
		tokenType string
		jkt       string // the access token's cnf.jkt
	}{
		{name: "cnf and a proof of that key: a DPoP-bound token", claims: bound(mine.Thumbprint), proofs: []string{proof(mine, tokenURL)}, status: 200, tokenType: "DPoP", jkt: mine.Thumbprint},
		{name: "cnf and no proof", claims: bound(mine.Thumbprint), status: 400, error: "invalid_grant"},
		{name: "cnf and a proof of another key", claims: bound(mine.Thumbprint), proofs: []string{proof(theirs, tokenURL)}, status: 400, error: "invalid_grant"},
		{name: "no cnf and a proof: bound to the proof's key", claims: ras.claims(), proofs: []string{proof(theirs, tokenURL)}, status: 200, tokenType: "DPoP", jkt: theirs.Thumbprint},
		{name: "neither: a Bearer token", claims: ras.claims(), status: 200, tokenType: "Bearer"},
		{name: "a resource that requires binding, no proof", claims: strict(), status: 400, error: "invalid_grant"},
		{name: "a resource that requires binding, with a proof", claims: strict(), proofs: []string{proof(mine, tokenURL)}, status: 200, tokenType: "DPoP", jkt: mine.Thumbprint},
		{name: "a proof for another URL", claims: bound(mine.Thumbprint), proofs: []string{proof(mine, ras.srv.URL+"/authorize")}, status: 400, error: "invalid_dpop_proof"},
		{name: "a proof used before", claims: bound(mine.Thumbprint), proofs: []string{reused}, status: 400, error: "invalid_dpop_proof"},
		{name: "two proofs", claims: bound(mine.Thumbprint), proofs: []string{proof(mine, tokenURL), proof(mine, tokenURL)}, status: 400, error: "invalid_dpop_proof"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			before := ras.stored(t)
			status, body, _ := ras.post(t, wiki, bearerForm(ras.idjag(t, row.claims)), row.proofs...)
			if status != row.status || (row.error != "" && body["error"] != row.error) {
				t.Fatalf("got %d %v, want %d %s", status, body, row.status, row.error)
			}
			if row.status != 200 {
				if _, issued := body["access_token"]; issued {
					t.Error("an access token was issued")
				}
				// A valid proof's jti is spent whatever follows (a proof
				// is good for one request); the ID-JAG's is not.
				want := before
				if row.error == "invalid_grant" && len(row.proofs) == 1 {
					want[0]++
				}
				if after := ras.stored(t); after != want {
					t.Errorf("stored rows %v → %v, want %v: a refused ID-JAG spent its jti", before, after, want)
				}
				if row.error == "invalid_grant" && ras.failedCheck() != jwtbearer.CheckProof {
					t.Errorf("refused by %q, want the key-binding check", ras.failedCheck())
				}
				return
			}
			if body["token_type"] != row.tokenType {
				t.Fatalf("token_type %v, want %s", body["token_type"], row.tokenType)
			}
			var c accesstoken.Claims
			if err := ras.server.op.Keys.Verify(body["access_token"].(string), oauth.TypAccessToken, &c); err != nil {
				t.Fatal(err)
			}
			switch {
			case row.jkt == "" && c.Cnf != nil:
				t.Errorf("a Bearer token carries cnf %+v", c.Cnf)
			case row.jkt != "" && (c.Cnf == nil || c.Cnf.JKT != row.jkt):
				t.Errorf("the access token's cnf is %+v, want jkt %s", c.Cnf, row.jkt)
			}
		})
	}

	// The metadata says which proofs it takes (RFC 9449 §5.1).
	resp, err := http.Get(ras.srv.URL + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var md map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&md)
	algs, _ := md["dpop_signing_alg_values_supported"].([]any)
	// EdDSA under both its names (RFC 8037's, RFC 9864's Ed25519).
	for _, want := range []string{string(jose.ES256), string(jose.EdDSA), "Ed25519"} {
		if !slices.Contains(algs, any(want)) {
			t.Errorf("dpop_signing_alg_values_supported %v lacks %s", algs, want)
		}
	}
}

// TestTokenEndpointDPoPHostile: bad DPoP proofs at the todo AS's token
// endpoint, with an ID-JAG bound to the key. Every row is refused before
// any grant runs: the error, no access token, and nothing stored (neither
// the ID-JAG's jti nor the proof's).
func TestTokenEndpointDPoPHostile(t *testing.T) {
	ras := newResourceASEdited(t, storagetest.SQLite(t), func(c *testServer) { c.DPoPNonces = true })
	wiki := [2]string{"wiki-at-todo", "wiki-secret"}
	tokenURL := ras.srv.URL + "/token"
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub := jose.JSONWebKey{Key: &key.PublicKey}
	jkt, _ := dpop.Thumbprint(&pub)

	// The server's nonce, as a client learns it: from a first refusal.
	status, body, h := ras.post(t, wiki, bearerForm(ras.idjag(t, ras.claims())), makeProof(t, key, nil, map[string]any{"htu": tokenURL}))
	nonce := h.Get(dpop.NonceHeader)
	if status != 400 || body["error"] != "use_dpop_nonce" || nonce == "" {
		t.Fatalf("a proof without the nonce: %d %v, DPoP-Nonce %q", status, body, nonce)
	}
	proof := func(editHeader func(map[string]any), editClaims func(map[string]any)) string {
		c := map[string]any{"htu": tokenURL, "nonce": nonce}
		if editClaims != nil {
			editClaims(c)
		}
		return makeProof(t, key, editHeader, c)
	}
	used := proof(nil, nil)
	bound := func() string {
		c := ras.claims()
		c["cnf"] = map[string]any{"jkt": jkt}
		return bearerForm(ras.idjag(t, c))
	}
	if status, body, _ := ras.post(t, wiki, bound(), used); status != 200 || body["token_type"] != "DPoP" {
		t.Fatalf("setup, a good proof with the nonce: %d %v", status, body)
	}

	b64 := func(v any) string { j, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(j) }
	rows := []struct {
		name   string
		proofs []string
		error  string
	}{
		{"alg none", []string{b64(map[string]any{"alg": "none", "typ": dpop.Typ, "jwk": pub}) + "." + b64(map[string]any{"jti": "x", "htm": "POST", "htu": tokenURL, "iat": time.Now().Unix(), "nonce": nonce}) + "."}, "invalid_dpop_proof"},
		{"HMAC", []string{sign(t, []byte("0123456789abcdef0123456789abcdef"), jose.HS256, map[string]any{"typ": dpop.Typ}, map[string]any{"jti": "x", "htm": "POST", "htu": tokenURL, "iat": time.Now().Unix(), "nonce": nonce})}, "invalid_dpop_proof"},
		{"a private key in jwk", []string{proof(func(h map[string]any) { h["jwk"] = jose.JSONWebKey{Key: key} }, nil)}, "invalid_dpop_proof"},
		{"no jwk", []string{proof(func(h map[string]any) { delete(h, "jwk") }, nil)}, "invalid_dpop_proof"},
		{"a kid instead of a key", []string{proof(func(h map[string]any) { h["kid"] = testKID }, nil)}, "invalid_dpop_proof"},
		{"typ JWT", []string{proof(func(h map[string]any) { h["typ"] = "JWT" }, nil)}, "invalid_dpop_proof"},
		{"no typ", []string{proof(func(h map[string]any) { delete(h, "typ") }, nil)}, "invalid_dpop_proof"},
		{"signed by another key than its jwk", []string{makeProofWith(t, other, &pub, nil, map[string]any{"htu": tokenURL, "nonce": nonce})}, "invalid_dpop_proof"},
		{"htm GET", []string{proof(nil, func(c map[string]any) { c["htm"] = "GET" })}, "invalid_dpop_proof"},
		{"htm in lower case", []string{proof(nil, func(c map[string]any) { c["htm"] = "post" })}, "invalid_dpop_proof"},
		{"htu of another path", []string{proof(nil, func(c map[string]any) { c["htu"] = ras.srv.URL + "/authorize" })}, "invalid_dpop_proof"},
		{"htu with a trailing slash", []string{proof(nil, func(c map[string]any) { c["htu"] = tokenURL + "/" })}, "invalid_dpop_proof"},
		{"htu of another host", []string{proof(nil, func(c map[string]any) { c["htu"] = "http://evil.test/token" })}, "invalid_dpop_proof"},
		{"htu over https", []string{proof(nil, func(c map[string]any) { c["htu"] = strings.Replace(tokenURL, "http://", "https://", 1) })}, "invalid_dpop_proof"},
		{"no htu", []string{proof(nil, func(c map[string]any) { delete(c, "htu") })}, "invalid_dpop_proof"},
		{"no jti", []string{proof(nil, func(c map[string]any) { c["jti"] = nil })}, "invalid_dpop_proof"},
		{"no iat", []string{proof(nil, func(c map[string]any) { c["iat"] = nil })}, "invalid_dpop_proof"},
		{"stale iat", []string{proof(nil, func(c map[string]any) { c["iat"] = time.Now().Add(-3 * time.Minute).Unix() })}, "invalid_dpop_proof"},
		{"future iat", []string{proof(nil, func(c map[string]any) { c["iat"] = time.Now().Add(3 * time.Minute).Unix() })}, "invalid_dpop_proof"},
		{"replayed", []string{used}, "invalid_dpop_proof"},
		{"two DPoP headers", []string{proof(nil, nil), proof(nil, nil)}, "invalid_dpop_proof"},
		{"two proofs in one header", []string{proof(nil, nil) + "," + proof(nil, nil)}, "invalid_dpop_proof"},
		{"oversized", []string{proof(nil, func(c map[string]any) { c["pad"] = strings.Repeat("x", dpop.MaxProofBytes) })}, "invalid_dpop_proof"},
		{"not a JWT", []string{"a.b.c"}, "invalid_dpop_proof"},
		{"no nonce", []string{proof(nil, func(c map[string]any) { delete(c, "nonce") })}, "use_dpop_nonce"},
		{"a nonce the server never gave", []string{proof(nil, func(c map[string]any) { c["nonce"] = "made-up" })}, "use_dpop_nonce"},
		{"a stale nonce", []string{proof(nil, func(c map[string]any) {
			old := &dpop.RotatingNonces{Key: []byte("another server's key"), Period: 5 * time.Minute}
			c["nonce"] = old.Current()
		})}, "use_dpop_nonce"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			form := bound()
			before := ras.stored(t)
			status, body, h := ras.post(t, wiki, form, row.proofs...)
			if status != 400 || body["error"] != row.error {
				t.Fatalf("got %d %v, want 400 %s", status, body, row.error)
			}
			if _, issued := body["access_token"]; issued {
				t.Error("an access token was issued")
			}
			if row.error == "use_dpop_nonce" && h.Get(dpop.NonceHeader) == "" {
				t.Error("use_dpop_nonce without a DPoP-Nonce header")
			}
			if after := ras.stored(t); after != before {
				t.Errorf("stored rows %v → %v: a refused request stored something", before, after)
			}
		})
	}
	if len(rows) < 25 {
		t.Errorf("%d rows; the issue asks for at least 25", len(rows))
	}
}

// makeProof is a proof for POST with the claims given (jti and iat added
// unless set), signed by key with its public half as jwk.
func makeProof(t *testing.T, key *ecdsa.PrivateKey, editHeader func(map[string]any), claims map[string]any) string {
	t.Helper()
	pub := jose.JSONWebKey{Key: &key.PublicKey}
	return makeProofWith(t, key, &pub, editHeader, claims)
}

func makeProofWith(t *testing.T, key *ecdsa.PrivateKey, jwk *jose.JSONWebKey, editHeader func(map[string]any), claims map[string]any) string {
	t.Helper()
	h := map[string]any{"typ": dpop.Typ, "jwk": jwk}
	if editHeader != nil {
		editHeader(h)
	}
	c := map[string]any{"jti": rand.Text(), "htm": "POST", "iat": time.Now().Unix()}
	for k, v := range claims {
		c[k] = v
	}
	for _, k := range []string{"jti", "htm", "htu", "iat", "nonce"} {
		if v, ok := c[k]; ok && v == nil {
			delete(c, k)
		}
	}
	return sign(t, key, jose.ES256, h, c)
}
