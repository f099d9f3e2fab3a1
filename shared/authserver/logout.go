package authserver

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"

	"xaa.example/shared/op"

	"xaa.example/shared/oauth"
	"xaa.example/shared/web"
)

const sessionLogoutCSRF = "logout_csrf"

// serveLogout is the end-session endpoint (OpenID Connect RP-Initiated
// Logout 1.0 §2). Signing out forgets the IdP tokens kept for the person,
// so no other site may cause it: a GET signs out at once only with an
// id_token_hint this server issued, to this very person (the app that
// sends people here proves it that way, §2); any other GET is asked to
// confirm, with a form whose POST carries this session's CSRF token (§3).
// Afterwards the browser returns to post_logout_redirect_uri when it is
// one of the client's own addresses. The IdP's session is the IdP's:
// signing out of one app does not sign a person out of their company.
func (s *Server) serveLogout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		_ = r.ParseForm()
		q = r.PostForm
		want := s.op.Sessions.GetString(ctx, sessionLogoutCSRF)
		if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(q.Get("csrf"))) != 1 {
			s.errorPage(w, r, http.StatusForbidden, "Sign-out not confirmed", "This sign-out form is stale or was not opened here, so you are still signed in. Open the sign-out page again.")
			return
		}
	} else if uid, _ := s.op.SignedIn(ctx); uid != "" && !s.hintNames(q.Get("id_token_hint"), q.Get("client_id"), uid) {
		s.confirmLogout(w, r, q)
		return
	}
	s.endSession(ctx)
	if back := q.Get("post_logout_redirect_uri"); back != "" && s.allowedAfterLogout(ctx, q.Get("client_id"), back) {
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	m := s.meta()
	m.Title = "Signed out"
	_ = web.WritePage(w, r, http.StatusOK, web.Layout(m, signedOutPage()))
}

// hintNames reports whether hint is an ID token of this server about the
// user (its signature, issuer and subject; it may have expired, §2), issued
// to the client named, when one is.
func (s *Server) hintNames(hint, clientID, userID string) bool {
	if hint == "" {
		return false
	}
	var c op.IDClaims
	if err := s.op.Keys.Verify(hint, oauth.TypJWT, &c); err != nil {
		return false
	}
	return c.Issuer == s.cfg.Issuer && c.Subject == userID && (clientID == "" || c.Audience.Contains(clientID))
}

func (s *Server) confirmLogout(w http.ResponseWriter, r *http.Request, q url.Values) {
	ctx := r.Context()
	token := s.op.Sessions.GetString(ctx, sessionLogoutCSRF)
	if token == "" {
		token = rand.Text()
		s.op.Sessions.Put(ctx, sessionLogoutCSRF, token)
	}
	m := s.meta()
	m.Title = "Sign out?"
	fields := [][2]string{{"csrf", token}}
	for _, k := range []string{"client_id", "post_logout_redirect_uri"} {
		if v := q.Get(k); v != "" {
			fields = append(fields, [2]string{k, v})
		}
	}
	_ = web.WritePage(w, r, http.StatusOK, web.Layout(m, confirmLogoutPage(fields)))
}

// endSession forgets the person here: the IdP tokens kept for them, and
// this server's session.
func (s *Server) endSession(ctx context.Context) {
	if uid, _ := s.op.SignedIn(ctx); uid != "" {
		if err := s.store.db.WithContext(ctx).Delete(&UpstreamSession{}, "user_id = ?", uid).Error; err != nil {
			s.cfg.Log.Error("forget IdP tokens", "err", err)
		}
		s.cfg.Log.Info("signed out", "user", uid)
	}
	if err := s.op.Sessions.Destroy(ctx); err != nil {
		s.cfg.Log.Error("end session", "err", err)
	}
}

// allowedAfterLogout accepts only the client's own origin as a place to
// return to, so the endpoint cannot be used to send people anywhere.
func (s *Server) allowedAfterLogout(ctx context.Context, clientID, target string) bool {
	c, err := s.clients.Client(ctx, clientID)
	if err != nil {
		return false
	}
	t, err := url.Parse(target)
	if err != nil || t.Host == "" {
		return false
	}
	for _, ru := range c.RedirectURIs {
		u, err := url.Parse(ru)
		if err == nil && u.Scheme == t.Scheme && strings.EqualFold(u.Host, t.Host) {
			return true
		}
	}
	return false
}
