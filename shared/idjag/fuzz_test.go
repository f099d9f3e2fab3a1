package idjag

import (
	"context"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"xaa.example/shared/oauth"
	"xaa.example/shared/replay/replaytest"
)

// FuzzVerify feeds arbitrary assertions to the verifier: it must never
// panic, never accept what it did not sign, and answer every refusal with
// an OAuth error code of its own.
func FuzzVerify(f *testing.F) {
	now := time.Now()
	key := newTestKey(&testing.T{}, "k")
	valid := key.sign(&testing.T{}, oauth.TypIDJAG, map[string]any{
		"iss": testIssuer, "sub": "00u1", "aud": testAudience, "client_id": testClient,
		"jti": "seed", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	})
	for _, seed := range []string{valid, "", "a.b.c", "a.b.c.d.e", valid[:len(valid)/2], valid + "x",
		"eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIn0."} {
		f.Add(seed)
	}
	v := &Verifier{
		Audience: testAudience,
		Issuers:  []*TrustedIssuer{{Issuer: testIssuer, Keys: staticKeys{Keys: []jose.JSONWebKey{{Key: &key.priv.PublicKey, KeyID: "k"}}}}},
		Now:      func() time.Time { return now },
	}
	f.Fuzz(func(t *testing.T, assertion string) {
		v.Replay = &replaytest.Memory{}
		got, err := v.Verify(context.Background(), assertion, testClient, nil)
		if err == nil {
			if assertion != valid {
				t.Fatalf("accepted an assertion it did not sign: %q (%+v)", assertion, got.Claims)
			}
			return
		}
		switch oauth.AsError(err).Code {
		case "invalid_grant", "invalid_request":
		default:
			t.Fatalf("unexpected error for %q: %v", assertion, err)
		}
	})
}
