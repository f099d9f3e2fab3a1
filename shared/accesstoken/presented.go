package accesstoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"xaa.example/shared/dpop"
	"xaa.example/shared/oauth"
)

// Guard checks how a request presents an access token to a resource
// server: an unbound token as Bearer (RFC 6750 §2.1), a token bound to a
// key (cnf.jkt) as DPoP with a proof of that key for this very request
// (RFC 9449 §7). A bound token sent as Bearer is refused: whoever copied it
// has no key.
type Guard struct {
	Tokens *Verifier
	DPoP   *dpop.Verifier
	// BaseURL is the server's address as clients reach it: a proof's htu
	// is BaseURL plus the request's path.
	BaseURL string
	// Revoked, when set, says why a valid token is revoked all the same
	// (Shared Signals), or "".
	Revoked func(ctx context.Context, c *Claims) string
}

// Refusal says how to answer a request the guard refused: its status,
// the authentication scheme and error for WWW-Authenticate, and a nonce to
// send when the proof lacked the server's (use_dpop_nonce).
type Refusal struct {
	Status      int
	Scheme      string // "Bearer" or "DPoP"
	Code        string // invalid_token, invalid_dpop_proof, use_dpop_nonce; "" when no token came
	Description string
	Nonce       string
	// Revoked: the token is valid but revoked (Guard.Revoked said why).
	Revoked bool
}

// reason is the refusal's error_reason, for the program that sent the
// token (oauth.Reason).
func (r *Refusal) reason() oauth.Reason {
	if r.Revoked {
		return oauth.ReasonTokenRevoked
	}
	return ""
}

// Challenges are the WWW-Authenticate values for r: the scheme that
// failed, with its error; with no token at all, both schemes, DPoP naming
// the proof algorithms it takes (RFC 9449 §7.1).
//
// params are more auth-params for every challenge, written as given
// (resource_metadata="…", RFC 9728 §5.1).
func (r *Refusal) Challenges(realm string, params ...string) []string {
	algs := fmt.Sprintf(`algs=%q`, strings.Join(dpop.AlgorithmNames(), " "))
	more := ""
	for _, p := range params {
		more += ", " + p
	}
	if r.Code == "" {
		return []string{fmt.Sprintf(`Bearer realm=%q`, realm) + more, fmt.Sprintf(`DPoP realm=%q, %s`, realm, algs) + more}
	}
	c := fmt.Sprintf(`%s realm=%q, error=%q, error_description=%q`, r.Scheme, realm, r.Code, r.Description)
	if r.Scheme == dpop.TokenType {
		c += ", " + algs
	}
	return []string{c + more}
}

// Write answers the refusal: its challenges, the nonce if any, and a JSON
// body for people.
func (r *Refusal) Write(w http.ResponseWriter, realm string, params ...string) {
	for _, c := range r.Challenges(realm, params...) {
		w.Header().Add("WWW-Authenticate", c)
	}
	if r.Nonce != "" {
		w.Header().Set(dpop.NonceHeader, r.Nonce)
	}
	code, desc := r.Code, r.Description
	if code == "" {
		code, desc = "unauthorized", "an access token is required"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(r.Status)
	_ = json.NewEncoder(w).Encode(oauth.ErrorBody{Error: code, ErrorDescription: desc, ErrorReason: r.reason()})
}

// Check returns the request's token claims, or why it is refused. The
// proof check spends the proof's jti; any error other than a refusal is
// the server's.
func (g *Guard) Check(ctx context.Context, r *http.Request) (*Claims, *Refusal, error) {
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "" || (!strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, dpop.TokenType)):
		return nil, &Refusal{Status: http.StatusUnauthorized}, nil
	case len(r.Header.Values("Authorization")) > 1:
		return nil, &Refusal{Status: http.StatusBadRequest, Scheme: "Bearer", Code: "invalid_request", Description: "send one Authorization header"}, nil
	}
	dpopScheme := strings.EqualFold(scheme, dpop.TokenType)
	refuse := func(code, format string, args ...any) (*Claims, *Refusal, error) {
		s := "Bearer"
		if dpopScheme {
			s = dpop.TokenType
		}
		return nil, &Refusal{Status: http.StatusUnauthorized, Scheme: s, Code: code, Description: fmt.Sprintf(format, args...)}, nil
	}
	claims, err := g.Tokens.Verify(ctx, raw)
	if err != nil {
		return refuse("invalid_token", "%s", err.Error())
	}
	if g.Revoked != nil {
		if why := g.Revoked(ctx, claims); why != "" {
			_, ref, _ := refuse("invalid_token", "%s", why)
			ref.Revoked = true
			return nil, ref, nil
		}
	}
	switch {
	case claims.Cnf == nil && !dpopScheme:
		return claims, nil, nil
	case claims.Cnf == nil:
		return refuse("invalid_token", "this token is not bound to a key: send it as Bearer")
	case !dpopScheme:
		// RFC 9449 §7.2: a bound token presented as a bearer token.
		return nil, &Refusal{Status: http.StatusUnauthorized, Scheme: dpop.TokenType, Code: "invalid_token",
			Description: "this token is bound to a key: send it as Authorization: DPoP with a DPoP proof"}, nil
	}
	_, err = g.DPoP.Verify(ctx, dpop.Request{
		Proofs: r.Header.Values(dpop.Header), Method: r.Method, URL: g.BaseURL + r.URL.Path,
		AccessToken: raw, Bound: claims.Cnf.JKT,
	})
	var de *dpop.Error
	switch {
	case errors.As(err, &de):
		ref := &Refusal{Status: http.StatusUnauthorized, Scheme: dpop.TokenType, Code: de.Code, Description: de.Description}
		if de.Code == dpop.CodeUseNonce {
			ref.Nonce = g.DPoP.Nonces.Current()
		}
		return nil, ref, nil
	case err != nil:
		return nil, nil, err
	}
	return claims, nil, nil
}
