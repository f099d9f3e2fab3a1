package authserver

import (
	"context"
	"errors"
	"slices"

	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/accesstoken"
	"xaa.example/shared/idjag"
	"xaa.example/shared/oauth"
	"xaa.example/shared/storage"
)

// jwtBearerGrant redeems an ID-JAG for an access token (RFC 7523 §2.1,
// ID-JAG draft §4.4). The verifier runs checks 1 to 9 of PROTOCOL.md; the
// policy below is checks 10 to 12.
type jwtBearerGrant struct{ s *Server }

// decision is what the policy found, used once the jti is consumed.
type decision struct {
	resources []string
	scope     oauth.Scopes
	user      *User // nil when the account is made just in time
}

func (g *jwtBearerGrant) Handle(ctx context.Context, req *oauth.TokenRequest) (*oauth.TokenResponse, error) {
	var d decision
	policy := func(v *idjag.Verified) error { return g.decide(ctx, req, v, &d) }
	v, err := g.s.verifier.Verify(ctx, req.Get("assertion"), req.Client.ID, policy)
	if err != nil {
		return nil, err
	}
	c := v.Claims
	if d.user == nil {
		// 12, just in time: the issuer's policy allowed this email's domain.
		d.user, err = g.s.store.linkUser(ctx, c.Issuer, c.Subject, c.Email, c.Email)
		if err != nil {
			return nil, oauth.ServerError(err)
		}
	}
	now := g.s.cfg.Now()
	at, _, err := accesstoken.Issue(g.s.keys, accesstoken.Claims{
		Issuer:   g.s.cfg.Issuer,
		Subject:  d.user.ID,
		Audience: jwt.Audience(d.resources),
		ClientID: req.Client.ID,
		Scope:    d.scope.String(),
		AuthTime: c.AuthTime,
		Email:    d.user.Email,
	}, now, g.s.cfg.AccessTokenLifetime)
	if err != nil {
		return nil, oauth.ServerError(err)
	}
	// No refresh token: when the access token expires, the client asks the
	// IdP for a new ID-JAG (draft §4.4.3).
	return &oauth.TokenResponse{
		AccessToken: at,
		TokenType:   "Bearer",
		ExpiresIn:   int64(g.s.cfg.AccessTokenLifetime.Seconds()),
		Scope:       d.scope.String(),
	}, nil
}

func (g *jwtBearerGrant) decide(ctx context.Context, req *oauth.TokenRequest, v *idjag.Verified, d *decision) error {
	c := v.Claims

	// 10. The resource(s) must be governed here; the access token's aud is
	// the resource. Without a resource claim, the default resource.
	d.resources = c.Resource
	if len(d.resources) == 0 {
		d.resources = []string{g.s.cfg.Resources[0].URI}
	}
	known := oauth.Scopes{}
	for _, uri := range d.resources {
		r := g.s.resource(uri)
		if r == nil {
			return oauth.InvalidGrant("the assertion's resource %s is not governed by this authorization server", uri)
		}
		known = append(known, r.Scopes...)
	}
	if want := req.Get("resource"); want != "" {
		if !slices.Contains(d.resources, want) {
			return oauth.InvalidTarget("resource %s is not among the resources of the assertion", want)
		}
		d.resources = []string{want}
	}

	// 11. granted = requested ∩ assertion scope ∩ client's allowed scopes ∩
	// the resource's scopes. A missing scope claim grants nothing.
	d.scope = oauth.ParseScopes(c.Scope).Intersect(oauth.ParseScopes(known.String()))
	if requested := req.Get("scope"); requested != "" {
		d.scope = d.scope.Intersect(oauth.ParseScopes(requested))
	}
	if len(req.Client.Scopes) > 0 {
		d.scope = d.scope.Intersect(oauth.Scopes(req.Client.Scopes))
	}
	if len(d.scope) == 0 {
		return oauth.InvalidScope("no requested scope is both granted by the assertion and allowed for this client")
	}

	// 12. The subject must be linked at SSO, unless the issuer's policy lets
	// an account be made (or linked by email) just in time.
	u, err := g.s.store.userByLink(ctx, c.Issuer, c.Subject)
	switch {
	case err == nil:
		d.user = u
	case !errors.Is(err, storage.ErrNotFound):
		return oauth.ServerError(err)
	case v.Issuer.JIT.Allows(c.Email):
		d.user = nil
	default:
		return oauth.InvalidGrant("the user has no account at this authorization server yet: sign in to the app once, or allow just-in-time accounts for this IdP")
	}
	return nil
}

func (s *Server) resource(uri string) *Resource {
	for i := range s.cfg.Resources {
		if s.cfg.Resources[i].URI == uri {
			return &s.cfg.Resources[i]
		}
	}
	return nil
}
