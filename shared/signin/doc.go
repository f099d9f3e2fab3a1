// Package signin is an OpenID Connect relying party: the authorization code
// flow with PKCE S256, state and nonce, using go-oidc and x/oauth2.
//
// The apps use it to sign users in at their own authorization server, and the
// authorization servers use the very same code to federate sign-in to the
// enterprise IdP (docs/PROTOCOL.md, step 1). The upstream's endpoints come from
// discovery, fetched when first needed and then kept, so a service starts
// even while its upstream is still starting.
//
// It must not depend on gin or on any service's tables.
package signin
