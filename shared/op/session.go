package op

import (
	"context"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/accesstoken"
	"xaa.example/shared/codeflow"
	"xaa.example/shared/oauth"
)

// IDClaims are the claims of the ID tokens a provider issues (OIDC Core
// §2), and what it reads back from one presented as a subject token.
type IDClaims struct {
	Issuer        string           `json:"iss"`
	Subject       string           `json:"sub"`
	Audience      jwt.Audience     `json:"aud"`
	Expiry        *jwt.NumericDate `json:"exp"`
	IssuedAt      *jwt.NumericDate `json:"iat"`
	AuthTime      *jwt.NumericDate `json:"auth_time,omitempty"`
	Nonce         string           `json:"nonce,omitempty"`
	Email         string           `json:"email,omitempty"`
	EmailVerified bool             `json:"email_verified,omitempty"`
	Name          string           `json:"name,omitempty"`
	AMR           []string         `json:"amr,omitempty"`
	ACR           string           `json:"acr,omitempty"`
}

// SessionPolicy is what differs between providers in a sign-in's tokens.
type SessionPolicy struct {
	IDTokenLifetime     time.Duration
	AccessTokenLifetime time.Duration
	// AccessAudience is the aud of the access token issued beside the ID
	// token: the IdP's userinfo endpoint, an authorization server itself.
	AccessAudience string
	// RefreshOnlyOffline issues a refresh token only when offline_access
	// was asked for (OIDC Core §11); otherwise always.
	RefreshOnlyOffline bool
	// AMR are the authentication methods an ID token names (RFC 8176)
	// when its sign-in recorded none.
	AMR []string
	// ACR names the assurance of a sign-in by its methods (OIDC Core §2
	// acr); nil: ID tokens carry none.
	ACR func(amr []string) string
}

// IssueSession answers the code and refresh grants: an ID token for the
// client, an access token, and a refresh token as the policy says. A person
// an administrator disabled gets nothing more.
func (p *Provider) IssueSession(ctx context.Context, sess codeflow.Session) (*oauth.TokenResponse, error) {
	u, err := p.cfg.Accounts.Account(ctx, sess.UserID)
	if err != nil {
		return nil, oauth.InvalidGrant("the account behind this grant no longer exists")
	}
	if u.Disabled {
		return nil, oauth.InvalidGrant("the account behind this grant is disabled by the administrator").WithReason(oauth.ReasonAccountDisabled)
	}
	client, err := p.cfg.Clients.Client(ctx, sess.ClientID)
	if err != nil {
		return nil, oauth.InvalidGrant("the client behind this grant is no longer registered")
	}
	pol, now := p.cfg.Sessions, p.cfg.Now()
	amr, acr := sess.AMR, ""
	if len(amr) == 0 {
		amr = pol.AMR
	}
	if pol.ACR != nil {
		acr = pol.ACR(amr)
	}
	idt, err := p.Keys.SignWith(client.IDTokenAlgorithm(), oauth.TypJWT, IDClaims{
		Issuer: p.cfg.Issuer, Subject: u.ID, Audience: jwt.Audience{sess.ClientID},
		Expiry: jwt.NewNumericDate(now.Add(pol.IDTokenLifetime)), IssuedAt: jwt.NewNumericDate(now),
		AuthTime: jwt.NewNumericDate(sess.AuthTime), Nonce: sess.Nonce,
		Email: u.Email, EmailVerified: u.Email != "", Name: u.Name, AMR: amr, ACR: acr,
	})
	if err != nil {
		return nil, oauth.ServerError(err)
	}
	at, _, err := accesstoken.Issue(p.Keys, accesstoken.Claims{
		Issuer: p.cfg.Issuer, Subject: u.ID, Audience: jwt.Audience{pol.AccessAudience},
		ClientID: sess.ClientID, Scope: sess.Scope, AuthTime: jwt.NewNumericDate(sess.AuthTime),
	}, now, pol.AccessTokenLifetime)
	if err != nil {
		return nil, oauth.ServerError(err)
	}
	resp := &oauth.TokenResponse{
		AccessToken: at, TokenType: "Bearer", ExpiresIn: int64(pol.AccessTokenLifetime.Seconds()),
		Scope: sess.Scope, IDToken: idt,
	}
	if !pol.RefreshOnlyOffline || oauth.ParseScopes(sess.Scope).Has("offline_access") {
		if resp.RefreshToken, err = p.Codes.NewRefreshToken(ctx, sess); err != nil {
			return nil, oauth.ServerError(err)
		}
	}
	return resp, nil
}

// SubjectSkew tolerates clock differences on a subject token's exp.
const SubjectSkew = time.Minute

// VerifyIDToken checks an ID token presented back to this provider as a
// subject token (RFC 8693 §2.1): signed by its keys, its own issuer,
// issued to clientID (the authenticated client), unexpired.
func (p *Provider) VerifyIDToken(raw, clientID string) (*IDClaims, *oauth.Error) {
	var c IDClaims
	if err := p.Keys.Verify(raw, oauth.TypJWT, &c); err != nil {
		return nil, oauth.InvalidGrant("subject_token is not an ID token issued by %s", p.cfg.Issuer).WithReason(oauth.ReasonSignInAgain).WithCause(err)
	}
	switch {
	case c.Issuer != p.cfg.Issuer:
		return nil, oauth.InvalidGrant("subject_token was issued by another server").WithReason(oauth.ReasonSignInAgain)
	case !c.Audience.Contains(clientID):
		return nil, oauth.InvalidGrant("subject_token was not issued to the authenticated client").WithReason(oauth.ReasonSignInAgain)
	case c.Expiry == nil || !p.cfg.Now().Before(c.Expiry.Time().Add(SubjectSkew)):
		return nil, oauth.InvalidGrant("subject_token has expired").WithReason(oauth.ReasonSignInAgain)
	}
	return &c, nil
}
