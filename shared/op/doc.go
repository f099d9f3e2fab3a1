// Package op is the OpenID Provider core that the enterprise IdP (idp/)
// and the two authorization servers (shared/authserver) compose, each with
// its own policy, as zitadel's pkg/op and dex's server are composed with
// storage and connectors: signing keys, the authorization code flow with
// PKCE and refresh tokens, the authorization request's parsing and
// validation, ID tokens issued and verified, client authentication at one
// token endpoint, and the typed metadata every discovery document is
// written from.
//
// What differs stays with the server: how a person signs in (a password
// at the IdP, federation at an authorization server), which grants beyond
// the code flow it answers, and its pages.
//
// It must not depend on gin, on the apps, or on any one server.
package op
