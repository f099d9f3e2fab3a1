package xaaclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"xaa.example/shared/oauth"
)

// Credentials authenticate a client with client_secret_basic.
type Credentials struct {
	ClientID     string
	ClientSecret string
}

// ExchangeRequest asks for an ID-JAG.
type ExchangeRequest struct {
	SubjectToken     string
	SubjectTokenType string // defaults to the ID token type
	Audience         string // the resource authorization server's issuer
	Resource         string // the protected resource (RFC 8707), optional
	Scope            oauth.Scopes
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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: the credentials are form-urlencoded before Basic.
	req.SetBasicAuth(url.QueryEscape(creds.ClientID), url.QueryEscape(creds.ClientSecret))
	resp, err := hc.Do(req)
	if err != nil {
		return nil, &Unreachable{URL: tokenURL, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, &Unreachable{URL: tokenURL, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		var e oauth.ErrorBody
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			return nil, &ErrorResponse{Status: resp.StatusCode, Code: "server_error", Description: fmt.Sprintf("%s answered %s", tokenURL, resp.Status)}
		}
		return nil, &ErrorResponse{Status: resp.StatusCode, Code: e.Error, Description: e.ErrorDescription}
	}
	var tr oauth.TokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("token response of %s is not JSON: %w", tokenURL, err)
	}
	if tr.AccessToken == "" {
		return nil, fmt.Errorf("token response of %s has no access_token", tokenURL)
	}
	return &tr, nil
}
