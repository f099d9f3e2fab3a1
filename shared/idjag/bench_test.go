package idjag

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"xaa.example/shared/oauth"
	"xaa.example/shared/replay/replaytest"
)

// BenchmarkCryptoFloor is the cryptography alone of one ID-JAG: one ES256
// signature and one verification. The chain's cost is reported against it.
func BenchmarkCryptoFloor(b *testing.B) {
	key := newTestKey(&testing.T{}, "k")
	payload := []byte(`{"iss":"https://idp.example","sub":"00u1","aud":"https://todo-as.example"}`)
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key.priv}, nil)
	for b.Loop() {
		jws, err := signer.Sign(payload)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := jws.Verify(&key.priv.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
}

func benchClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss": testIssuer, "sub": "00u1", "aud": testAudience, "client_id": testClient,
		"jti": "bench", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "scope": "todos.read",
	}
}

// BenchmarkIssue signs one ID-JAG as the IdP does.
func BenchmarkIssue(b *testing.B) {
	key := newTestKey(&testing.T{}, "k")
	s := es256Signer{key}
	g := Grant{Issuer: testIssuer, Subject: "00u1", Audience: testAudience, ClientID: testClient, Scope: oauth.Scopes{"todos.read"}}
	for b.Loop() {
		if _, _, err := Issue(s, g, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify runs checks 1 to 9 on one ID-JAG (replay store in memory).
func BenchmarkVerify(b *testing.B) {
	now := time.Now()
	key := newTestKey(&testing.T{}, "k")
	token := key.sign(&testing.T{}, oauth.TypIDJAG, benchClaims(now))
	v := &Verifier{
		Audience: testAudience,
		Issuers:  []*TrustedIssuer{{Issuer: testIssuer, Keys: staticKeys{Keys: []jose.JSONWebKey{{Key: &key.priv.PublicKey, KeyID: "k"}}}}},
		Now:      func() time.Time { return now },
	}
	for b.Loop() {
		v.Replay = &replaytest.Memory{}
		if _, err := v.Verify(context.Background(), token, testClient, nil); err != nil {
			b.Fatal(err)
		}
	}
}

type es256Signer struct{ k testKey }

func (s es256Signer) Sign(typ string, claims any) (string, error) {
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", s.k.kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: s.k.priv}, opts)
	if err != nil {
		return "", err
	}
	obj, err := signer.Sign(mustJSON(claims))
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
