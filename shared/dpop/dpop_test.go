package dpop

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/replay/replaytest"
)

const (
	tokenURL    = "https://as.test/token"
	accessToken = "the-access-token"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// sign makes a proof with header fields and claims as given, signed by key
// with alg; the jwk header is the key's public half unless header sets it.
func sign(t *testing.T, key any, alg jose.SignatureAlgorithm, header map[string]any, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	for k, v := range header {
		opts.WithHeader(jose.HeaderKey(k), v)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestVerify(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	pub := jose.JSONWebKey{Key: &key.PublicKey}
	jkt, _ := Thumbprint(&pub)
	header := func(edit func(map[string]any)) map[string]any {
		h := map[string]any{"typ": Typ, "jwk": pub}
		if edit != nil {
			edit(h)
		}
		return h
	}
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"jti": rand.Text(), "htm": "POST", "htu": tokenURL, "iat": now.Unix()}
		if edit != nil {
			edit(c)
		}
		return c
	}
	good := func() string { return sign(t, key, jose.ES256, header(nil), claims(nil)) }
	withClaim := func(k string, v any) string {
		return sign(t, key, jose.ES256, header(nil), claims(func(c map[string]any) { c[k] = v }))
	}
	withoutClaim := func(k string) string {
		return sign(t, key, jose.ES256, header(nil), claims(func(c map[string]any) { delete(c, k) }))
	}
	replayed := good()
	nonces := &RotatingNonces{Key: []byte("nonce key"), Period: 5 * time.Minute, Now: func() time.Time { return now }}

	rows := []struct {
		name    string
		proofs  func() []string
		url     string // the request's; tokenURL when empty
		method  string
		token   string // the access token sent with it
		bound   string
		nonces  bool
		want    string // "" accepted, else the error code
		mention string
	}{
		{name: "good", proofs: func() []string { return []string{good()} }},
		{name: "RS256 key", proofs: func() []string {
			return []string{sign(t, rsaKey, jose.RS256, map[string]any{"typ": Typ, "jwk": jose.JSONWebKey{Key: &rsaKey.PublicKey}}, claims(nil))}
		}},
		{name: "htu with a query and a fragment (ignored)", proofs: func() []string { return []string{withClaim("htu", tokenURL+"?x=1#f")} }},
		{name: "htu in another case of scheme and host", proofs: func() []string { return []string{withClaim("htu", "HTTPS://AS.Test/token")} }},
		{name: "htu with the default port", proofs: func() []string { return []string{withClaim("htu", "https://as.test:443/token")} }},
		{name: "with the access token's ath", proofs: func() []string { return []string{withClaim("ath", AccessTokenHash(accessToken))} }, token: accessToken, bound: jkt},

		{name: "no proof", proofs: func() []string { return nil }, want: CodeInvalidProof, mention: "exactly one"},
		{name: "two DPoP headers", proofs: func() []string { return []string{good(), good()} }, want: CodeInvalidProof, mention: "exactly one"},
		{name: "two proofs in one header", proofs: func() []string { return []string{good() + "," + good()} }, want: CodeInvalidProof, mention: "exactly one"},
		{name: "oversized", proofs: func() []string { return []string{withClaim("pad", strings.Repeat("x", MaxProofBytes))} }, want: CodeInvalidProof, mention: "larger"},
		{name: "not a JWT", proofs: func() []string { return []string{"not.a.jwt"} }, want: CodeInvalidProof, mention: "not a JWT"},
		{name: "alg none", proofs: func() []string {
			return []string{b64(map[string]any{"alg": "none", "typ": Typ, "jwk": pub}) + "." + b64(claims(nil)) + "."}
		}, want: CodeInvalidProof, mention: "not a JWT"},
		{name: "HMAC", proofs: func() []string {
			return []string{sign(t, []byte("0123456789abcdef0123456789abcdef"), jose.HS256, map[string]any{"typ": Typ}, claims(nil))}
		}, want: CodeInvalidProof, mention: "not a JWT"},
		{name: "typ JWT", proofs: func() []string {
			return []string{sign(t, key, jose.ES256, header(func(h map[string]any) { h["typ"] = "JWT" }), claims(nil))}
		}, want: CodeInvalidProof, mention: "typ"},
		{name: "no typ", proofs: func() []string {
			return []string{sign(t, key, jose.ES256, header(func(h map[string]any) { delete(h, "typ") }), claims(nil))}
		}, want: CodeInvalidProof, mention: "typ"},
		{name: "no jwk", proofs: func() []string {
			return []string{sign(t, key, jose.ES256, header(func(h map[string]any) { delete(h, "jwk") }), claims(nil))}
		}, want: CodeInvalidProof, mention: "jwk"},
		{name: "a private key in jwk", proofs: func() []string {
			return []string{sign(t, key, jose.ES256, header(func(h map[string]any) { h["jwk"] = jose.JSONWebKey{Key: key} }), claims(nil))}
		}, want: CodeInvalidProof, mention: "public key"},
		{name: "a kid beside the jwk", proofs: func() []string {
			return []string{sign(t, key, jose.ES256, header(func(h map[string]any) { h["kid"] = "k1" }), claims(nil))}
		}, want: CodeInvalidProof, mention: "jwk alone"},
		{name: "jwk of another key than the signer's", proofs: func() []string {
			return []string{sign(t, other, jose.ES256, header(nil), claims(nil))}
		}, want: CodeInvalidProof, mention: "signature"},
		{name: "no jti", proofs: func() []string { return []string{withoutClaim("jti")} }, want: CodeInvalidProof, mention: "jti"},
		{name: "no htm", proofs: func() []string { return []string{withoutClaim("htm")} }, want: CodeInvalidProof, mention: "htm"},
		{name: "no iat", proofs: func() []string { return []string{withoutClaim("iat")} }, want: CodeInvalidProof, mention: "iat"},
		{name: "htm GET for a POST", proofs: func() []string { return []string{withClaim("htm", "GET")} }, want: CodeInvalidProof, mention: "GET"},
		{name: "htm in lower case", proofs: func() []string { return []string{withClaim("htm", "post")} }, want: CodeInvalidProof, mention: "post"},
		{name: "htu with a trailing slash", proofs: func() []string { return []string{withClaim("htu", tokenURL+"/")} }, want: CodeInvalidProof, mention: "htu"},
		{name: "htu of another path", proofs: func() []string { return []string{withClaim("htu", "https://as.test/authorize")} }, want: CodeInvalidProof, mention: "htu"},
		{name: "htu of another host", proofs: func() []string { return []string{withClaim("htu", "https://evil.test/token")} }, want: CodeInvalidProof, mention: "htu"},
		{name: "htu over http", proofs: func() []string { return []string{withClaim("htu", "http://as.test/token")} }, want: CodeInvalidProof, mention: "htu"},
		{name: "stale iat", proofs: func() []string { return []string{withClaim("iat", now.Add(-2*time.Minute).Unix())} }, want: CodeInvalidProof, mention: "iat"},
		{name: "future iat", proofs: func() []string { return []string{withClaim("iat", now.Add(2*time.Minute).Unix())} }, want: CodeInvalidProof, mention: "iat"},
		{name: "replayed jti", proofs: func() []string { return []string{replayed} }, want: CodeInvalidProof, mention: "used before"},
		{name: "no ath with an access token", proofs: func() []string { return []string{good()} }, token: accessToken, want: CodeInvalidProof, mention: "ath"},
		{name: "ath of another token", proofs: func() []string { return []string{withClaim("ath", AccessTokenHash("another"))} }, token: accessToken, want: CodeInvalidProof, mention: "ath"},
		{name: "a key other than the token's", proofs: func() []string {
			return []string{sign(t, other, jose.ES256, map[string]any{"typ": Typ, "jwk": jose.JSONWebKey{Key: &other.PublicKey}}, claims(nil))}
		}, bound: jkt, want: CodeInvalidProof, mention: "another key"},
		{name: "no nonce when the server asks for one", proofs: func() []string { return []string{good()} }, nonces: true, want: CodeUseNonce},
		{name: "a stale nonce", proofs: func() []string {
			old := &RotatingNonces{Key: []byte("nonce key"), Period: 5 * time.Minute, Now: func() time.Time { return now.Add(-15 * time.Minute) }}
			return []string{withClaim("nonce", old.Current())}
		}, nonces: true, want: CodeUseNonce},
		{name: "the server's nonce", proofs: func() []string { return []string{withClaim("nonce", nonces.Current())} }, nonces: true},
	}
	store := &replaytest.Memory{}
	if _, err := (&Verifier{Replay: store, Now: func() time.Time { return now }}).Verify(context.Background(), Request{Proofs: []string{replayed}, Method: "POST", URL: tokenURL}); err != nil {
		t.Fatalf("setup: %v", err)
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			v := &Verifier{Replay: store, Now: func() time.Time { return now }}
			if row.nonces {
				v.Nonces = nonces
			}
			method, u := row.method, row.url
			if method == "" {
				method = "POST"
			}
			if u == "" {
				u = tokenURL
			}
			before := store.Len()
			p, err := v.Verify(context.Background(), Request{Proofs: row.proofs(), Method: method, URL: u, AccessToken: row.token, Bound: row.bound})
			if row.want == "" {
				if err != nil || p.Thumbprint == "" {
					t.Fatalf("refused: %v", err)
				}
				if store.Len() != before+1 {
					t.Error("an accepted proof's jti was not remembered")
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Code != row.want || !strings.Contains(e.Description, row.mention) {
				t.Fatalf("got %v, want %s mentioning %q", err, row.want, row.mention)
			}
			if store.Len() != before {
				t.Error("a refused proof's jti was remembered")
			}
		})
	}
}

// TestSignerProofs: the proofs a Signer makes pass the verifier, carry the
// signer's thumbprint, and differ each time.
func TestSignerProofs(t *testing.T) {
	key, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return now }
	v := &Verifier{Replay: &replaytest.Memory{}, Now: func() time.Time { return now }}
	a, _ := s.Proof("GET", "https://api.test/todos?limit=5", accessToken, "")
	b, _ := s.Proof("GET", "https://api.test/todos?limit=5", accessToken, "")
	if a == b {
		t.Fatal("two proofs are the same")
	}
	p, err := v.Verify(context.Background(), Request{Proofs: []string{a}, Method: "GET", URL: "https://api.test/todos?limit=5", AccessToken: accessToken, Bound: s.Thumbprint})
	if err != nil || p.Thumbprint != s.Thumbprint {
		t.Fatalf("a signer's proof: %v %+v", err, p)
	}
	if _, err := NewSigner(&jose.JSONWebKey{Key: &key.Key.(*ecdsa.PrivateKey).PublicKey, Algorithm: "ES256"}); err == nil {
		t.Error("a signer was made from a public key")
	}
}

// TestEd25519Name: a proof whose alg is RFC 9864's Ed25519 is verified as
// EdDSA is; under that name, a key of another type, a broken signature or
// a key named otherwise than by jwk are refused as under any other.
func TestEd25519Name(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	claims := func() map[string]any {
		return map[string]any{"jti": rand.Text(), "htm": "POST", "htu": tokenURL, "iat": now.Unix()}
	}
	// signed makes a compact JWS named Ed25519 over header and claims with
	// the Ed25519 key, as panva's dpop does.
	signed := func(header map[string]any, c map[string]any) string {
		input := b64(header) + "." + b64(c)
		return input + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(input)))
	}
	okp := jose.JSONWebKey{Key: pub}
	ec := jose.JSONWebKey{Key: &ecKey.PublicKey}
	verify := func(proof string) error {
		_, err := (&Verifier{Replay: &replaytest.Memory{}, Now: func() time.Time { return now }}).Verify(context.Background(), Request{Proofs: []string{proof}, Method: "POST", URL: tokenURL})
		return err
	}
	good := signed(map[string]any{"alg": Ed25519, "typ": Typ, "jwk": okp}, claims())
	if err := verify(good); err != nil {
		t.Fatalf("a proof named Ed25519: %v", err)
	}
	for _, tt := range []struct{ name, proof string }{
		{"an EC key under the name", signed(map[string]any{"alg": Ed25519, "typ": Typ, "jwk": ec}, claims())},
		{"a broken signature", good[:len(good)-4] + "AAAA"},
		{"a kid beside the jwk", signed(map[string]any{"alg": Ed25519, "typ": Typ, "jwk": okp, "kid": "k"}, claims())},
		{"no jwk", signed(map[string]any{"alg": Ed25519, "typ": Typ}, claims())},
		{"another typ", signed(map[string]any{"alg": Ed25519, "typ": "JWT", "jwk": okp}, claims())},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := verify(tt.proof); err == nil {
				t.Error("accepted")
			}
		})
	}
}
