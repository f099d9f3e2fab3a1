package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"xaa.example/shared/oauth"
	"xaa.example/shared/signin"
)

// login signs the person in at the IdP: authorization code with PKCE S256
// through their browser, back to a loopback address the agent listens on
// (RFC 8252 §7.3: any free port of 127.0.0.1). The ID token is checked with
// go-oidc (signature, issuer, audience, expiry) and its nonce.
func (a *Agent) login(ctx context.Context) error { return a.loginWith(ctx, nil) }

// loginWith is login with more parameters for the authorization request:
// a step-up's prompt, acr_values and max_age (RFC 9470 §4).
func (a *Agent) loginWith(ctx context.Context, extra url.Values) error {
	up := signin.NewUpstream(a.cfg.IdP, a.cfg.HTTP)
	provider, err := up.Provider(ctx)
	if err != nil {
		return fmt.Errorf("the identity provider at %s is not answering: %w", a.cfg.IdP, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("no local port to receive the sign-in on: %w", err)
	}
	oc := &oauth2.Config{
		ClientID: a.cfg.ClientID, ClientSecret: a.cfg.ClientSecret, Endpoint: provider.Endpoint(),
		RedirectURL: fmt.Sprintf("http://127.0.0.1:%d/callback", ln.Addr().(*net.TCPAddr).Port),
		Scopes:      []string{oidc.ScopeOpenID, "profile", "email", "offline_access"},
	}
	state, nonce, verifier := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)}
	for k, v := range extra {
		if len(v) > 0 && v[0] != "" {
			opts = append(opts, oauth2.SetAuthURLParam(k, v[0]))
		}
	}
	fmt.Fprintf(a.out, "Open this address in your browser to sign in:\n\n  %s\n\nWaiting for the sign-in…\n", oc.AuthCodeURL(state, opts...))

	code, err := awaitCode(ctx, ln, state, 10*time.Minute)
	if err != nil {
		return err
	}
	tok, err := oc.Exchange(up.Context(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return fmt.Errorf("the identity provider did not accept the sign-in's code: %w", err)
	}
	s, err := a.verifyIDToken(ctx, up, tok)
	if err != nil {
		return err
	}
	if s.nonce != nonce {
		return errors.New("the ID token does not answer this sign-in (nonce mismatch); run agent login again")
	}
	if err := a.save(&s.state); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "Signed in as %s.\n", s.Email)
	return nil
}

type verifiedLogin struct {
	state
	nonce string
}

// verifyIDToken checks the ID token of a sign-in or a refresh.
func (a *Agent) verifyIDToken(ctx context.Context, up *signin.Upstream, tok *oauth2.Token) (*verifiedLogin, error) {
	raw, _ := tok.Extra("id_token").(string)
	provider, err := up.Provider(ctx)
	if err != nil {
		return nil, err
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: a.cfg.ClientID, Now: a.cfg.Now}).Verify(up.Context(ctx), raw)
	if err != nil {
		return nil, fmt.Errorf("the identity provider's ID token does not verify: %w", err)
	}
	var c struct {
		Email string `json:"email"`
	}
	_ = idt.Claims(&c)
	a.verbose("ID token from %s: %s", a.cfg.IdP, claims(raw))
	return &verifiedLogin{
		state: state{Email: c.Email, Subject: idt.Subject, IDToken: raw, IDTokenExpiry: idt.Expiry, RefreshToken: tok.RefreshToken},
		nonce: idt.Nonce,
	}, nil
}

// idToken returns a current ID token, refreshed when it has expired.
func (a *Agent) idToken(ctx context.Context, s *state) (string, error) {
	if a.cfg.Now().Add(30 * time.Second).Before(s.IDTokenExpiry) {
		return s.IDToken, nil
	}
	if s.RefreshToken == "" {
		return "", errors.New("your sign-in has expired: run `agent login` again")
	}
	up := signin.NewUpstream(a.cfg.IdP, a.cfg.HTTP)
	provider, err := up.Provider(ctx)
	if err != nil {
		return "", fmt.Errorf("the identity provider at %s is not answering: %w", a.cfg.IdP, err)
	}
	oc := &oauth2.Config{ClientID: a.cfg.ClientID, ClientSecret: a.cfg.ClientSecret, Endpoint: provider.Endpoint()}
	tok, err := oc.TokenSource(up.Context(ctx), &oauth2.Token{RefreshToken: s.RefreshToken}).Token()
	if err != nil {
		return "", errors.New("your sign-in has expired and could not be renewed: run `agent login` again")
	}
	v, err := a.verifyIDToken(ctx, up, tok)
	if err != nil {
		return "", err
	}
	s.IDToken, s.IDTokenExpiry = v.IDToken, v.IDTokenExpiry
	if v.RefreshToken != "" {
		s.RefreshToken = v.RefreshToken
	}
	return s.IDToken, a.save(s)
}

// awaitCode serves the loopback redirect (RFC 8252 §7.3) on ln until the
// authorization response for state arrives, and returns its code. The
// browser gets its whole page before the server stops: Shutdown waits for
// the answer in flight, where Close would cut it off.
func awaitCode(ctx context.Context, ln net.Listener, state string, wait time.Duration) (string, error) {
	type result struct {
		code string
		err  error
	}
	results := make(chan result, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		var res result
		switch {
		case q.Get("state") != state:
			res.err = errors.New("the sign-in answered another request (state mismatch); run agent login again")
		case q.Get("error") != "":
			res.err = fmt.Errorf("the identity provider refused the sign-in: %s %s", q.Get("error"), q.Get("error_description"))
		default:
			res.code = q.Get("code")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if res.err != nil {
			fmt.Fprintf(w, "<!doctype html><title>Agent</title><p>%s</p>", html.EscapeString(res.err.Error()))
		} else {
			fmt.Fprint(w, "<!doctype html><title>Agent</title><p>Signed in. You can close this tab and go back to the terminal.</p>")
		}
		select {
		case results <- res:
		default:
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(stop)
	}()

	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case <-time.After(wait):
		return "", fmt.Errorf("no sign-in within %d minutes; run agent login again", int(wait.Minutes()))
	case res := <-results:
		return res.code, res.err
	}
}

// stepUp signs the person in again as the IdP's refusal asked
// (insufficient_user_authentication, the ID-JAG draft §8.2; RFC 9470 §4):
// prompt=login with its acr_values and max_age, in their browser.
func (a *Agent) stepUp(ctx context.Context, up *oauth.StepUp) error {
	if up == nil {
		up = &oauth.StepUp{}
	}
	s, err := a.load()
	if err != nil {
		return err
	}
	fmt.Fprintf(a.out, "You are asked to confirm it is you first: %s, as your administrator or the todo app requires for this.\n", up.Words())
	extra := url.Values{"prompt": {"login"}, "login_hint": {s.Email}, "acr_values": {up.ACRValues}}
	if up.MaxAge != nil {
		extra.Set("max_age", strconv.Itoa(*up.MaxAge))
	}
	return a.loginWith(ctx, extra)
}
