package accesstoken

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/numericdate"
	"xaa.example/shared/oauth"
	"xaa.example/shared/rar"
	"xaa.example/shared/recent"
)

// Claims of an RFC 9068 access token (§2.2).
type Claims struct {
	Issuer   string       `json:"iss"`
	Subject  string       `json:"sub"`
	Audience jwt.Audience `json:"aud"`
	ClientID string       `json:"client_id"`
	ID       string       `json:"jti"`
	// IssuedAt has its milliseconds (package numericdate), so that a
	// token issued just after a Shared Signals event is told from one
	// issued before it in the same second.
	IssuedAt *numericdate.Date `json:"iat"`
	Expiry   *jwt.NumericDate  `json:"exp"`
	Scope    string            `json:"scope,omitempty"`
	AuthTime *jwt.NumericDate  `json:"auth_time,omitempty"`
	// ACR is the assurance of the sign-in behind the token (the ID-JAG's
	// acr), which a resource's step-up policy reads (RFC 9470).
	ACR   string `json:"acr,omitempty"`
	Email string `json:"email,omitempty"`
	// AuthorizationDetails are the fine-grained grants (RFC 9396) the
	// ID-JAG carried; when present, a call is allowed only an action
	// they name (AllowsAction).
	AuthorizationDetails json.RawMessage `json:"authorization_details,omitempty"`
	// IdP is the identity provider that vouched for the person: the issuer
	// of the ID-JAG the token was granted on (the claim the Microsoft
	// identity platform names idp for the same purpose). A Shared Signals
	// transmitter ends only the tokens of its own people, by this claim.
	IdP string `json:"idp,omitempty"`
	// Cnf binds the token to a key (RFC 9449 §6): it is accepted only with
	// a DPoP proof of that key.
	Cnf *oauth.Confirmation `json:"cnf,omitempty"`
}

// Scopes returns the granted scopes.
func (c *Claims) Scopes() oauth.Scopes { return oauth.ParseScopes(c.Scope) }

// Signer signs claims with a typ header.
type Signer interface {
	Sign(typ string, claims any) (string, error)
}

// Issue signs an access token valid for lifetime from now.
func Issue(s Signer, c Claims, now time.Time, lifetime time.Duration) (string, *Claims, error) {
	c.ID = rand.Text()
	c.IssuedAt = numericdate.New(now)
	c.Expiry = jwt.NewNumericDate(now.Add(lifetime))
	tok, err := s.Sign(oauth.TypAccessToken, c)
	if err != nil {
		return "", nil, err
	}
	return tok, &c, nil
}

// KeySource finds the authorization server's public key by kid.
type KeySource interface {
	Key(ctx context.Context, kid string) (*jose.JSONWebKey, error)
}

// Verifier is a resource server's check of access tokens (RFC 9068 §4).
//
// A client presents the same token on every call until it expires, and
// checking its ES256 signature is most of an API call's work. So a token
// that passed is remembered, by its SHA-256, for up to verifiedFor: within
// that time the same bytes pass again without the signature check, though
// their lifetime is still checked on each call. The cost is that a token
// signed by a key the AS has just withdrawn can pass for up to that long.
type Verifier struct {
	Issuer    string // the authorization server
	Audience  string // this resource server's identifier
	Keys      KeySource
	ClockSkew time.Duration
	Now       func() time.Time

	verified recent.Map[[sha256.Size]byte, Claims] // for recent.DefaultFor
}

// verifiedFor is how long a verified token is remembered.
const verifiedFor = recent.DefaultFor

// ErrInvalidToken is wrapped by every verification failure; its message is
// safe to return in a WWW-Authenticate error_description.
var ErrInvalidToken = errors.New("invalid access token")

// Verify checks the token's type, signature, issuer, audience and times.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	if len(raw) > 16<<10 {
		return nil, fmt.Errorf("%w: token too large", ErrInvalidToken)
	}
	sum := sha256.Sum256([]byte(raw))
	now := v.Now()
	if known, ok := v.verified.Get(sum, now); ok {
		if err := v.checkTimes(&known, now); err != nil {
			return nil, err
		}
		return &known, nil // a copy: callers cannot change what is remembered
	}
	c, err := v.verify(ctx, raw, now)
	if err != nil {
		return nil, err
	}
	v.verified.Put(sum, *c, now)
	return c, nil
}

func (v *Verifier) verify(ctx context.Context, raw string, now time.Time) (*Claims, error) {
	fail := func(why string) error { return fmt.Errorf("%w: %s", ErrInvalidToken, why) }
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		return nil, fail("not a signed JWT with an allowed algorithm")
	}
	h := tok.Headers[0]
	key, err := v.Keys.Key(ctx, h.KeyID)
	if err != nil {
		return nil, fail("unknown signing key")
	}
	var c Claims
	if err := tok.Claims(key.Key, &c); err != nil {
		return nil, fail("bad signature")
	}
	// RFC 9068 §4: the typ header must be at+jwt (or application/at+jwt).
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	if !oauth.TypIs(typ, oauth.TypAccessToken) {
		return nil, fail("typ is not at+jwt")
	}
	if c.Issuer != v.Issuer {
		return nil, fail("wrong issuer")
	}
	if !c.Audience.Contains(v.Audience) {
		return nil, fail("token is not for this resource")
	}
	if c.Expiry == nil || c.IssuedAt == nil || c.Subject == "" {
		return nil, fail("missing exp, iat or sub")
	}
	if err := v.checkTimes(&c, now); err != nil {
		return nil, err
	}
	return &c, nil
}

// checkTimes checks that the token is neither expired nor from the future.
func (v *Verifier) checkTimes(c *Claims, now time.Time) error {
	skew := v.ClockSkew
	if skew == 0 {
		skew = time.Minute
	}
	if !now.Before(c.Expiry.Time().Add(skew)) {
		return fmt.Errorf("%w: token expired", ErrInvalidToken)
	}
	if c.IssuedAt.Time().After(now.Add(skew)) {
		return fmt.Errorf("%w: token issued in the future", ErrInvalidToken)
	}
	return nil
}

// StepUp checks the sign-in behind the token against a resource's step-up
// policy for scope (RFC 9470): "" when it is met or not asked for, else
// what falls short.
func (c *Claims) StepUp(p oauth.StepUpPolicy, scope string, now time.Time) string {
	if !p.Scopes.Has(scope) {
		return ""
	}
	var authTime time.Time
	if c.AuthTime != nil {
		authTime = c.AuthTime.Time()
	}
	return p.Unmet(c.ACR, authTime, now)
}

// StepUpChallenge is the auth-params of an insufficient_user_authentication
// challenge for p (RFC 9470 §3): acr_values and max_age, as asked.
func StepUpChallenge(p oauth.StepUpPolicy) []string {
	var params []string
	if p.ACR != "" {
		params = append(params, fmt.Sprintf("acr_values=%q", p.ACR))
	}
	if p.MaxAge > 0 {
		params = append(params, fmt.Sprintf("max_age=\"%d\"", int(p.MaxAge.Seconds())))
	}
	return params
}

// AllowsAction reports whether the token's authorization_details allow a
// todo action: a token without them is limited by its scope alone.
func (c *Claims) AllowsAction(action string) bool {
	if len(c.AuthorizationDetails) == 0 {
		return true
	}
	details, e := rar.Parse(string(c.AuthorizationDetails))
	return e == nil && rar.Allows(details, action)
}
