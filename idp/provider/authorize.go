package provider

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"xaa.example/idp/audit"
	"xaa.example/idp/throttle"
	"xaa.example/shared/op"

	"github.com/gin-gonic/gin"

	"xaa.example/shared/oauth"
	"xaa.example/shared/signin"
	"xaa.example/shared/storage"
	"xaa.example/shared/web"
)

// authRequest is an authorization request (op.AuthRequest) with what the
// person typed. The sign-in form carries it in hidden fields and it is
// checked again on submit.
type authRequest struct {
	op.AuthRequest
	Email string // typed by the person, kept across a failed attempt
	// ACRValues asks for a sign-in of these assurance levels (OIDC Core
	// §3.1.2.1); this IdP knows phr, which a passkey gives. It is how a
	// client asks for a step-up (RFC 9470 §4).
	ACRValues string
}

func readAuthRequest(get func(string) string) authRequest {
	return authRequest{AuthRequest: op.ReadAuthRequest(get), ACRValues: get("acr_values")}
}

// wantsPasskey reports whether the request asks for a passkey's assurance.
func (ar authRequest) wantsPasskey() bool {
	return slices.Contains(strings.Fields(ar.ACRValues), ACRPhishingResistant)
}

// check validates ar. A problem with the client or its redirect URI is
// shown on a page (never redirected, RFC 6749 §4.1.2.1); any other problem
// is sent back to the client.
func (s *Server) check(c *gin.Context, ar authRequest) bool {
	_, problem, e := s.op.CheckAuthRequest(c.Request.Context(), ar.AuthRequest)
	switch {
	case problem != nil:
		web.RenderError(c, http.StatusBadRequest, problem.Title, problem.Message)
		return false
	case e != nil:
		c.Redirect(http.StatusFound, s.op.ErrorRedirect(ar.AuthRequest, e))
		return false
	}
	return true
}

func (s *Server) serveAuthorize(c *gin.Context) {
	ar := readAuthRequest(c.Query)
	if !s.check(c, ar) {
		return
	}
	ctx := c.Request.Context()
	if uid, authTime := s.op.SignedIn(ctx); uid != "" && !op.SignInAgain(c.Request.URL.Query(), authTime, s.cfg.Now()) {
		if u, err := s.store.User(ctx, uid); err == nil && !u.Disabled {
			// An organisation that now requires a passkey, or a client
			// asking for one (acr_values phr): a session made without
			// one does not answer for it.
			amr := s.op.Methods(ctx)
			if d := s.demandPasskey(ctx, u, amr, ar); d.ask {
				s.askForPasskey(c, u, d, amr, loginContinue(ar, ""))
				return
			}
			// Single sign-on: an IdP session answers at once.
			s.issueCode(c, ar, u.ID, authTime)
			return
		}
		s.op.Forget(ctx)
	}
	s.renderLogin(c, ar, http.StatusOK, "", "")
}

// serveLogin checks the password and continues the authorization request.
func (s *Server) serveLogin(c *gin.Context) {
	ctx := c.Request.Context()
	if !s.formCSRFValid(c) {
		web.RenderError(c, http.StatusForbidden, "Sign-in form expired", "This sign-in form is stale or was not opened here. Go back to the application and start the sign-in again.")
		return
	}
	ar := readAuthRequest(c.PostForm)
	// Without a client, this is a sign-in at the IdP itself (the admin
	// console); with one, it continues an authorization request.
	direct := ar.ClientID == ""
	next := signin.SafeReturn(c.PostForm("next"))
	// The form continues a code request checked when it was shown.
	ar.ResponseType = "code"
	if !direct && !s.check(c, ar) {
		return
	}
	email, addr, now := c.PostForm("email"), throttle.ClientAddress(c.Request), s.cfg.Now()
	ar.Email = email
	if wait, err := s.throttle.LockedFor(ctx, now, email, addr); err != nil {
		s.cfg.Log.Error("sign-in throttle", "err", err)
		web.RenderError(c, http.StatusInternalServerError, "Sign-in failed", "The identity provider could not check your password. Try again in a moment.")
		return
	} else if wait > 0 {
		s.tooManyAttempts(c, ar, next, email, addr, wait)
		return
	}
	u, err := s.store.CheckPassword(ctx, email, c.PostForm("password"))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		wait := s.signInFailed(ctx, now, email, addr)
		if wait > 0 {
			s.tooManyAttempts(c, ar, next, email, addr, wait)
			return
		}
		s.renderLogin(c, ar, http.StatusUnauthorized, "That email and password do not match an account. Check both and try again.", next)
		return
	case err != nil:
		s.cfg.Log.Error("check password", "err", err)
		web.RenderError(c, http.StatusInternalServerError, "Sign-in failed", "The identity provider could not check your password. Try again in a moment.")
		return
	case u.Disabled:
		s.renderLogin(c, ar, http.StatusForbidden, "This account is disabled. Ask your administrator to enable it.", next)
		return
	}
	// The app asked for a person of one organisation (login_hint): an
	// account of another one does not answer that request.
	if org, err := s.store.OrgByEmail(ctx, c.PostForm("login_hint")); err == nil && org.ID != u.OrgID {
		s.renderLogin(c, ar, http.StatusForbidden, "This account does not belong to "+org.Name+". Sign in with your "+org.Name+" account.", next)
		return
	}
	if err := s.throttle.Forget(ctx, email); err != nil {
		s.cfg.Log.Error("sign-in throttle", "err", err)
	}
	amr := []string{"pwd"}
	if d := s.demandPasskey(ctx, u, amr, ar); d.ask {
		s.askForPasskey(c, u, d, amr, loginContinue(ar, next))
		return
	}
	if err := s.op.SignIn(ctx, u.ID, now, amr); err != nil {
		web.RenderError(c, http.StatusInternalServerError, "Sign-in failed", "Your session could not be started.")
		return
	}
	s.cfg.Log.Info("user signed in", "user", u.ID)
	if direct {
		c.Redirect(http.StatusSeeOther, next)
		return
	}
	s.issueCode(c, ar, u.ID, now)
}

// signInFailed counts a wrong password against the account and the client
// address, logs and audits it (never the password), and returns how long
// the sign-in is now locked, if it is.
func (s *Server) signInFailed(ctx context.Context, now time.Time, email, addr string) time.Duration {
	wait, err := s.throttle.Failed(ctx, now, email, addr)
	if err != nil {
		s.cfg.Log.Error("sign-in throttle", "err", err)
	}
	reason := "wrong email or password"
	if wait > 0 {
		reason += "; sign-in locked for " + wait.String()
	}
	s.auditSignIn(ctx, email, addr, reason)
	return wait
}

// tooManyAttempts answers a locked sign-in: 429 with Retry-After (RFC 6585
// §4), the password not even looked at.
func (s *Server) tooManyAttempts(c *gin.Context, ar authRequest, next, email, addr string, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	c.Header("Retry-After", strconv.Itoa(secs))
	s.cfg.Log.Warn("sign-in locked", "event", audit.SignInLocked, "email", email, "addr", addr, "retry_after_s", secs)
	s.renderLogin(c, ar, http.StatusTooManyRequests,
		fmt.Sprintf("Too many failed sign-ins for this account or from this address. Wait %s, then try again; an administrator can unlock the account sooner.", waitWords(secs)), next)
}

func waitWords(secs int) string {
	switch {
	case secs == 1:
		return "1 second"
	case secs < 90:
		return strconv.Itoa(secs) + " seconds"
	}
	return strconv.Itoa((secs+59)/60) + " minutes"
}

func (s *Server) renderLogin(c *gin.Context, ar authRequest, status int, problem, next string) {
	ctx := c.Request.Context()
	csrf := s.formCSRF(c)
	m := s.meta()
	m.Title, m.Scripts = "Sign in", []string{pathPasskeyScript}
	orgName := ""
	if org, err := s.store.OrgByEmail(ctx, ar.LoginHint); err == nil {
		orgName = org.Name
	}
	web.Render(c, status, web.Layout(m, loginPage(loginView{
		OrgName:  orgName,
		Request:  ar,
		CSRF:     csrf,
		Problem:  problem,
		Users:    s.cfg.Users,
		Password: s.cfg.Password,
		Action:   pathLogin,
		Next:     next,
		Continue: loginContinue(ar, next),
		Passkeys: s.passkeys.Off == "",
	})))
}

// loginContinue is where a sign-in made on another request (a passkey's)
// goes: the authorization request again, which the session now answers,
// or next outside one.
func loginContinue(ar authRequest, next string) string {
	if ar.ClientID == "" {
		return next
	}
	q := ar.Query()
	q.Set("response_type", "code")
	return pathAuthorize + "?" + q.Encode()
}

// csrfCookie names the sign-in form's CSRF cookie. The form carries the same
// value (the double-submit pattern, OWASP's CSRF cheat sheet): a page of
// another site can neither read the cookie nor set it, and showing the
// sign-in form writes no session on the server.
func (s *Server) csrfCookie() string { return s.cfg.CookieName + "_csrf" }

// formCSRF is the token a form of the IdP's carries, set in the cookie the
// first time.
func (s *Server) formCSRF(c *gin.Context) string {
	csrf, _ := c.Cookie(s.csrfCookie())
	if len(csrf) < 16 || len(csrf) > 64 {
		csrf = rand.Text()
		http.SetCookie(c.Writer, &http.Cookie{Name: s.csrfCookie(), Value: csrf, Path: "/", HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteStrictMode})
	}
	return csrf
}

// forms are the IdP's CSRF-guarded forms, for the parts that show one.
type forms struct{ s *Server }

func (f forms) Token(c *gin.Context) string { return f.s.formCSRF(c) }
func (f forms) Valid(c *gin.Context) bool   { return f.s.formCSRFValid(c) }

// formCSRFValid reports whether a posted form carries the cookie's token.
func (s *Server) formCSRFValid(c *gin.Context) bool {
	want, _ := c.Cookie(s.csrfCookie())
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(c.PostForm("csrf"))) == 1
}

func (s *Server) issueCode(c *gin.Context, ar authRequest, userID string, authTime time.Time) {
	// The admin chose SAML for this person's organisation at this app (the
	// Apps tab): no OpenID Connect sign-in for it, said to the app as an
	// authorization error (RFC 6749 §4.1.2.1) that it shows.
	if refused := s.samlOnlyRefusal(c.Request.Context(), ar.ClientID, userID); refused != nil {
		c.Redirect(http.StatusFound, s.op.ErrorRedirect(ar.AuthRequest, refused))
		return
	}
	back, err := s.op.IssueCode(c.Request.Context(), ar.AuthRequest, userID, authTime, s.op.Methods(c.Request.Context()))
	if err != nil {
		s.cfg.Log.Error("store code", "err", err)
		back = s.op.ErrorRedirect(ar.AuthRequest, oauth.ServerError(err))
	}
	c.Redirect(http.StatusFound, back)
}

// samlOnlyRefusal is access_denied when userID's organisation signs in to
// clientID's app with SAML, else nil.
func (s *Server) samlOnlyRefusal(ctx context.Context, clientID, userID string) *oauth.Error {
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return oauth.ServerError(err)
	}
	app, err := s.saml.SAMLOnly(ctx, clientID, u.OrgID)
	if err != nil {
		return oauth.ServerError(err)
	}
	if app == nil {
		return nil
	}
	org := "your organisation"
	if o, err := s.store.Org(ctx, u.OrgID); err == nil {
		org = o.Name
	}
	return oauth.AccessDenied("The IdP's administrator set SAML 2.0 as the way %s signs in to this app, so the IdP gives no OpenID Connect sign-in for it: the app must send %s people to the IdP's SAML sign-in.", org, org)
}

// serveSignIn shows the sign-in form outside an authorization request, for
// the admin console and for signing in at the IdP itself.
func (s *Server) serveSignIn(c *gin.Context) {
	s.renderLogin(c, authRequest{AuthRequest: op.AuthRequest{LoginHint: c.Query("login_hint")}}, http.StatusOK, "", signin.SafeReturn(c.Query("next")))
}

// serveLogout ends the IdP session (every app's next sign-in asks again)
// and goes to next, a local path, or the start page.
func (s *Server) serveLogout(c *gin.Context) {
	_ = s.op.Sessions.Destroy(c.Request.Context())
	c.Redirect(http.StatusSeeOther, signin.SafeReturn(c.PostForm("next")))
}
