package accesstoken

import "xaa.example/shared/trace"

// A resource server's checks on the access token of a request (the todo
// API and its MCP server): the token (RFC 9068 §4: typ at+jwt, signature,
// iss, aud this resource, unexpired) and the scope the call needs.
const (
	CheckToken trace.CheckID = "resource.access-token"
	CheckScope trace.CheckID = "resource.scope"
	// A bound token's DPoP proof (RFC 9449 §7.1).
	CheckProof trace.CheckID = "resource.dpop-proof"
	// No Shared Signals event from the IdP ended the token's access.
	CheckRevoked trace.CheckID = "resource.not-revoked"
	// The sign-in behind the token is as strong and recent as the call
	// needs (RFC 9470).
	CheckStepUp trace.CheckID = "resource.step-up"
	// The token's authorization_details allow the call (RFC 9396).
	CheckAuthorizationDetails trace.CheckID = "resource.authorization-details"
)
