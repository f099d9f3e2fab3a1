package signin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Upstream is an authorization server (an OpenID provider, for sign-in)
// found by discovery on first use: RFC 8414 metadata, else OpenID Connect
// discovery.
type Upstream struct {
	Issuer string
	Client *http.Client

	mu       sync.Mutex
	metadata *Metadata
	provider *oidc.Provider
}

// NewUpstream returns the provider at issuer; nothing is fetched yet.
func NewUpstream(issuer string, client *http.Client) *Upstream {
	return &Upstream{Issuer: issuer, Client: client}
}

// Context carries the injected HTTP client to go-oidc and x/oauth2.
func (u *Upstream) Context(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, u.Client)
}

// ErrUnavailable wraps a failed discovery: the upstream is down or wrong.
var ErrUnavailable = errors.New("identity provider unavailable")

// Metadata returns the upstream's metadata, retrying discovery until it
// succeeds once.
func (u *Upstream) Metadata(ctx context.Context) (*Metadata, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.metadata != nil {
		return u.metadata, nil
	}
	md, err := discover(ctx, u.Client, u.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: discovery of %s: %v", ErrUnavailable, u.Issuer, err)
	}
	u.metadata, u.provider = md, u.oidcProvider(ctx, md)
	return md, nil
}

// Provider returns the discovered provider for go-oidc.
func (u *Upstream) Provider(ctx context.Context) (*oidc.Provider, error) {
	if _, err := u.Metadata(ctx); err != nil {
		return nil, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.provider, nil
}

// RP is one OAuth client of an upstream provider.
type RP struct {
	Upstream     *Upstream
	ClientID     string
	ClientSecret string
	RedirectURL  string
	Scopes       []string
	Sessions     *scs.SessionManager
	// Pending keeps sign-ins in progress, in cookies.
	Pending *Pending
	Now     func() time.Time
}

// Begin sends the browser to the upstream's authorization endpoint. returnTo
// is where Finish's caller should go afterwards (a local path); extra adds
// parameters such as login_hint.
func (rp *RP) Begin(w http.ResponseWriter, r *http.Request, returnTo string, extra url.Values) error {
	cfg, err := rp.config(r.Context())
	if err != nil {
		return err
	}
	state, p := rand.Text(), pending{Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier(), ReturnTo: SafeReturn(returnTo), Issuer: rp.Upstream.Issuer}
	rp.Pending.save(w, r, state, p)

	opts := []oauth2.AuthCodeOption{oidc.Nonce(p.Nonce), oauth2.S256ChallengeOption(p.Verifier)}
	for k, v := range extra {
		if len(v) > 0 && v[0] != "" {
			opts = append(opts, oauth2.SetAuthURLParam(k, v[0]))
		}
	}
	http.Redirect(w, r, cfg.AuthCodeURL(state, opts...), http.StatusFound)
	return nil
}

// Result of a finished sign-in or a refresh.
type Result struct {
	IDToken      string
	Claims       Claims
	AccessToken  string
	RefreshToken string
	// Expiry of the ID token.
	Expiry   time.Time
	ReturnTo string
}

// Claims are the ID token claims the services use.
type Claims struct {
	Subject       string `json:"sub"`
	Email         string `json:"email"`
	EmailVerified *bool  `json:"email_verified"`
	Name          string `json:"name"`
	AuthTime      int64  `json:"auth_time"`
	// AMR and ACR say how the person signed in at the IdP (RFC 8176,
	// OIDC Core §2); an authorization server's own sign-in repeats them.
	AMR []string `json:"amr"`
	ACR string   `json:"acr"`
	// Tenant is a multi-tenant issuer's tenant (OpenID Enterprise), which
	// scopes sub together with iss.
	Tenant string `json:"tenant"`
}

// CallbackError is an error the upstream sent back to the callback
// (RFC 6749 §4.1.2.1), or a failed check of the callback itself.
type CallbackError struct {
	Code        string
	Description string
}

func (e *CallbackError) Error() string { return e.Code + ": " + e.Description }

// Finish handles the redirect back from the upstream: it checks state,
// exchanges the code with the PKCE verifier and verifies the ID token
// (signature, iss, aud, exp, nonce) with go-oidc.
func (rp *RP) Finish(ctx context.Context, w http.ResponseWriter, r *http.Request) (*Result, error) {
	q := r.URL.Query()
	p, err := rp.Pending.take(w, r, q.Get("state"))
	if err != nil || p.Issuer != rp.Upstream.Issuer {
		return nil, &CallbackError{Code: "invalid_state", Description: "This sign-in link is stale or was opened in another browser. Start the sign-in again."}
	}
	if code := q.Get("error"); code != "" {
		return nil, &CallbackError{Code: code, Description: q.Get("error_description")}
	}
	code := q.Get("code")
	if code == "" {
		return nil, &CallbackError{Code: "invalid_request", Description: "The sign-in response has no authorization code."}
	}
	cfg, err := rp.config(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := cfg.Exchange(rp.Upstream.Context(ctx), code, oauth2.VerifierOption(p.Verifier))
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
		// The provider answered and refused this code: used already (a
		// replayed callback), expired, or not this sign-in's (PKCE). The
		// person can start again; the provider is not down.
		return nil, &CallbackError{Code: "invalid_grant", Description: "This sign-in could not be completed: its code was already used, has expired, or belongs to another sign-in. Start the sign-in again."}
	}
	if err != nil {
		return nil, fmt.Errorf("code exchange at %s: %w", rp.Upstream.Issuer, err)
	}
	res, err := rp.verify(ctx, tok)
	if err != nil {
		return nil, err
	}
	if res.nonce != p.Nonce {
		return nil, &CallbackError{Code: "invalid_nonce", Description: "The ID token does not answer this sign-in (nonce mismatch)."}
	}
	res.ReturnTo = p.ReturnTo
	return &res.Result, nil
}

// Refresh trades a refresh token for fresh tokens; the ID token in the
// answer is verified like the first one (OIDC Core §12.2).
func (rp *RP) Refresh(ctx context.Context, refreshToken string) (*Result, error) {
	cfg, err := rp.config(ctx)
	if err != nil {
		return nil, err
	}
	src := cfg.TokenSource(rp.Upstream.Context(ctx), &oauth2.Token{RefreshToken: refreshToken})
	tok, err := src.Token()
	if err != nil {
		return nil, fmt.Errorf("refresh at %s: %w", rp.Upstream.Issuer, err)
	}
	res, err := rp.verify(ctx, tok)
	if err != nil {
		return nil, err
	}
	if res.RefreshToken == "" {
		res.RefreshToken = refreshToken
	}
	return &res.Result, nil
}

type verified struct {
	Result
	nonce string
}

func (rp *RP) verify(ctx context.Context, tok *oauth2.Token) (*verified, error) {
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return nil, errors.New("the token response has no id_token")
	}
	p, err := rp.Upstream.Provider(ctx)
	if err != nil {
		return nil, err
	}
	cfg := &oidc.Config{ClientID: rp.ClientID}
	if rp.Now != nil {
		cfg.Now = rp.Now
	}
	idt, err := p.Verifier(cfg).Verify(rp.Upstream.Context(ctx), rawID)
	if err != nil {
		return nil, fmt.Errorf("ID token from %s: %w", rp.Upstream.Issuer, err)
	}
	var c Claims
	if err := idt.Claims(&c); err != nil {
		return nil, err
	}
	return &verified{
		Result: Result{
			IDToken:      rawID,
			Claims:       c,
			AccessToken:  tok.AccessToken,
			RefreshToken: tok.RefreshToken,
			Expiry:       idt.Expiry,
		},
		nonce: idt.Nonce,
	}, nil
}

func (rp *RP) config(ctx context.Context) (*oauth2.Config, error) {
	p, err := rp.Upstream.Provider(ctx)
	if err != nil {
		return nil, err
	}
	scopes := rp.Scopes
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "profile", "email", "offline_access"}
	}
	return &oauth2.Config{
		ClientID:     rp.ClientID,
		ClientSecret: rp.ClientSecret,
		RedirectURL:  rp.RedirectURL,
		Endpoint:     p.Endpoint(),
		Scopes:       scopes,
	}, nil
}
