package provider

import (
	"net/http"
	"strings"

	"xaa.example/shared/accesstoken"
	"xaa.example/shared/oauth"
)

// serveUserinfo (OIDC Core §5.3) answers for the IdP's own access tokens.
func (s *Server) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var c accesstoken.Claims
	if !ok || s.op.Keys.Verify(raw, oauth.TypAccessToken, &c) != nil ||
		!c.Audience.Contains(s.cfg.Issuer+pathUserinfo) || c.Expiry == nil || !s.cfg.Now().Before(c.Expiry.Time()) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	u, err := s.store.User(r.Context(), c.Subject)
	if err != nil || u.Disabled {
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	oauth.WriteJSON(w, http.StatusOK, map[string]any{"sub": u.ID, "email": u.Email, "email_verified": true, "name": u.Name})
}
