package oauth

import "xaa.example/shared/trace"

// The checks every token request goes through (TokenEndpoint), and the
// subject-token check of a token exchange (RFC 8693 §2.1).
const (
	CheckClientAuth   trace.CheckID = "oauth.client-authentication"
	CheckGrantType    trace.CheckID = "oauth.grant-type-allowed"
	CheckScopePolicy  trace.CheckID = "oauth.scope-allowed"
	CheckSubjectToken trace.CheckID = "oauth.subject-token"
	// A DPoP proof sent to the token endpoint (RFC 9449 §4.3).
	CheckDPoPProof trace.CheckID = "oauth.dpop-proof"
)
