package ssf

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/numericdate"
	"xaa.example/shared/replay/replaydb"
	"xaa.example/shared/storage/storagetest"
)

const (
	transmitter = "https://idp.test"
	receiver    = "https://todo.test"
)

type keySource map[string]*jose.JSONWebKey

func (k keySource) Key(_ context.Context, kid string) (*jose.JSONWebKey, error) {
	if key, ok := k[kid]; ok {
		return key, nil
	}
	return nil, errors.New("no such key")
}

// signer signs with a key of its own, with any header.
type signer struct {
	key *ecdsa.PrivateKey
	kid string
	typ string
	alg jose.SignatureAlgorithm
}

func (s signer) sign(t *testing.T, claims any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(s.typ)).WithHeader("kid", s.kid)
	sg, err := jose.NewSigner(jose.SigningKey{Algorithm: s.alg, Key: s.key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(sg).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestVerifyHostile(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	store, err := replaydb.New(storagetest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	v := &Verifier{Issuer: transmitter, Audience: receiver, Replay: store, Now: func() time.Time { return now },
		Keys: keySource{"k1": {Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256"}}}
	good := signer{key: key, kid: "k1", typ: typ, alg: jose.ES256}
	set := func(edit func(*SET)) SET {
		s := SET{Issuer: transmitter, Audience: jwt.Audience{receiver}, IssuedAt: jwt.NewNumericDate(now), ID: "set-" + storagetest.ID(),
			Subject: Subject{Format: "email", Email: "bob@tables.fake"},
			Events:  map[string]Event{EventAccountDisabled: {Timestamp: numericdate.New(now)}}}
		if edit != nil {
			edit(&s)
		}
		return s
	}
	replayed := good.sign(t, set(nil))
	if _, err := v.Verify(t.Context(), replayed); err != nil {
		t.Fatalf("a good SET: %v", err)
	}
	// An event type this receiver does not know passes the checks (SSF:
	// unknown events are accepted and ignored by the receiver).
	if _, err := v.Verify(t.Context(), good.sign(t, set(func(s *SET) {
		s.Events = map[string]Event{"https://example.com/event-type/unknown": {}}
	}))); err != nil {
		t.Fatalf("an unknown event type: %v", err)
	}
	unsigned := func() string {
		parts := strings.Split(good.sign(t, set(nil)), ".")
		return `eyJhbGciOiJub25lIiwidHlwIjoic2VjZXZlbnQrand0In0.` + parts[1] + "."
	}()
	rows := []struct {
		name, raw, code string
	}{
		{"unsigned (alg none)", unsigned, ErrInvalidRequest},
		{"signed by another key under the transmitter's kid", signer{key: other, kid: "k1", typ: typ, alg: jose.ES256}.sign(t, set(nil)), ErrInvalidKey},
		{"a kid the transmitter does not publish", signer{key: other, kid: "k2", typ: typ, alg: jose.ES256}.sign(t, set(nil)), ErrInvalidKey},
		{"the wrong typ", signer{key: key, kid: "k1", typ: "JWT", alg: jose.ES256}.sign(t, set(nil)), ErrInvalidRequest},
		{"another issuer", good.sign(t, set(func(s *SET) { s.Issuer = "https://evil.test" })), ErrInvalidIssuer},
		{"another audience", good.sign(t, set(func(s *SET) { s.Audience = jwt.Audience{"https://other.test"} })), ErrInvalidAudience},
		{"replayed jti", replayed, ErrInvalidRequest},
		{"issued an hour ago", good.sign(t, set(func(s *SET) { s.IssuedAt = jwt.NewNumericDate(now.Add(-time.Hour)) })), ErrInvalidRequest},
		{"issued in the future", good.sign(t, set(func(s *SET) { s.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) })), ErrInvalidRequest},
		{"no jti", good.sign(t, set(func(s *SET) { s.ID = "" })), ErrInvalidRequest},
		{"no events", good.sign(t, set(func(s *SET) { s.Events = nil })), ErrInvalidRequest},
		{"oversized", good.sign(t, set(func(s *SET) { s.TxnID = strings.Repeat("x", MaxSETBytes) })), ErrInvalidRequest},
		{"not a JWT", "hello", ErrInvalidRequest},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			got, err := v.Verify(t.Context(), row.raw)
			var e *Error
			if got != nil || !errors.As(err, &e) || e.Code != row.code {
				t.Fatalf("got %v %v, want %s", got, err, row.code)
			}
		})
	}
}

// TestPush: RFC 8935's answers, as the transmitter reads them.
func TestPush(t *testing.T) {
	var auth, contentType string
	status, body := http.StatusAccepted, ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, contentType = r.Header.Get("Authorization"), r.Header.Get("Content-Type")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	if err := Push(t.Context(), srv.Client(), srv.URL, "Bearer r", "a.b.c"); err != nil || auth != "Bearer r" || contentType != MediaType {
		t.Fatalf("202: %v (auth %q, type %q)", err, auth, contentType)
	}
	status, body = http.StatusBadRequest, `{"err":"invalid_audience","description":"not me"}`
	var e *Error
	if err := Push(t.Context(), srv.Client(), srv.URL, "", "a.b.c"); !errors.As(err, &e) || e.Code != ErrInvalidAudience {
		t.Fatalf("400: %v", err)
	}
	status, body = http.StatusServiceUnavailable, "busy"
	if err := Push(t.Context(), srv.Client(), srv.URL, "", "a.b.c"); err == nil || errors.As(err, &e) {
		t.Fatalf("503: %v", err)
	}
}
