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
	md.Scopes = s.scopes()
	if s.verifier != nil {
		// ID-JAG draft §7.2.
		md.AuthorizationGrantProfiles = []string{oauth.ProfileIDJAG}
		// draft-ietf-oauth-client-id-metadata-document, Authorization
		// Server Metadata.
		md.ClientIDMetadataDocuments = s.cfg.ClientMetadataDocuments
	}
	op.ServeMetadata(w, md)
}

// grantTypes are the grants the token endpoint answers, for the overview.
func (s *Server) grantTypes() []string { return s.op.Metadata(op.Paths{}).GrantTypes }

func (s *Server) scopes() []string {
	set := oauth.Scopes{"openid", "profile", "email", "offline_access"}
	for _, r := range s.cfg.Resources {
		set = append(set, r.Scopes...)
	}
	return oauth.ParseScopes(set.String())
}
