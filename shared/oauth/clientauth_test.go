package oauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/replay/replaytest"
)

const (
	testAS       = "https://as.test"
	testTokenURL = "https://as.test/token"
)

func TestPrivateKeyJWT(t *testing.T) {
	now := time.Now()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	auth := &ClientAuth{
		Clients: NewStaticClients(
			Client{ID: "keyed", Keys: &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256"}}}},
			Client{ID: "secreted", Secret: "s3cret"},
		),
		Audiences:  []string{testAS, testTokenURL},
		Assertions: &replaytest.Memory{},
		Now:        func() time.Time { return now },
	}
	sign := func(k any, kid string, alg jose.SignatureAlgorithm, c jwt.Claims) string {
		opts := (&jose.SignerOptions{}).WithHeader("kid", kid)
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k}, opts)
		if err != nil {
			t.Fatal(err)
		}
		out, err := jwt.Signed(s).Claims(c).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	claims := func(edit func(*jwt.Claims)) jwt.Claims {
		c := jwt.Claims{Issuer: "keyed", Subject: "keyed", Audience: jwt.Audience{testAS}, ID: rand.Text(),
			IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute))}
		if edit != nil {
			edit(&c)
		}
		return c
	}
	good := func(edit func(*jwt.Claims)) string { return sign(key, "k1", jose.ES256, claims(edit)) }
	form := func(assertion string, extra ...string) url.Values {
		v := url.Values{"client_assertion_type": {ClientAssertionType}, "client_assertion": {assertion}}
		for i := 0; i < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	reused := good(nil)

	tests := []struct {
		name   string
		form   url.Values
		basic  bool
		want   string // error code; empty: accepted as "keyed"
		wantIn string
	}{
		{name: "valid, aud issuer", form: form(reused)},
		{name: "valid, aud token endpoint", form: form(good(func(c *jwt.Claims) { c.Audience = jwt.Audience{testTokenURL} }))},
		{name: "replayed", form: form(reused), want: "invalid_client", wantIn: "already used"},
		{name: "wrong audience", form: form(good(func(c *jwt.Claims) { c.Audience = jwt.Audience{"https://other.test"} })), want: "invalid_client", wantIn: "aud"},
		{name: "expired", form: form(good(func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(-2 * time.Minute)) })), want: "invalid_client", wantIn: "expired"},
		{name: "no exp", form: form(good(func(c *jwt.Claims) { c.Expiry = nil })), want: "invalid_client", wantIn: "exp"},
		{name: "lives too long", form: form(good(func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(time.Hour)) })), want: "invalid_client", wantIn: "too long"},
		{name: "iat in the future", form: form(good(func(c *jwt.Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(3 * time.Minute)) })), want: "invalid_client", wantIn: "future"},
		{name: "sub is not the client", form: form(good(func(c *jwt.Claims) { c.Subject = "someone" })), want: "invalid_client", wantIn: "sub"},
		{name: "no jti", form: form(good(func(c *jwt.Claims) { c.ID = "" })), want: "invalid_client", wantIn: "jti"},
		{name: "signed by another key", form: form(sign(other, "k1", jose.ES256, claims(nil))), want: "invalid_client", wantIn: "signature"},
		{name: "unknown kid", form: form(sign(key, "k9", jose.ES256, claims(nil))), want: "invalid_client", wantIn: "kid"},
		{name: "HMAC", form: form(sign([]byte(strings.Repeat("k", 32)), "k1", jose.HS256, claims(nil))), want: "invalid_client", wantIn: "algorithm"},
		{name: "wrong assertion type", form: form(good(nil), "client_assertion_type", "urn:example:other"), want: "invalid_client", wantIn: "client_assertion_type"},
		{name: "client_id differs from iss", form: form(good(nil), "client_id", "secreted"), want: "invalid_client", wantIn: "client_id"},
		{name: "assertion for a secret client", form: form(sign(key, "k1", jose.ES256, claims(func(c *jwt.Claims) { c.Issuer, c.Subject = "secreted", "secreted" }))), want: "invalid_client", wantIn: "not registered"},
		{name: "secret for a keyed client", form: url.Values{"client_id": {"keyed"}, "client_secret": {"anything"}}, want: "invalid_client", wantIn: "private_key_jwt"},
		{name: "assertion and Basic together", form: form(good(nil)), basic: true, want: "invalid_request"},
		{name: "assertion and secret together", form: form(good(nil), "client_secret", "x"), want: "invalid_request"},
		{name: "garbage assertion", form: form("not.a.jwt"), want: "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/token", nil)
			if tt.basic {
				r.SetBasicAuth("keyed", "x")
			}
			c, err := auth.Authenticate(context.Background(), r, tt.form)
			if tt.want == "" {
				if err != nil || c.ID != "keyed" {
					t.Fatalf("got %v, %v", c, err)
				}
				return
			}
			oe := AsError(err)
			if oe.Code != tt.want || !strings.Contains(oe.Description, tt.wantIn) {
				t.Fatalf("got %s %q, want %s mentioning %q", oe.Code, oe.Description, tt.want, tt.wantIn)
			}
		})
	}
}
