package jwtbearer

import "xaa.example/shared/trace"

// The redeeming server's own checks on a verified ID-JAG, docs/PROTOCOL.md's
// R10 to R14 (R1 to R9 are package idjag's).
const (
	CheckResource trace.CheckID = "jwtbearer.10.resource"
	CheckScope    trace.CheckID = "jwtbearer.11.scope"
	CheckSubject  trace.CheckID = "jwtbearer.12.subject"
	// Key binding (ID-JAG draft, proof of possession; RFC 9449).
	CheckProof trace.CheckID = "jwtbearer.key-binding"
	// Step-up: the resource's own demand on the sign-in (RFC 9470).
	CheckStepUp trace.CheckID = "jwtbearer.step-up"
	// The ID-JAG's authorization_details are of types this server knows.
	CheckAuthorizationDetails trace.CheckID = "jwtbearer.authorization-details"
)
