package accesstoken

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

type testKeys struct {
	priv *ecdsa.PrivateKey
	gone bool // the AS no longer publishes the key
}

func (k *testKeys) Sign(typ string, claims any) (string, error) {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.priv},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", "k1"))
	if err != nil {
		return "", err
	}
	return jwt.Signed(s).Claims(claims).Serialize()
}

func (k *testKeys) Key(_ context.Context, kid string) (*jose.JSONWebKey, error) {
	if kid != "k1" || k.gone {
		return nil, errors.New("unknown key")
	}
	return &jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: "k1", Algorithm: "ES256"}, nil
}

func TestVerify(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keys := &testKeys{priv: priv}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	v := &Verifier{Issuer: "https://as.example", Audience: "https://api.example", Keys: keys, Now: func() time.Time { return now }}
	good := Claims{Issuer: "https://as.example", Subject: "u1", Audience: jwt.Audience{"https://api.example"}, ClientID: "wiki", Scope: "todos.read"}
	tok, _, err := Issue(keys, good, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	c, err := v.Verify(context.Background(), tok)
	if err != nil || c.Subject != "u1" || c.Scopes().String() != "todos.read" {
		t.Fatalf("a good token: %+v %v", c, err)
	}

	for name, mutate := range map[string]func(*Claims){
		"other issuer":   func(c *Claims) { c.Issuer = "https://evil.example" },
		"other audience": func(c *Claims) { c.Audience = jwt.Audience{"https://other.example"} },
		"no subject":     func(c *Claims) { c.Subject = "" },
	} {
		c := good
		mutate(&c)
		bad, _, _ := Issue(keys, c, now, time.Hour)
		if _, err := v.Verify(context.Background(), bad); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: %v, want ErrInvalidToken", name, err)
		}
	}
	parts := strings.Split(tok, ".")
	tampered := parts[0] + "." + parts[1] + "x." + parts[2]
	if _, err := v.Verify(context.Background(), tampered); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a tampered token: %v", err)
	}
	if _, err := v.Verify(context.Background(), strings.Repeat("a", 17<<10)); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("an oversized token: %v", err)
	}
}

// A verified token is remembered for a minute at most, and its lifetime is
// checked on every call all the same.
func TestVerifyRemembers(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keys := &testKeys{priv: priv}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	v := &Verifier{Issuer: "https://as.example", Audience: "https://api.example", Keys: keys, ClockSkew: time.Second, Now: func() time.Time { return now }}
	c := Claims{Issuer: "https://as.example", Subject: "u1", Audience: jwt.Audience{"https://api.example"}}
	tok, _, _ := Issue(keys, c, now, 90*time.Second)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}

	keys.gone = true // only a remembered verification can pass now
	now = now.Add(30 * time.Second)
	got, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("30 s later, remembered: %v", err)
	}
	got.Subject = "changed by a caller"
	if again, _ := v.Verify(context.Background(), tok); again == nil || again.Subject != "u1" {
		t.Fatal("a caller changed the remembered claims")
	}

	now = now.Add(verifiedFor)
	if _, err := v.Verify(context.Background(), tok); err == nil {
		t.Fatal("a token was still remembered after verifiedFor")
	}

	keys.gone = false
	if _, err := v.Verify(context.Background(), tok); err != nil { // remembered again, 1 s before exp
		t.Fatal(err)
	}
	now = now.Add(5 * time.Second) // past exp and its second of skew
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired remembered token: %v", err)
	}
}
