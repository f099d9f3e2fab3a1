package provider

import (
	"context"
	"time"

	"xaa.example/shared/idjag"
	"xaa.example/shared/oauth"
)

// tokenExchangeGrant issues ID-JAGs (ID-JAG draft §4.3, RFC 8693) for the
// managed connections the admin has enabled. The checks, in order, are the
// IdP's list in PROTOCOL.md.
type tokenExchangeGrant struct{ s *Server }

const subjectSkew = time.Minute

func (g *tokenExchangeGrant) Handle(ctx context.Context, req *oauth.TokenRequest) (*oauth.TokenResponse, error) {
	s := g.s
	switch {
	case req.Get("requested_token_type") != oauth.TokenTypeIDJAG:
		return nil, oauth.InvalidRequest("requested_token_type must be %s", oauth.TokenTypeIDJAG)
	case req.Get("subject_token") == "":
		return nil, oauth.InvalidRequest("subject_token is required")
	case req.Get("subject_token_type") != oauth.TokenTypeIDToken:
		return nil, oauth.InvalidRequest("subject_token_type %q is not supported; use %s", req.Get("subject_token_type"), oauth.TokenTypeIDToken)
	case req.Get("audience") == "":
		return nil, oauth.InvalidRequest("audience is required: the issuer of the resource authorization server")
	}

	// The subject token: an ID token of this IdP whose aud is the
	// authenticated client (draft §4.3.1).
	var sub IDClaims
	if err := s.keys.Verify(req.Get("subject_token"), oauth.TypJWT, &sub); err != nil {
		return nil, oauth.InvalidGrant("subject_token is not an ID token issued by this IdP").WithCause(err)
	}
	switch {
	case sub.Issuer != s.cfg.Issuer:
		return nil, oauth.InvalidGrant("subject_token was issued by another IdP")
	case !sub.Audience.Contains(req.Client.ID):
		return nil, oauth.InvalidGrant("subject_token was not issued to the authenticated client")
	case sub.Expiry == nil || !s.cfg.Now().Before(sub.Expiry.Time().Add(subjectSkew)):
		return nil, oauth.InvalidGrant("subject_token has expired")
	}
	user, err := s.store.user(ctx, sub.Subject)
	if err != nil || user.Disabled {
		return nil, oauth.InvalidGrant("the subject's account is gone or disabled")
	}

	// The audience must be a known resource authorization server, the
	// resource one it governs, and the connection enabled.
	audience := req.Get("audience")
	conns, err := s.store.connectionsTo(ctx, audience)
	if err != nil {
		return nil, oauth.ServerError(err)
	}
	if len(conns) == 0 {
		return nil, oauth.InvalidTarget("audience %s is not a known resource authorization server", audience)
	}
	var conn *Connection
	for i := range conns {
		if conns[i].RequestingClientID == req.Client.ID {
			conn = &conns[i]
		}
	}
	resource := req.Get("resource")
	if resource != "" && resource != conns[0].Resource {
		return nil, oauth.InvalidTarget("resource %s is not governed by %s", resource, audience)
	}
	if conn == nil || !conn.Enabled {
		return nil, oauth.AccessDenied("the administrator has not enabled access from this app to %s", audience)
	}
	if resource == "" {
		resource = conn.Resource
	}

	// Scopes are narrowed to what the connection allows (draft §4.3.1).
	allowed := oauth.ParseScopes(conn.AllowedScopes)
	scope := allowed
	if requested := req.Get("scope"); requested != "" {
		scope = oauth.ParseScopes(requested).Intersect(allowed)
		if len(scope) == 0 {
			return nil, oauth.InvalidScope("none of the requested scopes is allowed by the connection")
		}
	}

	var authTime time.Time
	if sub.AuthTime != nil {
		authTime = sub.AuthTime.Time()
	}
	token, claims, err := idjag.Issue(s.keys, idjag.Grant{
		Issuer:   s.cfg.Issuer,
		Subject:  user.ID,
		Audience: audience,
		ClientID: conn.ClientIDAtResource,
		Scope:    scope,
		Resource: resource,
		Email:    user.Email,
		AuthTime: authTime,
		AMR:      sub.AMR,
		Lifetime: s.cfg.IDJAGLifetime,
	}, s.cfg.Now())
	if err != nil {
		return nil, oauth.ServerError(err)
	}
	s.cfg.Log.Info("ID-JAG issued", "event", "app.oauth2.token.grant.id_jag", "user", user.ID,
		"client", req.Client.ID, "audience", audience, "scope", claims.Scope, "jti", claims.ID)
	return &oauth.TokenResponse{
		AccessToken:     token,
		IssuedTokenType: oauth.TokenTypeIDJAG,
		TokenType:       "N_A",
		ExpiresIn:       int64(s.cfg.IDJAGLifetime.Seconds()),
		Scope:           claims.Scope,
	}, nil
}
