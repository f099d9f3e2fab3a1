// Package jwtbearer is the resource authorization server's side of Cross
// App Access: the JWT bearer grant (RFC 7523 §2.1) that redeems an ID-JAG
// for an access token (draft-ietf-oauth-identity-assertion-authz-grant
// §4.4).
//
// idjag.Verifier makes checks R1 to R9 of docs/PROTOCOL.md; this grant adds
// the server's own policy, checks R10 to R13 (resource, scope, subject, key
// binding), before the jti is spent, then issues an RFC 9068 access token. A server plugs in
// where its accounts live (Accounts).
//
// It must not depend on gin, gorm or any one server's tables.
package jwtbearer
