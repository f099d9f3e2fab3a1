// Package wikias is the wiki's authorization server: the shared authserver
// core, registered for the wiki app and federating sign-in to the IdP,
// built with the feature of a requesting app's server: it exchanges the
// wiki's ID tokens for ID-JAGs at the person's IdP (the requesting side of
// Cross App Access).
package wikias

import (
	"context"

	"xaa.example/shared/authserver"
	"xaa.example/shared/demo"
	"xaa.example/shared/oauth"
	"xaa.example/shared/trace"
)

// New starts the wiki AS: the core, with the token exchange relay.
func New(ctx context.Context, cfg authserver.Config) (*authserver.Server, error) {
	return authserver.New(ctx, cfg, authserver.WithTokenExchangeRelay())
}

// DefaultConfig is the wiki AS of the local demo for topology t.
func DefaultConfig(t demo.Topology) authserver.Config {
	return authserver.Config{
		Issuer:     t.WikiAS,
		Trace:      trace.NewStore("wiki-as"),
		Name:       "Wiki AS",
		Mark:       "WA",
		Icon:       "wiki-as",
		CookieName: "xaa_wikias_session",
		// The local IdP hosts the three demo organisations; two sign in
		// with OpenID Connect, the third (tables.fake3) with SAML 2.0.
		Tenants: []authserver.Tenant{{
			Domains: demo.OrgDomains()[:2],
			IdP:     authserver.Upstream{Issuer: t.IdP, ClientID: demo.WikiASClientAtIdP, ClientSecret: demo.WikiASSecretAtIdP},
		}, {
			Domains: demo.OrgDomains()[2:],
			IdP:     authserver.Upstream{Issuer: t.IdP + "/saml/metadata", TokenIssuer: t.IdP, ClientID: demo.WikiASClientAtIdP, ClientSecret: demo.WikiASSecretAtIdP},
			SAML:    true,
		}},
		Clients: []oauth.Client{{
			ID:           demo.WikiClient,
			Secret:       demo.WikiSecret,
			RedirectURIs: []string{t.Wiki + "/callback"},
			GrantTypes:   []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken, oauth.GrantTokenExchange},
		}},
	}
}
