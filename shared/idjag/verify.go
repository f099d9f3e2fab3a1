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

	"xaa.example/shared/maildomain"
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
	// yet seen at SSO, for emails in these domains (docs/PROTOCOL.md check R12).
	JIT JITPolicy
}

// JITPolicy is the just-in-time account policy of a trusted issuer.
type JITPolicy struct {
	Enabled      bool
	EmailDomains []string
}

// Allows reports whether email is in one of the policy's domains; a policy
// with no domains allows none.
func (p JITPolicy) Allows(email string) bool {
	return p.Enabled && len(p.EmailDomains) > 0 && maildomain.List(p.EmailDomains).Has(email)
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

// Verified is an ID-JAG that passed checks 1 to 8, with its issuer.
type Verified struct {
	Claims *Claims
	Issuer *TrustedIssuer
}

// Policy is the redeeming server's own decision on a verified assertion
// (docs/PROTOCOL.md checks R10 to R13). It runs before the jti is recorded, so a
// refused assertion leaves nothing stored.
type Policy func(*Verified) error

// The checks of an ID-JAG, docs/PROTOCOL.md's R1 to R9 (R10 to R13 are the
// redeeming server's policy, package jwtbearer). The debug console shows
// each by its ID, with its number and what it means.
const (
	CheckShape     trace.CheckID = "idjag.1.shape"
	CheckType      trace.CheckID = "idjag.2.typ"
	CheckAlgorithm trace.CheckID = "idjag.3.alg-and-key"
	CheckIssuer    trace.CheckID = "idjag.4.issuer"
	CheckSignature trace.CheckID = "idjag.5.signature"
	CheckAudience  trace.CheckID = "idjag.6.aud"
	CheckClaims    trace.CheckID = "idjag.7.claims-and-times"
	CheckClient    trace.CheckID = "idjag.8.client"
	CheckReplay    trace.CheckID = "idjag.9.single-use"
)

// verification is one assertion on its way through the checks.
type verification struct {
	assertion, clientID string
	alg, unverifiedIss  string
	ti                  *TrustedIssuer
	jws                 *jose.JSONWebSignature
	key                 *jose.JSONWebKey
	payload             []byte // verified
	claims              Claims
}

// verifyStep is one check: it returns what it found (for the console) or
// why the assertion fails it.
type verifyStep struct {
	id  trace.CheckID
	run func(v *Verifier, ctx context.Context, s *verification) (detail string, err *oauth.Error)
	// quiet steps record only a failure: the claims' types are read as
	// part of check 7, whose times are reported once.
	quiet bool
}

// verifySteps are checks 1 to 8 in the order they run, which is not their
// numbers' order for reasons: the issuer (4) is found before the algorithm
// and key (3) and the signature (5), as its key set and algorithm list are
// the ones that apply; typ (2) is read from the header once it is
// verified; the issuer is checked again on the verified claims. Check 9
// runs last, after the redeeming server's policy, so that a refused
// assertion spends no jti.
var verifySteps = []verifyStep{
	{id: CheckShape, run: (*Verifier).shape},
	{id: CheckIssuer, run: (*Verifier).trustedIssuer, quiet: true},
	{id: CheckAlgorithm, run: (*Verifier).algorithmAndKey},
	{id: CheckSignature, run: (*Verifier).signature},
	{id: CheckClaims, run: (*Verifier).claimTypes, quiet: true},
	{id: CheckType, run: (*Verifier).explicitType},
	{id: CheckIssuer, run: (*Verifier).verifiedIssuer},
	{id: CheckAudience, run: (*Verifier).audience},
	{id: CheckClaims, run: (*Verifier).times},
	{id: CheckClient, run: (*Verifier).client},
}

// Verify runs Check, then policy (if any), then check 9 with the
// verifier's replay store: the jti is recorded as used. A redeeming server
// that records the jti its own way calls Check and Spent itself (package
// jwtbearer).
func (v *Verifier) Verify(ctx context.Context, assertion, clientID string, policy Policy) (*Verified, error) {
	verified, err := v.Check(ctx, assertion, clientID)
	if err != nil {
		return nil, err
	}
	if policy != nil {
		if err := policy(verified); err != nil {
			return nil, err
		}
	}
	c := verified.Claims
	if err := Spent(ctx, verified, v.Replay.Remember(ctx, c.Issuer, c.ID, v.Until(verified))); err != nil {
		return nil, err
	}
	return verified, nil
}

// Check runs checks R1 to R8 of docs/PROTOCOL.md on assertion, presented
// by the authenticated client clientID. Every failure is an invalid_grant
// error (RFC 7521 §4.1.1) whose description says which check failed. Each
// check is reported to the debug console's trace, if any, as it runs.
// Check 9 is the caller's, once its own policy has allowed the grant, so
// that a refused assertion spends no jti: Until says how long to remember
// the jti, Spent reports the outcome.
func (v *Verifier) Check(ctx context.Context, assertion, clientID string) (*Verified, error) {
	s := &verification{assertion: assertion, clientID: clientID}
	for _, step := range verifySteps {
		detail, err := step.run(v, ctx, s)
		if err != nil {
			trace.Fail(ctx, step.id, err.Description)
			return nil, err
		}
		if !step.quiet {
			trace.PassDetail(ctx, step.id, detail)
		}
	}
	return &Verified{Claims: &s.claims, Issuer: s.ti}, nil
}

// Until is how long check 9 remembers verified's jti: until the assertion
// could no longer pass check 7.
func (v *Verifier) Until(verified *Verified) time.Time {
	return verified.Claims.Expiry.Time().Add(skew(verified.Issuer))
}

// Spent is check 9's outcome, given what recording verified's jti
// returned (a replay store's Remember): nil when it was recorded;
// invalid_grant for a jti seen before; any other failure a server_error
// (fail closed). It is reported to the trace as check 9.
func Spent(ctx context.Context, verified *Verified, err error) error {
	if err != nil {
		e := oauth.ServerError(fmt.Errorf("replay store: %w", err))
		if errors.Is(err, replay.ErrReplayed) {
			e = oauth.InvalidGrant("assertion was already used (jti replay)")
		}
		trace.Fail(ctx, CheckReplay, e.Description)
		return e
	}
	trace.PassDetail(ctx, CheckReplay, "jti "+verified.Claims.ID+" remembered until it expires")
	return nil
}

// 1. A compact JWS of sane size: three parts (a JWE has five), whose
// header names an alg and whose payload an iss. Nothing read here is
// trusted yet.
func (v *Verifier) shape(_ context.Context, s *verification) (string, *oauth.Error) {
	switch {
	case s.assertion == "":
		return "", oauth.InvalidRequest("assertion is required")
	case len(s.assertion) > MaxAssertionBytes:
		return "", oauth.InvalidGrant("assertion is too large")
	case strings.Count(s.assertion, ".") != 2:
		return "", oauth.InvalidGrant("assertion must be a compact JWS (encrypted or nested JWTs are not accepted)")
	}
	alg, iss, err := peek(s.assertion)
	if err != nil {
		return "", oauth.InvalidGrant("assertion is not a well-formed JWT").WithCause(err)
	}
	s.alg, s.unverifiedIss = alg, iss
	return "", nil
}

// 4, on the unverified payload: it only selects whose keys and algorithms
// apply.
func (v *Verifier) trustedIssuer(_ context.Context, s *verification) (string, *oauth.Error) {
	if s.ti = v.issuer(s.unverifiedIss); s.ti == nil {
		return "", oauth.InvalidGrant("the assertion's issuer is not trusted by this authorization server")
	}
	return "", nil
}

// 3. alg on the issuer's allow-list, which never holds "none" or HMAC
// (go-jose enforces the same list again while parsing); the key is chosen
// only by kid from the trusted issuer's JWKS (jku, x5u and an embedded jwk
// are ignored).
func (v *Verifier) algorithmAndKey(ctx context.Context, s *verification) (string, *oauth.Error) {
	allowed := orDefault(s.ti.Algorithms, DefaultAlgorithms)
	if !slices.Contains(allowed, jose.SignatureAlgorithm(s.alg)) {
		return "", oauth.InvalidGrant("assertion signature algorithm %q is not allowed", s.alg)
	}
	jws, err := jose.ParseSignedCompact(s.assertion, allowed)
	if err != nil {
		return "", oauth.InvalidGrant("assertion is not a well-formed JWS").WithCause(err)
	}
	header := jws.Signatures[0].Header
	key, err := s.ti.Keys.Key(ctx, header.KeyID)
	if err != nil {
		return "", oauth.InvalidGrant("no key of the issuer matches the assertion's kid").WithCause(err)
	}
	if key.Algorithm != "" && key.Algorithm != header.Algorithm {
		return "", oauth.InvalidGrant("assertion alg does not match the issuer's key")
	}
	s.jws, s.key = jws, key
	return header.Algorithm + ", kid " + header.KeyID, nil
}

// 5. The signature verifies with that key.
func (v *Verifier) signature(_ context.Context, s *verification) (string, *oauth.Error) {
	payload, err := s.jws.Verify(s.key.Key)
	if err != nil {
		return "", oauth.InvalidGrant("assertion signature is invalid").WithCause(err)
	}
	s.payload = payload
	return "", nil
}

// 7, first part: the verified claims are read, so that a claim of the
// wrong JSON type is reported as what it is, not as a bad signature.
func (v *Verifier) claimTypes(_ context.Context, s *verification) (string, *oauth.Error) {
	if err := decodeClaims(s.payload, &s.claims); err != nil {
		return "", oauth.InvalidGrant("%s", err)
	}
	return "", nil
}

// 2. Explicit typing (draft §3, RFC 8725 §3.11), from the verified header.
func (v *Verifier) explicitType(_ context.Context, s *verification) (string, *oauth.Error) {
	if typ, _ := s.jws.Signatures[0].Header.ExtraHeaders[jose.HeaderType].(string); !oauth.TypIs(typ, oauth.TypIDJAG) {
		return "", oauth.InvalidGrant("assertion typ must be %s", oauth.TypIDJAG)
	}
	return "", nil
}

// 4, on the verified claims.
func (v *Verifier) verifiedIssuer(_ context.Context, s *verification) (string, *oauth.Error) {
	if s.claims.Issuer != s.ti.Issuer {
		return "", oauth.InvalidGrant("the assertion's issuer is not trusted by this authorization server")
	}
	return s.claims.Issuer, nil
}

// 6. aud is this server: one string, or an array of exactly one (draft
// §4.4.1).
func (v *Verifier) audience(_ context.Context, s *verification) (string, *oauth.Error) {
	if len(s.claims.Audience) != 1 || s.claims.Audience[0] != v.Audience {
		return "", oauth.InvalidGrant("assertion aud must be exactly %s", v.Audience)
	}
	return "", nil
}

// 7. Required claims and times.
func (v *Verifier) times(_ context.Context, s *verification) (string, *oauth.Error) {
	return "", v.checkTimes(&s.claims, s.ti)
}

// 8. Client continuity (draft §4.4.1).
func (v *Verifier) client(_ context.Context, s *verification) (string, *oauth.Error) {
	if s.claims.ClientID != s.clientID {
		return "", oauth.InvalidGrant("assertion client_id does not match the authenticated client")
	}
	return s.claims.ClientID, nil
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
	"iss": "s", "sub": "s", "client_id": "s", "jti": "s", "scope": "s", "email": "s", "tenant": "s", "acr": "s", "aud_sub": "s", "authorization_details": "a",
	"exp": "n", "iat": "n", "nbf": "n", "auth_time": "n",
	"aud": "sa", "resource": "sa", "amr": "a",
}

var kindNames = map[string]string{"s": "a JSON string", "n": "a JSON number", "a": "a JSON array", "sa": "a JSON string or array"}

// decodeClaims reads a verified payload (with encoding/json: go-jose's copy
// of it is slower, and the payload is in hand). Only when that fails does it
// read the payload again, claim by claim, to say which one is of the wrong
// JSON type: a valid assertion is decoded once.
func decodeClaims(payload []byte, c *Claims) error {
	if json.Unmarshal(payload, c) == nil {
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(payload, &raw); err != nil {
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
