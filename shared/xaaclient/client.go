package xaaclient

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/oauth"
)

// Credentials authenticate a client at a token endpoint: with
// client_secret_basic when PrivateKey is nil, otherwise with a signed
// client assertion (private_key_jwt, RFC 7523 §2.2) whose aud is Audience,
// the authorization server's issuer.
type Credentials struct {
	ClientID     string
	ClientSecret string
	PrivateKey   *jose.JSONWebKey // with KeyID and Algorithm set
	Audience     string
}

// authenticate adds the client's credentials to req and form.
func (c Credentials) authenticate(req *http.Request, form url.Values) error {
	if c.PrivateKey == nil {
		// RFC 6749 §2.3.1: the credentials are form-urlencoded before Basic.
		req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(c.ClientSecret))
		return nil
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(c.PrivateKey.Algorithm), Key: c.PrivateKey}, nil)
	if err != nil {
		return fmt.Errorf("client assertion signer: %w", err)
	}
	now := time.Now()
	assertion, err := jwt.Signed(signer).Claims(jwt.Claims{
		Issuer: c.ClientID, Subject: c.ClientID, Audience: jwt.Audience{c.Audience},
		ID: rand.Text(), IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute)),
	}).Serialize()
	if err != nil {
		return fmt.Errorf("sign client assertion: %w", err)
	}
	form.Set("client_assertion_type", oauth.ClientAssertionType)
	form.Set("client_assertion", assertion)
	return nil
}

// ExchangeRequest asks for an ID-JAG.
type ExchangeRequest struct {
	SubjectToken     string
	SubjectTokenType string // defaults to the ID token type
	Audience         string // the resource authorization server's issuer
	Resource         string // the protected resource (RFC 8707), optional
	Scope            oauth.Scopes
	// Extra parameters, such as the local IdP's demo-only xaa_demo.
	Extra url.Values
}

// Exchange performs the token exchange and checks the answer: an ID-JAG
// (issued_token_type id-jag) with token_type N_A (draft §4.3.2).
func Exchange(ctx context.Context, hc *http.Client, tokenURL string, creds Credentials, r ExchangeRequest) (*oauth.TokenResponse, error) {
	typ := r.SubjectTokenType
	if typ == "" {
		typ = oauth.TokenTypeIDToken
	}
	form := url.Values{
		"grant_type":           {oauth.GrantTokenExchange},
		"requested_token_type": {oauth.TokenTypeIDJAG},
		"audience":             {r.Audience},
		"subject_token":        {r.SubjectToken},
		"subject_token_type":   {typ},
	}
	if r.Resource != "" {
		form.Set("resource", r.Resource)
	}
	if len(r.Scope) > 0 {
		form.Set("scope", r.Scope.String())
	}
	for k, v := range r.Extra {
		form[k] = v
	}
	resp, err := postToken(ctx, hc, tokenURL, creds, form)
	if err != nil {
		return nil, err
	}
	if resp.IssuedTokenType != oauth.TokenTypeIDJAG {
		return nil, fmt.Errorf("token exchange answered issued_token_type %q, want %s", resp.IssuedTokenType, oauth.TokenTypeIDJAG)
	}
	if !strings.EqualFold(resp.TokenType, "N_A") {
		return nil, fmt.Errorf("token exchange answered token_type %q, want N_A", resp.TokenType)
	}
	return resp, nil
}

// Redeem presents an ID-JAG to the resource authorization server with the
// JWT bearer grant and checks that a Bearer access token came back.
func Redeem(ctx context.Context, hc *http.Client, tokenURL string, creds Credentials, idjag string, scope oauth.Scopes) (*oauth.TokenResponse, error) {
	form := url.Values{
		"grant_type": {oauth.GrantJWTBearer},
		"assertion":  {idjag},
	}
	if len(scope) > 0 {
		form.Set("scope", scope.String())
	}
	resp, err := postToken(ctx, hc, tokenURL, creds, form)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(resp.TokenType, "Bearer") {
		return nil, fmt.Errorf("jwt-bearer grant answered token_type %q, want Bearer", resp.TokenType)
	}
	return resp, nil
}

// ErrorResponse is an OAuth error answered by a token endpoint.
type ErrorResponse struct {
	Status      int
	Code        string
	Description string
}

func (e *ErrorResponse) Error() string {
	if e.Description == "" {
		return e.Code
	}
	return e.Code + ": " + e.Description
}

// Unreachable wraps a token endpoint that could not be reached at all.
type Unreachable struct {
	URL string
	Err error
}

func (e *Unreachable) Error() string { return fmt.Sprintf("%s could not be reached: %v", e.URL, e.Err) }
func (e *Unreachable) Unwrap() error { return e.Err }

func postToken(ctx context.Context, hc *http.Client, tokenURL string, creds Credentials, form url.Values) (*oauth.TokenResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, nil)
	if err != nil {
		return nil, err
	}
	if err := creds.authenticate(req, form); err != nil {
		return nil, err
	}
	body := form.Encode()
	req.Body = io.NopCloser(strings.NewReader(body))
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, &Unreachable{URL: tokenURL, Err: err}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, &Unreachable{URL: tokenURL, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		var e oauth.ErrorBody
		if json.Unmarshal(answer, &e) != nil || e.Error == "" {
			return nil, &ErrorResponse{Status: resp.StatusCode, Code: "server_error", Description: fmt.Sprintf("%s answered %s", tokenURL, resp.Status)}
		}
		return nil, &ErrorResponse{Status: resp.StatusCode, Code: e.Error, Description: e.ErrorDescription}
	}
	var tr oauth.TokenResponse
	if err := json.Unmarshal(answer, &tr); err != nil {
		return nil, fmt.Errorf("token response of %s is not JSON: %w", tokenURL, err)
	}
	if tr.AccessToken == "" {
		return nil, fmt.Errorf("token response of %s has no access_token", tokenURL)
	}
	return &tr, nil
}

// Call makes a request to a protected resource with an access token as a
// Bearer token (RFC 6750 §2.1). The caller reads and closes the response.
func Call(ctx context.Context, hc *http.Client, method, url, accessToken string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return hc.Do(req)
}
