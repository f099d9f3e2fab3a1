package authserver

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"xaa.example/shared/op"

	"xaa.example/shared/jwtbearer"
	"xaa.example/shared/maildomain"
	"xaa.example/shared/oauth"
	"xaa.example/shared/signin"
	"xaa.example/shared/web"
)

// serveAuthorize is the authorization endpoint (RFC 6749 §4.1.1) for this
// server's own apps: code flow with PKCE S256 only. A user with a session
// here gets a code at once; anyone else is sent to the IdP first and comes
// back to this same request afterwards.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()

	ar := op.ReadAuthRequest(q.Get)
	_, problem, e := s.op.CheckAuthRequest(ctx, ar)
	switch {
	case problem != nil:
		s.errorPage(w, r, http.StatusBadRequest, problem.Title, problem.Message)
		return
	case e != nil:
		http.Redirect(w, r, s.op.ErrorRedirect(ar, e), http.StatusFound)
		return
	}

	uid, authTime := s.op.SignedIn(ctx)
	// A step-up (RFC 9470 §4): the app asks for a new sign-in (prompt=login,
	// or one no older than max_age) and perhaps a stronger one
	// (acr_values). This server's session does not answer it; the IdP,
	// asked the same, does. The request comes back here without prompt,
	// so that the new session answers it.
	reauth := op.SignInAgain(q, authTime, s.cfg.Now())
	if uid == "" || reauth {
		// Not signed in here: find the person's organisation by the domain
		// of their email, federate to its IdP, then come back here.
		hint := q.Get("login_hint")
		var t *tenant
		switch {
		case hint == "" && len(s.tenants) == 1 && len(s.tenants[0].Domains) == 0:
			t = s.tenants[0]
		case hint == "":
			s.askEmail(w, r, http.StatusOK, "")
			return
		default:
			if t = s.tenantFor(hint); t == nil {
				s.askEmail(w, r, http.StatusBadRequest, "No organisation signs in here with addresses at "+emailDomainOrWhole(hint)+
					". Check the address, or ask your administrator whether your company is connected.")
				return
			}
		}
		if t.SAML {
			s.beginSAML(w, r, t, r.URL.RequestURI(), hint)
			return
		}
		extra := url.Values{"login_hint": {hint}}
		returnTo := r.URL.RequestURI()
		if reauth {
			for _, k := range []string{"prompt", "max_age", "acr_values"} {
				extra.Set(k, q.Get(k))
			}
			extra.Set("prompt", "login")
			// The new sign-in answers what was asked; asked again on the
			// way back, it would only ask again.
			back := r.URL.Query()
			back.Del("prompt")
			back.Del("max_age")
			back.Del("acr_values")
			returnTo = r.URL.Path + "?" + back.Encode()
		}
		if err := t.rp.Begin(w, r, returnTo, extra); err != nil {
			s.upstreamDown(w, r, t.IdP.Issuer, err)
		}
		return
	}

	back, err := s.op.IssueCode(ctx, ar, uid, authTime, s.op.Methods(ctx))
	if err != nil {
		s.cfg.Log.Error("store authorization code", "err", err)
		http.Redirect(w, r, s.op.ErrorRedirect(ar, oauth.ServerError(err)), http.StatusFound)
		return
	}
	http.Redirect(w, r, back, http.StatusFound)
}

// serveFederationCallback finishes the sign-in at the IdP: it verifies the
// IdP's ID token (go-oidc), links the IdP subject to a local account, keeps
// the IdP tokens server side for later token exchanges, and signs the user in
// here.
func (s *Server) serveFederationCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t := s.tenantByIssuer(s.pending.Issuer(r))
	if t == nil {
		s.errorPage(w, r, http.StatusBadRequest, "Sign-in did not complete", "This sign-in is stale or was started in another browser. Go back to the application and sign in again.")
		return
	}
	res, err := t.rp.Finish(ctx, w, r)
	var ce *signin.CallbackError
	switch {
	case errors.As(err, &ce):
		s.errorPage(w, r, http.StatusBadRequest, "Sign-in did not complete", describeCallback(ce))
		return
	case err != nil:
		s.upstreamDown(w, r, t.IdP.Issuer, err)
		return
	}
	if res.Claims.Email == "" {
		s.errorPage(w, r, http.StatusBadRequest, "No email address", "The identity provider did not share your email address, which this server needs to find your account.")
		return
	}
	if !t.owns(res.Claims.Email) {
		s.errorPage(w, r, http.StatusForbidden, "Another organisation's account", "You signed in with "+res.Claims.Email+", which does not belong to the organisation you chose. Sign in again with your work account.")
		return
	}
	user, ok := s.linkAtSignIn(w, r, t, t.IdP.Issuer, res.Claims.Tenant, res.Claims.Subject, res.Claims.Email, res.Claims.Name)
	if !ok {
		return
	}
	err = s.store.saveUpstream(ctx, &UpstreamSession{
		UserID: user.ID, IdPIssuer: t.IdP.Issuer, IDToken: res.IDToken, RefreshToken: res.RefreshToken, Expiry: res.Expiry,
	})
	if err != nil {
		s.cfg.Log.Error("save IdP tokens", "err", err)
		s.errorPage(w, r, http.StatusInternalServerError, "Account problem", "Your sign-in could not be saved. Try again in a moment.")
		return
	}
	authTime := s.cfg.Now()
	if res.Claims.AuthTime != 0 {
		authTime = time.Unix(res.Claims.AuthTime, 0)
	}
	// The IdP's methods, so that this server's ID token says how the
	// person really signed in.
	if err := s.op.SignIn(ctx, user.ID, authTime, res.Claims.AMR); err != nil {
		s.errorPage(w, r, http.StatusInternalServerError, "Session problem", "Your session could not be started.")
		return
	}
	s.cfg.Log.Info("signed in through the IdP", "user", user.ID)
	http.Redirect(w, r, res.ReturnTo, http.StatusFound)
}

func describeCallback(ce *signin.CallbackError) string {
	switch ce.Code {
	case "access_denied":
		return "The identity provider refused the sign-in. " + ce.Description
	case "invalid_state", "invalid_nonce", "invalid_grant":
		return ce.Description
	}
	msg := "The identity provider answered " + ce.Code + "."
	if ce.Description != "" {
		msg += " " + ce.Description
	}
	return msg
}

func (s *Server) upstreamDown(w http.ResponseWriter, r *http.Request, issuer string, err error) {
	var ce *samlConfigError
	if errors.As(err, &ce) {
		s.cfg.Log.Error("SAML identity provider refused", "err", err)
		s.errorPage(w, r, http.StatusBadGateway, "Identity provider not trusted as configured",
			"This organisation's SAML identity provider ("+ce.metadata+") cannot be used: "+ce.err.Error()+". Ask the administrator of this server to check its SAML configuration.")
		return
	}
	s.cfg.Log.Warn("identity provider unreachable", "issuer", issuer, "err", err)
	s.errorPage(w, r, http.StatusBadGateway, "Identity provider unavailable",
		"The enterprise identity provider at "+issuer+" did not answer. Is it running? Try again in a moment.")
}

// askEmail asks for a work email, which picks the organisation; the form
// repeats the authorization request with login_hint set.
func (s *Server) askEmail(w http.ResponseWriter, r *http.Request, status int, problem string) {
	q := r.URL.Query()
	var fields [][2]string
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method"} {
		if v := q.Get(k); v != "" {
			fields = append(fields, [2]string{k, v})
		}
	}
	// The way back is the application's own start page: redirect_uri was
	// checked against the client's registration before this page.
	back := ""
	if u, err := url.Parse(q.Get("redirect_uri")); err == nil && u.Host != "" {
		back = u.Scheme + "://" + u.Host + "/"
	}
	m := s.meta()
	m.Title = "Sign in"
	_ = web.WritePage(w, r, status, web.Layout(m, askEmailPage(fields, q.Get("login_hint"), problem, back)))
}

func emailDomainOrWhole(email string) string {
	if d := maildomain.Of(email); d != "" {
		return "@" + d
	}
	return "“" + email + "”"
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	web.WriteErrorPage(w, r, s.meta(), status, title, msg)
}

// linkAtSignIn finds or makes the account a federated sign-in (OpenID
// Connect or SAML) is about, as the authority (issuer or SAML entity)
// vouched for it: the account must belong to the tenant's organisation.
// When it cannot, it answers the browser with the page that says why and
// reports false, having written nothing.
func (s *Server) linkAtSignIn(w http.ResponseWriter, r *http.Request, t *tenant, authority, tenantID, subject, email, name string) (*User, bool) {
	user, err := s.store.linkUser(r.Context(), authority, tenantID, subject, email, name, t.owns)
	switch {
	case errors.Is(err, jwtbearer.ErrDeactivated):
		s.deactivatedPage(w, r)
		return nil, false
	case errors.Is(err, ErrOtherOrganisation):
		s.cfg.Log.Warn("sign-in refused: the identity provider's subject is linked to another organisation's account", "authority", authority)
		s.errorPage(w, r, http.StatusForbidden, "Another organisation's account",
			"Your identity provider named a person whose account here belongs to another organisation, so this sign-in cannot continue. Ask your administrator to check how your organisation's sign-in is set up.")
		return nil, false
	case err != nil:
		s.cfg.Log.Error("link user", "err", err)
		s.errorPage(w, r, http.StatusInternalServerError, "Account problem", "Your account could not be set up. Try again in a moment.")
		return nil, false
	}
	return user, true
}
