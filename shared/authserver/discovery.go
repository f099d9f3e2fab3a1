package authserver

import (
	"net/http"

	"xaa.example/shared/oauth"
	"xaa.example/shared/op"
)

// serveDiscovery answers both OpenID Connect discovery and RFC 8414
// metadata with the same document, written from the core's typed metadata.
// It never lists the trusted issuers (ID-JAG draft §8.4: metadata
// disclosure).
func (s *Server) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	md := s.op.Metadata(op.Paths{Authorize: "/authorize", Token: "/token", Keys: "/jwks"})
	md.EndSessionEndpoint = s.cfg.Issuer + "/logout"
	md.Scopes = oauth.Scopes{"openid", "profile", "email", "offline_access"}
	for _, add := range s.metadata {
		add(&md)
	}
	md.Scopes = oauth.ParseScopes(oauth.Scopes(md.Scopes).String())
	op.ServeMetadata(w, md)
}

// grantTypes are the grants the token endpoint answers, for the overview.
func (s *Server) grantTypes() []string { return s.op.Metadata(op.Paths{}).GrantTypes }
