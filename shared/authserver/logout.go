package authserver

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// serveLogout is the end-session endpoint (OpenID Connect RP-Initiated
// Logout 1.0): it ends the person's session here, forgets the IdP tokens
// kept for them, and returns to the app when post_logout_redirect_uri is
// one of the app's own addresses. The IdP's session is the IdP's: signing
// out of one app does not sign a person out of their company.
func (s *Server) serveLogout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if uid := s.sessions.GetString(ctx, sessionUserID); uid != "" {
		if err := s.store.db.WithContext(ctx).Delete(&UpstreamSession{}, "user_id = ?", uid).Error; err != nil {
			s.cfg.Log.Error("forget IdP tokens", "err", err)
		}
		s.cfg.Log.Info("signed out", "user", uid)
	}
	if err := s.sessions.Destroy(ctx); err != nil {
		s.cfg.Log.Error("end session", "err", err)
	}
	q := r.URL.Query()
	if back := q.Get("post_logout_redirect_uri"); back != "" && s.allowedAfterLogout(ctx, q.Get("client_id"), back) {
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	s.errorPage(w, r, http.StatusOK, "Signed out", "You are signed out of this authorization server. Close this tab, or go back to the application.")
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
