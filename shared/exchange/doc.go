// Package exchange is the IdP side of Cross App Access: the token exchange
// grant (RFC 8693) that issues an ID-JAG (draft-ietf-oauth-identity-
// assertion-authz-grant §4.3) once the IdP's policy allows it.
//
// An IdP plugs in two things: how to verify the subject token it issued
// (SubjectVerifier) and where its admin's managed connections live
// (Connections). The grant runs the checks E1 to E7 of docs/PROTOCOL.md in
// order, with the error codes stated there, and reports every
// issuance and refusal to an optional Audit function.
//
// It must not depend on gin, gorm or any one IdP's tables.
package exchange
