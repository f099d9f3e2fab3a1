package oauth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"xaa.example/shared/dpop"
	"xaa.example/shared/trace"
)

// maxFormBytes bounds a token request; the largest legitimate parameter is
// a JWT of a few kilobytes.
const maxFormBytes = 64 << 10

// TokenRequest is a token request parsed once, its client authenticated
// and its scope through the client's policy: each grant reads the fields
// its RFC defines.
type TokenRequest struct {
	GrantType string
	Client    *Client
	// Scope is what was asked for (RFC 6749 §3.3), narrowed to what the
	// client may ever have; empty when nothing was asked for.
	Scope Scopes
	// RFC 8707 resource and RFC 8693 audience.
	Resource string
	Audience string
	// Authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.5).
	Code         string
	RedirectURI  string
	CodeVerifier string
	// Refresh token grant (RFC 6749 §6).
	RefreshToken string
	// JWT bearer grant (RFC 7523 §2.1).
	Assertion string
	// Token exchange (RFC 8693 §2.1).
	SubjectToken       string
	SubjectTokenType   string
	ActorToken         string
	ActorTokenType     string
	RequestedTokenType string
	// Device authorization grant (RFC 8628 §3.4).
	DeviceCode string
	// DPoP is the request's proof of possession of a key (RFC 9449 §5),
	// checked already; nil when it sent none.
	DPoP *dpop.Proof
	// Form is the whole request, for parameters no RFC above defines (the
	// demo's xaa_demo) and for audit.
	Form url.Values
	// Header is the HTTP request's header, for grants that read trace or
	// DPoP headers.
	Header http.Header
}

// ParseTokenRequest reads a token request's parameters once; the endpoint
// then sets Client and puts Scope through the client's policy. A grant
// tested alone gets its request from here.
func ParseTokenRequest(form url.Values, client *Client) *TokenRequest {
	return &TokenRequest{
		GrantType: form.Get("grant_type"), Scope: ParseScopes(form.Get("scope")),
		Resource: form.Get("resource"), Audience: form.Get("audience"),
		Code: form.Get("code"), RedirectURI: form.Get("redirect_uri"), CodeVerifier: form.Get("code_verifier"),
		RefreshToken: form.Get("refresh_token"), Assertion: form.Get("assertion"),
		SubjectToken: form.Get("subject_token"), SubjectTokenType: form.Get("subject_token_type"),
		ActorToken: form.Get("actor_token"), ActorTokenType: form.Get("actor_token_type"),
		RequestedTokenType: form.Get("requested_token_type"), DeviceCode: form.Get("device_code"),
		Client: client, Form: form,
	}
}

// Allowed narrows scopes a grant would give to what the client may ever
// have (Client.Scopes; no restriction when it lists none).
func (r *TokenRequest) Allowed(s Scopes) Scopes {
	if len(r.Client.Scopes) == 0 {
		return s
	}
	return s.Intersect(Scopes(r.Client.Scopes))
}

// Grant handles one grant_type. It returns the success body or an error;
// the endpoint writes either.
type Grant interface {
	Handle(ctx context.Context, req *TokenRequest) (*TokenResponse, error)
}

// TokenEndpoint is the RFC 6749 §3.2 token endpoint. The steps every grant
// needs live here so that no grant can skip one, in dex's order: parse the
// request once, authenticate the client, check its right to the grant
// type, put the requested scope through the client's policy, then the
// grant, then write the answer.
type TokenEndpoint struct {
	Auth   *ClientAuth
	Grants map[string]Grant
	Log    *slog.Logger
	// DPoP, when set, checks a request's DPoP proof (RFC 9449 §5) against
	// URL, this endpoint's address; without it a DPoP header is ignored and
	// nothing is bound to a key.
	DPoP *dpop.Verifier
	URL  string
}

func (e *TokenEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, err := e.handle(r)
	var de *dpop.Error
	if errors.As(err, &de) && de.Code == dpop.CodeUseNonce {
		// RFC 9449 §8: the nonce to put in the next proof.
		w.Header().Set(dpop.NonceHeader, e.DPoP.Nonces.Current())
	}
	if err != nil {
		WriteError(w, e.Log, err)
		return
	}
	WriteJSON(w, http.StatusOK, resp)
}

func (e *TokenEndpoint) handle(r *http.Request) (*TokenResponse, error) {
	if r.Method != http.MethodPost {
		return nil, InvalidRequest("the token endpoint accepts POST only")
	}
	form, err := ParseForm(r)
	if err != nil {
		return nil, err
	}
	req := ParseTokenRequest(form, nil)
	req.Header = r.Header
	grantType := req.GrantType
	if grantType == "" {
		return nil, InvalidRequest("grant_type is required")
	}
	grant, ok := e.Grants[grantType]
	if !ok {
		return nil, UnsupportedGrantType("grant_type %q is not supported here", grantType)
	}
	ctx := r.Context()
	client, err := e.Auth.Authenticate(ctx, r, form)
	if err != nil {
		trace.Fail(ctx, CheckClientAuth, AsError(err).Description)
		return nil, err
	}
	trace.PassDetail(ctx, CheckClientAuth, client.ID+" ("+authMethod(r, form)+")")
	if !client.AllowsGrant(grantType) {
		e := UnauthorizedClient("client %s may not use grant_type %s", client.ID, grantType)
		trace.Fail(ctx, CheckGrantType, e.Description)
		return nil, e
	}
	trace.Pass(ctx, CheckGrantType)
	req.Client = client

	// Proof of possession (RFC 9449 §5): a proof sent is checked before any
	// grant, which then binds what it issues to the proof's key.
	if proofs := r.Header.Values(dpop.Header); len(proofs) > 0 && e.DPoP != nil {
		p, err := e.DPoP.Verify(ctx, dpop.Request{Proofs: proofs, Method: r.Method, URL: e.URL})
		var de *dpop.Error
		switch {
		case errors.As(err, &de):
			trace.Fail(ctx, CheckDPoPProof, de.Description)
			return nil, &Error{Code: de.Code, Description: Describe("%s", de.Description), Status: http.StatusBadRequest, cause: de}
		case err != nil:
			return nil, ServerError(err)
		}
		trace.PassDetail(ctx, CheckDPoPProof, "key thumbprint "+p.Thumbprint)
		req.DPoP = p
	}

	// Scope policy (RFC 6749 §3.3): a client registered with a list of
	// scopes never gets another, whichever grant it uses; what it asked
	// for beyond the list is dropped, and asking for nothing it may have
	// is refused.
	if asked := req.Scope; len(asked) > 0 {
		req.Scope = req.Allowed(asked)
		if len(req.Scope) == 0 {
			e := InvalidScope("client %s may not have any of the scopes asked for (%s)", client.ID, asked)
			trace.Fail(ctx, CheckScopePolicy, e.Description)
			return nil, e
		}
		trace.PassDetail(ctx, CheckScopePolicy, req.Scope.String())
	}
	return grant.Handle(ctx, req)
}

// ParseForm reads an application/x-www-form-urlencoded body, bounded in size,
// and refuses repeated parameters (RFC 6749 §3.2: parameters MUST NOT be
// included more than once).
func ParseForm(r *http.Request) (url.Values, error) {
	if ct := r.Header.Get("Content-Type"); !isFormContentType(ct) {
		return nil, InvalidRequest("Content-Type must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, InvalidRequest("the request body is not a valid form or is too large")
	}
	for name, values := range r.PostForm {
		if len(values) > 1 {
			return nil, InvalidRequest("parameter %s is repeated", name)
		}
	}
	return r.PostForm, nil
}

func isFormContentType(ct string) bool {
	const want = "application/x-www-form-urlencoded"
	return len(ct) >= len(want) && ct[:len(want)] == want
}

func authMethod(r *http.Request, form url.Values) string {
	switch {
	case form.Has("client_assertion"):
		return AuthPrivateKeyJWT
	case form.Has("client_secret"):
		return AuthSecretPost
	}
	return AuthSecretBasic
}
