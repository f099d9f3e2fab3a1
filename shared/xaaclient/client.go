package xaaclient

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/dpop"
	"xaa.example/shared/oauth"
)

// Credentials authenticate a client at a token endpoint by Method:
// client_secret_basic, client_secret_post, or a signed client assertion
// (private_key_jwt, RFC 7523 §2.2) whose aud is Audience, the
// authorization server's issuer. With no Method, private_key_jwt when there
// is a PrivateKey, else client_secret_basic; ChooseAuthMethod picks one
// from what a server supports.
type Credentials struct {
	ClientID     string
	ClientSecret string
	Method       string
	PrivateKey   *jose.JSONWebKey // with KeyID and Algorithm set
	Audience     string
	// DPoP, when set, proves the client holds its key with every token
	// request (RFC 9449 §5), so that what it gets is bound to that key.
	DPoP *dpop.Signer
}

// ChooseAuthMethod is the client authentication method to use at a server:
// configured, when set (the server may allow a client only one, which its
// metadata cannot tell: an Okta app set to client_secret_post refuses
// Basic); otherwise the first of the methods this client can use, by
// strength, that the server's token_endpoint_auth_methods_supported lists
// (absent, it means client_secret_basic alone, RFC 8414 §2).
func ChooseAuthMethod(configured string, supported []string, hasKey, hasSecret bool) (string, error) {
	if configured != "" {
		switch configured {
		case oauth.AuthSecretBasic, oauth.AuthSecretPost, oauth.AuthPrivateKeyJWT:
			return configured, nil
		}
		return "", fmt.Errorf("client authentication method %q is not one of %s, %s, %s", configured, oauth.AuthPrivateKeyJWT, oauth.AuthSecretBasic, oauth.AuthSecretPost)
	}
	if len(supported) == 0 {
		supported = []string{oauth.AuthSecretBasic}
	}
	for _, m := range []string{oauth.AuthPrivateKeyJWT, oauth.AuthSecretBasic, oauth.AuthSecretPost} {
		usable := (m == oauth.AuthPrivateKeyJWT && hasKey) || (m != oauth.AuthPrivateKeyJWT && hasSecret)
		if usable && slices.Contains(supported, m) {
			return m, nil
		}
	}
	return "", fmt.Errorf("the server supports client authentication by %s, none of which this client is set up for", strings.Join(supported, ", "))
}

// authenticate adds the client's credentials to req and form.
func (c Credentials) authenticate(req *http.Request, form url.Values) error {
	method := c.Method
	if method == "" {
		method = oauth.AuthSecretBasic
		if c.PrivateKey != nil {
			method = oauth.AuthPrivateKeyJWT
		}
	}
	switch method {
	case oauth.AuthSecretBasic:
		// RFC 6749 §2.3.1: the credentials are form-urlencoded before Basic.
		req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(c.ClientSecret))
		return nil
	case oauth.AuthSecretPost:
		form.Set("client_id", c.ClientID)
		form.Set("client_secret", c.ClientSecret)
		return nil
	case oauth.AuthPrivateKeyJWT:
	default:
		return fmt.Errorf("unknown client authentication method %q", method)
	}
	if c.PrivateKey == nil {
		return errors.New("private_key_jwt needs a private key")
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

// IDJAGRequest asks the IdP for an ID-JAG (a token exchange, RFC 8693,
// ID-JAG draft §4.3).
type IDJAGRequest struct {
	SubjectToken     string
	SubjectTokenType string // defaults to the ID token type
	Audience         string // the resource authorization server's issuer
	Resource         string // the protected resource (RFC 8707), optional
	Scope            oauth.Scopes
	// RequestedCnf asks for an ID-JAG bound to another party's key, which
	// that party proved to this client (identity chaining draft, Delegated
	// Key Binding): a relaying authorization server conveys its app's key.
	RequestedCnf string
	// Extra parameters, such as the local IdP's demo-only xaa_demo.
	Extra url.Values
}

// IDJAG is the IdP's answer: the ID-JAG and its terms. On the wire it came
// in access_token (RFC 8693 §2.2.1), though it is no access token.
type IDJAG struct {
	Token     string
	ExpiresIn int64
	Scope     string
	// IssuedTokenType and TokenType as the IdP sent them: id-jag and N_A.
	IssuedTokenType, TokenType string
}

// RequestIDJAG asks the IdP's token endpoint for an ID-JAG and checks the
// answer: issued_token_type id-jag, token_type N_A (draft §4.3.2).
func RequestIDJAG(ctx context.Context, hc *http.Client, tokenURL string, creds Credentials, r IDJAGRequest) (*IDJAG, error) {
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
	if r.RequestedCnf != "" {
		cnf, _ := json.Marshal(oauth.Confirmation{JKT: r.RequestedCnf})
		form.Set(oauth.ParamRequestedCnf, string(cnf))
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
	// The draft's downgrade check: an IdP that ignored the proof (or the
	// requested key) would hand back an ID-JAG anyone holding it could
	// redeem.
	want := r.RequestedCnf
	if want == "" && creds.DPoP != nil {
		want = creds.DPoP.Thumbprint
	}
	if jkt := boundTo(resp.AccessToken); want != "" && jkt != want {
		return nil, fmt.Errorf("the IdP did not bind the ID-JAG to the key asked for (cnf.jkt %q, want %q): refused as a downgrade: %w", jkt, want, oauth.ReasonIDJAGNotBound)
	}
	return &IDJAG{Token: resp.AccessToken, ExpiresIn: resp.ExpiresIn, Scope: resp.Scope, IssuedTokenType: resp.IssuedTokenType, TokenType: resp.TokenType}, nil
}

// boundTo reads cnf.jkt from a JWT's payload, unverified: the client only
// checks what it was given, the redeeming server verifies it.
func boundTo(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Cnf *oauth.Confirmation `json:"cnf"`
	}
	if json.Unmarshal(b, &c) != nil || c.Cnf == nil {
		return ""
	}
	return c.Cnf.JKT
}

// ExchangeForRefreshToken asks the IdP for a refresh token for a subject
// token (RFC 8693 with requested_token_type refresh_token): the ID-JAG
// draft's SAML path, whose client then uses the refresh token as the
// subject token of its ID-JAG requests.
func ExchangeForRefreshToken(ctx context.Context, hc *http.Client, tokenURL string, creds Credentials, subjectToken, subjectTokenType string) (string, error) {
	form := url.Values{
		"grant_type":           {oauth.GrantTokenExchange},
		"requested_token_type": {oauth.TokenTypeRefreshToken},
		"subject_token":        {subjectToken},
		"subject_token_type":   {subjectTokenType},
	}
	resp, err := postToken(ctx, hc, tokenURL, creds, form)
	if err != nil {
		return "", err
	}
	if resp.IssuedTokenType != oauth.TokenTypeRefreshToken {
		return "", fmt.Errorf("token exchange answered issued_token_type %q, want %s", resp.IssuedTokenType, oauth.TokenTypeRefreshToken)
	}
	return resp.AccessToken, nil
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
	// With a proof, the token must come back bound to its key (RFC 9449
	// §5: token_type DPoP); without one, a Bearer token.
	want := "Bearer"
	if creds.DPoP != nil {
		want = dpop.TokenType
	}
	if !strings.EqualFold(resp.TokenType, want) {
		return nil, fmt.Errorf("jwt-bearer grant answered token_type %q, want %s", resp.TokenType, want)
	}
	return resp, nil
}

// Unreachable wraps a token endpoint that could not be reached at all.
type Unreachable struct {
	URL string
	Err error
}

func (e *Unreachable) Error() string { return fmt.Sprintf("%s could not be reached: %v", e.URL, e.Err) }
func (e *Unreachable) Unwrap() error { return e.Err }

func postToken(ctx context.Context, hc *http.Client, tokenURL string, creds Credentials, form url.Values) (*oauth.TokenResponse, error) {
	nonce := ""
	for attempt := 0; ; attempt++ {
		tr, retryNonce, err := postTokenOnce(ctx, hc, tokenURL, creds, form, nonce)
		// RFC 9449 §8: a server that wants its nonce in the proof says so
		// once; the request is made again, whole (a new client assertion
		// and a new proof), with it.
		if retryNonce != "" && attempt == 0 {
			nonce = retryNonce
			continue
		}
		return tr, err
	}
}

func postTokenOnce(ctx context.Context, hc *http.Client, tokenURL string, creds Credentials, form url.Values, nonce string) (*oauth.TokenResponse, string, error) {
	form = cloneValues(form)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, nil)
	if err != nil {
		return nil, "", err
	}
	if err := creds.authenticate(req, form); err != nil {
		return nil, "", err
	}
	if creds.DPoP != nil {
		proof, err := creds.DPoP.Proof(http.MethodPost, tokenURL, "", nonce)
		if err != nil {
			return nil, "", fmt.Errorf("DPoP proof: %w", err)
		}
		req.Header.Set(dpop.Header, proof)
	}
	body := form.Encode()
	req.Body = io.NopCloser(strings.NewReader(body))
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, "", &Unreachable{URL: tokenURL, Err: err}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, "", &Unreachable{URL: tokenURL, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		// An OAuth error, read into oauth.Error: the one type for them on
		// both sides of the wire.
		e := oauth.ReadError(resp.StatusCode, answer, tokenURL)
		retry := ""
		if e.Code == dpop.CodeUseNonce && creds.DPoP != nil {
			retry = resp.Header.Get(dpop.NonceHeader)
		}
		return nil, retry, e
	}
	var tr oauth.TokenResponse
	if err := json.Unmarshal(answer, &tr); err != nil {
		return nil, "", fmt.Errorf("token response of %s is not JSON: %w", tokenURL, err)
	}
	if tr.AccessToken == "" {
		return nil, "", fmt.Errorf("token response of %s has no access_token", tokenURL)
	}
	return &tr, "", nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vals := range v {
		out[k] = append([]string(nil), vals...)
	}
	return out
}

// Call makes a request to a protected resource with an access token: as a
// Bearer token (RFC 6750 §2.1), or, with a signer, as a DPoP-bound token
// with a proof for this request (RFC 9449 §7.1). The caller reads and
// closes the response.
func Call(ctx context.Context, hc *http.Client, method, url, accessToken string, signer *dpop.Signer, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, err
	}
	if signer == nil {
		req.Header.Set("Authorization", "Bearer "+accessToken)
	} else {
		proof, err := signer.Proof(method, url, accessToken, "")
		if err != nil {
			return nil, fmt.Errorf("DPoP proof: %w", err)
		}
		req.Header.Set("Authorization", dpop.TokenType+" "+accessToken)
		req.Header.Set(dpop.Header, proof)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return hc.Do(req)
}
