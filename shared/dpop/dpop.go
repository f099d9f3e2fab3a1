package dpop

import (
	"context"
	"crypto"
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

// AlgorithmNames are Algorithms as metadata and WWW-Authenticate list them
// (dpop_signing_alg_values_supported, algs).
func AlgorithmNames() []string {
	out := make([]string, len(Algorithms))
	for i, a := range Algorithms {
		out[i] = string(a)
	}
	return out
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
	tok, err := jwt.ParseSigned(raw, Algorithms)
	if err != nil {
		return nil, invalid("the DPoP proof is not a JWT signed with one of %s", strings.Join(AlgorithmNames(), ", "))
	}
	h := tok.Headers[0]
	// 4. typ dpop+jwt.
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != Typ {
		return nil, invalid("the DPoP proof's typ must be %s", Typ)
	}
	// 7. A public key in jwk, and nothing that would choose another.
	if h.JSONWebKey == nil || !h.JSONWebKey.Valid() {
		return nil, invalid("the DPoP proof must carry its public key in jwk")
	}
	if !h.JSONWebKey.IsPublic() {
		return nil, invalid("the DPoP proof's jwk must be a public key, without its private part")
	}
	if h.KeyID != "" || h.ExtraHeaders["jku"] != nil || h.ExtraHeaders["x5u"] != nil || h.ExtraHeaders["x5c"] != nil {
		return nil, invalid("the DPoP proof must name its key by jwk alone")
	}
	// 6. The signature, with that key.
	var c Claims
	if err := tok.Claims(h.JSONWebKey.Key, &c); err != nil {
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
	jkt, err := Thumbprint(h.JSONWebKey)
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
