package provider

import (
	"context"
	"time"

	"xaa.example/shared/exchange"
	"xaa.example/shared/oauth"
)

// The IdP's token exchange is shared/exchange's grant; this file gives it
// the IdP's subject tokens and managed connections.

func (s *Server) exchangeGrant() *exchange.Grant {
	return &exchange.Grant{
		Issuer:       s.cfg.Issuer,
		Signer:       s.op.Keys,
		Subjects:     s,
		Connections:  s.store,
		Lifetime:     s.cfg.IDJAGLifetime,
		Now:          s.cfg.Now,
		Audit:        s.auditExchange,
		IssuedAt:     s.demoIssuedAt,
		WithoutEmail: !s.cfg.IDJAGEmail,
		// What the IdP's provisioning learned of the person's id at the
		// resource goes in the ID-JAG as aud_sub.
		// (Provisioning starts after this grant is built: read at each call.)
		AudienceSubject: func(ctx context.Context, audience, userID string) (string, error) {
			return s.provisioning.AudienceSubject(ctx, audience, userID)
		},
		// ID tokens; the SAML path's refresh tokens and assertions.
		SubjectTokenTypes: []string{oauth.TokenTypeIDToken, oauth.TokenTypeRefreshToken, oauth.TokenTypeSAML2},
	}
}

// demoIssuedAt backdates the ID-JAG by ten minutes when the request asks
// for the console's "expired ID-JAG" scenario and demo scenarios are on:
// a real, signed ID-JAG that expired five minutes ago.
func (s *Server) demoIssuedAt(req *oauth.TokenRequest, now time.Time) time.Time {
	if s.cfg.DemoScenarios && req.Form.Get("xaa_demo") == "expired" {
		return now.Add(-10 * time.Minute)
	}
	return now
}

// VerifySubject accepts this IdP's own ID tokens, issued to the client that
// presents them, about a user who is still active.
func (s *Server) VerifySubject(ctx context.Context, token, tokenType string, clientID string) (*exchange.Subject, error) {
	switch tokenType {
	case oauth.TokenTypeRefreshToken:
		// The draft's SAML path, second step: the refresh token the
		// client got for a SAML assertion.
		return s.verifyRefreshSubject(ctx, token, clientID)
	case oauth.TokenTypeSAML2:
		// The Node sample's path: the SAML assertion itself.
		u, a, err := s.verifySAMLAssertion(ctx, token, clientID, false)
		if err != nil {
			return nil, err
		}
		sub := &exchange.Subject{ID: u.ID, Email: u.Email}
		if len(a.AuthnStatements) > 0 {
			sub.AuthTime = a.AuthnStatements[0].AuthnInstant
		}
		return sub, nil
	}
	c, e := s.op.VerifyIDToken(token, clientID)
	if e != nil {
		return nil, e
	}
	u, err := s.store.User(ctx, c.Subject)
	if err != nil {
		return nil, oauth.InvalidGrant("the subject's account no longer exists")
	}
	if u.Disabled {
		return nil, oauth.InvalidGrant("the subject's account is disabled by the administrator").WithReason(oauth.ReasonAccountDisabled)
	}
	sub := &exchange.Subject{ID: u.ID, Email: u.Email, AMR: c.AMR, ACR: c.ACR}
	if c.AuthTime != nil {
		sub.AuthTime = c.AuthTime.Time()
	}
	return sub, nil
}
