package idjag

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/oauth"
	"xaa.example/shared/replay"
	"xaa.example/shared/trace"
)

// KeySource finds an issuer's public key by kid (see package jwks).
type KeySource interface {
	Key(ctx context.Context, kid string) (*jose.JSONWebKey, error)
}

// TrustedIssuer is an IdP whose ID-JAGs this server accepts, with its own
// policy. Several may be trusted at once.
type TrustedIssuer struct {
	Issuer string
	Keys   KeySource
	// Algorithms allowed for this issuer; never "none", never HMAC.
	Algorithms []jose.SignatureAlgorithm
	// ClockSkew tolerated on exp, iat and nbf.
	ClockSkew time.Duration
	// MaxLifetime bounds exp - iat.
	MaxLifetime time.Duration
	// JIT allows accounts to be created (or linked by email) for subjects not
	// yet seen at SSO, for emails in these domains (PROTOCOL.md check 12).
	JIT JITPolicy
}

// JITPolicy is the just-in-time account policy of a trusted issuer.
type JITPolicy struct {
	Enabled      bool
	EmailDomains []string
}

// Allows reports whether email is in one of the policy's domains.
func (p JITPolicy) Allows(email string) bool {
	at := strings.LastIndexByte(email, '@')
	if !p.Enabled || at < 1 {
		return false
	}
	return slices.Contains(p.EmailDomains, strings.ToLower(email[at+1:]))
}

// Defaults applied when a TrustedIssuer leaves a field empty.
var (
	DefaultAlgorithms  = []jose.SignatureAlgorithm{jose.ES256, jose.RS256}
	DefaultClockSkew   = 60 * time.Second
	DefaultMaxLifetime = 5 * time.Minute
)

// MaxAssertionBytes bounds the assertion before any parsing.
const MaxAssertionBytes = 16 << 10

// Verifier checks ID-JAGs presented to one resource authorization server.
type Verifier struct {
	// Audience is this server's issuer identifier.
	Audience string
	Issuers  []*TrustedIssuer
	Replay   replay.Store
	Now      func() time.Time
}

// Verified is an ID-JAG that passed every check, with the issuer's policy.
type Verified struct {
	Claims *Claims
	Issuer *TrustedIssuer
}

// Policy is the redeeming server's own decision on a verified assertion
// (PROTOCOL.md checks 10 to 12). It runs before the jti is recorded, so a
// refused assertion leaves nothing stored.
type Policy func(*Verified) error

// Verify runs checks 1 to 8 of PROTOCOL.md on assertion, presented by the
// authenticated client clientID, then policy (if any), then check 9: the jti
// is recorded as used. Every failure is an invalid_grant error (RFC 7521
// §4.1.1) whose description says which check failed, unless policy says
// otherwise; a failing replay store is a server_error (fail closed).
func (v *Verifier) Verify(ctx context.Context, assertion, clientID string, policy Policy) (*Verified, error) {
	// Each check is reported to the debug console's trace, if any.
	fail := func(check string, e *oauth.Error) (*Verified, error) {
		trace.Fail(ctx, check, e.Description)
		return nil, e
	}

	// 1. A compact JWS of sane size: three parts (a JWE has five).
	const c1 = "1 · one assertion, a compact JWS of sane size"
	if assertion == "" {
		return fail(c1, oauth.InvalidRequest("assertion is required"))
	}
	if len(assertion) > MaxAssertionBytes {
		return fail(c1, oauth.InvalidGrant("assertion is too large"))
	}
	if strings.Count(assertion, ".") != 2 {
		return fail(c1, oauth.InvalidGrant("assertion must be a compact JWS (encrypted or nested JWTs are not accepted)"))
	}
	trace.Pass(ctx, c1)

	// 4 (before 3 and 5, as the key set depends on it). The issuer comes from
	// the unverified payload; it only selects which keys may verify it.
	alg, unverifiedIss, err := peek(assertion)
	if err != nil {
		return fail(c1, oauth.InvalidGrant("assertion is not a well-formed JWT").WithCause(err))
	}
	const c4 = "4 · iss is a trusted IdP"
	ti := v.issuer(unverifiedIss)
	if ti == nil {
		return fail(c4, oauth.InvalidGrant("the assertion's issuer is not trusted by this authorization server"))
	}

	// 3. alg on the issuer's allow-list, which never holds "none" or HMAC;
	// go-jose enforces the same list again while parsing.
	const c3 = "3 · alg on the issuer's allow-list; key chosen by kid from its JWKS"
	allowed := orDefault(ti.Algorithms, DefaultAlgorithms)
	if !slices.Contains(allowed, jose.SignatureAlgorithm(alg)) {
		return fail(c3, oauth.InvalidGrant("assertion signature algorithm %q is not allowed", alg))
	}
	tok, err := jwt.ParseSigned(assertion, allowed)
	if err != nil {
		return fail(c1, oauth.InvalidGrant("assertion is not a well-formed JWS").WithCause(err))
	}
	header := tok.Headers[0]

	// 3 and 5. The key is chosen only by kid from the trusted issuer's JWKS;
	// jku, x5u and an embedded jwk are ignored.
	key, err := ti.Keys.Key(ctx, header.KeyID)
	if err != nil {
		return fail(c3, oauth.InvalidGrant("no key of the issuer matches the assertion's kid").WithCause(err))
	}
	if key.Algorithm != "" && key.Algorithm != header.Algorithm {
		return fail(c3, oauth.InvalidGrant("assertion alg does not match the issuer's key"))
	}
	trace.PassDetail(ctx, c3, header.Algorithm+", kid "+header.KeyID)
	const c5 = "5 · signature verifies"
	if err := tok.Claims(key.Key); err != nil {
		return fail(c5, oauth.InvalidGrant("assertion signature is invalid").WithCause(err))
	}
	trace.Pass(ctx, c5)
	// Verified above: only read here, so that a claim of the wrong JSON
	// type is reported as what it is, not as a bad signature.
	var c Claims
	if err := decodeClaims(tok, &c); err != nil {
		return fail("7 · exp, iat, jti, sub, client_id present; times within skew and lifetime", oauth.InvalidGrant("%s", err))
	}

	// 2. Explicit typing (draft §3, RFC 8725 §3.11), read from the now
	// verified header.
	const c2 = "2 · typ is oauth-id-jag+jwt"
	if typ, _ := header.ExtraHeaders[jose.HeaderType].(string); !oauth.TypIs(typ, oauth.TypIDJAG) {
		return fail(c2, oauth.InvalidGrant("assertion typ must be %s", oauth.TypIDJAG))
	}
	trace.Pass(ctx, c2)

	// 4 again, on the verified claims.
	if c.Issuer != ti.Issuer {
		return fail(c4, oauth.InvalidGrant("the assertion's issuer is not trusted by this authorization server"))
	}
	trace.PassDetail(ctx, c4, c.Issuer)

	// 6. aud is this server: one string, or an array of exactly one (draft §4.4.1).
	const c6 = "6 · aud is exactly this authorization server"
	if len(c.Audience) != 1 || c.Audience[0] != v.Audience {
		return fail(c6, oauth.InvalidGrant("assertion aud must be exactly %s", v.Audience))
	}
	trace.Pass(ctx, c6)

	// 7. Required claims and times.
	const c7 = "7 · exp, iat, jti, sub, client_id present; times within skew and lifetime"
	if err := v.checkTimes(&c, ti); err != nil {
		return fail(c7, err)
	}
	trace.Pass(ctx, c7)

	// 8. Client continuity (draft §4.4.1).
	const c8 = "8 · client_id is the authenticated client"
	if c.ClientID != clientID {
		return fail(c8, oauth.InvalidGrant("assertion client_id does not match the authenticated client"))
	}
	trace.PassDetail(ctx, c8, c.ClientID)

	verified := &Verified{Claims: &c, Issuer: ti}
	if policy != nil {
		if err := policy(verified); err != nil {
			return nil, err
		}
	}

	// 9. Single use, remembered until the assertion could no longer pass check 7.
	const c9 = "9 · jti not used before (single use)"
	until := c.Expiry.Time().Add(skew(ti))
	if err := v.Replay.Remember(ctx, c.Issuer, c.ID, until); err != nil {
		if errors.Is(err, replay.ErrReplayed) {
			return fail(c9, oauth.InvalidGrant("assertion was already used (jti replay)"))
		}
		return fail(c9, oauth.ServerError(fmt.Errorf("replay store: %w", err)))
	}
	trace.PassDetail(ctx, c9, "jti "+c.ID+" remembered until it expires")
	return verified, nil
}

func (v *Verifier) checkTimes(c *Claims, ti *TrustedIssuer) *oauth.Error {
	switch {
	case c.Expiry == nil:
		return oauth.InvalidGrant("assertion has no exp")
	case c.IssuedAt == nil:
		return oauth.InvalidGrant("assertion has no iat")
	case c.ID == "":
		return oauth.InvalidGrant("assertion has no jti")
	case len(c.ID) > 255:
		return oauth.InvalidGrant("assertion jti is too long")
	case c.Subject == "":
		return oauth.InvalidGrant("assertion has no sub")
	case c.ClientID == "":
		return oauth.InvalidGrant("assertion has no client_id")
	}
	now, leeway := v.Now(), skew(ti)
	if !now.Before(c.Expiry.Time().Add(leeway)) {
		return oauth.InvalidGrant("assertion has expired")
	}
	if c.IssuedAt.Time().After(now.Add(leeway)) {
		return oauth.InvalidGrant("assertion iat is in the future")
	}
	if c.NotBefore != nil && c.NotBefore.Time().After(now.Add(leeway)) {
		return oauth.InvalidGrant("assertion is not valid yet (nbf)")
	}
	maxLife := ti.MaxLifetime
	if maxLife <= 0 {
		maxLife = DefaultMaxLifetime
	}
	if c.Expiry.Time().Sub(c.IssuedAt.Time()) > maxLife {
		return oauth.InvalidGrant("assertion lifetime exceeds %s", maxLife)
	}
	return nil
}

func (v *Verifier) issuer(iss string) *TrustedIssuer {
	for _, ti := range v.Issuers {
		if ti.Issuer == iss {
			return ti
		}
	}
	return nil
}

func skew(ti *TrustedIssuer) time.Duration {
	if ti.ClockSkew > 0 {
		return ti.ClockSkew
	}
	return DefaultClockSkew
}

func orDefault(algs, def []jose.SignatureAlgorithm) []jose.SignatureAlgorithm {
	if len(algs) > 0 {
		return algs
	}
	return def
}

// peek reads alg from the header and iss from the payload of an unverified
// compact JWT. Nothing read here is trusted; it only picks the issuer whose
// keys and algorithms then apply.
func peek(token string) (alg, iss string, err error) {
	parts := strings.Split(token, ".")
	var header struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss string `json:"iss"`
	}
	if err := decodePart(parts[0], &header); err != nil {
		return "", "", fmt.Errorf("header: %w", err)
	}
	if err := decodePart(parts[1], &claims); err != nil {
		return "", "", fmt.Errorf("payload: %w", err)
	}
	if header.Alg == "" || claims.Iss == "" {
		return "", "", errors.New("no alg or no iss")
	}
	return header.Alg, claims.Iss, nil
}

func decodePart(part string, out any) error {
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// claimKinds are the JSON types of the claims an ID-JAG may carry (RFC 7519
// §4.1, draft §3): "s" a string, "n" a number, "a" an array of strings, "sa"
// a string or an array of strings.
var claimKinds = map[string]string{
	"iss": "s", "sub": "s", "client_id": "s", "jti": "s", "scope": "s", "email": "s", "tenant": "s",
	"exp": "n", "iat": "n", "nbf": "n", "auth_time": "n",
	"aud": "sa", "resource": "sa", "amr": "a",
}

var kindNames = map[string]string{"s": "a JSON string", "n": "a JSON number", "a": "a JSON array", "sa": "a JSON string or array"}

// decodeClaims reads a verified payload. Only when that fails does it read
// the payload again, claim by claim, to say which one is of the wrong JSON
// type: a valid assertion is decoded once.
func decodeClaims(tok *jwt.JSONWebToken, c *Claims) error {
	if tok.UnsafeClaimsWithoutVerification(c) == nil {
		return nil
	}
	var raw map[string]json.RawMessage
	if err := tok.UnsafeClaimsWithoutVerification(&raw); err != nil {
		return errors.New("assertion payload is not a JSON object")
	}
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		kind, known := claimKinds[name]
		if !known || len(raw[name]) == 0 || string(raw[name]) == "null" {
			continue
		}
		got := jsonType(raw[name][0])
		if !strings.Contains(kind, got) {
			return fmt.Errorf("assertion claim %s must be %s, not %s", name, kindNames[kind], jsonTypeName(got))
		}
	}
	return errors.New("assertion claims are not of the JSON types RFC 7519 gives them")
}

func jsonType(first byte) string {
	switch first {
	case '"':
		return "s"
	case '[':
		return "a"
	case '{':
		return "o"
	case 't', 'f':
		return "b"
	}
	return "n"
}

func jsonTypeName(t string) string {
	return map[string]string{"s": "a string", "a": "an array", "o": "an object", "b": "a boolean", "n": "a number"}[t]
}
