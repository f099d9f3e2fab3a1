package oauth

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"

	"xaa.example/shared/trace"
)

// maxFormBytes bounds a token request; the largest legitimate parameter is
// a JWT of a few kilobytes.
const maxFormBytes = 64 << 10

// TokenRequest is a parsed, client-authenticated token request.
type TokenRequest struct {
	GrantType string
	Client    *Client
	Form      url.Values
	// Header is the HTTP request's header, for grants that read trace or
	// DPoP headers.
	Header http.Header
}

// Get returns a single-valued form parameter.
func (r *TokenRequest) Get(name string) string { return r.Form.Get(name) }

// Grant handles one grant_type. It returns the success body or an error;
// the endpoint writes either.
type Grant interface {
	Handle(ctx context.Context, req *TokenRequest) (*TokenResponse, error)
}

// TokenEndpoint is the RFC 6749 §3.2 token endpoint. The steps every grant
// needs (method and form checks, client authentication, the client's right
// to the grant type, response writing) live here so that no grant can skip
// one.
type TokenEndpoint struct {
	Auth   *ClientAuth
	Grants map[string]Grant
	Log    *slog.Logger
}

func (e *TokenEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, err := e.handle(r)
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
	grantType := form.Get("grant_type")
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
		trace.Fail(ctx, "client authentication", AsError(err).Description)
		return nil, err
	}
	trace.PassDetail(ctx, "client authentication", client.ID+" ("+authMethod(r, form)+")")
	if !client.AllowsGrant(grantType) {
		e := UnauthorizedClient("client %s may not use grant_type %s", client.ID, grantType)
		trace.Fail(ctx, "client may use this grant type", e.Description)
		return nil, e
	}
	trace.Pass(ctx, "client may use this grant type")
	return grant.Handle(r.Context(), &TokenRequest{GrantType: grantType, Client: client, Form: form, Header: r.Header})
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
