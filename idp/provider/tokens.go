package provider

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/accesstoken"
	"xaa.example/shared/codeflow"
	"xaa.example/shared/oauth"
)

// IDClaims of the IdP's ID tokens (OIDC Core §2).
type IDClaims struct {
	Issuer        string           `json:"iss"`
	Subject       string           `json:"sub"`
	Audience      jwt.Audience     `json:"aud"`
	Expiry        *jwt.NumericDate `json:"exp"`
	IssuedAt      *jwt.NumericDate `json:"iat"`
	AuthTime      *jwt.NumericDate `json:"auth_time,omitempty"`
	Nonce         string           `json:"nonce,omitempty"`
	Email         string           `json:"email"`
	EmailVerified bool             `json:"email_verified"`
	Name          string           `json:"name"`
	AMR           []string         `json:"amr,omitempty"`
}

// issueSession answers the code and refresh grants: an ID token, an access
// token for userinfo, and a refresh token when offline_access was asked for.
func (s *Server) issueSession(ctx context.Context, sess codeflow.Session) (*oauth.TokenResponse, error) {
	u, err := s.store.user(ctx, sess.UserID)
	if err != nil {
		return nil, oauth.InvalidGrant("the account behind this grant no longer exists")
	}
	if u.Disabled {
		return nil, oauth.InvalidGrant("the account behind this grant is disabled by the administrator")
	}
	now := s.cfg.Now()
	client, err := s.clients.Client(ctx, sess.ClientID)
	if err != nil {
		return nil, oauth.InvalidGrant("the client behind this grant is no longer registered")
	}
	idt, err := s.keys.SignWith(client.IDTokenAlgorithm(), oauth.TypJWT, IDClaims{
		Issuer: s.cfg.Issuer, Subject: u.ID, Audience: jwt.Audience{sess.ClientID},
		Expiry: jwt.NewNumericDate(now.Add(s.cfg.IDTokenLifetime)), IssuedAt: jwt.NewNumericDate(now),
		AuthTime: jwt.NewNumericDate(sess.AuthTime), Nonce: sess.Nonce,
		Email: u.Email, EmailVerified: true, Name: u.Name, AMR: []string{"pwd"},
	})
	if err != nil {
		return nil, oauth.ServerError(err)
	}
	at, _, err := accesstoken.Issue(s.keys, accesstoken.Claims{
		Issuer: s.cfg.Issuer, Subject: u.ID, Audience: jwt.Audience{s.cfg.Issuer + pathUserinfo},
		ClientID: sess.ClientID, Scope: sess.Scope,
	}, now, s.cfg.IDTokenLifetime)
	if err != nil {
		return nil, oauth.ServerError(err)
	}
	resp := &oauth.TokenResponse{
		AccessToken: at, TokenType: "Bearer", IDToken: idt, Scope: sess.Scope,
		ExpiresIn: int64(s.cfg.IDTokenLifetime.Seconds()),
	}
	if oauth.ParseScopes(sess.Scope).Has("offline_access") {
		if resp.RefreshToken, err = s.codes.NewRefreshToken(ctx, sess); err != nil {
			return nil, oauth.ServerError(err)
		}
	}
	return resp, nil
}

// serveUserinfo (OIDC Core §5.3) answers for the IdP's own access tokens.
func (s *Server) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var c accesstoken.Claims
	if !ok || s.keys.Verify(raw, oauth.TypAccessToken, &c) != nil ||
		!c.Audience.Contains(s.cfg.Issuer+pathUserinfo) || c.Expiry == nil || !s.cfg.Now().Before(c.Expiry.Time()) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	u, err := s.store.user(r.Context(), c.Subject)
	if err != nil || u.Disabled {
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	oauth.WriteJSON(w, http.StatusOK, map[string]any{"sub": u.ID, "email": u.Email, "email_verified": true, "name": u.Name})
}
