package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/replay"
)

// ClientAuth authenticates the callers of a token endpoint with
// client_secret_basic (RFC 6749 §2.3.1), client_secret_post, or
// private_key_jwt (RFC 7523 §2.2 and §3).
type ClientAuth struct {
	Clients ClientStore
	// Audiences a client assertion may name: this server's issuer and its
	// token endpoint URL.
	Audiences []string
	// Assertions remembers client assertion ids; nil disables private_key_jwt.
	Assertions replay.Store
	Now        func() time.Time
}

// Bounds on client assertions.
const (
	assertionSkew        = time.Minute
	assertionMaxLifetime = 5 * time.Minute
)

// ClientAssertionAlgorithms are accepted for private_key_jwt; never none
// or HMAC.
var ClientAssertionAlgorithms = []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.PS256, jose.EdDSA}

// Authenticate returns the authenticated client. Using two methods at once
// is refused (RFC 6749 §2.3), and a client registered with keys cannot
// authenticate with a secret, nor the other way round.
func (a *ClientAuth) Authenticate(ctx context.Context, r *http.Request, form url.Values) (*Client, error) {
	_, _, basic := r.BasicAuth()
	assertion := form.Has("client_assertion") || form.Has("client_assertion_type")
	switch {
	case basic && (assertion || form.Has("client_secret")):
		return nil, InvalidRequest("use one client authentication method, not several together")
	case assertion && form.Has("client_secret"):
		return nil, InvalidRequest("use one client authentication method, not several together")
	case assertion:
		return a.privateKeyJWT(ctx, form)
	}
	return a.secret(ctx, r, form, basic)
}

func (a *ClientAuth) secret(ctx context.Context, r *http.Request, form url.Values, basic bool) (*Client, error) {
	var id, secret string
	if basic {
		rawID, rawSecret, _ := r.BasicAuth()
		// The Basic credentials are form-urlencoded first (RFC 6749 §2.3.1).
		var err1, err2 error
		id, err1 = url.QueryUnescape(rawID)
		secret, err2 = url.QueryUnescape(rawSecret)
		if err1 != nil || err2 != nil {
			return nil, InvalidClient("malformed Basic credentials")
		}
		if fid := form.Get("client_id"); fid != "" && fid != id {
			return nil, InvalidClient("client_id does not match the Basic credentials")
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if id == "" {
		return nil, InvalidClient("client authentication is required")
	}
	c, err := a.client(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.Keys != nil {
		return nil, InvalidClient("this client must authenticate with private_key_jwt")
	}
	used := AuthSecretPost
	if basic {
		used = AuthSecretBasic
	}
	if c.AuthMethod != "" && c.AuthMethod != used {
		return nil, InvalidClient("client authentication method %s is not allowed for this client; use %s", used, c.AuthMethod)
	}
	if !a.Clients.CheckSecret(ctx, c, secret) {
		return nil, InvalidClient("client authentication failed")
	}
	return c, nil
}

// privateKeyJWT checks a client assertion (RFC 7523 §3): signed by a key
// the client registered, iss and sub the client id, aud this server,
// unexpired and short-lived, and used once.
func (a *ClientAuth) privateKeyJWT(ctx context.Context, form url.Values) (*Client, error) {
	if a.Assertions == nil {
		return nil, InvalidClient("private_key_jwt is not enabled at this server")
	}
	if form.Get("client_assertion_type") != ClientAssertionType {
		return nil, InvalidClient("client_assertion_type must be %s", ClientAssertionType)
	}
	raw := form.Get("client_assertion")
	if raw == "" || len(raw) > 8<<10 {
		return nil, InvalidClient("client_assertion is missing or too large")
	}
	tok, err := jwt.ParseSigned(raw, ClientAssertionAlgorithms)
	if err != nil {
		return nil, InvalidClient("client_assertion is not a JWT signed with an allowed algorithm")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil || unverified.Issuer == "" {
		return nil, InvalidClient("client_assertion has no iss")
	}
	if fid := form.Get("client_id"); fid != "" && fid != unverified.Issuer {
		return nil, InvalidClient("client_id does not match the client assertion")
	}
	c, err := a.client(ctx, unverified.Issuer)
	if err != nil {
		return nil, err
	}
	if c.Keys == nil {
		return nil, InvalidClient("this client is not registered for private_key_jwt")
	}
	key := findKey(c.Keys, tok.Headers[0].KeyID)
	if key == nil {
		return nil, InvalidClient("no key the client registered or published matches the assertion's kid")
	}
	var claims jwt.Claims
	if err := tok.Claims(key.Key, &claims); err != nil {
		return nil, InvalidClient("client_assertion signature is invalid")
	}
	now := a.Now()
	switch {
	case claims.Issuer != c.ID || claims.Subject != c.ID:
		return nil, InvalidClient("client_assertion iss and sub must both be the client id")
	case !audienceMatches(claims.Audience, a.Audiences):
		return nil, InvalidClient("client_assertion aud must be this authorization server")
	case claims.Expiry == nil || !now.Before(claims.Expiry.Time().Add(assertionSkew)):
		return nil, InvalidClient("client_assertion has expired or has no exp")
	case claims.Expiry.Time().Sub(now) > assertionMaxLifetime:
		return nil, InvalidClient("client_assertion lives too long (at most %s)", assertionMaxLifetime)
	case claims.NotBefore != nil && claims.NotBefore.Time().After(now.Add(assertionSkew)):
		return nil, InvalidClient("client_assertion is not valid yet")
	case claims.IssuedAt != nil && claims.IssuedAt.Time().After(now.Add(assertionSkew)):
		return nil, InvalidClient("client_assertion iat is in the future")
	case claims.ID == "" || len(claims.ID) > 255:
		return nil, InvalidClient("client_assertion needs a jti")
	}
	err = a.Assertions.Remember(ctx, "client_assertion:"+c.ID, claims.ID, claims.Expiry.Time().Add(assertionSkew))
	if errors.Is(err, replay.ErrReplayed) {
		return nil, InvalidClient("client_assertion was already used")
	}
	if err != nil {
		return nil, ServerError(err)
	}
	return c, nil
}

func (a *ClientAuth) client(ctx context.Context, id string) (*Client, error) {
	c, err := a.Clients.Client(ctx, id)
	if errors.Is(err, ErrUnknownClient) {
		return nil, InvalidClient("client authentication failed")
	}
	if err != nil {
		// A store may say why (a client metadata document that could not
		// be used); anything else is the server's own failure.
		return nil, AsError(err)
	}
	return c, nil
}

func findKey(set *jose.JSONWebKeySet, kid string) *jose.JSONWebKey {
	if kid == "" && len(set.Keys) == 1 {
		return &set.Keys[0]
	}
	for i := range set.Keys {
		if set.Keys[i].KeyID == kid {
			return &set.Keys[i]
		}
	}
	return nil
}

func audienceMatches(aud jwt.Audience, ours []string) bool {
	for _, a := range ours {
		if aud.Contains(a) {
			return true
		}
	}
	return false
}
