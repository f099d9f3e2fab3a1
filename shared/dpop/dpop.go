package dpop

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/replay"
)

// Header is the request header a proof travels in.
const Header = "DPoP"

// NonceHeader carries a server's nonce (§8.1).
const NonceHeader = "DPoP-Nonce"

// TokenType is the token_type of a DPoP-bound access token (§5) and the
// authorization scheme it is sent with (§7.1).
const TokenType = "DPoP"

// Typ is a proof's JOSE typ (§4.2).
const Typ = "dpop+jwt"

// Algorithms a proof may be signed with: asymmetric only, never none or
// HMAC (§4.3, check 5).
var Algorithms = []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.PS256, jose.EdDSA}

// Ed25519 is RFC 9864's name for EdDSA with an Ed25519 key, which newer
// libraries put in a proof's alg (panva's dpop and oauth4webapi do); a
// proof so named is verified as EdDSA is, the same curve and signature.
const Ed25519 = "Ed25519"

// AlgorithmNames are Algorithms as metadata and WWW-Authenticate list them
// (dpop_signing_alg_values_supported, algs), with Ed25519 beside EdDSA.
func AlgorithmNames() []string {
	out := make([]string, 0, len(Algorithms)+1)
	for _, a := range Algorithms {
		out = append(out, string(a))
	}
	return append(out, Ed25519)
}

// MaxProofBytes bounds a proof before any parsing; a proof with an RSA key
// is well under 2 KiB.
const MaxProofBytes = 4 << 10

// Claims of a proof (§4.2).
type Claims struct {
	ID         string           `json:"jti"`
	Method     string           `json:"htm"`
	URL        string           `json:"htu"`
	IssuedAt   *jwt.NumericDate `json:"iat"`
	AccessHash string           `json:"ath,omitempty"`
	Nonce      string           `json:"nonce,omitempty"`
}

// Proof is a proof that passed every check: the key's thumbprint, which a
// token is bound to, and its claims.
type Proof struct {
	Thumbprint string
	Claims     Claims
}

// Thumbprint is a public key's JWK SHA-256 thumbprint, base64url (RFC 7638,
// RFC 9449 §6.1): what cnf.jkt holds.
func Thumbprint(k *jose.JSONWebKey) (string, error) {
	b, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// AccessTokenHash is ath for a token: base64url of its SHA-256 (§4.2).
func AccessTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Error is a refused proof. Code is invalid_dpop_proof, or use_dpop_nonce
// when the server wants its nonce in the proof (§7.1, §8); Description is
// public text.
type Error struct {
	Code        string
	Description string
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

// Error codes (§12.2).
const (
	CodeInvalidProof = "invalid_dpop_proof"
	CodeUseNonce     = "use_dpop_nonce"
)

func invalid(format string, args ...any) *Error {
	return &Error{Code: CodeInvalidProof, Description: fmt.Sprintf(format, args...)}
}

// Nonces are a server's nonces (§8, §9): Current is the one to send now;
// Valid accepts it and, for a while, the ones before.
type Nonces interface {
	Current() string
	Valid(nonce string) bool
}

// Verifier checks proofs sent to one server.
type Verifier struct {
	// Replay remembers (thumbprint, jti) until a proof could no longer pass
	// the iat check.
	Replay replay.Store
	// Nonces, when set, are required in every proof.
	Nonces Nonces
	// Window bounds how far iat may be from now, either way; a minute when
	// zero.
	Window time.Duration
	Now    func() time.Time
}

// Request is what a proof is checked against.
type Request struct {
	// Proofs are every value of the request's DPoP header: exactly one is
	// allowed.
	Proofs []string
	Method string
	// URL is the request's URL as this server is reached at it, its query
	// and fragment ignored.
	URL string
	// AccessToken, when the request presents one, must be the one ath
	// hashes; Bound is its cnf.jkt, which the proof's key must match.
	AccessToken string
	Bound       string
}

// Verify checks the request's proof (§4.3, in its order) and remembers its
// jti. An error is an *Error.
func (v *Verifier) Verify(ctx context.Context, r Request) (*Proof, error) {
	// 1. One DPoP header, one value.
	if len(r.Proofs) != 1 || strings.Contains(r.Proofs[0], ",") {
		return nil, invalid("send exactly one DPoP header")
	}
	raw := r.Proofs[0]
	if len(raw) > MaxProofBytes {
		return nil, invalid("the DPoP proof is larger than %d bytes", MaxProofBytes)
	}
	// 7, early: a jwk with private parts (go-jose refuses it while parsing;
	// the client is told why).
	if hasPrivateKey(raw) {
		return nil, invalid("the DPoP proof's jwk must be a public key, without its private part")
	}
	// 2. A well-formed JWS, signed with an allowed asymmetric algorithm.
	h, readClaims, err := open(raw)
	if err != nil {
		return nil, invalid("the DPoP proof is not a JWT signed with one of %s", strings.Join(AlgorithmNames(), ", "))
	}
	// 4. typ dpop+jwt.
	if h.typ != Typ {
		return nil, invalid("the DPoP proof's typ must be %s", Typ)
	}
	// 7. A public key in jwk, and nothing that would choose another.
	if h.jwk == nil || !h.jwk.Valid() {
		return nil, invalid("the DPoP proof must carry its public key in jwk")
	}
	if !h.jwk.IsPublic() {
		return nil, invalid("the DPoP proof's jwk must be a public key, without its private part")
	}
	if h.namesAnotherKey {
		return nil, invalid("the DPoP proof must name its key by jwk alone")
	}
	// 6. The signature, with that key.
	var c Claims
	if err := readClaims(&c); err != nil {
		return nil, invalid("the DPoP proof's signature does not verify with its jwk")
	}
	// 3. Required claims.
	switch {
	case c.ID == "" || len(c.ID) > 255:
		return nil, invalid("the DPoP proof needs a jti of at most 255 characters")
	case c.Method == "" || c.URL == "" || c.IssuedAt == nil:
		return nil, invalid("the DPoP proof needs htm, htu and iat")
	}
	// 8 and 9. This request's method and URL.
	if c.Method != r.Method {
		return nil, invalid("the DPoP proof is for %s, not this %s request", c.Method, r.Method)
	}
	if !SameURL(c.URL, r.URL) {
		return nil, invalid("the DPoP proof's htu is not this request's URL (%s)", withoutQuery(r.URL))
	}
	// 11. Fresh.
	now, window := v.now(), v.Window
	if window <= 0 {
		window = time.Minute
	}
	iat := c.IssuedAt.Time()
	if iat.Before(now.Add(-window)) || iat.After(now.Add(window)) {
		return nil, invalid("the DPoP proof's iat is not within %s of the server's clock", window)
	}
	// 10. The server's nonce, when it asks for one.
	if v.Nonces != nil && (c.Nonce == "" || !v.Nonces.Valid(c.Nonce)) {
		return nil, &Error{Code: CodeUseNonce, Description: "the DPoP proof must carry the server's nonce (DPoP-Nonce)"}
	}
	jkt, err := Thumbprint(h.jwk)
	if err != nil {
		return nil, invalid("the DPoP proof's jwk has no thumbprint")
	}
	// 12. The access token presented with it, and the key it is bound to.
	if r.AccessToken != "" {
		if c.AccessHash == "" || c.AccessHash != AccessTokenHash(r.AccessToken) {
			return nil, invalid("the DPoP proof's ath is not the hash of the access token sent with it")
		}
	}
	if r.Bound != "" && r.Bound != jkt {
		return nil, invalid("the DPoP proof is signed with another key than the one the token is bound to")
	}
	// Single use, per key, until it could no longer pass check 11.
	if err := v.Replay.Remember(ctx, "dpop:"+jkt, c.ID, iat.Add(window)); err != nil {
		if errors.Is(err, replay.ErrReplayed) {
			return nil, invalid("this DPoP proof was used before: make a new one for each request")
		}
		return nil, err
	}
	return &Proof{Thumbprint: jkt, Claims: c}, nil
}

// hasPrivateKey reports whether a compact JWS's header carries a jwk with
// private members (RFC 7518 §6.2.2, §6.3.2, §6.4: d, p, q, dp, dq, qi, k).
func hasPrivateKey(raw string) bool {
	head, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return false
	}
	var h struct {
		JWK map[string]any `json:"jwk"`
	}
	if json.Unmarshal(b, &h) != nil {
		return false
	}
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
		if _, ok := h.JWK[private]; ok {
			return true
		}
	}
	return false
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// SameURL compares htu with the request URL as RFC 9449 §4.3 check 9 says:
// without query and fragment, scheme and host compared without regard to
// case, default ports dropped (RFC 3986 §6.2.2, §6.2.3). Anything else must
// be equal: a trailing slash or another path is another URL.
func SameURL(htu, requestURL string) bool {
	a, errA := normalize(htu)
	b, errB := normalize(requestURL)
	return errA == nil && errB == nil && a == b
}

func normalize(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", errors.New("not an absolute URL")
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if scheme == "https" {
		host = strings.TrimSuffix(host, ":443")
	} else if scheme == "http" {
		host = strings.TrimSuffix(host, ":80")
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, nil
}

func withoutQuery(raw string) string {
	if s, err := normalize(raw); err == nil {
		return s
	}
	return raw
}

// Allowed reports whether alg is one a proof may use.
func Allowed(alg string) bool { return slices.Contains(Algorithms, jose.SignatureAlgorithm(alg)) }

// proofHeader is what a proof's protected header says.
type proofHeader struct {
	typ string
	jwk *jose.JSONWebKey
	// namesAnotherKey: kid, jku, x5u or x5c, which a proof must not have.
	namesAnotherKey bool
}

// open parses a compact JWS signed with one of Algorithms, or Ed25519,
// and returns its header and what verifies its signature with the
// header's jwk and reads its claims.
func open(raw string) (*proofHeader, func(*Claims) error, error) {
	if alg, _ := headerAlg(raw); alg == Ed25519 {
		return openEd25519(raw)
	}
	tok, err := jwt.ParseSigned(raw, Algorithms)
	if err != nil {
		return nil, nil, err
	}
	h := tok.Headers[0]
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	ph := &proofHeader{typ: typ, jwk: h.JSONWebKey,
		namesAnotherKey: h.KeyID != "" || h.ExtraHeaders["jku"] != nil || h.ExtraHeaders["x5u"] != nil || h.ExtraHeaders["x5c"] != nil}
	return ph, func(c *Claims) error {
		if h.JSONWebKey == nil {
			return errors.New("no jwk")
		}
		return tok.Claims(h.JSONWebKey.Key, c)
	}, nil
}

func headerAlg(raw string) (string, error) {
	head, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return "", err
	}
	var h struct {
		Alg string `json:"alg"`
	}
	return h.Alg, json.Unmarshal(b, &h)
}

// openEd25519 is open for alg Ed25519, which go-jose does not know by that
// name: the signature is EdDSA's (RFC 8037 §3.1) over the same input, with
// the Ed25519 key of the jwk.
func openEd25519(raw string) (*proofHeader, func(*Claims) error, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, nil, errors.New("not a compact JWS")
	}
	head, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, nil, err
	}
	var h struct {
		Typ string           `json:"typ"`
		JWK *jose.JSONWebKey `json:"jwk"`
		Kid string           `json:"kid"`
		Jku any              `json:"jku"`
		X5u any              `json:"x5u"`
		X5c any              `json:"x5c"`
	}
	if err := json.Unmarshal(head, &h); err != nil {
		return nil, nil, err
	}
	ph := &proofHeader{typ: h.Typ, jwk: h.JWK, namesAnotherKey: h.Kid != "" || h.Jku != nil || h.X5u != nil || h.X5c != nil}
	return ph, func(c *Claims) error {
		if h.JWK == nil {
			return errors.New("no jwk")
		}
		pub, ok := h.JWK.Key.(ed25519.PublicKey)
		if !ok {
			return errors.New("alg Ed25519 needs an Ed25519 key")
		}
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil || !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
			return errors.New("signature")
		}
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			return err
		}
		return json.Unmarshal(payload, c)
	}, nil
}
