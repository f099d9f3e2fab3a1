package authserver

import (
	"context"

	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/accesstoken"
	"xaa.example/shared/codeflow"
	"xaa.example/shared/oauth"
)

// IDClaims are the claims of the ID tokens this server issues to its apps.
type IDClaims struct {
	Issuer   string           `json:"iss"`
	Subject  string           `json:"sub"`
	Audience jwt.Audience     `json:"aud"`
	Expiry   *jwt.NumericDate `json:"exp"`
	IssuedAt *jwt.NumericDate `json:"iat"`
	AuthTime *jwt.NumericDate `json:"auth_time,omitempty"`
	Nonce    string           `json:"nonce,omitempty"`
	Email    string           `json:"email,omitempty"`
	Verified bool             `json:"email_verified,omitempty"`
	Name     string           `json:"name,omitempty"`
}

// issueSession makes the token response of a sign-in or refresh: ID token,
// access token and a fresh refresh token.
func (s *Server) issueSession(ctx context.Context, sess codeflow.Session) (*oauth.TokenResponse, error) {
	u, err := s.store.user(ctx, sess.UserID)
	if err != nil {
		return nil, oauth.InvalidGrant("the account behind this grant no longer exists")
	}
	clientID, scope, authTime := sess.ClientID, sess.Scope, sess.AuthTime
	now := s.cfg.Now()
	client, err := s.clients.Client(ctx, sess.ClientID)
	if err != nil {
		return nil, oauth.InvalidGrant("the client behind this grant is no longer registered")
	}
	idt, err := s.keys.SignWith(client.IDTokenAlgorithm(), oauth.TypJWT, IDClaims{
		Issuer:   s.cfg.Issuer,
		Subject:  u.ID,
		Audience: jwt.Audience{clientID},
		Expiry:   jwt.NewNumericDate(now.Add(s.cfg.IDTokenLifetime)),
		IssuedAt: jwt.NewNumericDate(now),
		AuthTime: jwt.NewNumericDate(authTime),
		Nonce:    sess.Nonce,
		Email:    u.Email,
		Verified: true,
		Name:     u.Name,
	})
	if err != nil {
		return nil, oauth.ServerError(err)
	}
	at, _, err := accesstoken.Issue(s.keys, accesstoken.Claims{
		Issuer:   s.cfg.Issuer,
		Subject:  u.ID,
		Audience: jwt.Audience{s.cfg.Issuer},
		ClientID: clientID,
		Scope:    scope,
		AuthTime: jwt.NewNumericDate(authTime),
	}, now, s.cfg.AccessTokenLifetime)
	if err != nil {
		return nil, oauth.ServerError(err)
	}
	refresh, err := s.codes.NewRefreshToken(ctx, sess)
	if err != nil {
		return nil, oauth.ServerError(err)
	}
	return &oauth.TokenResponse{
		AccessToken:  at,
		TokenType:    "Bearer",
		ExpiresIn:    int64(s.cfg.AccessTokenLifetime.Seconds()),
		Scope:        scope,
		RefreshToken: refresh,
		IDToken:      idt,
	}, nil
}
