package signin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"xaa.example/shared/oauth"
)

// App signs users in to an app through its authorization server and keeps
// who they are, and their tokens, in the app's server-side session.
type App struct {
	RP *RP
	// OnError shows a readable page for a failed sign-in.
	OnError func(w http.ResponseWriter, r *http.Request, status int, title, message string)
}

// User is the signed-in user of an app.
type User struct {
	Subject string
	Email   string
	Name    string
}

const (
	keySubject = "user.sub"
	keyEmail   = "user.email"
	keyName    = "user.name"
	keyIDToken = "user.id_token"
	keyRefresh = "user.refresh_token"
	keyExpiry  = "user.id_token_exp"
)

// User returns the signed-in user, if any.
func (a *App) User(ctx context.Context) (User, bool) {
	s := a.RP.Sessions
	sub := s.GetString(ctx, keySubject)
	if sub == "" {
		return User{}, false
	}
	return User{Subject: sub, Email: s.GetString(ctx, keyEmail), Name: s.GetString(ctx, keyName)}, true
}

// Login starts a sign-in; ?next= is where to land afterwards.
func (a *App) Login(w http.ResponseWriter, r *http.Request) {
	extra := url.Values{"login_hint": {r.URL.Query().Get("login_hint")}}
	if err := a.RP.Begin(w, r, r.URL.Query().Get("next"), extra); err != nil {
		a.OnError(w, r, http.StatusBadGateway, "Sign-in unavailable",
			"The authorization server at "+a.RP.Upstream.Issuer+" did not answer. Is it running? Try again in a moment.")
	}
}

// StepUp sends the signed-in person to sign in again, as a refusal asked
// (insufficient_user_authentication, RFC 9470 §4; the ID-JAG draft §8.2):
// prompt=login, with the acr_values and max_age it named, and back to
// returnTo afterwards.
func (a *App) StepUp(w http.ResponseWriter, r *http.Request, returnTo string, up oauth.StepUp) {
	u, _ := a.User(r.Context())
	extra := url.Values{"login_hint": {u.Email}, "prompt": {"login"}, "acr_values": {up.ACRValues}}
	if up.MaxAge != nil {
		extra.Set("max_age", strconv.Itoa(*up.MaxAge))
	}
	if err := a.RP.Begin(w, r, returnTo, extra); err != nil {
		a.OnError(w, r, http.StatusBadGateway, "Sign-in unavailable",
			"The authorization server at "+a.RP.Upstream.Issuer+" did not answer. Is it running? Try again in a moment.")
	}
}

// Callback finishes the sign-in and starts the user's session.
func (a *App) Callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	res, err := a.RP.Finish(ctx, w, r)
	var ce *CallbackError
	switch {
	case errors.As(err, &ce):
		a.OnError(w, r, http.StatusBadRequest, "Sign-in did not complete", ce.Description+" ("+ce.Code+")")
		return
	case errors.Is(err, ErrUnavailable):
		a.OnError(w, r, http.StatusBadGateway, "Sign-in unavailable", "The authorization server did not answer. Try again in a moment.")
		return
	case err != nil:
		a.OnError(w, r, http.StatusBadGateway, "Sign-in failed", "The sign-in response could not be verified. Start the sign-in again.")
		return
	}
	// A new session token at sign-in prevents session fixation.
	if err := a.RP.Sessions.RenewToken(ctx); err != nil {
		a.OnError(w, r, http.StatusInternalServerError, "Session problem", "Your session could not be started.")
		return
	}
	a.store(ctx, res)
	http.Redirect(w, r, res.ReturnTo, http.StatusFound)
}

func (a *App) store(ctx context.Context, res *Result) {
	s := a.RP.Sessions
	s.Put(ctx, keySubject, res.Claims.Subject)
	s.Put(ctx, keyEmail, res.Claims.Email)
	s.Put(ctx, keyName, res.Claims.Name)
	s.Put(ctx, keyIDToken, res.IDToken)
	s.Put(ctx, keyRefresh, res.RefreshToken)
	s.Put(ctx, keyExpiry, res.Expiry.Unix())
}

// Logout ends the app's session, then sends the browser to the
// authorization server's end-session endpoint (OpenID Connect RP-Initiated
// Logout §2) to end the session there too, with the person's ID token as
// id_token_hint (so the server knows the request is the app's), returning
// to home, an absolute URL of the app.
func (a *App) Logout(w http.ResponseWriter, r *http.Request, home string) {
	hint := a.RP.Sessions.GetString(r.Context(), keyIDToken)
	_ = a.RP.Sessions.Destroy(r.Context())
	md, err := a.RP.Upstream.Metadata(r.Context())
	if err != nil || md.EndSessionEndpoint == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	q := url.Values{"client_id": {a.RP.ClientID}, "post_logout_redirect_uri": {home}}
	if hint != "" {
		q.Set("id_token_hint", hint)
	}
	http.Redirect(w, r, md.EndSessionEndpoint+"?"+q.Encode(), http.StatusSeeOther)
}

// ErrSignInAgain means the session holds no usable ID token any more.
var ErrSignInAgain = errors.New("sign in again")

// IDToken returns the user's ID token from the authorization server,
// refreshed first when it has expired or is about to (OIDC Core §12).
func (a *App) IDToken(ctx context.Context) (string, error) {
	s := a.RP.Sessions
	raw := s.GetString(ctx, keyIDToken)
	if raw == "" {
		return "", ErrSignInAgain
	}
	now := time.Now
	if a.RP.Now != nil {
		now = a.RP.Now
	}
	if now().Add(30 * time.Second).Before(time.Unix(s.GetInt64(ctx, keyExpiry), 0)) {
		return raw, nil
	}
	refresh := s.GetString(ctx, keyRefresh)
	if refresh == "" {
		return "", ErrSignInAgain
	}
	res, err := a.RP.Refresh(ctx, refresh)
	if err != nil {
		return "", errors.Join(ErrSignInAgain, err)
	}
	a.store(ctx, res)
	return res.IDToken, nil
}
