// Package authserver is the authorization server each app of the demo runs
// in its own trust domain (authservers/wiki and authservers/todo run this
// same code with different configuration, as the Okta Node sample does).
//
// It signs users in by federating to the enterprise IdP (OIDC, PKCE), issues
// its own app an ID token, access token and refresh token (authorization
// code + PKCE), and then, depending on configuration:
//   - on the requesting side (wiki), exchanges the app's ID token for an
//     ID-JAG at the IdP (token exchange, docs/PROTOCOL.md step 2);
//   - on the resource side (todo), redeems ID-JAGs from trusted IdPs for
//     RFC 9068 access tokens (jwt-bearer grant, step 3).
//
// Protocol endpoints are plain http.Handlers; the package must not depend on
// gin beyond mounting, nor on the apps.
package authserver
