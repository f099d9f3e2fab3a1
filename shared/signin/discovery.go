package signin

import (
	"context"
	"errors"
	"net/http"

	"github.com/coreos/go-oidc/v3/oidc"

	"xaa.example/shared/jwks"
)

// Metadata is an authorization server's metadata, as jwks.Discover reads
// it: one discovery for keys and for endpoints.
type Metadata = jwks.Metadata

// discover reads the issuer's metadata (RFC 8414, else OpenID Connect
// discovery); a client needs its token endpoint.
func discover(ctx context.Context, hc *http.Client, issuer string) (*Metadata, error) {
	md, err := jwks.Discover(ctx, hc, issuer)
	if err != nil {
		return nil, err
	}
	if md.TokenEndpoint == "" {
		return nil, errors.New(md.Source + " has no token_endpoint")
	}
	return md, nil
}

// oidcProvider makes go-oidc's provider from metadata already read, so that
// go-oidc does not fetch it again (and need not find it where it looks).
func (u *Upstream) oidcProvider(ctx context.Context, md *Metadata) *oidc.Provider {
	return (&oidc.ProviderConfig{
		IssuerURL:   md.Issuer,
		AuthURL:     md.AuthorizationEndpoint,
		TokenURL:    md.TokenEndpoint,
		UserInfoURL: md.UserinfoEndpoint,
		JWKSURL:     md.JWKSURI,
		Algorithms:  md.IDTokenSigningAlgs,
	}).NewProvider(u.Context(ctx))
}
