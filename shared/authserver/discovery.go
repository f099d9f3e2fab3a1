package authserver

import (
	"net/http"
	"slices"

	"xaa.example/shared/keys"
	"xaa.example/shared/oauth"
)

func (s *Server) grantTypes() []string {
	var out []string
	for g := range s.token.Grants {
		out = append(out, g)
	}
	slices.Sort(out)
	return out
}

// serveDiscovery answers both OpenID Connect discovery and RFC 8414
// metadata with the same document. It never lists the trusted issuers
// (ID-JAG draft §8.4: metadata disclosure).
func (s *Server) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	iss := s.cfg.Issuer
	md := map[string]any{
		"issuer":                                           iss,
		"authorization_endpoint":                           iss + "/authorize",
		"token_endpoint":                                   iss + "/token",
		"jwks_uri":                                         iss + "/jwks",
		"end_session_endpoint":                             iss + "/logout",
		"response_types_supported":                         []string{"code"},
		"response_modes_supported":                         []string{"query"},
		"grant_types_supported":                            s.grantTypes(),
		"code_challenge_methods_supported":                 []string{"S256"},
		"token_endpoint_auth_methods_supported":            []string{oauth.AuthSecretBasic, oauth.AuthSecretPost, oauth.AuthPrivateKeyJWT},
		"token_endpoint_auth_signing_alg_values_supported": oauth.ClientAssertionAlgorithms,
		"subject_types_supported":                          []string{"public"},
		"id_token_signing_alg_values_supported":            keys.AlgorithmNames(),
		"scopes_supported":                                 s.scopes(),
		"claims_supported":                                 []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "email", "name"},
		// RFC 9207: the authorization response carries iss.
		"authorization_response_iss_parameter_supported": true,
	}
	if s.verifier != nil {
		// ID-JAG draft §7.2.
		md["authorization_grant_profiles_supported"] = []string{oauth.ProfileIDJAG}
	}
	if s.cfg.ClientMetadataDocuments && s.verifier != nil {
		// draft-ietf-oauth-client-id-metadata-document, Authorization
		// Server Metadata.
		md["client_id_metadata_document_supported"] = true
	}
	if _, ok := s.token.Grants[oauth.GrantTokenExchange]; ok {
		md["identity_chaining_requested_token_types_supported"] = []string{oauth.TokenTypeIDJAG}
	}
	oauth.WriteMetadata(w, md)
}

func (s *Server) scopes() []string {
	set := oauth.Scopes{"openid", "profile", "email", "offline_access"}
	for _, r := range s.cfg.Resources {
		set = append(set, r.Scopes...)
	}
	return oauth.ParseScopes(set.String())
}
