package idjag

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"xaa.example/shared/oauth"
	"xaa.example/shared/replay/replaytest"
	"xaa.example/shared/trace"
)

const (
	testIssuer   = "https://idp.example"
	testAudience = "https://todo-as.example"
	testClient   = "wiki-at-todo"
)

// staticKeys is a KeySource over a fixed JWKS.
type staticKeys jose.JSONWebKeySet

func (s staticKeys) Key(_ context.Context, kid string) (*jose.JSONWebKey, error) {
	for i := range s.Keys {
		if s.Keys[i].KeyID == kid {
			return &s.Keys[i], nil
		}
	}
	return nil, errors.New("unknown kid")
}

type testKey struct {
	priv *ecdsa.PrivateKey
	kid  string
}

func newTestKey(t *testing.T, kid string) testKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{priv: k, kid: kid}
}

// sign makes a JWS of claims with the given header fields.
func (k testKey) sign(t *testing.T, typ string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader(jose.HeaderKey("kid"), k.kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.priv}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// unsigned builds a token with any header and no usable signature.
func unsigned(header, claims map[string]any, sig string) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "." + sig
}

func TestVerify(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	trusted := newTestKey(t, "trusted")
	stranger := newTestKey(t, "stranger")
	jwks := staticKeys{Keys: []jose.JSONWebKey{{Key: &trusted.priv.PublicKey, KeyID: "trusted", Algorithm: "ES256", Use: "sig"}}}

	valid := func() map[string]any {
		return map[string]any{
			"iss": testIssuer, "sub": "00u1", "aud": testAudience, "client_id": testClient,
			"jti": "jti-" + rand.Text(), "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
			"scope": "todos.read", "email": "bob@tables.fake",
		}
	}
	with := func(k string, v any) map[string]any { c := valid(); c[k] = v; return c }
	without := func(k string) map[string]any { c := valid(); delete(c, k); return c }
	signed := func(c map[string]any) string { return trusted.sign(t, oauth.TypIDJAG, c) }

	tests := []struct {
		name    string
		token   func() string
		client  string
		wantErr string // OAuth error code; empty means accepted
		wantIn  string // a word the description must contain
		// the check that refuses, and the last one the trace records
		wantCheck trace.CheckID
	}{
		{name: "valid", token: func() string { return signed(valid()) }},
		{name: "aud as array of one", token: func() string { return signed(with("aud", []string{testAudience})) }},
		{name: "expired within the skew", token: func() string { return signed(with("exp", now.Add(-30*time.Second).Unix())) }},
		{name: "typ JWT", token: func() string { return trusted.sign(t, "JWT", valid()) }, wantErr: "invalid_grant", wantIn: "typ", wantCheck: CheckType},
		{name: "typ at+jwt (an access token)", token: func() string { return trusted.sign(t, "at+jwt", valid()) }, wantErr: "invalid_grant", wantIn: "typ", wantCheck: CheckType},
		{name: "no typ (an ID token)", token: func() string { return trusted.sign(t, "", valid()) }, wantErr: "invalid_grant", wantIn: "typ", wantCheck: CheckType},
		{name: "alg none", token: func() string {
			return unsigned(map[string]any{"alg": "none", "typ": oauth.TypIDJAG, "kid": "trusted"}, valid(), "")
		}, wantErr: "invalid_grant", wantIn: "algorithm", wantCheck: CheckAlgorithm},
		{name: "HS256 keyed with the public key", token: func() string {
			return unsigned(map[string]any{"alg": "HS256", "typ": oauth.TypIDJAG, "kid": "trusted"}, valid(), "c2lnbmF0dXJl")
		}, wantErr: "invalid_grant", wantIn: "algorithm", wantCheck: CheckAlgorithm},
		{name: "unknown kid", token: func() string { return stranger.sign(t, oauth.TypIDJAG, valid()) }, wantErr: "invalid_grant", wantIn: "kid", wantCheck: CheckAlgorithm},
		{name: "trusted kid, other key", token: func() string {
			return testKey{priv: stranger.priv, kid: "trusted"}.sign(t, oauth.TypIDJAG, valid())
		}, wantErr: "invalid_grant", wantIn: "signature", wantCheck: CheckSignature},
		{name: "untrusted issuer", token: func() string { return signed(with("iss", "https://evil.example")) }, wantErr: "invalid_grant", wantIn: "issuer", wantCheck: CheckIssuer},
		{name: "issuer with trailing slash", token: func() string { return signed(with("iss", testIssuer+"/")) }, wantErr: "invalid_grant", wantIn: "issuer", wantCheck: CheckIssuer},
		{name: "other audience", token: func() string { return signed(with("aud", "https://other-as.example")) }, wantErr: "invalid_grant", wantIn: "aud", wantCheck: CheckAudience},
		{name: "two audiences", token: func() string { return signed(with("aud", []string{testAudience, "https://other.example"})) }, wantErr: "invalid_grant", wantIn: "aud", wantCheck: CheckAudience},
		{name: "audience with trailing slash", token: func() string { return signed(with("aud", testAudience+"/")) }, wantErr: "invalid_grant", wantIn: "aud", wantCheck: CheckAudience},
		{name: "expired beyond the skew", token: func() string { return signed(with("exp", now.Add(-2*time.Minute).Unix())) }, wantErr: "invalid_grant", wantIn: "expired", wantCheck: CheckClaims},
		{name: "iat in the future", token: func() string {
			c := valid()
			c["iat"], c["exp"] = now.Add(2*time.Minute).Unix(), now.Add(6*time.Minute).Unix()
			return signed(c)
		}, wantErr: "invalid_grant", wantIn: "future", wantCheck: CheckClaims},
		{name: "nbf in the future", token: func() string { return signed(with("nbf", now.Add(2*time.Minute).Unix())) }, wantErr: "invalid_grant", wantIn: "nbf", wantCheck: CheckClaims},
		{name: "lifetime too long", token: func() string { return signed(with("exp", now.Add(time.Hour).Unix())) }, wantErr: "invalid_grant", wantIn: "lifetime", wantCheck: CheckClaims},
		{name: "no exp", token: func() string { return signed(without("exp")) }, wantErr: "invalid_grant", wantIn: "exp", wantCheck: CheckClaims},
		{name: "no iat", token: func() string { return signed(without("iat")) }, wantErr: "invalid_grant", wantIn: "iat", wantCheck: CheckClaims},
		{name: "no jti", token: func() string { return signed(without("jti")) }, wantErr: "invalid_grant", wantIn: "jti", wantCheck: CheckClaims},
		{name: "no sub", token: func() string { return signed(without("sub")) }, wantErr: "invalid_grant", wantIn: "sub", wantCheck: CheckClaims},
		{name: "no client_id", token: func() string { return signed(without("client_id")) }, wantErr: "invalid_grant", wantIn: "client_id", wantCheck: CheckClaims},
		{name: "client mismatch", token: func() string { return signed(valid()) }, client: "someone-else", wantErr: "invalid_grant", wantIn: "client_id", wantCheck: CheckClient},
		{name: "five parts (JWE)", token: func() string { return "a.b.c.d.e" }, wantErr: "invalid_grant", wantIn: "compact", wantCheck: CheckShape},
		{name: "not a JWT", token: func() string { return "hello.world.x" }, wantErr: "invalid_grant", wantCheck: CheckShape},
		{name: "oversize", token: func() string { return signed(with("pad", strings.Repeat("x", MaxAssertionBytes))) }, wantErr: "invalid_grant", wantIn: "large", wantCheck: CheckShape},
		{name: "empty", token: func() string { return "" }, wantErr: "invalid_request", wantCheck: CheckShape},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			replay := &replaytest.Memory{}
			v := &Verifier{
				Audience: testAudience,
				Issuers:  []*TrustedIssuer{{Issuer: testIssuer, Keys: jwks}},
				Replay:   replay,
				Now:      func() time.Time { return now },
			}
			client := tt.client
			if client == "" {
				client = testClient
			}
			ctx, checks := trace.Recording(context.Background())
			got, err := v.Verify(ctx, tt.token(), client, nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got.Claims.Subject != "00u1" || replay.Len() != 1 {
					t.Fatalf("accepted, but claims %+v and %d jti recorded", got.Claims, replay.Len())
				}
				// The console shows the checks in the order they ran.
				var order []trace.CheckID
				for _, c := range checks() {
					order = append(order, c.ID)
				}
				want := []trace.CheckID{CheckShape, CheckAlgorithm, CheckSignature, CheckType, CheckIssuer, CheckAudience, CheckClaims, CheckClient, CheckReplay}
				if !slices.Equal(order, want) {
					t.Errorf("checks recorded %v, want %v", order, want)
				}
				return
			}
			oe := oauth.AsError(err)
			if oe.Code != tt.wantErr || !strings.Contains(oe.Description, tt.wantIn) {
				t.Fatalf("got %s %q, want %s mentioning %q", oe.Code, oe.Description, tt.wantErr, tt.wantIn)
			}
			made := checks()
			if len(made) == 0 || made[len(made)-1].Passed || made[len(made)-1].ID != tt.wantCheck {
				t.Errorf("checks made %v, want the last to be %s failing", made, tt.wantCheck)
			}
			if replay.Len() != 0 {
				t.Errorf("a refused assertion recorded its jti")
			}
		})
	}
}

func TestVerifyReplayAndPolicy(t *testing.T) {
	now := time.Now()
	k := newTestKey(t, "k")
	replay := &replaytest.Memory{}
	v := &Verifier{
		Audience: testAudience,
		Issuers:  []*TrustedIssuer{{Issuer: testIssuer, Keys: staticKeys{Keys: []jose.JSONWebKey{{Key: &k.priv.PublicKey, KeyID: "k"}}}}},
		Replay:   replay,
		Now:      func() time.Time { return now },
	}
	token := k.sign(t, oauth.TypIDJAG, map[string]any{
		"iss": testIssuer, "sub": "00u1", "aud": testAudience, "client_id": testClient,
		"jti": "once", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	})
	ctx := context.Background()

	// A policy refusal leaves the jti unused, so it is not burnt.
	refuse := func(*Verified) error { return oauth.InvalidScope("no scope") }
	if _, err := v.Verify(ctx, token, testClient, refuse); oauth.AsError(err).Code != "invalid_scope" {
		t.Fatalf("policy refusal: got %v", err)
	}
	if replay.Len() != 0 {
		t.Fatal("a refused assertion recorded its jti")
	}
	if _, err := v.Verify(ctx, token, testClient, nil); err != nil {
		t.Fatalf("first use: %v", err)
	}
	_, err := v.Verify(ctx, token, testClient, nil)
	if oe := oauth.AsError(err); oe.Code != "invalid_grant" || !strings.Contains(oe.Description, "already used") {
		t.Fatalf("replay: got %v, want invalid_grant already used", err)
	}
}

// failingReplay is a replay store that is down.
type failingReplay struct{}

func (failingReplay) Remember(context.Context, string, string, time.Time) error {
	return errors.New("database is down")
}

func TestVerifyFailsClosed(t *testing.T) {
	now := time.Now()
	k := newTestKey(t, "k")
	v := &Verifier{
		Audience: testAudience,
		Issuers:  []*TrustedIssuer{{Issuer: testIssuer, Keys: staticKeys{Keys: []jose.JSONWebKey{{Key: &k.priv.PublicKey, KeyID: "k"}}}}},
		Replay:   failingReplay{},
		Now:      func() time.Time { return now },
	}
	token := k.sign(t, oauth.TypIDJAG, map[string]any{
		"iss": testIssuer, "sub": "00u1", "aud": testAudience, "client_id": testClient,
		"jti": "x", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	})
	_, err := v.Verify(context.Background(), token, testClient, nil)
	if oe := oauth.AsError(err); oe.Code != "server_error" || strings.Contains(oe.Description, "database") {
		t.Fatalf("got %v, want server_error without the internal cause", err)
	}
}
