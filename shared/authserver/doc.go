// Package authserver is the core of the authorization server each app of
// the demo runs in its own trust domain, and the features a server is
// built from. The core signs people in by federating to their
// organisation's IdP (OpenID Connect with PKCE, or SAML 2.0), links them
// to its accounts under the authority that vouched for them, and issues
// its own app an ID token, access token and refresh token (authorization
// code + PKCE).
//
// What else a server is, its main chooses (fosite's compose, dex's
// connectors), as Options to New:
//   - WithTokenExchangeRelay (authservers/wiki): the requesting side; the
//     app's ID token is exchanged for an ID-JAG at the IdP
//     (docs/PROTOCOL.md step 2);
//   - WithIDJAGRedemption (authservers/todo): the resource side; ID-JAGs
//     of trusted IdPs are redeemed for RFC 9068 access tokens (step 3);
//   - WithSCIM (authservers/todo): the IdP's provisioning (package scim);
//   - WithGrant and Mount: any other grant or endpoint.
//
// Protocol endpoints are plain http.Handlers; the package must not depend on
// gin beyond mounting, nor on the apps.
//
// Its size (about 2,200 hand-written lines) is one server's: the core and
// the features it is built from share one Server, one store and one
// session, and each feature is a file of its own (grant_relay.go,
// saml.go, scim_accounts.go). The protocols they speak are packages of
// their own (jwtbearer, exchange, scim, samlsp, signin, op), so what is
// left here is which of them a server is and what it keeps.
package authserver
