package xaaclient

import "xaa.example/shared/trace"

// The checks of a requesting server that relays a token exchange to the
// IdP for its app (the wiki AS): that it holds the person's ID token from
// the IdP, and that the IdP's answer is an ID-JAG (Exchange checks
// issued_token_type and token_type, ID-JAG draft §4.3.2).
const (
	CheckIdPToken trace.CheckID = "relay.idp-id-token"
	CheckIssued   trace.CheckID = "relay.id-jag-issued"
)
