package passkey

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"xaa.example/shared/storage"
)

const issuer = "http://localhost:4000"

var people = map[string]Person{
	"00ubob":  {ID: "00ubob", Email: "bob@tables.fake", Name: "Bobby Tables"},
	"00ujohn": {ID: "00ujohn", Email: "john@tables.fake2", Name: "John Tables"},
}

func newService(t *testing.T) *Service {
	t.Helper()
	db, err := storage.Open("", filepath.Join(t.TempDir(), "idp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { storage.Close(db) })
	s, err := New(Config{Issuer: issuer, DB: db, Now: time.Now, Find: func(_ context.Context, id string) (Person, error) {
		p, ok := people[id]
		if !ok {
			return Person{}, errors.New("no such person")
		}
		return p, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// authenticator is a software passkey authenticator: a P-256 key per
// credential, "none" attestation, as WebAuthn §6 lays its data out. What
// it sends can be changed, so that each hostile row differs from the
// control in one thing.
type authenticator struct {
	key        *ecdsa.PrivateKey
	id         []byte
	count      uint32
	userHandle string
}

func newAuthenticator(t *testing.T) *authenticator {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &authenticator{key: key, id: id}
}

// ceremony is what the browser sends, before it is encoded: each field
// can be changed by a row.
type ceremony struct {
	typ, challenge, origin, rpID string
	flags                        byte
	count                        uint32
	signer                       *ecdsa.PrivateKey
	credID                       []byte
	userHandle                   string
}

const (
	flagUP = 0x01 // the person was present
	flagUV = 0x04 // and verified (PIN, biometrics)
	flagAT = 0x40 // attested credential data follows
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// challengeOf reads the challenge from a ceremony's options.
func challengeOf(t *testing.T, ch *Challenge) string {
	t.Helper()
	b, err := json.Marshal(ch.Options)
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(b, &o); err != nil || o.PublicKey.Challenge == "" {
		t.Fatalf("no challenge in %s", b)
	}
	return o.PublicKey.Challenge
}

func (a *authenticator) ceremony(typ, challenge string) ceremony {
	a.count++
	return ceremony{typ: typ, challenge: challenge, origin: issuer, rpID: "localhost", flags: flagUP | flagUV,
		count: a.count, signer: a.key, credID: a.id, userHandle: a.userHandle}
}

func (c ceremony) clientData() []byte {
	b, _ := json.Marshal(map[string]any{"type": c.typ, "challenge": c.challenge, "origin": c.origin, "crossOrigin": false})
	return b
}

func (c ceremony) authData(attested []byte) []byte {
	rp := sha256.Sum256([]byte(c.rpID))
	var b bytes.Buffer
	b.Write(rp[:])
	b.WriteByte(c.flags)
	_ = binary.Write(&b, binary.BigEndian, c.count)
	b.Write(attested)
	return b.Bytes()
}

// registration is the browser's answer to navigator.credentials.create.
func (a *authenticator) registration(t *testing.T, c ceremony) *http.Request {
	t.Helper()
	pub := a.key.PublicKey
	x, y := make([]byte, 32), make([]byte, 32)
	pub.X.FillBytes(x)
	pub.Y.FillBytes(y)
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y}) // EC2, ES256, P-256 (RFC 9053)
	if err != nil {
		t.Fatal(err)
	}
	var attested bytes.Buffer
	attested.Write(make([]byte, 16)) // AAGUID
	_ = binary.Write(&attested, binary.BigEndian, uint16(len(c.credID)))
	attested.Write(c.credID)
	attested.Write(cose)
	c.flags |= flagAT
	obj, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": c.authData(attested.Bytes())})
	if err != nil {
		t.Fatal(err)
	}
	return answer(t, map[string]any{
		"id": b64(c.credID), "rawId": b64(c.credID), "type": "public-key", "authenticatorAttachment": "platform",
		"response":               map[string]any{"clientDataJSON": b64(c.clientData()), "attestationObject": b64(obj), "transports": []string{"internal"}},
		"clientExtensionResults": map[string]any{},
	})
}

// assertion is the browser's answer to navigator.credentials.get.
func (a *authenticator) assertion(t *testing.T, c ceremony) *http.Request {
	t.Helper()
	data, client := c.authData(nil), c.clientData()
	sum := sha256.Sum256(client)
	signed := sha256.Sum256(append(append([]byte{}, data...), sum[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.signer, signed[:])
	if err != nil {
		t.Fatal(err)
	}
	return answer(t, map[string]any{
		"id": b64(c.credID), "rawId": b64(c.credID), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64(client), "authenticatorData": b64(data), "signature": b64(sig),
			"userHandle": b64([]byte(c.userHandle))},
		"clientExtensionResults": map[string]any{},
	})
}

func answer(t *testing.T, v any) *http.Request {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(b))
}

// register gives person a passkey held by a new authenticator.
func register(t *testing.T, s *Service, person Person) *authenticator {
	t.Helper()
	a := newAuthenticator(t)
	a.userHandle = person.ID
	ch, err := s.BeginRegistration(t.Context(), person)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRegistration(t.Context(), person, ch.Session, a.registration(t, a.ceremony("webauthn.create", challengeOf(t, ch)))); err != nil {
		t.Fatalf("register %s: %v", person.Email, err)
	}
	return a
}

// TestRegistrationHostile: a registration answer that is not this
// ceremony's, from this site, with the person verified, keeps nothing.
func TestRegistrationHostile(t *testing.T) {
	s := newService(t)
	bob := people["00ubob"]
	for _, row := range []struct {
		name   string
		change func(c *ceremony, session *[]byte)
	}{
		{"control: a passkey made for this site in this ceremony", nil},
		{"made on another site (a phishing page's origin)", func(c *ceremony, _ *[]byte) { c.origin = "http://idp.evil.test" }},
		{"for another relying party id", func(c *ceremony, _ *[]byte) { c.rpID = "evil.test" }},
		{"the answer to another ceremony's challenge", func(c *ceremony, _ *[]byte) { c.challenge = b64([]byte("an older challenge")) }},
		{"no ceremony begun in this session", func(_ *ceremony, session *[]byte) { *session = nil }},
		{"an assertion's client data, not a creation's", func(c *ceremony, _ *[]byte) { c.typ = "webauthn.get" }},
		{"the person was not verified on the authenticator", func(c *ceremony, _ *[]byte) { c.flags = flagUP }},
	} {
		before, _ := s.Count(t.Context(), bob.ID)
		a := newAuthenticator(t)
		ch, err := s.BeginRegistration(t.Context(), bob)
		if err != nil {
			t.Fatal(err)
		}
		c, session := a.ceremony("webauthn.create", challengeOf(t, ch)), ch.Session
		if row.change != nil {
			row.change(&c, &session)
		}
		err = s.FinishRegistration(t.Context(), bob, session, a.registration(t, c))
		after, _ := s.Count(t.Context(), bob.ID)
		var refused *Refusal
		switch {
		case row.change == nil && (err != nil || after != before+1):
			t.Errorf("%s: %v, %d passkeys after %d", row.name, err, after, before)
		case row.change != nil && (!errors.As(err, &refused) || after != before):
			t.Errorf("%s: %v (want a refusal), %d passkeys after %d", row.name, err, after, before)
		}
	}
}

// TestLoginHostile: a passkey sign-in proves one person's passkey, made
// here, for this ceremony; anything else names no one and changes nothing.
func TestLoginHostile(t *testing.T) {
	s := newService(t)
	bob, john := people["00ubob"], people["00ujohn"]
	bobKey, johnKey := register(t, s, bob), register(t, s, john)
	stranger := newAuthenticator(t)
	stranger.userHandle = bob.ID
	for _, row := range []struct {
		name string
		// want is the person the sign-in must be (a pending second factor).
		want   *Person
		key    *authenticator
		change func(c *ceremony, session *[]byte)
	}{
		{"control: bob's passkey, no one named first", nil, bobKey, nil},
		{"control: bob's passkey, bob expected", &bob, bobKey, nil},
		{"john's passkey where bob's password was given", &bob, johnKey, nil},
		{"signed on a phishing page (another origin)", nil, bobKey, func(c *ceremony, _ *[]byte) { c.origin = "http://idp.evil.test" }},
		{"for another relying party id", nil, bobKey, func(c *ceremony, _ *[]byte) { c.rpID = "evil.test" }},
		{"an assertion replayed from another ceremony", nil, bobKey, func(c *ceremony, _ *[]byte) { c.challenge = b64([]byte("an older challenge")) }},
		{"no ceremony begun in this session", nil, bobKey, func(_ *ceremony, session *[]byte) { *session = nil }},
		{"bob's credential id, signed by another key", nil, bobKey, func(c *ceremony, _ *[]byte) { c.signer = stranger.key }},
		{"a passkey never registered here", nil, stranger, nil},
		{"bob's passkey claiming john's user handle", nil, bobKey, func(c *ceremony, _ *[]byte) { c.userHandle = john.ID }},
		{"the person was not verified on the authenticator", nil, bobKey, func(c *ceremony, _ *[]byte) { c.flags = flagUP }},
		{"a signature counter gone backwards (a cloned authenticator)", nil, bobKey, func(c *ceremony, _ *[]byte) { c.count = 1 }},
	} {
		ch, err := s.BeginLogin(t.Context(), row.want)
		if err != nil {
			t.Fatal(err)
		}
		c, session := row.key.ceremony("webauthn.get", challengeOf(t, ch)), ch.Session
		if row.change != nil {
			row.change(&c, &session)
		}
		var lastUsed []*time.Time
		_ = s.cfg.DB.Model(&Credential{}).Order("id").Pluck("last_used_at", &lastUsed).Error
		uid, err := s.FinishLogin(t.Context(), row.want, session, row.key.assertion(t, c))
		control := strings.HasPrefix(row.name, "control")
		var refused *Refusal
		switch {
		case control && (err != nil || uid != bob.ID):
			t.Errorf("%s: %q %v, want bob", row.name, uid, err)
		case !control && (uid != "" || !errors.As(err, &refused)):
			t.Errorf("%s: signed in %q, %v; want a refusal", row.name, uid, err)
		case !control:
			var after []*time.Time
			_ = s.cfg.DB.Model(&Credential{}).Order("id").Pluck("last_used_at", &after).Error
			for i := range after {
				if (after[i] == nil) != (lastUsed[i] == nil) || after[i] != nil && !after[i].Equal(*lastUsed[i]) {
					t.Errorf("%s: a passkey's record changed", row.name)
				}
			}
		}
	}
}

// TestNoPasskeysAtAnIPAddress: browsers refuse passkeys for an IP address,
// so an IdP there runs without them, and says why.
func TestNoPasskeysAtAnIPAddress(t *testing.T) {
	db, err := storage.Open("", filepath.Join(t.TempDir(), "idp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer storage.Close(db)
	s, err := New(Config{Issuer: "http://127.0.0.1:4000", DB: db, Now: time.Now})
	if err != nil || s.Unavailable() == "" {
		t.Fatalf("%v, unavailable %q", err, s.Unavailable())
	}
	if _, err := s.BeginLogin(t.Context(), nil); err == nil {
		t.Error("a passkey sign-in began at an IP address")
	}
}
