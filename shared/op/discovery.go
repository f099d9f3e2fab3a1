package op

import (
	"net/http"
	"slices"

	"github.com/go-jose/go-jose/v4"

	"xaa.example/shared/dpop"
	"xaa.example/shared/keys"
	"xaa.example/shared/oauth"
)

// Metadata is an authorization server's metadata (RFC 8414 §2) and OpenID
// Provider metadata (OIDC Discovery §3), with the extensions this project
// serves. Every discovery document here is written from it, so that what
// a server advertises follows from how it is built.
type Metadata struct {
	Issuer                       string                    `json:"issuer"`
	AuthorizationEndpoint        string                    `json:"authorization_endpoint,omitempty"`
	TokenEndpoint                string                    `json:"token_endpoint"`
	JWKSURI                      string                    `json:"jwks_uri"`
	UserinfoEndpoint             string                    `json:"userinfo_endpoint,omitempty"`
	EndSessionEndpoint           string                    `json:"end_session_endpoint,omitempty"`
	DeviceAuthorizationEndpoint  string                    `json:"device_authorization_endpoint,omitempty"`
	ResponseTypes                []string                  `json:"response_types_supported"`
	ResponseModes                []string                  `json:"response_modes_supported"`
	GrantTypes                   []string                  `json:"grant_types_supported"`
	CodeChallengeMethods         []string                  `json:"code_challenge_methods_supported"`
	TokenEndpointAuthMethods     []string                  `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgs []jose.SignatureAlgorithm `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	SubjectTypes                 []string                  `json:"subject_types_supported"`
	IDTokenSigningAlgs           []string                  `json:"id_token_signing_alg_values_supported"`
	Scopes                       []string                  `json:"scopes_supported"`
	Claims                       []string                  `json:"claims_supported"`
	// RFC 9207: the authorization response carries iss.
	AuthorizationResponseIss bool `json:"authorization_response_iss_parameter_supported"`
	// ID-JAG draft §7.2: this server accepts ID-JAGs.
	AuthorizationGrantProfiles []string `json:"authorization_grant_profiles_supported,omitempty"`
	// Identity chaining draft: the token types a token exchange here issues.
	IdentityChainingTokenTypes []string `json:"identity_chaining_requested_token_types_supported,omitempty"`
	// draft-ietf-oauth-client-id-metadata-document: an https URL may be a
	// client_id.
	ClientIDMetadataDocuments bool `json:"client_id_metadata_document_supported,omitempty"`
	// RFC 9449 §5.1: the token endpoint takes DPoP proofs signed so.
	DPoPSigningAlgs []string `json:"dpop_signing_alg_values_supported,omitempty"`
	// RFC 9396 §10: the authorization details types it takes.
	AuthorizationDetailsTypes []string `json:"authorization_details_types_supported,omitempty"`
}

// Paths are where a provider serves its endpoints, under its issuer.
type Paths struct {
	Authorize, Token, Keys string
}

// Metadata is what the core itself can say: its endpoints, the grants its
// token endpoint answers (the server's own included), the client
// authentication it accepts, its signing algorithms. The server adds its
// own endpoints and scopes.
func (p *Provider) Metadata(paths Paths) Metadata {
	iss := p.cfg.Issuer
	grants := make([]string, 0, len(p.Token.Grants))
	for g := range p.Token.Grants {
		grants = append(grants, g)
	}
	slices.Sort(grants)
	md := Metadata{
		Issuer:                   iss,
		AuthorizationEndpoint:    iss + paths.Authorize,
		TokenEndpoint:            iss + paths.Token,
		JWKSURI:                  iss + paths.Keys,
		ResponseTypes:            []string{"code"},
		ResponseModes:            []string{"query"},
		GrantTypes:               grants,
		CodeChallengeMethods:     []string{"S256"},
		TokenEndpointAuthMethods: []string{oauth.AuthSecretBasic, oauth.AuthSecretPost},
		SubjectTypes:             []string{"public"},
		IDTokenSigningAlgs:       keys.AlgorithmNames(),
		Scopes:                   []string{"openid", "profile", "email", "offline_access"},
		Claims:                   []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "email", "email_verified", "name"},
		AuthorizationResponseIss: true,
	}
	if p.Token.Auth.Assertions != nil {
		// RFC 7523 §2.2 client assertions.
		md.TokenEndpointAuthMethods = append(md.TokenEndpointAuthMethods, oauth.AuthPrivateKeyJWT)
		md.TokenEndpointAuthSigningAlgs = oauth.ClientAssertionAlgorithms
	}
	if _, ok := p.Token.Grants[oauth.GrantTokenExchange]; ok {
		md.IdentityChainingTokenTypes = []string{oauth.TokenTypeIDJAG}
	}
	if p.Token.DPoP != nil {
		md.DPoPSigningAlgs = dpop.AlgorithmNames()
	}
	return md
}

// ServeMetadata writes md as the discovery document.
func ServeMetadata(w http.ResponseWriter, md Metadata) {
	oauth.WriteMetadata(w, md)
}
