package provider

import (
	"net/http"
	"slices"
	"strings"

	"xaa.example/idp/store"
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

// The assurance levels (acr, OIDC Core §2) of the IdP's sign-ins, named
// by what they rest on.
const (
	// ACRPhishingResistant: a passkey was used (OpenID Enterprise
	// Authentication Policy's "phr": phishing-resistant).
	ACRPhishingResistant = store.ACRPhishingResistant
	// ACRPassword: a password alone.
	ACRPassword = "urn:xaa:acr:pwd"
)

// ACR is the assurance level of a sign-in made with amr's methods (RFC
// 8176): a passkey's proof of a hardware-held key (hwk) makes it
// phishing-resistant.
func ACR(amr []string) string {
	switch {
	case slices.Contains(amr, "hwk"):
		return ACRPhishingResistant
	case slices.Contains(amr, "pwd"):
		return ACRPassword
	}
	return ""
}
