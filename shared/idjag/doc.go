// Package idjag implements the Identity Assertion JWT Authorization Grant
// (draft-ietf-oauth-identity-assertion-authz-grant): the claims, issuing one
// at the IdP, and verifying one at the resource authorization server
// (checks R1 to R9 of docs/PROTOCOL.md: format, typ, alg, issuer, signature,
// audience, times, client binding, single use).
//
// Subject mapping, resource and scope policy (checks 10 to 12) belong to the
// authorization server that redeems the grant. This package must not depend
// on gin or gorm: the replay store is an interface (replay.Store).
package idjag
