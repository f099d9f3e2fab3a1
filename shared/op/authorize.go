package op

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"xaa.example/shared/codeflow"
	"xaa.example/shared/oauth"
)

// AuthRequest is an authorization request (RFC 6749 §4.1.1, OIDC Core
// §3.1.2.1), as the query or a sign-in form carries it.
type AuthRequest struct {
	ClientID     string
	RedirectURI  string
	ResponseType string
	State        string
	Nonce        string
	Scope        string
	Challenge    string
	Method       string
	LoginHint    string
}

// ReadAuthRequest reads a request's parameters with get (a query's or a
// form's Get).
func ReadAuthRequest(get func(string) string) AuthRequest {
	return AuthRequest{
		ClientID: get("client_id"), RedirectURI: get("redirect_uri"), ResponseType: get("response_type"),
		State: get("state"), Nonce: get("nonce"), Scope: get("scope"), Challenge: get("code_challenge"),
		Method: get("code_challenge_method"), LoginHint: get("login_hint"),
	}
}

// Problem is an authorization request that cannot go back to its client:
// an unknown client, or a redirect URI it did not register. The server
// shows it on a page and never redirects (RFC 6749 §4.1.2.1).
type Problem struct{ Title, Message string }

// CheckAuthRequest validates ar. A problem with the client or its redirect
// URI is a *Problem, for a page; anything else an *oauth.Error, to send
// back to the client (ErrorRedirect). The code flow with PKCE S256 and the
// openid scope is the only one answered.
func (p *Provider) CheckAuthRequest(ctx context.Context, ar AuthRequest) (*oauth.Client, *Problem, *oauth.Error) {
	client, err := p.cfg.Clients.Client(ctx, ar.ClientID)
	if err != nil {
		return nil, &Problem{"Unknown application", "The application that sent you here is not registered at " + p.cfg.Issuer + "."}, nil
	}
	if !client.AllowsRedirect(ar.RedirectURI) {
		return nil, &Problem{"Unexpected return address", "The application asked to return to an address it has not registered, so the sign-in was stopped."}, nil
	}
	switch {
	case ar.ResponseType != "code":
		return client, nil, oauth.UnsupportedResponseType("response_type must be code")
	case !client.AllowsGrant(oauth.GrantAuthorizationCode):
		return client, nil, oauth.UnauthorizedClient("this client may not use the authorization code grant")
	case ar.Method != "S256" || !oauth.ValidChallenge(ar.Challenge):
		return client, nil, oauth.InvalidRequest("PKCE with code_challenge_method S256 is required")
	case !oauth.ParseScopes(ar.Scope).Has("openid"):
		return client, nil, oauth.InvalidScope("the openid scope is required")
	}
	return client, nil, nil
}

// IssueCode makes the authorization code for the person and returns the
// address to send the browser to: the redirect URI with code, state and
// iss (RFC 9207). The code carries when and how the person signed in
// (authTime, amr: the session's Methods).
func (p *Provider) IssueCode(ctx context.Context, ar AuthRequest, userID string, authTime time.Time, amr []string) (string, error) {
	code, err := p.Codes.NewCode(ctx, codeflow.Session{
		ClientID: ar.ClientID, UserID: userID, Scope: ar.Scope, Nonce: ar.Nonce, AuthTime: authTime, AMR: amr,
	}, ar.RedirectURI, ar.Challenge)
	if err != nil {
		return "", err
	}
	return p.back(ar, url.Values{"code": {code}}), nil
}

// ErrorRedirect is the address that tells the client its request failed
// (RFC 6749 §4.1.2.1), with state and iss.
func (p *Provider) ErrorRedirect(ar AuthRequest, e *oauth.Error) string {
	return p.back(ar, url.Values{"error": {e.Code}, "error_description": {e.Description}})
}

func (p *Provider) back(ar AuthRequest, v url.Values) string {
	u, err := url.Parse(ar.RedirectURI)
	if err != nil {
		// CheckAuthRequest let through only registered redirect URIs.
		return ar.RedirectURI
	}
	q := u.Query()
	for k, vals := range v {
		q[k] = vals
	}
	if ar.State != "" {
		q.Set("state", ar.State)
	}
	q.Set("iss", p.cfg.Issuer)
	u.RawQuery = q.Encode()
	return u.String()
}

// Query is ar as the query of an authorization request, to ask it again
// (after a sign-in on another page).
func (ar AuthRequest) Query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{
		"client_id": ar.ClientID, "redirect_uri": ar.RedirectURI, "response_type": ar.ResponseType, "state": ar.State,
		"nonce": ar.Nonce, "scope": ar.Scope, "code_challenge": ar.Challenge, "code_challenge_method": ar.Method, "login_hint": ar.LoginHint,
	} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// SignInAgain reports whether an authorization request wants the person
// to sign in again whatever their session: prompt=login, or a max_age
// their sign-in at authTime is older than (OIDC Core §3.1.2.1). It is how
// a client asks for a step-up (RFC 9470 §4).
func SignInAgain(q url.Values, authTime, now time.Time) bool {
	if slices.Contains(strings.Fields(q.Get("prompt")), "login") {
		return true
	}
	if maxAge, err := strconv.Atoi(q.Get("max_age")); err == nil && maxAge >= 0 {
		return now.Sub(authTime) > time.Duration(maxAge)*time.Second
	}
	return false
}
